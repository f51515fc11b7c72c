// interp.js — other players, drawn a little in the past and interpolated
// between the snapshots around that moment, so they glide at any frame rate
// whatever the network's jitter.
//
// Each entity keeps a short track of (tick, x, y) samples: one when it
// moved, and one for the last tick it was seen standing still before a move,
// so that a pause followed by a step is drawn as a pause and a step, not a
// slow glide. A slow connection may skip snapshots (the server sends the
// newest state, not every one); a step then spreads over the ticks skipped.

const KEEP_TICKS = 60;
const NONE = [];
const MAX_EXTRAPOLATE = 1; // ticks

export class Interpolator {
  // Options, all for modes that declare more than x and y (the built-in
  // page needs none): fields(e) names the numeric fields of e to glide
  // beside x and y (those its kind declares interp); period(name) is the
  // period of a field that is an angle (2π for radians: it glides the short
  // way round), 0 for others; reset(e) is a value whose change means the
  // entity was placed anew (a respawn), so it jumps there instead of
  // gliding.
  constructor({ fields = () => NONE, period = () => 0, reset = () => undefined } = {}) {
    this.fields = fields;
    this.period = period;
    this.reset = reset;
    this.tracks = new Map(); // id -> {samples: [{tick, v: [x, y, ...fields], jump}], periods, key, seen, gone}
  }

  // record notes the world as it stood after tick.
  record(tick, world) {
    for (const e of world.values()) {
      let tr = this.tracks.get(e.id);
      if (!tr) {
        tr = { samples: [] };
        this.tracks.set(e.id, tr);
      }
      // One that comes back into view (a world's area of interest) was
      // not where it left: it appears, as a new one does, without a glide.
      const back = tr.gone !== undefined;
      tr.gone = undefined;
      const seen = tr.seen;
      tr.seen = tick;
      const s = tr.samples;
      const last = s[s.length - 1];
      const names = this.fields(e);
      const v = [e.x, e.y];
      for (const f of names) v.push(e[f]);
      const key = this.reset(e);
      const placed = last && key !== tr.key;
      tr.key = key;
      if (!last || back || last.v.length !== v.length) {
        s.length = 0; // new, back in view, or its kind changed: start again, without a glide
        s.push({ tick, v });
        tr.periods = [0, 0, ...names.map((f) => this.period(f) || 0)];
      } else if (placed || v.some((x, i) => x !== last.v[i])) {
        if (last.tick < seen) s.push({ tick: seen, v: last.v });
        s.push({ tick, v, jump: placed });
      }
      while (s.length > 2 && s[1].tick < tick - KEEP_TICKS) s.shift();
    }
    for (const [id, tr] of this.tracks) {
      if (!world.has(id) && tr.gone === undefined) tr.gone = tick;
      if (tr.gone !== undefined && tr.gone < tick - KEEP_TICKS) this.tracks.delete(id);
    }
  }

  // position returns where id stood at fractional tick r, [x, y, ...fields],
  // or null if it was not in the world then.
  position(id, r) {
    const tr = this.tracks.get(id);
    if (!tr || tr.gone !== undefined && r >= tr.gone) return null;
    const s = tr.samples;
    const at = (a, b, f) => a.v.map((x, k) => lerp(x, b.v[k], f, tr.periods[k]));
    if (r < s[0].tick) return s[0].tick - r < 2 ? s[0].v : null; // appears without a glide
    for (let i = s.length - 1; i >= 0; i--) {
      if (s[i].tick <= r) {
        const a = s[i], b = s[i + 1];
        if (!b) {
          // Past the newest sample. If later snapshots saw it, it stood
          // still. If they are late, carry its last step on briefly, then
          // hold there.
          const prev = s[i - 1];
          const over = Math.min(r - tr.seen, MAX_EXTRAPOLATE);
          if (over > 0 && prev && !a.jump && a.tick === tr.seen && a.tick - prev.tick <= 3) {
            return at(prev, a, 1 + over / (a.tick - prev.tick));
          }
          return a.v;
        }
        if (b.jump) return a.v; // placed anew at b.tick: there until then
        return at(a, b, (r - a.tick) / (b.tick - a.tick));
      }
    }
    return s[0].v;
  }
}

// lerp goes fraction f of the way from a to b (f > 1 carries on past b); an
// angle of the given period goes the short way round and stays within ±½
// period.
function lerp(a, b, f, period) {
  if (!period) return a + (b - a) * f;
  const d = b - a - period * Math.round((b - a) / period);
  const x = a + d * f;
  return x - period * Math.round(x / period);
}

// Delay tracks how far behind the server's newest tick to draw others:
// about 100 ms (two ticks at 20 Hz), plus the network's jitter, changing
// slowly so nothing jumps.
export class Delay {
  constructor(interval) {
    this.interval = interval;
    this.ms = 2 * interval;
  }

  update(jitterMs, dtMs) {
    const target = 2 * this.interval + jitterMs;
    const k = 1 - Math.exp(-dtMs / 1000);
    this.ms += (target - this.ms) * k;
    return this.ms / this.interval; // in ticks
  }
}
