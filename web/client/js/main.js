// main.js — wires the page together: the SDK (../sdk/arena.js: the
// connection, the protocol, the prediction of the own dot and the
// interpolation of the others) plays; this file feeds it the keys and the
// pad, draws what it says every animation frame, and runs the lobby.

import { Client, ACTION, Auth, Progress, queue } from '../sdk/arena.js';
import { KIND_PLAYER } from './protocol.js';
import { Input } from './input.js';
import { Renderer } from './render.js';
import { Lobby, savedName, validName } from './lobby.js';
import * as blasters from './blasters.js';
import * as world from './world.js';
import { eventLine } from './events.js';
import { AccountPanel, tabStorage } from './account.js';
import { ProgressPanel } from './progress.js';

const $ = (id) => document.getElementById(id);

// The read-only hook tests and curious players can look at.
const arena = {
  id: null, status: 'connecting', connected: false, room: '', mode: '', watching: false,
  tick: 0, ping: null, players: new Map(), me: null,
  corrections: 0, resyncs: 0, frames: 0,
  account: null, // the account the server seated the player as: {id, name}, or null
  tab: '', // 'main': this tab plays as the browser's account; 'extra': as a guest of its own
  closed: null, // the last close the client gave up after: {code, error, detail}
  retries: [], // the last 20 retries scheduled: {attempt, delay, ceiling, code, error, at}
  drawn: [], // what the last frame drew: [{id, label, it, box: [left, top, right, bottom]}] in canvas pixels
  trace: null, // set to [] to record {t, x, y} of the own dot every frame
  watch: null, watchTrace: null, // set watch to an id and watchTrace to [] to record another dot
};
window.arena = arena;

const input = new Input(document.querySelector('.pad'));
const renderer = new Renderer($('field'));
const minimap = new world.Minimap($('minimap'));
arena.toPage = (x, y) => renderer.toPage(x, y); // where a world point is on the page, for tests
const lobby = new Lobby({
  join: (room) => switchTo({ room }),
  create: (room, mode) => switchTo({ room, mode }),
  quick: (mode) => switchTo({ mode }),
  // The server takes a name when a player joins, so a new name rejoins the
  // same room at once rather than waiting for the next join. An account's
  // name is the account's: the server keeps it.
  rename: async (name) => {
    if (account.account) {
      $('name-error').textContent = name ? await account.rename(name) : 'An account needs a name.';
      return;
    }
    game.target.name = name;
    toast(`You are ${name || 'nameless'} now.`);
    if (arena.room) switchTo({ room: arena.room }, true);
  },
});

// Who the player is: an account the SDK's Auth keeps signed in (its
// refresh token in localStorage, so a reload or a later visit is the same
// player), a guest made silently on the first visit.
const auth = new Auth();
arena.auth = auth;
const account = new AccountPanel(auth, {
  // Someone else now, or renamed: join the same room again as them.
  rejoin: () => {
    game.auth = auth;
    game.target.name = '';
    if (arena.room && !arena.watching) switchTo({ room: arena.room }, true);
  },
  toast,
});

// What the account keeps between games: its profile and ratings, the
// leaderboards, its match history, and the matchmaker's queue, whose match
// is played here.
const progress = new ProgressPanel(new Progress({ auth }), {
  queue: (options) => queue(auth, options),
  join: (match) => {
    game.auth = auth;
    switchTo(match);
  },
  toast,
  mode: () => arena.mode,
});
arena.progress = progress;
const showProgress = () => progress.show(account.enabled && auth.account ? auth.account.id : '');
auth.on('change', showProgress);

// The hint speaks of keys or of the pad, whichever the player has at hand.
const coarse = matchMedia('(pointer: coarse)');
const pointerKind = () => { document.documentElement.dataset.input = coarse.matches ? 'touch' : 'keys'; };
pointerKind();
coarse.addEventListener('change', pointerKind);

// On a phone the lobby opens below the field, out of sight: bring it into
// view. (lobby.js toggles it in its own, earlier, listener.)
$('lobby-toggle').addEventListener('click', () => {
  if (!$('lobby').classList.contains('open')) return;
  const smooth = !matchMedia('(prefers-reduced-motion: reduce)').matches;
  $('lobby').scrollIntoView({ behavior: smooth ? 'smooth' : 'auto', block: 'start' });
});

// blasters aims with the pointer (or the right thumb) and fires with its
// button, space (input.js's action) or the right thumb.
const aiming = { mode: '', pointer: null, firing: false, aim: 0 };
const field = $('field');
const sticks = new blasters.Sticks(field);
field.addEventListener('pointermove', (e) => { if (e.pointerType !== 'touch') aiming.pointer = [e.clientX, e.clientY]; });
field.addEventListener('pointerdown', (e) => {
  if (aiming.mode !== 'blasters' || e.pointerType === 'touch' || e.button !== 0) return;
  aiming.pointer = [e.clientX, e.clientY];
  aiming.firing = true;
  field.setPointerCapture?.(e.pointerId);
});
const release = () => { aiming.firing = false; };
field.addEventListener('pointerup', release);
field.addEventListener('lostpointercapture', release);
addEventListener('blur', release);

// sample is what the player holds at each predicted tick: the keys and the
// pad, and in blasters the fire button and the aim axis.
function sample() {
  const buttons = input.sample();
  if (aiming.mode !== 'blasters') return buttons;
  const angle = sticks.angle();
  if (angle !== null) aiming.aim = angle;
  else if (aiming.pointer && arena.me) {
    const [px, py] = renderer.toWorld(...aiming.pointer);
    aiming.aim = blasters.aimAt(arena.me.x, arena.me.y, px, py);
  }
  const fire = aiming.firing ? ACTION : 0;
  return { buttons: buttons | fire | sticks.buttons(), axes: [aiming.aim] };
}

// The page's own dot is predicted with its mode's rule, from what sample
// says at each predicted tick. blasters' aim is an angle, and a player it
// respawns jumps rather than glides.
const game = new Client({ predict: true, sample, interp: { angles: ['aim'], resets: ['life'] }, auth });
arena.client = game;
game.on('status', ({ state, detail, final, code, error, attempt, delay, ceiling }) => {
  arena.status = state;
  arena.connected = state === 'connected';
  const el = $('status');
  el.dataset.state = state;
  el.textContent = state;
  banner(detail, final, code);
  if (!arena.connected) $('player-id').textContent = '…';
  if (final) arena.closed = { code, error, detail };
  // The account's session ended elsewhere (signed out everywhere, or it
  // lapsed): play on as a new guest.
  if (final && (code === 4004 || error === 'signed_out')) account.lost();
  if (attempt && arena.retries.at(-1)?.attempt !== attempt) {
    arena.retries.push({ attempt, delay, ceiling, code, error, at: performance.now() });
    if (arena.retries.length > 20) arena.retries.shift();
  }
});
game.on('welcome', (w) => {
  renderer.world = w.world;
  renderer.kinds = w.kinds;
  renderer.look = w.mode === 'blasters' ? blasters.look : w.mode === 'world' ? world.look : null;
  // world's field is larger than the screen: the camera follows the own
  // player, the minimap shows the cells around it, and the prediction
  // clamps to the room's size.
  if (w.mode === 'world') world.setSize(w.world.width);
  minimap.cell = null;
  $('minimap').hidden = w.mode !== 'world';
  aiming.mode = w.mode;
  document.documentElement.dataset.mode = w.mode;
  $('feed').replaceChildren();
  Object.assign(arena, { id: w.id, room: w.room, mode: w.mode, watching: w.watching, players: game.world, account: w.account });
  lobby.current = w.room;
  $('player-id').textContent = w.watching ? 'watching' : '#' + w.id;
  $('room-name').textContent = `${w.room} (${w.mode})`;
  const url = new URL(location.href);
  url.search = '';
  url.searchParams.set('room', w.room);
  if (w.watching) url.searchParams.set('spectate', '1');
  history.replaceState(null, '', url);
  if (w.resumed) toast('Welcome back: you resumed where you were.');
  if (w.watching) toast(`You are watching ${w.room}.`);
  lobby.refresh();
});
game.on('snapshot', ({ tick }) => {
  arena.tick = tick;
  arena.corrections = game.corrections;
});
game.on('pong', ({ rtt }) => {
  arena.ping = rtt;
  $('ping').textContent = rtt + ' ms';
});
game.on('error', ({ message }) => toast(message, true));
game.on('notice', ({ message }) => toast(message));
game.on('event', ({ type, data }) => {
  if (type === 'room_over') {
    toast(data.summary || 'the game is over');
    // The server writes the result within a second or so: the ratings,
    // boards and history then show it.
    setTimeout(() => progress.refresh(), 1500);
    return;
  }
  if (type === 'room_rematch') {
    // The room plays on: a new game, with the same players.
    toast(`Game ${data.game ?? ''}: go!`);
    return;
  }
  const line = eventLine(game.mode, type, data, nameOf);
  if (line) feed(line);
});

// nameOf names a player for the kill feed.
function nameOf(id) {
  if (id === game.id) return 'you';
  const e = game.world.get(id);
  return e?.name || '#' + id;
}

// feed adds a line to the kill feed, which keeps the last five.
function feed(text) {
  const li = document.createElement('li');
  li.textContent = text;
  const list = $('feed');
  list.append(li);
  while (list.children.length > 5) list.firstElementChild.remove();
  setTimeout(() => li.remove(), 8000);
}

// banner shows why the client is not playing; after a close it will not
// retry by itself, with a button to try anyway (another tab took the
// player over: play here instead).
function banner(text, final, code) {
  const b = $('banner');
  b.hidden = !text;
  b.replaceChildren();
  if (!text) return;
  b.append(text);
  if (final) {
    const again = document.createElement('button');
    again.textContent = code === 4001 ? 'Play here' : 'Try again';
    again.addEventListener('click', () => game.reconnect());
    b.append(again);
  }
}

function toast(text, isError) {
  const t = document.createElement('div');
  t.className = 'toast' + (isError ? ' error' : '');
  t.textContent = text;
  $('toasts').append(t);
  setTimeout(() => t.remove(), 4000);
}

function frame(now) {
  const sprites = game.entities(now);
  if (game.tick >= 0) {
    for (const d of sprites) {
      if (d.id === arena.watch && arena.watchTrace) arena.watchTrace.push({ t: now, x: d.x, y: d.y });
      if (d.me) {
        // One's own aim is where the pointer is now, not where the server
        // last heard it was.
        if (aiming.mode === 'blasters') d.aim = aiming.aim / 1000;
        arena.me = { x: d.x, y: d.y };
        if (arena.trace) arena.trace.push({ t: now, x: d.x, y: d.y });
      }
    }
    let online = 0;
    const scored = [];
    for (const e of game.world.values()) {
      if (e.kind !== KIND_PLAYER) continue;
      if (!e.away) online++;
      scored.push(e);
    }
    $('tick').textContent = String(game.tick);
    const headline = aiming.mode === 'blasters' ? blasters.headline(blasters.roundOf(game.world, game.welcome.kinds)) : '';
    $('headline').hidden = !headline;
    $('headline').textContent = headline;
    $('online').textContent = String(online);
    if (arena.frames % 15 === 0) {
      // A scoreboard for modes whose players have a score.
      lobby.scores(scored, game.id, game.welcome.kinds[KIND_PLAYER].fields.some((f) => f.name === 'score'));
    }
  }
  arena.resyncs = game.resyncs;
  arena.drawn = renderer.draw(sprites);
  if (aiming.mode === 'world') minimap.draw(arena.me, sprites, game.welcome?.kinds ?? []);
  arena.frames++;
  requestAnimationFrame(frame);
}

// switchTo leaves the current room for good and joins another. The lobby
// (open on a phone) closes unless keepLobby. A match of the queue comes
// with the server its room runs on and the seat held there (url, seat).
function switchTo(target, keepLobby) {
  arena.players = new Map();
  if (!keepLobby) {
    $('lobby').classList.remove('open');
    $('lobby-toggle').setAttribute('aria-expanded', 'false');
  }
  game.join({ room: target.room, mode: target.mode, url: target.url, seat: target.seat });
}

const params = new URLSearchParams(location.search);
const name = validName(savedName()) ? '' : savedName();
// Sign in first (the kept session, or a new guest: no form), then play.
// The first tab is the browser's account; another tab, a guest of its own
// (account.js, tabStorage). Without accounts on the server, or with them
// out of reach, the player plays as nobody, by nickname, as before.
tabStorage().then(({ storage, role }) => {
  auth.storage = storage;
  arena.tab = role;
  return account.start(name);
}).then((ok) => {
  game.auth = ok ? auth : null;
  showProgress();
  game.join({
    room: params.get('room') || '',
    mode: params.get('mode') || '', // with a room: the mode to create it in
    name: ok ? '' : name,
    spectate: params.get('spectate') === '1', // ?spectate=1: watch, do not play
  });
});
lobby.loadModes();
lobby.refresh();
setInterval(() => lobby.refresh(), 3000);
requestAnimationFrame(frame);
