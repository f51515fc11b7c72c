// auth.js — arena's accounts from the browser: a client of the server's
// HTTP API (/api/auth/*, /api/me), exported by arena.js. docs/sdk.md
// documents it.
//
//   import { Auth, connect } from '/sdk/arena.js';
//   const auth = new Auth();
//   if (!auth.kept()) await auth.guest();   // else the kept session is used
//   const game = connect({ room: 'lobby', auth });
//
// Tokens: the access token (short-lived, signed) lives in memory only; the
// refresh token (long-lived, opaque, rotated on every use) is kept in a
// storage the caller chooses: localStorage by default, under the key
// 'arena.refresh', so that a reload or another visit is the same account.
// Every refresh spends the kept token and keeps the next one. A spent token
// presented again makes the server end the whole session (it looks stolen),
// so two refreshes must never race with the same token: one refresh at a
// time runs per client, shared by every caller that needs it, and across
// the tabs of one origin under a Web Lock, re-reading the kept token once
// the lock is held (another tab may have rotated it meanwhile).

// AuthError is what every call throws when the server says no, or cannot
// be reached. code is the server's error code (docs/sdk.md lists them), or
// 'network' when nothing answered, or 'no_accounts' when the server has no
// accounts API (404). status is the HTTP status (0 for 'network'), and
// retryAfter the seconds the server asked to wait (429 and 503), or 0.
export class AuthError extends Error {
  constructor(status, code, message, retryAfter = 0) {
    super(message || code);
    this.name = 'AuthError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

// ThrottledError: 429, too many attempts from this address or for this
// account; try again after retryAfter seconds.
export class ThrottledError extends AuthError {
  constructor(status, code, message, retryAfter) {
    super(status, code, message, retryAfter);
    this.name = 'ThrottledError';
  }
}

// UnavailableError: 503, the accounts store is down (play goes on: access
// tokens still admit joins), or the server could not be reached at all
// (code 'network'). Try again after retryAfter seconds (a guess of a few
// seconds when the server did not say).
export class UnavailableError extends AuthError {
  constructor(status, code, message, retryAfter) {
    super(status, code, message, retryAfter);
    this.name = 'UnavailableError';
  }
}

const REFRESH_KEY = 'arena.refresh';
// A token is refreshed when it has less than this share of its life left
// (and at least MARGIN_MIN ms): ahead of expiry, so that a join or a call
// never carries one that lapses on the way.
const MARGIN_SHARE = 0.2;
const MARGIN_MIN = 30000;

// Codes of a 401 that a fresh access token may cure: refreshed once, then
// the call is made again.
export const STALE = new Set(['token_expired', 'unauthorized', 'auth_failed']);

// memoryStorage keeps the refresh token for as long as the page lives:
// for a caller that wants no session to outlive it.
export function memoryStorage() {
  const m = new Map();
  return {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => { m.set(k, String(v)); },
    removeItem: (k) => { m.delete(k); },
  };
}

// Auth is one player's session with the server's accounts. It is an
// EventTarget: 'change' fires (detail: {account, why}) whenever the
// account it speaks for changes: signed in, renamed, linked, signed out,
// or the session lost (why: 'signin', 'refresh', 'rename', 'link',
// 'signout', 'expired', 'deleted'). on(type, fn) hands fn the detail.
export class Auth extends EventTarget {
  // options: server (the arena server's URL; default: where this module
  // was loaded from), storage (getItem/setItem/removeItem; default
  // localStorage, or memory if there is none; null: memory), storageKey
  // (default 'arena.refresh'), fetch (default the global fetch; tests),
  // now (() => ms; default Date.now; tests). storage may be replaced
  // before the first call (the page picks it per tab).
  constructor(options = {}) {
    super();
    this.base = new URL('/', options.server || import.meta.url).href;
    this.storage = options.storage === undefined ? defaultStorage() : options.storage || memoryStorage();
    this.key = options.storageKey || REFRESH_KEY;
    this.fetchFn = options.fetch || ((...a) => fetch(...a));
    this.now = options.now || Date.now;
    this.access = ''; // in memory only
    this.expires = 0; // when access lapses, this.now() ms
    this.ttl = 0; // its lifetime, ms
    this.acct = null;
    this.inflight = null; // the refresh running now, shared
  }

  on(type, fn) {
    const l = (ev) => fn(ev.detail);
    this.addEventListener(type, l);
    return () => this.removeEventListener(type, l);
  }

  // account is the account as the server last described it ({id, name,
  // email?, guest, created_at}), or null before any sign-in or refresh.
  get account() { return this.acct; }

  // kept reports whether a refresh token is kept: a session to go on with
  // (refresh() or accessToken() will tell whether it still holds).
  kept() { return !!this.read(); }

  // signedIn reports whether there is a session: an access token, or a kept
  // refresh token for one.
  get signedIn() { return !!this.access || this.kept(); }

  // guest creates a guest account (a name of the server's choosing unless
  // name is given) and signs in as it: one call, no form.
  guest({ name } = {}) {
    return this.start('/api/auth/guest', name ? { name } : {}, 'signin');
  }

  // register creates an account with an email and a password and signs in.
  register({ email, password, name }) {
    return this.start('/api/auth/register', { email, password, name }, 'signin');
  }

  // login signs in with an email and a password. The session it replaces
  // (a guest's, say) is dropped here, not ended on the server.
  login({ email, password }) {
    return this.start('/api/auth/login', { email, password }, 'signin');
  }

  // link gives the signed-in guest an email and a password: the same
  // account (its id, its progress), now one to sign in to from elsewhere.
  async link({ email, password }) {
    const s = await this.authed('POST', '/api/auth/link', { email, password });
    await this.adopt(s, 'link');
    return this.acct;
  }

  // external signs in with a token of the studio's own backend (a JWT the
  // server is configured to trust).
  external(token) {
    return this.start('/api/auth/external', { token }, 'signin');
  }

  // refresh spends the kept refresh token for a new pair and returns the
  // account. Concurrent calls share one request. A token the server no
  // longer takes (expired, revoked, signed out everywhere, reused) ends the
  // session here too: the kept token is forgotten, 'change' fires with why
  // 'expired', and the AuthError (401) is thrown.
  refresh() {
    if (!this.inflight) {
      this.inflight = this.locked(() => this.doRefresh()).finally(() => { this.inflight = null; });
    }
    return this.inflight;
  }

  async doRefresh() {
    const token = this.read();
    if (!token) {
      this.forget('expired');
      throw new AuthError(401, 'unauthorized', 'not signed in');
    }
    // Another tab may have refreshed with the token this one last saw
    // while it waited for the lock: a token just read is one nobody spent.
    let s;
    try {
      s = await this.request('POST', '/api/auth/refresh', { refresh_token: token });
    } catch (err) {
      if (err.status === 401 && this.read() === token) this.forget('expired');
      throw err;
    }
    await this.adopt(s, 'refresh', true);
    return this.acct;
  }

  // accessToken returns an access token good for a while yet: the one held,
  // or a new one refreshed ahead of its expiry. With force, always a new
  // one. It returns '' when there is no session at all (nothing kept).
  async accessToken({ force = false } = {}) {
    if (!force && this.access && this.expires - this.now() > this.margin()) return this.access;
    if (!this.kept()) {
      this.access = '';
      return '';
    }
    await this.refresh();
    return this.access;
  }

  margin() { return Math.max(MARGIN_MIN, this.ttl * MARGIN_SHARE); }

  // logout ends this session on the server (or with everywhere, every
  // session of the account, whose live connections close) and forgets it
  // here. The local session ends even if the server cannot be told.
  async logout({ everywhere = false } = {}) {
    const token = this.read();
    try {
      if (everywhere) await this.authed('POST', '/api/auth/logout', { everywhere: true });
      else if (token) await this.request('POST', '/api/auth/logout', { refresh_token: token });
    } finally {
      this.forget('signout');
    }
  }

  // me fetches the account as the server has it now.
  async me() {
    const a = await this.authed('GET', '/api/me');
    this.setAccount(a, '');
    return this.acct;
  }

  // rename changes the account's display name (the server checks it as it
  // does a nickname, and that nobody has it) and takes a new access token,
  // which carries the name to the joins that follow.
  async rename(name) {
    const a = await this.authed('PATCH', '/api/me', { name });
    if (a && typeof a === 'object' && a.id) this.setAccount(a, '');
    else if (this.acct) this.acct = { ...this.acct, name };
    await this.refresh();
    this.emit('change', { account: this.acct, why: 'rename' });
    return this.acct;
  }

  // changePassword changes the password; the account's other sessions end.
  async changePassword(password, newPassword) {
    await this.authed('POST', '/api/me/password', { password, new_password: newPassword });
  }

  // deleteAccount deletes the account and all it holds, and forgets the
  // session.
  async deleteAccount() {
    await this.authed('DELETE', '/api/me');
    this.forget('deleted');
  }

  // exportData returns everything the account holds, as the server's JSON.
  exportData() { return this.authed('GET', '/api/me/export'); }

  // ---- internals ----

  async start(path, body, why) {
    const s = await this.request('POST', path, body);
    await this.adopt(s, why);
    return this.acct;
  }

  // adopt keeps a session answer: the refresh token in storage, the access
  // token in memory. (Inside a refresh the lock is already held.)
  async adopt(s, why, quiet) {
    if (!s || typeof s.access_token !== 'string' || typeof s.refresh_token !== 'string') {
      throw new AuthError(502, 'bad_response', 'the server answered without a session');
    }
    this.write(s.refresh_token);
    this.access = s.access_token;
    this.ttl = Math.max(0, Number(s.expires_in) || 0) * 1000;
    this.expires = this.now() + this.ttl;
    const before = JSON.stringify(this.acct);
    this.setAccount(s.account, '');
    // A refresh tells only of a change (a name changed on another device).
    if (!quiet || before !== JSON.stringify(this.acct)) this.emit('change', { account: this.acct, why });
  }

  setAccount(a, why) {
    if (a && typeof a === 'object') this.acct = { ...a };
    if (why) this.emit('change', { account: this.acct, why });
  }

  forget(why) {
    const had = !!(this.acct || this.access || this.read());
    this.access = '';
    this.expires = 0;
    this.acct = null;
    try { this.storage.removeItem(this.key); } catch { /* storage refused */ }
    if (had) this.emit('change', { account: null, why });
  }

  // authed makes a call with the access token, refreshing it first if it
  // is about to lapse, and once more if the server says it is stale.
  async authed(method, path, body) {
    const token = await this.accessToken();
    if (!token) throw new AuthError(401, 'unauthorized', 'not signed in');
    try {
      return await this.request(method, path, body, token);
    } catch (err) {
      if (err.status !== 401 || !STALE.has(err.code)) throw err;
      const again = await this.accessToken({ force: true });
      return this.request(method, path, body, again);
    }
  }

  request(method, path, body, bearer) {
    return apiRequest(this.fetchFn, this.base, method, path, body, bearer, { missing: 'no_accounts', now: this.now() });
  }

  // locked runs fn under a Web Lock shared by the tabs of this origin,
  // where there are Web Locks (secure contexts: https, localhost).
  locked(fn) {
    const locks = globalThis.navigator?.locks;
    if (!locks) return fn();
    return locks.request('arena.auth:' + this.key, fn);
  }

  read() {
    try { return this.storage.getItem(this.key) || ''; } catch { return ''; }
  }

  write(token) {
    try { this.storage.setItem(this.key, token); } catch { /* storage refused: memory only */ }
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }
}

function defaultStorage() {
  try {
    const s = globalThis.localStorage;
    if (s) return s;
  } catch { /* a privacy mode refuses it */ }
  return memoryStorage();
}

// apiRequest makes one JSON request of arena's HTTP API and returns its
// answer's body, or throws the typed error its status and code say: the
// one way every part of the SDK talks to the API. missing is the code of
// a 404 or 405 with none, which a server without that API answers (its
// page handler takes GET only).
export async function apiRequest(fetchFn, base, method, path, body, bearer, { missing, now = Date.now() } = {}) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (bearer) headers.Authorization = 'Bearer ' + bearer;
  let res;
  try {
    res = await fetchFn(new URL(path, base).href, {
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
  const none = !data?.code && (res.status === 404 || res.status === 405);
  const code = data?.code || (none ? missing : 'http_' + res.status);
  const message = data?.message || `${method} ${path}: ${res.status}`;
  const retryAfter = parseRetryAfter(res.headers?.get?.('Retry-After'), now);
  if (res.status === 429) throw new ThrottledError(res.status, code, message, retryAfter);
  if (res.status === 503) throw new UnavailableError(res.status, code, message, retryAfter || 3);
  throw new AuthError(res.status, code, message, retryAfter);
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
export function parseRetryAfter(v, now = Date.now()) {
  if (!v) return 0;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const t = Date.parse(v);
  return Number.isNaN(t) ? 0 : Math.max(0, Math.ceil((t - now) / 1000));
}
