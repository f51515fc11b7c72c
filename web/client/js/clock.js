// clock.js — an estimate of the server's tick from this side of the network.
//
// Every snapshot of tick T arrives at local time a. T·interval − a is the
// server's clock offset minus that message's delay; the largest such sample
// over the last few seconds belongs to the least-delayed message, so
// `now + offset` is the server's time less the smallest delay seen. The
// spread of the other samples below it is the network's jitter, which the
// interpolation delay must absorb. Pings measure the round trip.

const WINDOW_MS = 3000;

export class Clock {
  constructor(tickRate) {
    this.interval = 1000 / tickRate;
    this.samples = []; // {at, offset}
    this.offset = null;
    this.rtts = []; // {at, rtt}
    this.rtt = null;
    this.minRtt = null;
  }

  // snapshot records the arrival of tick at local time now.
  snapshot(tick, now) {
    const offset = tick * this.interval - now;
    this.samples.push({ at: now, offset });
    while (this.samples.length && this.samples[0].at < now - WINDOW_MS) this.samples.shift();
    const best = Math.max(...this.samples.map((s) => s.offset));
    // Follow a faster path at once, a slower one gently.
    this.offset = this.offset === null || best > this.offset ? best : this.offset + (best - this.offset) * 0.05;
  }

  // pong records a round trip measured by a ping.
  pong(rtt, now) {
    this.rtt = rtt;
    this.rtts.push({ at: now, rtt });
    while (this.rtts.length > 1 && this.rtts[0].at < now - 10000) this.rtts.shift();
    this.minRtt = Math.min(...this.rtts.map((s) => s.rtt));
  }

  ready() { return this.offset !== null; }

  // serverTick is the newest tick the server could have sent by now, as a
  // fraction.
  serverTick(now) { return (now + this.offset) / this.interval; }

  // jitter is how much later than the fastest message the typical message
  // arrives: mean + 2σ of the samples' lag behind the best, in ms.
  jitter() {
    if (this.samples.length < 2) return 0;
    const lags = this.samples.map((s) => this.offset - s.offset).filter((l) => l >= 0);
    const mean = lags.reduce((a, b) => a + b, 0) / lags.length;
    const sd = Math.sqrt(lags.reduce((a, b) => a + (b - mean) ** 2, 0) / lags.length);
    return mean + 2 * sd;
  }
}

// Timeline is a fractional tick that runs with real time and steers toward
// a target at most `slew` faster or slower than real time. The targets it
// follows (the server's tick estimate, the predicted tick) move in steps
// whenever a faster message or a new round trip is measured; drawn
// directly, those steps make dots jump or step back. Only when it is more
// than `snap` ticks off (a new session, a long stall) does it jump.
export class Timeline {
  constructor(interval, slew = 0.1, snap = 2) {
    this.interval = interval;
    this.slew = slew;
    this.snap = snap;
    this.t = null;
  }

  update(target, dtMs) {
    const step = Math.max(0, dtMs) / this.interval;
    const off = target - (this.t ?? target) - step;
    if (this.t === null || Math.abs(off) > this.snap) {
      this.t = target;
    } else {
      this.t += step + Math.max(-this.slew * step, Math.min(this.slew * step, off));
    }
    return this.t;
  }
}
