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
  // extra(e) names the numeric fields of e to interpolate besides x and y
  // (those its kind declares interp in the welcome); none by default.
  constructor(extra = () => NONE) {
    this.extra = extra;
    this.tracks = new Map(); // id -> {samples: [{tick, v: [x, y, ...extra]}], gone: tick|undefined}
  }

  // record notes the world as it stood after tick.
  record(tick, world) {
    for (const e of world.values()) {
      let tr = this.tracks.get(e.id);
      if (!tr) {
        tr = { samples: [] };
        this.tracks.set(e.id, tr);
      }
      tr.gone = undefined;
      const seen = tr.seen;
      tr.seen = tick;
      const s = tr.samples;
      const last = s[s.length - 1];
      const v = [e.x, e.y];
      for (const f of this.extra(e)) v.push(e[f]);
      if (!last || last.v.length !== v.length) {
        s.length = 0; // new, or its kind changed: start again, without a glide
        s.push({ tick, v });
      } else if (v.some((x, i) => x !== last.v[i])) {
        if (last.tick < seen) s.push({ tick: seen, v: last.v });
        s.push({ tick, v });
      }
      while (s.length > 2 && s[1].tick < tick - KEEP_TICKS) s.shift();
    }
    for (const [id, tr] of this.tracks) {
      if (!world.has(id) && tr.gone === undefined) tr.gone = tick;
      if (tr.gone !== undefined && tr.gone < tick - KEEP_TICKS) this.tracks.delete(id);
    }
  }

  // position returns where id stood at fractional tick r, [x, y, ...extra],
  // or null if it was not in the world then.
  position(id, r) {
    const tr = this.tracks.get(id);
    if (!tr || tr.gone !== undefined && r >= tr.gone) return null;
    const s = tr.samples;
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
          if (over > 0 && prev && a.tick === tr.seen && a.tick - prev.tick <= 3) {
            const n = a.tick - prev.tick;
            return a.v.map((x, k) => x + (x - prev.v[k]) / n * over);
          }
          return a.v;
        }
        const f = (r - a.tick) / (b.tick - a.tick);
        return a.v.map((x, k) => x + (b.v[k] - x) * f);
      }
    }
    return s[0].v;
  }
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
