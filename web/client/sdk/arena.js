// arena.js — arena's browser SDK, served by every arena server at
// /sdk/arena.js. docs/sdk.md documents it; examples/sdk-page uses it.
//
//   import { connect, UP } from '/sdk/arena.js';
//   const game = connect({ room: 'lobby', name: 'ann', predict: true });
//   game.on('welcome', (w) => console.log('I am', w.id, 'in', w.room));
//   game.input(UP);                       // hold up
//   requestAnimationFrame(function draw(now) {
//     for (const e of game.entities(now)) { /* e.x, e.y, e.name, ... */ }
//     requestAnimationFrame(draw);
//   });
//
// It composes the modules the built-in page is made of (and the page uses
// it too, so the two cannot drift apart): net.js (the WebSocket, resumed
// with the session token after a drop), protocol.js (arena.v1.bin),
// clock.js (the server's tick from this side), predict.js (the own player
// run ahead of the server) and interp.js (everyone else drawn a little in
// the past, between snapshots). Those are imported by relative path, so
// they load from wherever this file did, and the client connects there
// too: a page of another site that imports /sdk/arena.js from an arena
// server plays on that server (which serves /sdk/ and /js/ with
// Access-Control-Allow-Origin: *, and admits the page's origin if its
// operator lists it in -allowed-origins).

import { Connection } from '../js/net.js';
import { applySnapshot } from '../js/protocol.js';
import { Clock, Timeline } from '../js/clock.js';
import { Predictor } from '../js/predict.js';
import { Interpolator, Delay } from '../js/interp.js';
import { move, UP, DOWN, LEFT, RIGHT, ACTION } from '../js/rules.js';
import { move as blastersMove } from '../js/blasters.js';
import { move as worldMove } from '../js/world.js';
import { Auth, AuthError, ThrottledError, UnavailableError, memoryStorage } from './auth.js';
import { Queue, queue } from './queue.js';

// The buttons of an input, to be ORed together, and the built-in modes'
// movement rule, (x, y, buttons) => [x, y], for prediction. A rule of
// one's own may take a fourth argument, the own player's entity with its
// fields: (x, y, buttons, me) => [x, y].
export { UP, DOWN, LEFT, RIGHT, ACTION, move };
// Accounts: see auth.js and docs/sdk.md.
export { Auth, AuthError, ThrottledError, UnavailableError, memoryStorage };
export { Queue, queue };

const BUTTONS = UP | DOWN | LEFT | RIGHT | ACTION;
// The stock modes whose movement is not dots': predict: true uses their
// rule, and dots' (dots.Move) for any other mode.
// (world's move takes the field's side as a fourth argument: not the
// entity a rule is given.)
const STOCK_RULES = { blasters: blastersMove, world: (x, y, buttons) => worldMove(x, y, buttons) };
const NONE = [];

// connect starts a client and joins a room at once; see Client.
export function connect(options = {}) {
  const c = new Client(options);
  c.join(options);
  return c;
}

// Client is one player in one room at a time. It is an EventTarget: every
// event is a CustomEvent whose detail is described in docs/sdk.md, and
// on(type, fn) is a shorthand that hands fn the detail.
export class Client extends EventTarget {
  // options: server (the arena server's URL; default: where this module was
  // loaded from), room, mode, name, options (room options), joinOptions,
  // predict (true for the stock modes' rules, dots' for any other mode; a
  // rule function (x, y, buttons, me) => [x, y], me being the own entity
  // of the newest snapshot with its fields; or an object of rules by mode name, '*' for any other),
  // sample (() => buttons or {buttons, axes}, asked every predicted tick
  // instead of input()), interp ({angles: names of fields that are angles
  // in radians, resets: names of fields whose change means placed anew}),
  // storageKey (sessionStorage key of the resume token), spectate (true:
  // watch the room, with no player of one's own; input() and send() then
  // send nothing), auth (an Auth: every connection then authenticates
  // with a fresh access token, and plays as its account).
  constructor(options = {}) {
    super();
    const o = options;
    this.predict = checkPredict(o.predict);
    this.angles = new Set(names(o.interp?.angles, 'interp.angles'));
    this.resets = names(o.interp?.resets, 'interp.resets');
    this.sample = typeof o.sample === 'function' ? o.sample : null;
    this.target = {
      room: o.room || '', mode: o.mode || '', name: o.name || '',
      options: { ...o.options }, joinOptions: { ...o.joinOptions }, spectate: !!o.spectate,
    };
    this.held = 0; // buttons held, per input()
    this.tapped = 0; // pressed since the last predicted tick: a tap shorter than a tick still counts
    this.axes = [];
    this.sentAxes = [];
    this.sentButtons = 0;
    // Sequence numbers belong to the player, not the connection: a resumed
    // player's inputs must keep counting past the highest the server got
    // (docs/protocol.md), across a reload of the page too. Gaps are fine.
    this.storageKey = o.storageKey || 'arena.session';
    this.seq = loadSeq(this.storageKey);
    this.session = null; // per welcome
    this.status = 'connecting';
    this.rtt = null;
    this.resyncs = 0;
    this.timer = null;
    const server = new URL('/', o.server || import.meta.url).href;
    this.authClient = checkAuth(o.auth);
    this.conn = new Connection({
      onStatus: (state, detail, final, info) => {
        this.status = state;
        this.emit('status', { state, detail: detail || '', final: !!final, ...info });
      },
      onMessage: (msg, now) => this.handle(msg, now),
      onClose: (code, reason) => this.emit('close', { code, reason }),
      onRedirect: (url, room) => this.emit('redirect', { url, room }),
    }, { server, storageKey: this.storageKey });
  }

  // auth is the Auth the connections authenticate with, or null: set it
  // to play as someone else (or nobody) from the next join or reconnect.
  get auth() { return this.authClient; }
  set auth(a) { this.authClient = checkAuth(a); }

  // on calls fn with each event's detail; it returns a function that stops it.
  on(type, fn) {
    const l = (ev) => fn(ev.detail);
    this.addEventListener(type, l);
    return () => this.removeEventListener(type, l);
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  // connected is true from the welcome until the socket closes.
  get connected() { return this.status === 'connected'; }
  // attempts counts the connections that failed since the last welcome.
  get attempts() { return this.conn.attempt; }
  get welcome() { return this.session?.welcome ?? null; }
  get id() { return this.session?.welcome.id ?? null; }
  // watching is true while the client is a spectator (welcomed as one).
  get watching() { return !!this.session?.welcome.watching; }
  get room() { return this.session?.welcome.room ?? this.target.room; }
  // account is the account the server seated the player as ({id, name}),
  // or null: a join without auth, or a server that took it as nobody's.
  get account() { return this.session?.welcome.account ?? null; }
  get mode() { return this.session?.welcome.mode ?? this.target.mode; }
  // tick is the newest snapshot's; world is the server's state as of it, a
  // Map from id to entity, not interpolated.
  get tick() { return this.session?.state.tick ?? -1; }
  get world() { return this.session?.world ?? new Map(); }
  // corrections counts reconciliations that disagreed with the prediction.
  get corrections() { return this.session?.predictor?.corrections ?? 0; }

  // join leaves the current room for good (if any) and joins another:
  // target.room, or with only target.mode a quick join into that mode, or
  // with neither the server's default room. A room and a mode create the
  // room in that mode if it does not exist. name, options and joinOptions
  // stay as they were unless target gives them.
  //
  // A match of the rated queue (queue.js) joins with target.seat, the
  // seat held there for this player, and target.url, the server of the
  // room ('' or absent: this one): game.join(match).
  join(target = {}) {
    if (this.session || this.conn.ws) this.conn.leave();
    this.stop();
    if (target.url) this.conn.server = target.url;
    this.conn.seat = target.seat || '';
    this.conn.connect({
      ...this.target, room: target.room || '', mode: target.mode || '', ...pick(target, 'name', 'options', 'joinOptions', 'spectate'),
      auth: (why) => this.accessToken(why),
    });
    this.target = this.conn.target; // net.js keeps it current: the room a quick join found
  }

  // reconnect connects again to the same room, resuming the saved player: the
  // way back after a close the client does not retry by itself (taken over
  // by another tab, a refused join).
  reconnect() { this.conn.connect({}); }

  // accessToken is what net.js signs every connection in with, reconnects
  // included: the Auth's token, refreshed if it is about to lapse, or at
  // once after the server refused the last one (why: 'auth_failed'); ''
  // without an Auth or a session (a guest of no account). A session that
  // is over (401: expired, revoked; 403: banned) ends the connection for
  // good, with the error code signed_out or banned: sign in again. Any
  // other failure (the accounts down, the network) is tried again later.
  async accessToken(why) {
    const auth = this.authClient;
    if (!auth) return '';
    try {
      return await auth.accessToken({ force: why === 'auth_failed' });
    } catch (err) {
      if (err?.status === 401 || err?.status === 403) {
        // net.js reads the refusal when it closes: these codes are final.
        this.conn.refusal = { type: 'error', code: err.status === 403 ? 'banned' : 'signed_out', message: err.message };
      }
      throw err;
    }
  }

  // leave ends the player for good: no resume, no reconnecting.
  leave() {
    this.conn.leave();
    this.stop();
    this.status = 'closed';
    this.emit('status', { state: 'closed', detail: '', final: true });
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.session = null;
  }

  // input sets the buttons held (UP | LEFT, ...; 0 for none) and, for modes
  // that declare analog axes, their values in the welcome's order. They
  // stay held until the next call. The server gets them at the next tick:
  // with prediction the next predicted tick, stamped with it. However often
  // the page calls, at most one input goes out per tick (the server applies
  // no more, and counts every message against its rate limit).
  input(buttons, axes) {
    if (!Number.isInteger(buttons) || (buttons & ~BUTTONS) !== 0) {
      throw new RangeError(`arena: buttons must be an OR of UP, DOWN, LEFT, RIGHT and ACTION, not ${buttons}`);
    }
    if (axes !== undefined) this.axes = this.checkAxes(axes);
    this.held = buttons;
    this.tapped |= buttons;
    this.step(performance.now());
  }

  // setAxes sets the analog axes held and leaves the buttons as they are:
  // for a page that aims with the pointer and moves with sample().
  setAxes(axes) {
    this.axes = this.checkAxes(axes);
    this.step(performance.now());
  }

  checkAxes(axes) {
    const v = Array.from(axes);
    const decl = this.session?.welcome.axes;
    v.forEach((x, i) => {
      if (!Number.isInteger(x)) throw new RangeError(`arena: axis ${i} must be an integer, not ${x}`);
      const a = decl?.[i];
      if (decl && !a) throw new RangeError(`arena: mode ${this.mode} declares ${decl.length} axes; got ${v.length} values`);
      if (a && (x < a.min || x > a.max)) throw new RangeError(`arena: axis ${a.name} takes ${a.min} to ${a.max}, not ${x}`);
    });
    return v;
  }

  // send sends a game message of a type the welcome lists, with any JSON
  // value as its data. It returns false if the client is not connected
  // (the message is not kept for later), and throws for a type the mode
  // does not take or data too large for it.
  send(type, data = null) {
    const w = this.welcome;
    if (!w) throw new Error('arena: not in a room yet: wait for the welcome');
    if (w.watching) return false; // a spectator sends nothing
    const i = w.messages.findIndex((m) => m.name === type);
    if (i < 0) {
      const names = w.messages.map((m) => m.name).join(', ') || 'none';
      throw new TypeError(`arena: mode ${w.mode} takes no message ${JSON.stringify(type)} (it takes: ${names})`);
    }
    const json = JSON.stringify(data);
    if (json === undefined) throw new TypeError('arena: a message\'s data must be a JSON value');
    const n = new TextEncoder().encode(json).length;
    if (n > w.messages[i].maxBytes) throw new RangeError(`arena: ${type} takes at most ${w.messages[i].maxBytes} bytes of data, not ${n}`);
    return this.conn.message(i, data);
  }

  // resync asks the server for a full snapshot (the client does so by
  // itself when a delta does not fit).
  resync() { this.conn.resync(); }

  handle(msg, now) {
    switch (msg.type) {
      case 'welcome': return this.welcomed(msg);
      case 'snapshot': return this.snapshot(msg, now);
      case 'pong': {
        if (!this.session) return;
        const rtt = (Math.floor(now) - msg.time) >>> 0;
        this.session.clock.pong(rtt, now);
        this.rtt = rtt;
        return this.emit('pong', { rtt, tick: msg.tick });
      }
      case 'error':
      case 'notice':
        return this.emit(msg.type, { code: msg.code, message: msg.message });
      case 'event':
        return this.emit('event', { tick: msg.tick, type: msg.event, data: msg.data });
    }
  }

  welcomed(msg) {
    const clock = new Clock(msg.tickRate);
    const s = {
      welcome: msg, world: new Map(), state: { tick: -1 }, clock, acked: false,
      predictor: null, interp: this.interpolator(), delay: new Delay(clock.interval),
      // Where the own player and the others are drawn, in ticks: smooth
      // followers of the clock's estimates.
      ownTime: new Timeline(clock.interval), othersTime: new Timeline(clock.interval),
      frame: null, lastFrame: null,
    };
    const rule = msg.watching ? null : ruleFor(this.predict, msg.mode);
    if (rule) {
      s.predictor = new Predictor((seq, buttons, tick) => this.sendInput(seq, buttons, tick), rule);
      s.predictor.seq = this.seq;
    }
    this.session = s;
    this.sentButtons = 0; // a new connection holds nothing until told
    this.sentAxes = [];
    this.sentTick = -1; // the predicted tick of the last input, or -1
    this.sentAt = -Infinity; // when the last unpredicted input went
    clearInterval(this.timer);
    // Prediction sends inputs as ticks pass, whether or not the page draws.
    this.timer = setInterval(() => this.step(performance.now()), clock.interval);
    this.emit('welcome', {
      id: msg.id, room: msg.room, mode: msg.mode, resumed: msg.resumed, watching: !!msg.watching, tickRate: msg.tickRate,
      account: msg.account ?? null,
      world: { width: msg.width, height: msg.height },
      axes: msg.axes, messages: msg.messages, kinds: msg.kinds ?? [],
    });
  }

  snapshot(msg, now) {
    const s = this.session;
    if (!s) return;
    if (!applySnapshot(s.world, s.state, msg, s.welcome.kinds)) {
      this.resyncs++;
      this.conn.resync();
      return;
    }
    if (!s.acked) {
      // The first snapshot of a connection acks the player's last input,
      // from before a drop too: count on from there.
      s.acked = true;
      this.seq = Math.max(this.seq, msg.ack);
      if (s.predictor) s.predictor.seq = Math.max(s.predictor.seq, msg.ack);
    }
    s.clock.snapshot(msg.tick, now);
    s.interp.record(msg.tick, s.world);
    const me = s.world.get(s.welcome.id);
    // The rule sees a copy of the own entity: its fields as of this tick.
    if (me && s.predictor) s.predictor.reconcile(msg.tick, me.x, me.y, this.predictedTick(now), { ...me });
    this.emit('snapshot', { tick: msg.tick, full: msg.full, ack: msg.ack });
  }

  sendInput(seq, buttons, tick) {
    this.seq = seq;
    saveSeq(this.storageKey, seq);
    this.sentButtons = buttons;
    this.sentAxes = this.axes;
    this.sentTick = tick;
    this.sentAt = performance.now();
    this.conn.input(seq, buttons, tick, this.axes, this.lag(tick));
  }

  // lag is how many ticks before tick the world was that the player saw
  // when choosing an input: the others are drawn in the past. Games with
  // lag compensation judge shots against that world (docs/protocol.md).
  // 0 until something was drawn; an input for the next tick (0) counts
  // from the estimated server tick.
  lag(tick) {
    const s = this.session;
    const seen = s?.othersTime.t;
    if (seen == null) return 0;
    const at = tick || s.clock.serverTick(performance.now());
    return Math.max(0, Math.round(at - seen));
  }

  // step sends what input() set, at most once a tick: with prediction, by
  // advancing the predictor to the tick it runs at now; without, if it
  // changed and a tick has passed since the last input (the timer comes
  // back for what waits).
  step(now) {
    const s = this.session;
    if (!s || s.welcome.watching) return; // a spectator sends no inputs
    const p = s.predictor;
    if (!p) {
      const changed = this.held !== this.sentButtons || !sameAxes(this.axes, this.sentAxes);
      if (changed && now - this.sentAt >= s.clock.interval) this.sendInput(this.seq + 1, this.held, 0);
      return;
    }
    p.advance(this.predictedTick(now), () => this.nextButtons());
    if (p.tick !== null && p.tick > this.sentTick && !sameAxes(this.axes, this.sentAxes)) {
      // Only the axes changed: the predictor sends on button changes.
      p.seq++;
      this.sendInput(p.seq, p.sent, p.tick);
    }
  }

  // nextButtons is what is held for the next predicted tick. sample() may
  // give the buttons, or {buttons, axes}.
  nextButtons() {
    if (this.sample) {
      const v = this.sample();
      if (typeof v === 'number') return v;
      if (v?.axes !== undefined) this.axes = this.checkAxes(v.axes);
      return v?.buttons ?? 0;
    }
    const b = this.held | this.tapped;
    this.tapped = 0;
    return b;
  }

  // predictedTick is how far ahead of the server the own player runs: the
  // smallest round trip plus two ticks of margin, so inputs reach the server
  // before the tick they are meant for.
  predictedTick(now) {
    const c = this.session.clock;
    return c.serverTick(now) + (c.minRtt ?? 100) / c.interval + 2;
  }

  // serverTick is the client's estimate of the server's tick now, as a
  // fraction, or null before the first snapshot.
  serverTick(now = performance.now()) {
    const c = this.session?.clock;
    return c && c.ready() ? c.serverTick(now) : null;
  }

  interpolator() {
    return new Interpolator({
      fields: (e) => this.interpFields(e),
      period: (f) => this.angles.has(f) ? 2 * Math.PI : 0,
      reset: this.resets.length ? (e) => this.resets.map((f) => e[f]).join() : undefined,
    });
  }

  // interpFields names the numeric fields besides x and y that e's kind
  // declares interpolated (interp: true) in the welcome's kinds.
  interpFields(e) {
    const kinds = this.session?.welcome.kinds;
    if (!Array.isArray(kinds)) return NONE;
    const k = typeof e.kind === 'number' ? kinds[e.kind] : kinds.find((k) => k.name === e.kind);
    if (!k || !Array.isArray(k.fields)) return NONE;
    return k.fields.filter((f) => f.interp && f.name !== 'x' && f.name !== 'y' && typeof e[f.name] === 'number').map((f) => f.name);
  }

  // entities returns what to draw at local time now (performance.now(), or
  // a requestAnimationFrame timestamp): every entity with all its fields,
  // the others interpolated a little in the past, the own player predicted
  // if prediction is on. Each has me: true or false. Call it once a frame:
  // the smoothing runs on the time between calls.
  entities(now = performance.now()) { return this.frame(now)?.list ?? []; }

  // me returns the own player as entities(now) draws it, or null.
  me(now = performance.now()) { return this.frame(now)?.me ?? null; }

  frame(now) {
    const s = this.session;
    if (!s || !s.clock.ready()) return null;
    if (s.frame && s.frame.now === now) return s.frame;
    const elapsed = Math.max(0, now - (s.lastFrame ?? now));
    const dt = Math.min(100, elapsed);
    s.lastFrame = now;
    this.step(now);
    const own = s.predictor ? s.predictor.render(s.ownTime.update(this.predictedTick(now), elapsed), dt) : null;
    const behind = s.delay.update(s.clock.jitter(), dt);
    const r = s.othersTime.update(s.clock.serverTick(now) - behind, elapsed);
    const list = [];
    let me = null;
    for (const e of s.world.values()) {
      const mine = e.id === s.welcome.id;
      const pos = mine && own ? own : s.interp.position(e.id, r);
      if (!pos) continue;
      const out = { ...e, x: pos[0], y: pos[1], me: mine };
      if (pos !== own) this.interpFields(e).forEach((f, i) => { if (i + 2 < pos.length) out[f] = pos[i + 2]; });
      if (mine) me = out;
      list.push(out);
    }
    s.frame = { now, list, me };
    return s.frame;
  }
}

function checkAuth(a) {
  if (a && typeof a.accessToken !== 'function') throw new TypeError('arena: auth is an Auth (new Auth())');
  return a || null;
}

function names(v, what) {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((n) => typeof n === 'string')) throw new TypeError(`arena: ${what} is a list of field names`);
  return v;
}

function checkPredict(p) {
  const ok = (r) => r === true || typeof r === 'function';
  if (p === undefined || p === null || p === false || ok(p)) return p || null;
  if (typeof p === 'object' && Object.values(p).every(ok)) return { ...p };
  throw new TypeError('arena: predict is true (the built-in movement), a rule (x, y, buttons, me) => [x, y], rules by mode name, or absent');
}

// ruleFor is the movement rule to predict mode with, or null for none.
function ruleFor(predict, mode) {
  const r = predict && typeof predict === 'object' ? predict[mode] ?? predict['*'] : predict;
  return r === true ? STOCK_RULES[mode] ?? move : r || null;
}

function loadSeq(key) {
  try {
    return Number(sessionStorage.getItem(key + '.seq')) || 0;
  } catch {
    return 0; // storage refused (a privacy mode): the ack still helps
  }
}

function saveSeq(key, seq) {
  try {
    sessionStorage.setItem(key + '.seq', String(seq));
  } catch { /* as above */ }
}

function pick(o, ...keys) {
  const out = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function sameAxes(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

