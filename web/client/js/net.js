// net.js — the connection to the server: a WebSocket speaking arena.v1.bin,
// reconnected after a close that the codes say is worth another try (with
// exponential backoff and jitter), and resumed with the
// session token kept in sessionStorage, so a reload or a dropped network
// brings the same player back. The token never goes in the URL (proxies
// log URLs): the URL only says ?resume=1, and the token follows in the
// first message. The server gives a new token on every resume.
//
// A player of an account signs in the same way: the URL says ?auth=1, and
// the first message carries the access token (and the resume token, if
// there is one). target.auth supplies the token for every connection, a
// reconnect's too (see Connection.connect).

import { SUBPROTOCOL, decode, encodeInput, encodeMessage, encodePing, encodeResync, encodeLeave, encodeResume, encodeAuth } from './protocol.js';

const SESSION_KEY = 'arena.session';

// What to do after a socket closes, decided by codes only, never by the
// reason's text (docs/protocol.md, "Errors and close codes"): give up
// (NEVER), try again with backoff (LATER), or at once, then with backoff
// (NOW).
export const NEVER = 'never';
export const LATER = 'later';
export const NOW = 'now';

// REFUSALS: the error code of a refused join (the error message the server
// sends before closing) to its policy. Per-address limits and capacity
// pass with time; a request the server cannot take never will.
export const REFUSALS = {
  room_full: LATER, // 1013: the room is at capacity or busy
  server_full: LATER, // 1013: no CPU or no player ID to spare
  too_many_rooms: LATER, // 1013: the server holds as many rooms as it may
  rate_limited: LATER, // 1008 or 1013: rooms created, or joins, too fast from this address
  too_many_seats: LATER, // 1008: this address holds as many players as it may
  room_elsewhere: LATER, // 1013: the room runs on another node
  server_error: LATER, // 1001 or 1011: shutting down, or an internal failure
  bad_request: NEVER, // 1008: a bad room name, mode or nickname: fix the request
  bad_option: NEVER, // 1008: an option the mode does not take
  refused: NEVER, // 1008: the game refused the player by its rules
  auth_required: NEVER, // 1008: this server or mode plays with accounts only: sign in first
  auth_failed: NOW, // 1008: the access token is not valid or has expired: refresh it, once (Connection.closed)
  banned: NEVER, // 4003: the account is banned
  signed_out: NEVER, // 4004: the account signed out everywhere: sign in again
};

// CLOSES: a close code to its policy, when no refusal came before it.
export const CLOSES = {
  1000: NEVER, // left, or the game is over: a retry would start another game unasked
  1001: LATER, // the server is shutting down
  1008: LATER, // a connection-level limit while playing (too slow, no pong); a refused join says its code first
  1009: NEVER, // a message over the size limit: a client bug
  1011: LATER, // the room crashed, or a server-side failure
  1012: NOW, // the room moved to another node: reconnect
  1013: LATER, // try again later
  4001: NEVER, // another connection resumed this player, or another device of its account took its seat
  4003: NEVER, // the account was banned while playing
  4004: NEVER, // the account signed out everywhere, or was deleted
};

// retryPolicy is what to do after a close with code, given the error code
// of the refusal that came before it on the same socket ('' if none). An
// unknown refusal that closes with 1008 is final; any other unknown close
// (1006, a dropped network) is tried again later.
export function retryPolicy(code, refusal = '') {
  if (code === 1000 || code === 4001) return NEVER;
  if (refusal) return REFUSALS[refusal] ?? (code === 1008 ? NEVER : CLOSES[code] ?? LATER);
  return CLOSES[code] ?? LATER;
}

// Reconnects back off exponentially with full jitter: after the nth failed
// attempt in a row (from 0) the wait is uniform in [0, min(MAX, BASE·2ⁿ)).
// A welcome resets the count.
export const BACKOFF_BASE = 500;
export const BACKOFF_MAX = 15000;

export function backoffCeiling(attempt) {
  return Math.min(BACKOFF_MAX, BACKOFF_BASE * 2 ** Math.min(attempt, 30));
}

export function savedSession(key = SESSION_KEY) {
  try {
    return JSON.parse(sessionStorage.getItem(key)) || null;
  } catch {
    return null;
  }
}

function saveSession(key, room, token) {
  sessionStorage.setItem(key, JSON.stringify({ room, token }));
}

export class Connection {
  // handlers: onMessage(msg, now), onStatus(state, detail, final, info)
  // (info: {code, error} of the close for 'closed', and for 'reconnecting'
  // also {attempt, delay, ceiling}: the failed attempts since the last
  // welcome, the wait before the next, and the backoff's ceiling, ms), and
  // optionally onClose(code, reason) for every socket that closes and
  // onRedirect(url, room) when a cluster sends the player to another node.
  // opts.server is the server's page URL (default: this page's),
  // opts.storageKey where the session is kept (the SDK connects to the
  // server it was loaded from, with its own key per client), and
  // opts.random the backoff's source of jitter (default Math.random).
  constructor(handlers, opts = {}) {
    this.h = handlers;
    this.server = opts.server || location.href;
    // home is where the client started; server, where a cluster last
    // sent it. A node that fails sends it home, which knows where its
    // room is now (restored on another node, say).
    this.home = this.server;
    this.storageKey = opts.storageKey || SESSION_KEY;
    this.kinds = undefined; // the last welcome's entity kinds, for decode
    this.ws = null;
    this.target = { room: '', mode: '', name: '', options: {}, joinOptions: {} };
    this.attempt = 0; // failed attempts since the last welcome
    this.random = opts.random || Math.random; // the backoff's jitter
    this.refusal = null; // the error message of a refused join on the socket now open
    this.retryTimer = null;
    this.countdown = null; // updates "reconnecting in N s" while retryTimer runs
    this.pingTimer = null;
    this.stopped = false;
    this.why = ''; // what the last close said, shown while trying again
    this.seat = ''; // a seat a redirect's node holds for the next connection
    this.authFailed = false; // the last attempt's token was refused: the next asks for a fresh one
  }

  // connect joins target.room (or quick-joins target.mode), resuming the
  // saved session if it is in that room.
  //
  // target.auth signs the player in as an account: an access token, or a
  // function that returns one (or a promise of one), called before every
  // connection, reconnects included, with the reason it is asked: '' or
  // 'auth_failed', when the server refused the last token (the SDK then
  // refreshes it). A token refused twice in a row ends the connection:
  // the player must sign in again. Without it the player is a guest.
  connect(target) {
    this.target = { ...this.target, ...target };
    this.stopped = false;
    this.attempt = 0;
    this.authFailed = false;
    this.open();
  }

  // resumeToken is the saved token if it belongs to the target, else ''.
  resumeToken() {
    const t = this.target;
    const s = savedSession(this.storageKey);
    // A spectator has nothing to resume.
    return s && s.token && !t.spectate && (!t.room || s.room === t.room) && !t.mode ? s.token : '';
  }

  // url names the room, mode and name; with resume set it asks the server
  // to wait for a resume message before joining, with auth an auth message.
  url(resume, auth = false) {
    const u = new URL('/ws', this.server);
    u.protocol = u.protocol === 'https:' || u.protocol === 'wss:' ? 'wss:' : 'ws:';
    const t = this.target;
    if (t.room) u.searchParams.set('room', t.room);
    if (t.mode) u.searchParams.set('mode', t.mode); // with a room: create it in this mode
    if (t.name) u.searchParams.set('name', t.name);
    for (const [k, v] of Object.entries(t.options || {})) u.searchParams.set('room.' + k, String(v));
    for (const [k, v] of Object.entries(t.joinOptions || {})) u.searchParams.set('join.' + k, String(v));
    if (t.spectate) u.searchParams.set('spectate', '1'); // watch: no player
    if (auth) u.searchParams.set('auth', '1'); // the auth message carries the resume token too
    else if (resume) u.searchParams.set('resume', '1');
    if (this.seat) u.searchParams.set('seat', this.seat);
    return u.toString();
  }

  // accessToken resolves to the access token to sign in with, or '' for a
  // guest: target.auth's.
  async accessToken() {
    const auth = this.target.auth;
    if (typeof auth !== 'function') return auth || '';
    return (await auth(this.authFailed ? 'auth_failed' : '')) || '';
  }

  open() {
    this.cancelRetry();
    this.closeSocket();
    // Connected only once welcomed: until then a refusal may come.
    this.h.onStatus(this.attempt ? 'reconnecting' : 'connecting', this.attempt ? this.why : '');
    if (!this.target.auth) {
      this.dial('');
      return;
    }
    const opening = (this.opening = {});
    this.accessToken().then(
      (access) => {
        if (this.opening === opening && !this.stopped) this.dial(access);
      },
      (err) => {
        if (this.opening !== opening || this.stopped) return;
        // No token to be had (the accounts API is down, say): as a
        // connection that could not be made, tried again later.
        this.why = 'could not sign in: ' + (err?.message || err);
        this.closed(1006, this.why);
      },
    );
  }

  // dial opens the socket, signing in with access if it is not ''.
  dial(access) {
    this.opening = null;
    const token = this.resumeToken();
    const ws = new WebSocket(this.url(token !== '', access !== ''), SUBPROTOCOL);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.refusal = null;
    let welcomed = false;
    ws.onopen = () => {
      // Must be the first message.
      if (access) ws.send(encodeAuth(access, token));
      else if (token) ws.send(encodeResume(token));
      // Not connected yet: the join may still be refused. The welcome says.
      this.ping();
      this.pingTimer = setInterval(() => this.ping(), 1000);
    };
    ws.onmessage = (ev) => {
      if (!(ev.data instanceof ArrayBuffer)) return;
      let msg;
      try {
        msg = decode(ev.data, this.kinds);
      } catch (err) {
        console.warn('arena: undecodable message', err);
        return;
      }
      if (msg.type === 'redirect') {
        // Another node of the cluster runs the room: go there, as if the
        // player had connected there in the first place. The server
        // closes this socket; it is no longer ours.
        this.server = msg.url;
        this.target.room = msg.room;
        this.seat = msg.seat; // held there for us for a few seconds
        this.h.onRedirect?.(msg.url, msg.room);
        this.open();
        return;
      }
      if (msg.type === 'error' && !welcomed) {
        // An error before the welcome is the join's refusal: its code
        // decides what to do when the server closes next.
        this.refusal = msg;
      }
      if (msg.type === 'welcome') {
        welcomed = true;
        this.attempt = 0;
        this.authFailed = false;
        this.refusal = null;
        this.seat = ''; // taken
        this.kinds = msg.kinds; // how the snapshots that follow encode entities
        this.target.room = msg.room;
        this.target.mode = '';
        // A spectator's welcome has no token: the player's saved one stays.
        if (!msg.watching) saveSession(this.storageKey, msg.room, msg.token);
        this.h.onStatus('connected');
      }
      this.h.onMessage(msg, performance.now());
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      clearInterval(this.pingTimer);
      this.ws = null;
      this.h.onClose?.(ev.code, ev.reason);
      this.closed(ev.code, ev.reason);
    };
  }

  // closed decides, by the close code and the refusal's error code only,
  // whether to try again, and when. Status details show the server's
  // words: the refusal's message, else the close's reason.
  closed(code, reason) {
    if (this.stopped) return;
    const refusal = this.refusal;
    this.refusal = null;
    const error = refusal?.code || '';
    const why = refusal?.message || reason || '';
    this.why = why;
    let policy = retryPolicy(code, error);
    // A refused token is refreshed and tried once more; refused again,
    // signing in again is the player's to do.
    if (error === 'auth_failed') {
      if (this.authFailed) policy = NEVER;
      this.authFailed = true;
    }
    if (policy === NEVER) {
      const text = code === 4001 ? 'This player is now playing in another tab or window.' : why || 'closed';
      this.h.onStatus('closed', text, true, { code, error });
      return;
    }
    this.cancelRetry();
    const ceiling = backoffCeiling(this.attempt);
    const delay = policy === NOW && this.attempt === 0 ? 0 : Math.floor(this.random() * ceiling);
    this.attempt++;
    this.server = this.home;
    const until = Date.now() + delay;
    const retry = { code, error, attempt: this.attempt, delay, ceiling };
    const tell = () => {
      const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      this.h.onStatus('reconnecting', (why ? why + ' — ' : '') + `reconnecting in ${left} s`, false, retry);
    };
    tell();
    this.countdown = setInterval(tell, 500);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  cancelRetry() {
    this.opening = null; // a token still being fetched opens nothing
    clearTimeout(this.retryTimer);
    clearInterval(this.countdown);
    this.retryTimer = this.countdown = null;
  }

  // send reports whether the bytes went to an open socket.
  send(bytes) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(bytes);
    return true;
  }

  input(seq, buttons, tick, axes, lag) { this.send(encodeInput(seq, buttons, tick, axes, lag)); }
  message(typeIndex, data) { return this.send(encodeMessage(typeIndex, data)); }
  resync() { this.send(encodeResync()); }
  ping() { this.send(encodePing(Math.floor(performance.now()) >>> 0)); }

  // leave ends the player for good (no resume) before going elsewhere.
  leave() {
    this.stopped = true;
    this.cancelRetry();
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(encodeLeave());
    }
    this.closeSocket(1000);
    sessionStorage.removeItem(this.storageKey);
  }

  closeSocket(code) {
    clearInterval(this.pingTimer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      try { ws.close(code || 1000); } catch { /* already closed */ }
    }
  }
}
