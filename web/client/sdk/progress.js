// progress.js — what players keep between games, from the browser: the
// leaderboards, match history, profiles with skill ratings, and the
// matchmaker's queue. A client of the server's HTTP API (/api/leaderboards,
// /api/matches, /api/accounts/, /api/matchmake/tickets), exported by
// arena.js; docs/sdk.md documents it.
//
//   import { Auth, Progress } from '/sdk/arena.js';
//   const progress = new Progress({ auth });
//   const boards = await progress.leaderboards();
//   const page = await progress.leaderboard(boards[0].id, { around: auth.account.id });
//   const { matches, next } = await progress.matches(auth.account.id);
//   const ticket = progress.queue({ mode: 'blasters' });
//   ticket.on('wait', ({ waited, window }) => …);
//   ticket.on('match', (m) => game.join(m));   // {room, server, seat, team}
//
// Reads send the Auth's access token when there is a session (the server
// may show a signed-in player more); queueing needs one.

import { AuthError, UnavailableError, ThrottledError, parseRetryAfter } from './auth.js';

// Codes of a 401 that a fresh access token may cure (as auth.js).
const STALE = new Set(['token_expired', 'unauthorized', 'auth_failed']);

// Progress is one page's client of the progress API.
export class Progress {
  // options: auth (an Auth: its access token goes with every call; needed
  // to queue), server (the arena server's URL; default: the auth's, else
  // where this module was loaded from), fetch (default the global fetch;
  // tests), poll (ms between a ticket's polls; default 1000).
  constructor(options = {}) {
    this.auth = options.auth || null;
    this.base = new URL('/', options.server || this.auth?.base || import.meta.url).href;
    this.fetchFn = options.fetch || this.auth?.fetchFn || ((...a) => fetch(...a));
    this.poll = options.poll ?? 1000;
  }

  // leaderboards lists the boards: [{id, mode, stat, order, operator,
  // reset, ...}], as the server describes them.
  async leaderboards() {
    const d = await this.get('/api/leaderboards');
    return list(d, 'leaderboards', 'boards');
  }

  // leaderboard reads a page of board id: the top limit entries, or with
  // around an account ID the page around it, of the current season or
  // another. It resolves to {id, season, entries: [{rank, account, name,
  // score}], ...}.
  async leaderboard(id, { around, limit, season } = {}) {
    const d = await this.get(`/api/leaderboards/${seg(id)}`, { around, limit, season });
    return { ...d, entries: list(d, 'entries', 'records') };
  }

  // rank is account's entry on board id ({rank, score, ...}), or null if
  // it has none.
  async rank(id, account, { season } = {}) {
    try {
      return await this.get(`/api/leaderboards/${seg(id)}/accounts/${seg(account)}`, { season });
    } catch (err) {
      if (err.status === 404 && err.code !== 'no_leaderboard') return null;
      throw err;
    }
  }

  // matches reads account's match history, newest first: {matches, next},
  // next the cursor of the page after this one (pass it as before), or ''
  // at the end.
  async matches(account, { before, limit } = {}) {
    const d = await this.get('/api/matches', { account, before, limit });
    return { ...d, matches: list(d, 'matches'), next: d?.next || d?.next_cursor || d?.cursor || '' };
  }

  // profile reads an account's profile: {id, name, created, ratings:
  // [{mode, mu, sigma, ordinal, games}]} (ratings as a list whatever form
  // the server sent them in).
  async profile(account) {
    const d = await this.get(`/api/accounts/${seg(account)}`);
    return { ...d, ratings: ratingsOf(d?.ratings) };
  }

  // queue asks the matchmaker for a match in mode (with room options,
  // and a party of other account IDs that play with this one) and returns
  // its Ticket at once; the ticket tells of the wait and the match.
  queue({ mode, options, party } = {}) {
    const t = new Ticket(this);
    t.start({ mode, options: options || undefined, party: party?.length ? party : undefined });
    return t;
  }

  get(path, query) {
    const u = new URL(path, this.base);
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v));
    }
    return this.call('GET', u.pathname + u.search);
  }

  // call makes a request with the Auth's access token if there is a
  // session (required: one is needed), refreshed once if the server says
  // it is stale.
  async call(method, path, body, required) {
    const token = this.auth ? await this.auth.accessToken() : '';
    if (required && !token) throw new AuthError(401, 'unauthorized', 'not signed in');
    try {
      return await this.request(method, path, body, token);
    } catch (err) {
      if (!token || err.status !== 401 || !STALE.has(err.code)) throw err;
      return this.request(method, path, body, await this.auth.accessToken({ force: true }));
    }
  }

  async request(method, path, body, bearer) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (bearer) headers.Authorization = 'Bearer ' + bearer;
    let res;
    try {
      res = await this.fetchFn(new URL(path, this.base).href, {
        method, headers, cache: 'no-store', credentials: 'omit',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new UnavailableError(0, 'network', `the server cannot be reached: ${err?.message || err}`, 3);
    }
    if (res.status === 204) return null;
    let data = null;
    try {
      const text = await res.text();
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (res.ok) return data;
    const code = data?.code || (res.status === 404 ? 'not_found' : 'http_' + res.status);
    const message = data?.message || `${method} ${path}: ${res.status}`;
    const retryAfter = parseRetryAfter(res.headers?.get?.('Retry-After'));
    if (res.status === 429) throw new ThrottledError(res.status, code, message, retryAfter);
    if (res.status === 503) throw new UnavailableError(res.status, code, message, retryAfter || 3);
    throw new AuthError(res.status, code, message, retryAfter);
  }
}

// Ticket is one wait in the matchmaker's pool. It is an EventTarget (on()
// as the Client's):
//   'wait'  {waited, window, ticket}: while it waits, at every poll:
//           waited the seconds since it was made, window the rating window
//           the server matches it within now (or null if it does not say);
//   'match' {room, server, seat, team, ticket}: matched; join with
//           client.join({room, server, seat}) within a few seconds (the
//           seat is held that long);
//   'end'   {state, error}: it waits no more: 'matched', 'cancelled',
//           'expired', or 'failed' with the AuthError.
// state is 'queueing' (being made), 'waiting', or one of the ends; id is
// the server's ticket ID once made.
export class Ticket extends EventTarget {
  constructor(progress) {
    super();
    this.p = progress;
    this.id = '';
    this.state = 'queueing';
    this.waited = 0;
    this.window = null;
    this.match = null;
    this.started = Date.now();
    this.timer = null;
    this.done = new Promise((resolve) => { this.finish = resolve; });
  }

  on(type, fn) {
    const l = (ev) => fn(ev.detail);
    this.addEventListener(type, l);
    return () => this.removeEventListener(type, l);
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  get waiting() { return this.state === 'queueing' || this.state === 'waiting'; }

  async start(body) {
    try {
      const d = await this.p.call('POST', '/api/matchmake/tickets', body, true);
      this.id = typeof d === 'string' ? d : d?.ticket?.id || d?.ticket || d?.id || '';
      if (!this.id) throw new AuthError(502, 'bad_response', 'the server answered without a ticket');
      if (!this.waiting) {
        // Cancelled while it was being made.
        this.p.call('DELETE', `/api/matchmake/tickets/${seg(this.id)}`, undefined, true).catch(() => {});
        return;
      }
      this.state = 'waiting';
      this.update(typeof d?.ticket === 'object' ? d.ticket : d);
    } catch (err) {
      this.end('failed', err);
    }
  }

  // update takes what the server says of the ticket, and polls again
  // while it waits.
  update(d) {
    if (!this.waiting) return;
    const state = d?.state || 'waiting';
    if (state === 'matched' || d?.room) {
      this.match = {
        room: d.room, server: d.url || d.server || '', seat: seatOf(d, this.p.auth?.account?.id),
        team: d.team ?? 0, ticket: this.id,
      };
      this.state = 'matched';
      this.emit('match', this.match);
      this.end('matched');
      return;
    }
    if (state !== 'waiting') {
      this.end(state);
      return;
    }
    const waited = Number(d?.waited ?? d?.wait ?? NaN);
    this.waited = Number.isFinite(waited) ? waited : (Date.now() - this.started) / 1000;
    const w = Number(d?.window ?? NaN);
    this.window = Number.isFinite(w) ? w : null;
    this.emit('wait', { waited: this.waited, window: this.window, ticket: this.id });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), this.p.poll);
  }

  async check() {
    if (!this.waiting) return;
    try {
      this.update(await this.p.call('GET', `/api/matchmake/tickets/${seg(this.id)}`, undefined, true));
    } catch (err) {
      if (!this.waiting) return;
      if (err.status === 404) this.end('expired', err);
      else if (err.status === 401 || err.status === 403) this.end('failed', err);
      else {
        // The network, or the store for a moment: ask again later.
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.check(), Math.max(this.p.poll, (err.retryAfter || 0) * 1000));
      }
    }
  }

  // cancel takes the ticket out of the pool (a match found meanwhile
  // stands: the 'match' event says so).
  async cancel() {
    if (!this.waiting) return;
    const id = this.id;
    this.end('cancelled');
    if (id) await this.p.call('DELETE', `/api/matchmake/tickets/${seg(id)}`, undefined, true).catch((err) => {
      if (err.status !== 404) throw err;
    });
  }

  end(state, error) {
    clearTimeout(this.timer);
    this.timer = null;
    if (state !== 'matched' && this.state === 'matched') return;
    this.state = state;
    this.emit('end', { state, error: error || null });
    this.finish({ state, match: this.match, error: error || null });
  }
}

function seg(s) { return encodeURIComponent(String(s ?? '')); }

// list reads an answer's list under one of keys, or the answer itself if
// it is one.
function list(d, ...keys) {
  if (Array.isArray(d)) return d;
  for (const k of keys) if (Array.isArray(d?.[k])) return d[k];
  return [];
}

// ratingsOf gives ratings as a list [{mode, mu, sigma, ordinal, games}],
// whether the server sent a list or an object by mode; the ordinal (mu - 3
// sigma, what boards and the page show) is computed where it is missing.
export function ratingsOf(r) {
  const rows = Array.isArray(r) ? r : r && typeof r === 'object' ? Object.entries(r).map(([mode, v]) => ({ mode, ...v })) : [];
  return rows.map((x) => {
    const mu = Number(x.mu), sigma = Number(x.sigma);
    const ordinal = Number.isFinite(Number(x.ordinal)) && x.ordinal !== null ? Number(x.ordinal) : mu - 3 * sigma;
    return { ...x, mu, sigma, ordinal, games: Number(x.games) || 0 };
  });
}

// seatOf is this account's seat of a match: one seat, or a map of seats
// by account.
function seatOf(d, account) {
  if (typeof d.seat === 'string') return d.seat;
  const seats = d.seats;
  if (seats && typeof seats === 'object') return seats[account] ?? Object.values(seats)[0] ?? '';
  return '';
}
