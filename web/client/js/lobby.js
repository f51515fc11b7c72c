// lobby.js — the room list, creating and quick-joining rooms, and the
// nickname. Everything shown comes from other players or the server, so it
// is set as text, never as markup.

const NAME_KEY = 'arena.name';
const ROOM_RE = /^[A-Za-z0-9_-]{1,32}$/;
// LOBBY_ROOMS is how many rooms the lobby lists, the fullest first.
const LOBBY_ROOMS = 20;

export function savedName() {
  return localStorage.getItem(NAME_KEY) || '';
}

// validName mirrors the server's rule: at most 16 printable characters.
export function validName(name) {
  if ([...name].length > 16) return 'Names are at most 16 characters.';
  if (/[\p{C}]/u.test(name)) return 'Names may only hold printable characters.';
  return '';
}

export class Lobby {
  // actions: join(room), create(room, mode), quick(mode), rename(name)
  constructor(actions) {
    this.actions = actions;
    this.current = '';
    this.$ = (id) => document.getElementById(id);
    const nameInput = this.$('name');
    nameInput.value = savedName();
    this.$('name-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const name = nameInput.value.trim();
      const err = validName(name);
      this.$('name-error').textContent = err;
      if (err) return;
      localStorage.setItem(NAME_KEY, name);
      actions.rename(name);
    });
    this.$('create-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const room = this.$('new-room').value.trim();
      if (!ROOM_RE.test(room)) {
        this.$('lobby-error').textContent = 'Room names are 1 to 32 letters, digits, - or _.';
        return;
      }
      this.$('lobby-error').textContent = '';
      actions.create(room, this.$('new-mode').value);
    });
    this.$('quick-form').addEventListener('submit', (e) => {
      e.preventDefault();
      actions.quick(this.$('quick-mode').value);
    });
    const toggle = this.$('lobby-toggle');
    toggle.addEventListener('click', () => {
      const open = this.$('lobby').classList.toggle('open');
      toggle.setAttribute('aria-expanded', String(open));
    });
  }

  async loadModes() {
    try {
      const res = await fetch('/api/modes', { cache: 'no-store' });
      const { modes } = await res.json();
      for (const id of ['new-mode', 'quick-mode', 'queue-mode']) {
        const sel = this.$(id);
        sel.replaceChildren(...modes.map((m) => {
          const o = document.createElement('option');
          o.value = m.name;
          o.textContent = m.name;
          o.title = m.description;
          return o;
        }));
      }
    } catch {
      /* the list stays empty; joining by URL still works */
    }
  }

  // refresh fetches the room list; it runs every few seconds. Anyone can
  // create rooms, so it asks only for the fullest few (the server sorts by
  // players) and says how many more there are.
  async refresh() {
    let rooms, total;
    try {
      const res = await fetch(`/api/rooms?limit=${LOBBY_ROOMS}`, { cache: 'no-store' });
      ({ rooms, total } = await res.json());
    } catch {
      return;
    }
    const list = this.$('rooms');
    if (!rooms.length) {
      const li = document.createElement('li');
      li.className = 'muted';
      li.textContent = 'No rooms yet.';
      list.replaceChildren(li);
      return;
    }
    const items = rooms.map((r) => {
      const li = document.createElement('li');
      li.dataset.room = r.name;
      li.classList.toggle('current', r.name === this.current);
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = r.name;
      const meta = document.createElement('span');
      meta.className = 'meta';
      meta.textContent = `${r.mode} · ${r.players}${r.capacity ? '/' + r.capacity : ''}`;
      li.append(name, meta);
      if (r.name !== this.current) {
        const btn = document.createElement('button');
        btn.textContent = 'Join';
        btn.disabled = r.capacity > 0 && r.players >= r.capacity;
        btn.addEventListener('click', () => this.actions.join(r.name));
        li.append(btn);
      }
      return li;
    });
    if (total > rooms.length) {
      const more = document.createElement('li');
      more.className = 'muted';
      more.textContent = `and ${total - rooms.length} more rooms with fewer players`;
      items.push(more);
    }
    list.replaceChildren(...items);
  }

  // scores shows the scoreboard: players by score, the chaser marked.
  scores(players, me, show) {
    this.$('scores-section').hidden = !show;
    if (!show) return;
    const list = this.$('scores');
    players.sort((a, b) => b.score - a.score || a.id - b.id);
    list.replaceChildren(...players.map((p) => {
      const li = document.createElement('li');
      li.classList.toggle('me', p.id === me);
      li.classList.toggle('away', p.away);
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = p.color;
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = (p.name || '#' + p.id) + (p.it ? ' — it!' : '');
      const score = document.createElement('span');
      score.textContent = String(p.score ?? 0);
      li.append(sw, who, score);
      return li;
    }));
  }
}
