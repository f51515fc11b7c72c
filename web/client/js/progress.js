// progress.js — the page's Progress panel: the player's profile with
// their skill ratings, the leaderboards (the top 10, and the page around
// the player with their row marked), their match history (newest first,
// a page at a time), and the matchmaker's queue: "Find a match" shows the
// wait and the rating window it is matched within, and joins the room it
// is given. The SDK's Progress (../sdk/progress.js) and queue
// (../sdk/queue.js) make the calls.
// Names and everything else players chose are set as text, never markup.

const TOP = 10;
const AROUND = 10;
const HISTORY_PAGE = 10;
const OPEN_KEY = 'arena.progress.open';
const TABS = ['profile', 'boards', 'history'];

export class ProgressPanel {
  // progress: the SDK's Progress (with the page's Auth). actions:
  // queue({mode}) (the SDK's queue(auth, …): a Queue), join(match) (a
  // match was found: play there), toast(text, isError), mode() (the mode
  // played now, or '').
  constructor(progress, actions) {
    this.p = progress;
    this.actions = actions;
    this.$ = (id) => document.getElementById(id);
    this.tab = 'profile';
    this.me = ''; // the account shown
    this.boards = null; // the list, once read
    this.cursor = ''; // history: where the next page starts
    this.absent = false; // the server has no progress API (404 without a code)
    this.ticket = null; // the Queue of the last "Find a match"
    this.waiting = false; // it waits
    this.wait = { since: 0, window: null };
    this.tick = null; // redraws the wait between polls
    this.loading = new Map(); // what is being read now, by pane: its sequence
    this.seq = 0;
    this.state = { profile: null, top: [], around: [], history: [], queue: 'idle' }; // for tests
    for (const name of TABS) {
      this.$('tab-' + name).addEventListener('click', () => this.select(name));
    }
    // The tabs as ARIA's pattern has them: the arrows, Home and End move
    // between them.
    document.querySelector('#progress [role="tablist"]').addEventListener('keydown', (e) => {
      const i = TABS.indexOf(this.tab);
      const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: TABS.length - 1 }[e.key];
      if (to === undefined) return;
      e.preventDefault();
      e.stopPropagation(); // the arrows choose a tab here, not move the player
      const name = TABS[(to + TABS.length) % TABS.length];
      this.select(name);
      this.$('tab-' + name).focus();
    });
    this.$('board').addEventListener('change', () => this.loadBoard());
    this.$('history-more').addEventListener('click', () => this.loadHistory(true));
    this.$('queue-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.queue();
    });
    this.$('queue-cancel').addEventListener('click', () => this.cancel());
    // The panel reads nothing until it is opened (and stays open for the
    // next visit if it was left so): most visits come to play.
    const details = this.$('progress-details');
    try {
      details.open = localStorage.getItem(OPEN_KEY) === '1';
    } catch { /* storage refused (a privacy mode): closed */ }
    details.addEventListener('toggle', () => {
      try {
        localStorage.setItem(OPEN_KEY, details.open ? '1' : '0');
      } catch { /* as above */ }
      this.refresh();
    });
  }

  // show shows the panel for account (an ID), or hides it for nobody,
  // and reads the pane on show afresh.
  show(account) {
    const changed = account !== this.me;
    this.me = account || '';
    this.$('progress').hidden = !this.me;
    if (!this.me) {
      this.cancel();
      return;
    }
    if (changed) {
      this.cursor = '';
      this.state.history = [];
      this.$('history').replaceChildren();
      this.cancel(); // a ticket of someone else
    }
    this.refresh();
  }

  // refresh reads the pane on show again: after a game ends, say.
  refresh() {
    if (!this.me || !this.$('progress-details').open || this.absent) return;
    if (this.tab === 'profile') this.loadProfile();
    else if (this.tab === 'boards') this.loadBoards();
    else this.loadHistory(false);
  }

  select(name) {
    this.tab = name;
    for (const n of TABS) {
      const on = n === name;
      const tab = this.$('tab-' + n);
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
      this.$('pane-' + n).hidden = !on;
    }
    this.refresh();
  }

  // begin marks a read of pane as the newest: an older one that answers
  // later draws nothing (current() says whether it is still the newest).
  begin(pane) {
    const n = ++this.seq;
    this.loading.set(pane, n);
    this.error('');
    return () => this.loading.get(pane) === n;
  }

  async loadProfile() {
    const current = this.begin('profile');
    const me = this.me;
    try {
      const p = await this.p.profile(me);
      if (!current() || me !== this.me) return;
      this.state.profile = p;
      this.$('profile-name').textContent = p.name || me;
      const rated = p.ratings.filter((r) => r.games > 0).sort((a, b) => b.ordinal - a.ordinal || a.mode.localeCompare(b.mode));
      const games = Number.isFinite(Number(p.games)) && p.games !== undefined ? Number(p.games) : rated.reduce((n, r) => n + r.games, 0);
      this.$('profile-games').textContent = `${games} ${games === 1 ? 'game' : 'games'}`;
      this.$('ratings').hidden = rated.length === 0;
      this.$('ratings-empty').hidden = rated.length > 0;
      this.$('ratings-body').replaceChildren(...rated.map((r) => {
        const tr = document.createElement('tr');
        tr.dataset.mode = r.mode;
        const mode = document.createElement('th');
        mode.scope = 'row';
        mode.textContent = r.mode;
        const ord = document.createElement('td');
        ord.className = 'num';
        ord.textContent = fixed(r.ordinal);
        ord.title = `μ ${fixed(r.mu)}, σ ${fixed(r.sigma)}: shown as μ − 3σ, the rating you have surely earned`;
        const games = document.createElement('td');
        games.className = 'num';
        games.textContent = String(r.games);
        tr.append(mode, ord, games);
        return tr;
      }));
    } catch (err) {
      if (current()) this.failed('Your profile', err);
    }
  }

  // loadBoards reads the list of boards (an admin may add one at any
  // time), keeps the one chosen if it is still there, or else chooses one
  // of the mode played now, and reads it.
  async loadBoards() {
    const current = this.begin('boards');
    try {
      const boards = await this.p.leaderboards();
      if (!current()) return;
      const sel = this.$('board');
      const chosen = this.boards ? sel.value : '';
      this.boards = boards;
      sel.replaceChildren(...boards.map((b) => {
        const o = document.createElement('option');
        o.value = b.id;
        o.textContent = b.mode && !b.id.startsWith(b.mode) ? `${b.mode}: ${b.id}` : b.id;
        return o;
      }));
      const prefer = this.actions.mode?.() || '';
      const ofMode = prefer && boards.find((b) => b.mode === prefer || b.id.startsWith(prefer + '_') || b.id.startsWith(prefer + '-'));
      if (chosen && boards.some((b) => b.id === chosen)) sel.value = chosen;
      else if (ofMode) sel.value = ofMode.id;
      await this.loadBoard();
    } catch (err) {
      if (current()) this.failed('The leaderboards', err);
    }
  }

  async loadBoard() {
    const id = this.$('board').value;
    const note = this.$('board-note');
    if (!id) {
      this.$('board-top').replaceChildren();
      this.$('board-around').replaceChildren();
      this.$('board-around-title').hidden = true;
      note.textContent = 'No leaderboards yet.';
      return;
    }
    const current = this.begin('boards');
    const me = this.me;
    try {
      const [top, around] = await Promise.all([
        this.p.leaderboard(id, { limit: TOP }),
        this.p.leaderboard(id, { around: me, limit: AROUND }).catch((err) => {
          if (err.code === 'no_entry') return { entries: [] }; // not on it yet
          throw err;
        }),
      ]);
      if (!current() || me !== this.me) return;
      const inTop = top.entries.some((e) => e.account === me);
      const mine = around.entries.some((e) => e.account === me);
      this.state.top = top.entries;
      this.state.around = mine && !inTop ? around.entries : [];
      this.$('board-top').replaceChildren(...top.entries.map((e) => this.entry(e)));
      this.$('board-around').replaceChildren(...this.state.around.map((e) => this.entry(e)));
      this.$('board-around-title').hidden = this.state.around.length === 0;
      note.textContent = top.entries.length === 0 ? 'Nobody is on this board yet.'
        : inTop ? 'You are in the top 10.'
        : mine ? '' : 'You are not on this board yet: play a game of its mode.';
      const mineRow = document.querySelector('#pane-boards li.me');
      if (mineRow && !this.$('pane-boards').hidden) mineRow.scrollIntoView?.({ block: 'nearest' });
    } catch (err) {
      if (current()) this.failed('The leaderboard', err);
    }
  }

  // entry is one row of a board: rank, name and score, the player's own
  // marked.
  entry(e) {
    const li = document.createElement('li');
    li.dataset.account = e.account;
    const mine = e.account === this.me;
    li.classList.toggle('me', mine);
    if (mine) li.setAttribute('aria-current', 'true');
    const rank = document.createElement('span');
    rank.className = 'rank';
    rank.textContent = String(e.rank);
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = e.name || e.account;
    const score = document.createElement('span');
    score.className = 'num';
    score.textContent = String(e.score);
    li.append(rank, who, score);
    return li;
  }

  // loadHistory reads the newest page of the history, or with more the
  // page after the one shown.
  async loadHistory(more) {
    const current = this.begin('history');
    const me = this.me;
    const btn = this.$('history-more');
    btn.disabled = true;
    try {
      const page = await this.p.matches(me, { before: more ? this.cursor : undefined, limit: HISTORY_PAGE });
      if (!current() || me !== this.me) return;
      const matches = more ? [...this.state.history, ...page.matches] : page.matches;
      this.state.history = matches;
      this.cursor = page.next;
      btn.hidden = !page.next;
      const list = this.$('history');
      if (matches.length === 0) {
        const li = document.createElement('li');
        li.className = 'muted';
        li.textContent = 'No games yet.';
        list.replaceChildren(li);
        return;
      }
      if (more) list.append(...page.matches.map((m) => this.match(m)));
      else list.replaceChildren(...matches.map((m) => this.match(m)));
    } catch (err) {
      if (current()) this.failed('Your games', err);
    } finally {
      btn.disabled = false;
    }
  }

  // match is one game of the history: its mode, when it ended, the
  // player's place and score, and who played.
  match(m) {
    const li = document.createElement('li');
    li.dataset.key = m.key || m.id || '';
    const players = Array.isArray(m.players) ? m.players : [];
    const mine = players.find((p) => p.account === this.me);
    const head = document.createElement('div');
    head.className = 'match-head';
    const mode = document.createElement('span');
    mode.className = 'mode';
    mode.textContent = m.mode || '';
    const place = document.createElement('span');
    place.className = 'place';
    const n = players.length + (Number(m.guests) || 0);
    place.textContent = mine?.standing ? `${ordinal(mine.standing)} of ${n}` : 'left';
    if (mine?.standing === 1) place.classList.add('won');
    const when = document.createElement('time');
    when.className = 'muted';
    const ended = parseTime(m.ended ?? m.ended_at);
    if (ended) {
      when.dateTime = ended.toISOString();
      when.textContent = ago(ended);
      when.title = ended.toLocaleString();
    }
    head.append(mode, place, when);
    const who = document.createElement('div');
    who.className = 'match-players small';
    const sorted = [...players].sort((a, b) => (a.standing || 1e9) - (b.standing || 1e9));
    sorted.forEach((p, i) => {
      const s = document.createElement('span');
      s.className = 'who';
      s.classList.toggle('me', p.account === this.me);
      s.textContent = p.name || p.account;
      const score = document.createElement('span');
      score.className = 'muted';
      score.textContent = ` ${p.score ?? 0}`;
      who.append(...(i ? [', '] : []), s, score);
    });
    if (Number(m.guests) > 0) who.append(`${players.length ? ', ' : ''}${m.guests} ${m.guests === 1 ? 'guest' : 'guests'}`);
    li.append(head, who);
    return li;
  }

  // queue puts the player in the matchmaker's pool for the chosen mode.
  queue() {
    if (this.ticket && this.waiting) return;
    const mode = this.$('queue-mode').value;
    const q = this.actions.queue({ mode });
    this.ticket = q;
    this.waiting = true;
    this.wait = { since: Date.now(), waited: 0, window: null };
    this.state.queue = 'waiting';
    this.error('');
    this.$('queue-go').disabled = true;
    this.$('queue-status').hidden = false;
    this.drawWait();
    clearInterval(this.tick);
    this.tick = setInterval(() => this.drawWait(), 1000);
    q.on('wait', ({ waited, window }) => {
      if (this.ticket !== q) return;
      // waited is the server's (ms): the seconds count on from it here.
      const ms = Number(waited);
      if (Number.isFinite(ms)) this.wait.since = Date.now() - ms;
      const w = Number(window);
      this.wait.window = window === null || window === undefined || !Number.isFinite(w) ? null : w;
      this.drawWait();
    });
    q.on('match', (m) => {
      if (this.ticket !== q) return;
      this.idle('matched');
      this.actions.toast(`Match found: ${m.room}.`);
      this.actions.join(m);
    });
    q.on('end', ({ state }) => {
      if (this.ticket !== q || !this.waiting) return;
      this.idle(state);
      if (state === 'expired') this.error('No match was found in time: try again.');
    });
    q.on('error', (err) => {
      if (this.ticket !== q) return;
      this.idle('failed');
      this.error(`Finding a match: ${messageOf(err)}`);
    });
  }

  cancel() {
    const q = this.ticket;
    if (!q || !this.waiting) return;
    this.idle('cancelled');
    q.cancel();
  }

  idle(state) {
    this.waiting = false;
    this.state.queue = state;
    clearInterval(this.tick);
    this.tick = null;
    this.$('queue-go').disabled = false;
    this.$('queue-status').hidden = true;
  }

  // drawWait says how long the player has waited and the rating window
  // the matchmaker accepts now (it widens as the wait goes on).
  drawWait() {
    if (!this.waiting) return;
    const secs = Math.max(0, Math.floor((Date.now() - this.wait.since) / 1000));
    let text = `Finding a match: ${secs} s`;
    if (this.wait.window !== null) text += `, within ±${fixed(this.wait.window)}`;
    this.$('queue-wait').textContent = text;
  }

  error(text) { this.$('progress-error').textContent = text; }

  // failed shows a read's error; a server without the progress API is
  // asked no more.
  failed(what, err) {
    if (err?.code === 'no_progress') {
      this.absent = true;
      this.error('This server keeps no profiles, boards or history.');
      return;
    }
    this.error(`${what}: ${messageOf(err)}`);
  }
}

function fixed(x) {
  const n = Number(x);
  return Number.isFinite(n) ? n.toFixed(1) : '–';
}

function ordinal(n) {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] || 'th';
  return n + s;
}

// parseTime reads a time the server sent: RFC 3339, or unix seconds,
// milliseconds or microseconds.
function parseTime(v) {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'number') {
    const ms = v > 1e14 ? v / 1000 : v > 1e11 ? v : v * 1000;
    return new Date(ms);
  }
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

function ago(d) {
  const s = Math.max(0, Math.round((Date.now() - d.getTime()) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return d.toLocaleDateString();
}

function messageOf(err) {
  const text = err?.message || String(err);
  if (err?.retryAfter && (err.status === 429 || err.status === 503)) return `${text} (try again in ${err.retryAfter} s)`;
  return text;
}
