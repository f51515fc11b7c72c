// net.js — the connection to the server: a WebSocket speaking arena.v1.bin,
// reconnected with backoff after an unexpected close and resumed with the
// session token kept in sessionStorage, so a reload or a dropped network
// brings the same player back. The token never goes in the URL (proxies
// log URLs): the URL only says ?resume=1, and the token follows in the
// first message. The server gives a new token on every resume.

import { SUBPROTOCOL, decode, encodeInput, encodeMessage, encodePing, encodeResync, encodeLeave, encodeResume } from './protocol.js';

const SESSION_KEY = 'arena.session';
const TAKEN_OVER = 4001;

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
  // handlers: onMessage(msg, now), onStatus(state, detail, final), and
  // optionally onClose(code, reason) for every socket that closes and
  // onRedirect(url, room) when a cluster sends the player to another node.
  // opts.server is the server's page URL (default: this page's), and
  // opts.storageKey where the session is kept: the SDK connects to the
  // server it was loaded from, with its own key per client.
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
    this.attempt = 0;
    this.retryTimer = null;
    this.countdown = null; // updates "reconnecting in N s" while retryTimer runs
    this.pingTimer = null;
    this.stopped = false;
    this.seat = ''; // a seat a redirect's node holds for the next connection
  }

  // connect joins target.room (or quick-joins target.mode), resuming the
  // saved session if it is in that room.
  connect(target) {
    this.target = { ...this.target, ...target };
    this.stopped = false;
    this.attempt = 0;
    this.open();
  }

  // resumeToken is the saved token if it belongs to the target, else ''.
  resumeToken() {
    const t = this.target;
    const s = savedSession(this.storageKey);
    return s && s.token && (!t.room || s.room === t.room) && !t.mode ? s.token : '';
  }

  // url names the room, mode and name; with resume set it asks the server
  // to wait for a resume message before joining.
  url(resume) {
    const u = new URL('/ws', this.server);
    u.protocol = u.protocol === 'https:' || u.protocol === 'wss:' ? 'wss:' : 'ws:';
    const t = this.target;
    if (t.room) u.searchParams.set('room', t.room);
    if (t.mode) u.searchParams.set('mode', t.mode); // with a room: create it in this mode
    if (t.name) u.searchParams.set('name', t.name);
    for (const [k, v] of Object.entries(t.options || {})) u.searchParams.set('room.' + k, String(v));
    for (const [k, v] of Object.entries(t.joinOptions || {})) u.searchParams.set('join.' + k, String(v));
    if (resume) u.searchParams.set('resume', '1');
    if (this.seat) u.searchParams.set('seat', this.seat);
    return u.toString();
  }

  open() {
    this.cancelRetry();
    this.closeSocket();
    this.h.onStatus(this.attempt ? 'reconnecting' : 'connecting');
    const token = this.resumeToken();
    const ws = new WebSocket(this.url(token !== ''), SUBPROTOCOL);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      if (token) ws.send(encodeResume(token)); // must be the first message
      this.attempt = 0;
      this.h.onStatus('connected');
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
      if (msg.type === 'welcome') {
        this.seat = ''; // taken
        this.kinds = msg.kinds; // how the snapshots that follow encode entities
        this.target.room = msg.room;
        this.target.mode = '';
        saveSession(this.storageKey, msg.room, msg.token);
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

  closed(code, reason) {
    if (this.stopped) return;
    if (code === TAKEN_OVER) {
      this.h.onStatus('closed', 'This player is now playing in another tab or window.', true);
      return;
    }
    if (code === 1000) {
      // The server let the player go (the game is over): a retry would
      // start another game unasked.
      this.h.onStatus('closed', reason || 'closed', true);
      return;
    }
    if (code === 1008 && /name|room|mode/.test(reason)) {
      this.h.onStatus('closed', reason, true);
      return;
    }
    // Anything else (a restart, a dropped network, a full room) is worth
    // another try, later and later.
    this.cancelRetry();
    this.attempt++;
    this.server = this.home;
    const delay = Math.min(10000, 500 * 2 ** Math.min(this.attempt, 5));
    const until = Date.now() + delay;
    const tell = () => {
      const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      this.h.onStatus('reconnecting', (reason ? reason + ' — ' : '') + `reconnecting in ${left} s`);
    };
    tell();
    this.countdown = setInterval(tell, 500);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  cancelRetry() {
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
