// queue.js: the rated matchmaker's queue, for a player signed in with an
// Auth. It makes a ticket (POST /api/matchmake/tickets), polls it, and
// tells the page how long it has waited and how wide its rating window
// has grown, then where its match is: join it with the seat held there.
//
//   const q = queue(auth, { mode: 'tag' });
//   q.on('wait', ({ waited, window }) => show(`${Math.round(waited / 1000)} s`));
//   q.on('match', (m) => game.join(m));   // {room, url, seat, team?}
//   q.on('end', ({ state }) => ...);      // 'expired' or 'cancelled'
//   q.on('error', (err) => ...);          // an AuthError: 409 already_queued, 401, ...
//   q.cancel();

// How often a ticket is polled: a match is formed within the matcher's
// interval (250 ms), and the seat waits 30 s for its player.
const POLL_MS = 1000;

export class Queue extends EventTarget {
  // auth is the Auth the player signed in with; opts: mode, options
  // (room options), party (account IDs that play with the player), every
  // (poll interval, ms).
  constructor(auth, opts = {}) {
    super();
    this.auth = auth;
    this.every = opts.every || POLL_MS;
    this.ticket = '';
    this.state = 'starting'; // then 'waiting', 'matched', 'expired', 'cancelled' or 'failed'
    this.timer = null;
    this.start({ mode: opts.mode || '', options: opts.options || {}, party: opts.party || [] });
  }

  on(type, fn) {
    const l = (ev) => fn(ev.detail);
    this.addEventListener(type, l);
    return () => this.removeEventListener(type, l);
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  async start(body) {
    try {
      const t = await this.auth.authed('POST', '/api/matchmake/tickets', body);
      this.ticket = t.ticket;
      if (this.state === 'cancelled') { // cancelled while the ticket was made
        this.cancelTicket();
        return;
      }
      this.state = 'waiting';
      this.poll();
    } catch (err) {
      this.fail(err);
    }
  }

  async poll() {
    if (this.state !== 'waiting') return;
    let t;
    try {
      t = await this.auth.authed('GET', '/api/matchmake/tickets/' + this.ticket);
    } catch (err) {
      // A moment's outage (503, the network) is waited out until the
      // ticket expires; anything else ends the queue.
      if (err?.status === 503 || err?.status === 0) {
        this.later();
        return;
      }
      this.fail(err);
      return;
    }
    if (this.state !== 'waiting') return; // cancelled meanwhile
    if (t.state === 'waiting') {
      this.emit('wait', { waited: t.waited_ms, window: t.window, expiresAt: t.expires_at });
      this.later();
      return;
    }
    this.state = t.state;
    if (t.state === 'matched') {
      this.emit('match', { room: t.room, url: t.url || '', seat: t.seat, team: t.team || 0, mode: t.mode });
      return;
    }
    this.emit('end', { state: t.state });
  }

  later() { this.timer = setTimeout(() => this.poll(), this.every); }

  fail(err) {
    this.state = 'failed';
    this.emit('error', err);
  }

  // cancel takes the ticket out of the pool; a match already made stands
  // (its seat lapses unused).
  cancel() {
    if (this.state !== 'waiting' && this.state !== 'starting') return;
    const had = this.ticket;
    this.state = 'cancelled';
    clearTimeout(this.timer);
    if (had) this.cancelTicket();
    this.emit('end', { state: 'cancelled' });
  }

  cancelTicket() {
    this.auth.authed('DELETE', '/api/matchmake/tickets/' + this.ticket).catch(() => { /* it expires */ });
  }
}

// queue starts queueing the player auth signed in as: see Queue.
export function queue(auth, opts = {}) { return new Queue(auth, opts); }
