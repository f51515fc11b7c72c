// predict.js — the own player, predicted ahead of the server.
//
// The client runs its own copy of the movement rule one tick at a time, at
// a tick a little ahead of the server's (a round trip plus a margin), and
// sends each change of the held buttons stamped with the tick it predicted
// it for. The server applies each input at exactly that tick, so when a
// snapshot of tick T arrives, replaying the client's own buttons for the
// ticks after T from the server's position at T lands exactly where the
// prediction already is: the dot answers keys at once and never snaps back.
// If the two ever differ (an input arrived too late, the server moved the
// player), the difference is blended away over about 100 ms, or jumped if
// it is large.

import { move } from './rules.js';

const BLEND_MS = 100;
const SNAP_PX = 60;
const KEEP_TICKS = 200;

export class Predictor {
  // rule is the mode's movement rule, (x, y, buttons, me) => [x, y]: by
  // default the built-in modes' (rules.js). me is the own player's entity
  // as of the newest snapshot, with every field its kind declares (a
  // speed, a boost), for rules that depend on them; x and y are the
  // arguments'.
  constructor(send, rule = move) {
    this.send = send; // (seq, buttons, tick) => void
    this.move = rule;
    this.me = {}; // the own entity of the newest snapshot
    this.seq = 0;
    this.tick = null; // the newest predicted tick
    this.buttons = new Map(); // tick -> buttons held during it
    this.positions = new Map(); // tick -> [x, y] after it
    this.sent = 0; // the buttons of the last input sent
    this.correction = [0, 0]; // drawn offset still to blend away
    this.corrections = 0; // how many reconciliations disagreed
    this.lastCorrection = 0; // size of the last one, px
  }

  // reset forgets everything (a new session).
  reset() {
    this.tick = null;
    this.buttons.clear();
    this.positions.clear();
    this.sent = 0;
    this.correction = [0, 0];
  }

  // advance predicts ticks up to target, and sends an input for the first
  // tick of every change of the buttons. Only the newest tick takes what
  // sample() says is held: ticks skipped over while the page stalled are
  // already close to the server's, and an input stamped for one of them
  // would arrive too late to be applied when the prediction says; they
  // repeat what was last sent, as the server does.
  advance(target, sample) {
    if (this.tick === null) return;
    target = Math.floor(target);
    while (this.tick < target) {
      const t = this.tick + 1;
      const held = t === target ? sample() : this.sent;
      if (held !== this.sent) {
        this.seq++;
        this.send(this.seq, held, t);
        this.sent = held;
      }
      this.buttons.set(t, held);
      const [x, y] = this.positions.get(this.tick);
      this.positions.set(t, this.move(x, y, held, this.me));
      this.tick = t;
    }
  }

  // reconcile takes the server's position of the own player after tick T
  // and replays the client's buttons since; me, if given, is its entity
  // then, which the rule sees from now on.
  reconcile(T, x, y, target, me) {
    if (me) this.me = me;
    if (this.tick === null || T > this.tick) {
      // First state, or the server is ahead of the prediction: start there.
      this.tick = T;
      this.positions.set(T, [x, y]);
      if (!this.buttons.has(T)) this.buttons.set(T, this.sent);
      this.advance(target, () => this.sent);
      return;
    }
    const before = this.positions.get(this.tick);
    let pos = [x, y];
    this.positions.set(T, pos);
    for (let t = T + 1; t <= this.tick; t++) {
      pos = this.move(pos[0], pos[1], this.buttons.get(t) ?? 0, this.me);
      this.positions.set(t, pos);
    }
    const dx = before[0] - pos[0], dy = before[1] - pos[1];
    if (dx !== 0 || dy !== 0) {
      this.corrections++;
      this.lastCorrection = Math.hypot(dx, dy);
      if (this.lastCorrection > SNAP_PX) {
        this.correction = [0, 0]; // a real correction: show it
      } else {
        this.correction = [this.correction[0] + dx, this.correction[1] + dy];
      }
    }
    for (const k of this.positions.keys()) {
      if (k < T - KEEP_TICKS) {
        this.positions.delete(k);
        this.buttons.delete(k);
      }
    }
  }

  // render returns where to draw the own dot when the prediction has
  // reached fractional tick p: one tick behind it, between the two
  // predicted ticks around p − 1, so the dot glides at any frame rate while
  // the rule stays tick-exact. Any correction blends out over dt ms since
  // the previous frame.
  render(p, dt) {
    if (this.tick === null) return null;
    const s = Math.min(p - 1, this.tick);
    const k = Math.floor(s);
    const hi = this.positions.get(Math.min(k + 1, this.tick)) ?? this.positions.get(this.tick);
    const lo = this.positions.get(k) ?? hi;
    const f = Math.max(0, Math.min(1, s - k));
    const d = Math.exp(-dt / (BLEND_MS / 3));
    this.correction = [this.correction[0] * d, this.correction[1] * d];
    return [lo[0] + (hi[0] - lo[0]) * f + this.correction[0], lo[1] + (hi[1] - lo[1]) * f + this.correction[1]];
  }
}
