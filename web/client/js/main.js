// main.js — wires the client together: the connection feeds snapshots into
// the world, the clock, the predictor (own dot) and the interpolator (the
// others); every animation frame advances the prediction and draws.

import { Connection } from './net.js';
import { applySnapshot, KIND_PLAYER } from './protocol.js';
import { Clock, Timeline } from './clock.js';
import { Predictor } from './predict.js';
import { Interpolator, Delay } from './interp.js';
import { Input } from './input.js';
import { Renderer } from './render.js';
import { Lobby, savedName, validName } from './lobby.js';

const $ = (id) => document.getElementById(id);

// The read-only hook tests and curious players can look at.
const arena = {
  id: null, status: 'connecting', connected: false, room: '', mode: '',
  tick: 0, ping: null, players: new Map(), me: null,
  corrections: 0, resyncs: 0, frames: 0,
  drawn: [], // what the last frame drew: [{id, label, it, box: [left, top, right, bottom]}] in canvas pixels
  trace: null, // set to [] to record {t, x, y} of the own dot every frame
  watch: null, watchTrace: null, // set watch to an id and watchTrace to [] to record another dot
};
window.arena = arena;

let session = null; // per welcome: world, clock, predictor, interpolator
const input = new Input(document.querySelector('.pad'));
const renderer = new Renderer($('field'));
const lobby = new Lobby({
  join: (room) => switchTo({ room }),
  create: (room, mode) => switchTo({ room, mode }),
  quick: (mode) => switchTo({ mode }),
  // The server takes a name when a player joins, so a new name rejoins the
  // same room at once rather than waiting for the next join.
  rename: (name) => {
    conn.target.name = name;
    toast(`You are ${name || 'nameless'} now.`);
    if (arena.room) switchTo({ room: arena.room }, true);
  },
});

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

const conn = new Connection({
  onStatus: (state, detail, final) => {
    arena.status = state;
    arena.connected = state === 'connected';
    const el = $('status');
    el.dataset.state = state;
    el.textContent = state;
    banner(detail, final);
    if (!arena.connected) $('player-id').textContent = '…';
  },
  onMessage: (msg, now) => handle(msg, now),
});

function banner(text, final) {
  const b = $('banner');
  b.hidden = !text;
  b.replaceChildren();
  if (!text) return;
  b.append(text);
  if (final) {
    const again = document.createElement('button');
    again.textContent = 'Play here';
    again.addEventListener('click', () => conn.connect({}));
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

function handle(msg, now) {
  switch (msg.type) {
    case 'welcome': {
      const clock = new Clock(msg.tickRate);
      session = {
        welcome: msg, world: new Map(), state: { tick: -1 }, clock,
        predictor: new Predictor((seq, buttons, tick) => conn.input(seq, buttons, tick)),
        interp: new Interpolator(), delay: new Delay(clock.interval),
        // Where the own dot and the others are drawn, in ticks: smooth
        // followers of the clock's estimates.
        ownTime: new Timeline(clock.interval), othersTime: new Timeline(clock.interval),
      };
      renderer.world = { width: msg.width, height: msg.height };
      Object.assign(arena, { id: msg.id, room: msg.room, mode: msg.mode, players: session.world });
      lobby.current = msg.room;
      $('player-id').textContent = '#' + msg.id;
      $('room-name').textContent = `${msg.room} (${msg.mode})`;
      const url = new URL(location.href);
      url.search = '';
      url.searchParams.set('room', msg.room);
      history.replaceState(null, '', url);
      if (msg.resumed) toast('Welcome back: you resumed where you were.');
      lobby.refresh();
      break;
    }
    case 'snapshot': {
      const s = session;
      if (!s) return;
      if (!applySnapshot(s.world, s.state, msg, s.welcome.kinds)) {
        arena.resyncs++;
        conn.resync();
        return;
      }
      s.clock.snapshot(msg.tick, now);
      s.interp.record(msg.tick, s.world);
      arena.tick = msg.tick;
      const me = s.world.get(s.welcome.id);
      if (me) s.predictor.reconcile(msg.tick, me.x, me.y, predictedTick(s, now));
      arena.corrections = s.predictor.corrections;
      break;
    }
    case 'pong': {
      if (!session) return;
      const rtt = (Math.floor(now) - msg.time) >>> 0;
      session.clock.pong(rtt, now);
      arena.ping = rtt;
      $('ping').textContent = rtt + ' ms';
      break;
    }
    case 'error':
      toast(msg.message, true);
      break;
    case 'notice':
      toast(msg.message);
      break;
    case 'event':
      if (msg.event === 'room_over') toast(msg.data.summary || 'the game is over');
      break;
  }
}

// predictedTick is how far ahead of the server the own player runs: the
// smallest round trip plus two ticks of margin, so inputs reach the server
// before the tick they are meant for.
function predictedTick(s, now) {
  const rtt = s.clock.minRtt ?? 100;
  return s.clock.serverTick(now) + rtt / s.clock.interval + 2;
}

let lastFrame = performance.now();
function frame(now) {
  const elapsed = now - lastFrame;
  const dt = Math.min(100, elapsed);
  lastFrame = now;
  const sprites = [];
  const s = session;
  if (s && s.clock.ready()) {
    const p = predictedTick(s, now);
    s.predictor.advance(p, () => input.sample());
    const own = s.predictor.render(s.ownTime.update(p, elapsed), dt);
    const behind = s.delay.update(s.clock.jitter(), dt);
    const r = s.othersTime.update(s.clock.serverTick(now) - behind, elapsed);
    let online = 0;
    const scored = [];
    for (const e of s.world.values()) {
      if (e.kind === KIND_PLAYER) {
        if (!e.away) online++;
        scored.push(e);
      }
      const me = e.id === s.welcome.id;
      const pos = me ? own : s.interp.position(e.id, r);
      if (!pos) continue;
      sprites.push({ ...e, x: pos[0], y: pos[1], me });
      if (e.id === arena.watch && arena.watchTrace) arena.watchTrace.push({ t: now, x: pos[0], y: pos[1] });
      if (me) {
        arena.me = { x: pos[0], y: pos[1] };
        if (arena.trace) arena.trace.push({ t: now, x: pos[0], y: pos[1] });
      }
    }
    $('tick').textContent = String(s.state.tick);
    $('online').textContent = String(online);
    if (arena.frames % 15 === 0) {
      // A scoreboard for modes whose players have a score.
      lobby.scores(scored, s.welcome.id, s.welcome.kinds[KIND_PLAYER].fields.some((f) => f.name === 'score'));
    }
  }
  arena.drawn = renderer.draw(sprites);
  arena.frames++;
  requestAnimationFrame(frame);
}

// switchTo leaves the current room for good and joins another. The lobby
// (open on a phone) closes unless keepLobby.
function switchTo(target, keepLobby) {
  conn.leave();
  session = null;
  arena.players = new Map();
  if (!keepLobby) {
    $('lobby').classList.remove('open');
    $('lobby-toggle').setAttribute('aria-expanded', 'false');
  }
  conn.connect({ room: target.room || '', mode: target.mode || '' });
}

const params = new URLSearchParams(location.search);
const name = savedName();
conn.connect({
  room: params.get('room') || '',
  mode: params.get('room') ? '' : params.get('mode') || '',
  name: validName(name) ? '' : name,
});
lobby.loadModes();
lobby.refresh();
setInterval(() => lobby.refresh(), 3000);
requestAnimationFrame(frame);
