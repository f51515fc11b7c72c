// progress.js — what players keep between games, from the browser: the
// leaderboards, match history and profiles with skill ratings. A client
// of the server's HTTP API (/api/leaderboards, /api/matches,
// /api/accounts/), exported by arena.js; docs/sdk.md documents it. (The
// matchmaker's queue is queue.js's.)
//
//   import { Auth, Progress } from '/sdk/arena.js';
//   const progress = new Progress({ auth });
//   const boards = await progress.leaderboards();
//   const page = await progress.leaderboard(boards[0].id, { around: auth.account.id });
//   const { matches, next } = await progress.matches(auth.account.id);
//
// Calls send the Auth's access token when there is a session (the server
// may show a signed-in player more).

import { apiRequest, STALE } from './auth.js';

// Progress is one page's client of the progress API.
export class Progress {
  // options: auth (an Auth: its access token goes with every call),
  // server (the arena server's URL; default: the auth's, else where this
  // module was loaded from), fetch (default the global fetch; tests).
  constructor(options = {}) {
    this.auth = options.auth || null;
    this.base = new URL('/', options.server || this.auth?.base || import.meta.url).href;
    this.fetchFn = options.fetch || this.auth?.fetchFn || ((...a) => fetch(...a));
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

  // rank is account's entry on board id ({rank, account, name, score,
  // ...}), or null if it has none this season (404 no_entry; an unknown
  // board is an error, not_found).
  async rank(id, account, { season } = {}) {
    try {
      const d = await this.get(`/api/leaderboards/${seg(id)}/accounts/${seg(account)}`, { season });
      return d?.entry ?? d;
    } catch (err) {
      if (err.status === 404 && err.code === 'no_entry') return null;
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


  get(path, query) {
    const u = new URL(path, this.base);
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v));
    }
    return this.call('GET', u.pathname + u.search);
  }

  // call makes a request with the Auth's access token if there is a
  // session, refreshed once if the server says it is stale.
  async call(method, path, body) {
    const token = this.auth ? await this.auth.accessToken().catch(() => '') : '';
    try {
      return await this.request(method, path, body, token);
    } catch (err) {
      if (!token || err.status !== 401 || !STALE.has(err.code)) throw err;
      return this.request(method, path, body, await this.auth.accessToken({ force: true }));
    }
  }

  request(method, path, body, bearer) {
    return apiRequest(this.fetchFn, this.base, method, path, body, bearer, { missing: 'no_progress' });
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

