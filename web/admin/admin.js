// The admin dashboard: polls /admin/api/stats once a second with the admin
// token and draws the last five minutes as small charts. Everything is drawn
// here; nothing is loaded from elsewhere.
const HISTORY = 300;
const series = { players: [], connections: [], rooms: [], tick: [], out: [], in: [] };
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem('arena-admin-token') || '';
let previous = null;
let timer = null;

function setStatus(text) { $('status').textContent = text; }

function showLogin(message) {
  clearTimeout(timer);
  $('dash').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  setStatus('not signed in');
}

// refused forgets a token the server refused and asks for another.
function refused() {
  sessionStorage.removeItem('arena-admin-token');
  token = '';
  showLogin('That token was refused.');
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  token = $('token').value.trim();
  sessionStorage.setItem('arena-admin-token', token);
  poll();
});

async function poll() {
  clearTimeout(timer);
  if (!token) { showLogin(); return; }
  let res;
  try {
    res = await fetch('api/stats', { headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' });
  } catch (err) {
    setStatus('server unreachable, retrying');
    timer = setTimeout(poll, 2000);
    return;
  }
  if (res.status === 401) {
    refused();
    return;
  }
  if (!res.ok) {
    setStatus('error ' + res.status + ', retrying');
    timer = setTimeout(poll, 2000);
    return;
  }
  update(await res.json());
  timer = setTimeout(poll, 1000);
}

function push(name, v) {
  const s = series[name];
  s.push(v);
  if (s.length > HISTORY) s.shift();
}

function update(st) {
  // Signed in: neither the form nor an earlier refusal stays on screen.
  $('login').hidden = true;
  $('login-error').textContent = '';
  $('dash').hidden = false;
  const now = Date.parse(st.time) / 1000;
  let outRate = 0, inRate = 0;
  if (previous && now > previous.t) {
    const dt = now - previous.t;
    outRate = (st.bytes_out - previous.out) / 1024 / dt;
    inRate = (st.bytes_in - previous.in) / 1024 / dt;
  }
  previous = { t: now, out: st.bytes_out, in: st.bytes_in };
  // In a cluster the rooms are every node's; the tiles are this node's.
  const cluster = st.cluster || null;
  const own = cluster ? st.rooms.filter((r) => r.node === cluster.node) : st.rooms;
  push('players', st.players);
  push('connections', st.connections);
  push('rooms', own.length);
  push('tick', st.max_tick_ms);
  push('out', outRate);
  push('in', inRate);
  $('v-players').textContent = st.players;
  $('v-connections').textContent = st.connections;
  $('v-rooms').textContent = own.length;
  $('v-tick').textContent = st.max_tick_ms.toFixed(2);
  $('v-out').textContent = outRate.toFixed(1);
  $('v-in').textContent = inRate.toFixed(1);
  $('cluster').hidden = !cluster;
  $('room-node').hidden = !cluster;
  $('nodes').replaceChildren(...(cluster ? cluster.nodes : []).map((n) => row([
    n.name + (n.name === cluster.node ? ' (this node)' : ''), n.url, n.rooms, n.players,
    n.draining ? 'draining' : 'ready', n.heartbeat_age_s.toFixed(1) + ' s ago',
  ])));
  $('rooms').replaceChildren(...st.rooms.map((r) => {
    // Another node's room: its tick figures are not known here.
    const here = !cluster || r.node === cluster.node;
    // Private rooms are listed here only, marked.
    const cells = [r.name + (r.private ? ' (private)' : ''), r.mode, r.players, r.capacity || '∞', here ? r.tick_rate + ' Hz' : '–', here ? r.tick_ms.toFixed(2) : '–'];
    if (cluster) cells.splice(1, 0, r.node);
    return row(cells);
  }));
  $('meta').textContent = `up ${Math.round(st.uptime_s)} s · ${st.goroutines} goroutines · heap ${(st.heap_bytes / 1048576).toFixed(1)} MiB · tick budget ${st.tick_budget_ms.toFixed(1)} ms` + (st.draining ? ' · draining' : '');
  setStatus('live · updated ' + new Date(st.time).toLocaleTimeString());
  if (st.accounts) showAccounts();
  for (const c of document.querySelectorAll('canvas[data-series]')) draw(c, series[c.dataset.series]);
}

// row makes a table row of cells; every value is set as text, never markup,
// since room and node names come from others.
function row(values) {
  const tr = document.createElement('tr');
  for (const v of values) {
    const td = document.createElement('td');
    td.textContent = v;
    tr.append(td);
  }
  return tr;
}

function draw(canvas, data) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== w * dpr || canvas.height !== h * dpr) { canvas.width = w * dpr; canvas.height = h * dpr; }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  if (data.length < 2) return;
  const top = Math.max(...data) || 1;
  const accent = getComputedStyle(document.documentElement).getPropertyValue('--accent').trim();
  g.beginPath();
  data.forEach((v, i) => {
    const x = (i / (HISTORY - 1)) * w;
    const y = h - 2 - (v / top) * (h - 4);
    if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
  });
  g.strokeStyle = accent;
  g.lineWidth = 1.5;
  g.stroke();
  g.lineTo(((data.length - 1) / (HISTORY - 1)) * w, h);
  g.lineTo(0, h);
  g.globalAlpha = 0.12;
  g.fillStyle = accent;
  g.fill();
  g.globalAlpha = 1;
}

// Accounts: find, ban, unban, revoke sessions, and the audit log. The
// section is there when the server's stats say it has the admin's accounts
// API. Names, emails, reasons and details come from players and admins:
// every one is set as text, never markup.

let accountsShown = false;
let lastQuery = '';
let selected = null; // the account shown in the card

// api calls the admin API with the token; it throws the server's message.
async function api(method, path, body) {
  const opts = { method, headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const res = await fetch('api/' + path, opts);
  if (res.status === 401) {
    refused();
    throw new Error('signed out');
  }
  let data = null;
  try { data = await res.json(); } catch { /* not JSON: the status says it */ }
  if (!res.ok) throw new Error((data && data.message) || 'error ' + res.status);
  return data;
}

function showAccounts() {
  if (accountsShown) return;
  accountsShown = true;
  $('accounts').hidden = false;
  $('audit-section').hidden = false;
  search('');
  loadAudit();
}

const when = (t) => new Date(t).toLocaleString();

// status says whether an account is banned now, until when and why.
function status(a) {
  if (!a.banned) return 'active';
  const end = a.ban_permanent ? 'permanently' : 'until ' + when(a.banned_until);
  return 'banned ' + end + (a.ban_reason ? ': ' + a.ban_reason : '');
}

// detail makes an audit entry's detail readable: a ban's end and reason,
// or the note of an unban or a revoke.
function detail(e) {
  const d = e.detail;
  if (d === null || d === undefined) return '';
  if (typeof d !== 'object') return String(d);
  const parts = [];
  if (e.action === 'ban') parts.push(d.permanent ? 'permanent' : 'until ' + when(d.until));
  if (d.reason) parts.push(d.reason);
  return parts.length ? parts.join(': ') : JSON.stringify(d);
}

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

async function search(q) {
  lastQuery = q;
  $('acct-error').textContent = '';
  let data;
  try {
    data = await api('GET', 'accounts?q=' + encodeURIComponent(q) + '&limit=50');
  } catch (err) {
    $('acct-error').textContent = err.message;
    return;
  }
  $('acct-none').hidden = data.accounts.length > 0;
  $('acct-list').replaceChildren(...data.accounts.map((a) => {
    const tr = document.createElement('tr');
    tr.dataset.id = a.id;
    if (selected && selected.id === a.id) tr.className = 'selected';
    const name = document.createElement('button');
    name.type = 'button';
    name.className = 'link';
    name.textContent = a.name;
    name.title = 'Manage this account';
    name.addEventListener('click', () => openAccount(a.id));
    const first = document.createElement('td');
    first.append(name);
    tr.append(first, cell(a.id), cell(a.email || (a.guest ? '(guest)' : '')), cell(when(a.created_at)),
      cell(status(a), a.banned ? 'banned wrap' : 'wrap'));
    return tr;
  }));
}

$('acct-search').addEventListener('submit', (e) => {
  e.preventDefault();
  search($('acct-q').value.trim());
});

// openAccount shows an account in the card; keep keeps the message of the
// action just done.
async function openAccount(id, keep) {
  $('acct-error').textContent = '';
  if (!keep) $('acct-msg').textContent = '';
  let data;
  try {
    data = await api('GET', 'accounts/' + encodeURIComponent(id));
  } catch (err) {
    $('acct-error').textContent = err.message;
    return;
  }
  showAccount(data.account, data.audit);
}

function showAccount(a, audit) {
  selected = a;
  for (const tr of $('acct-list').rows) tr.classList.toggle('selected', tr.dataset.id === a.id);
  $('acct').hidden = false;
  $('acct-title').textContent = a.name;
  $('acct-info').textContent = [a.id, a.email || (a.guest ? 'guest' : ''), 'created ' + when(a.created_at),
    a.sessions_revoked_at ? 'sessions revoked ' + when(a.sessions_revoked_at) : ''].filter(Boolean).join(' · ');
  $('acct-status').textContent = status(a);
  $('acct-status').className = a.banned ? 'banned' : '';
  $('unban').disabled = !a.banned;
  if (audit) {
    $('acct-audit').replaceChildren(...audit.map((e) => {
      const tr = document.createElement('tr');
      tr.append(cell(when(e.at)), cell(e.actor), cell(e.action), cell(detail(e), 'wrap'));
      return tr;
    }));
  }
}

$('ban-for').addEventListener('change', () => {
  const date = $('ban-for').value === 'date';
  $('ban-until').hidden = !date;
  $('ban-until').required = date;
  if (date) $('ban-until').min = new Date(Date.now() - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16);
});

// act runs an action on the selected account, then shows the account, its
// audit log, the list and the recent log as they now are.
async function act(path, body, done) {
  if (!selected) return;
  const id = selected.id;
  $('acct-msg').textContent = '';
  for (const b of document.querySelectorAll('#acct button')) b.disabled = true;
  let ok = false;
  try {
    const data = await api('POST', 'accounts/' + encodeURIComponent(id) + '/' + path, body);
    $('acct-msg').textContent = done(data.account);
    ok = true;
  } catch (err) {
    $('acct-msg').textContent = err.message;
  }
  for (const b of document.querySelectorAll('#acct button')) b.disabled = false;
  if (!token) return false; // refused: the sign-in form is up
  await openAccount(id, true);
  await Promise.all([search(lastQuery), loadAudit()]);
  return ok;
}

$('ban-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const body = { reason: $('ban-reason').value.trim() };
  const how = $('ban-for').value;
  if (how === 'date') {
    const t = new Date($('ban-until').value);
    if (isNaN(t)) { $('acct-msg').textContent = 'Pick a date and time.'; return; }
    body.until = t.toISOString();
  } else if (how !== 'permanent') {
    body.duration = how;
  } // permanent: neither until nor duration
  act('ban', body, (a) => 'Banned ' + a.name + ' ' + (a.ban_permanent ? 'permanently' : 'until ' + when(a.banned_until)) + '.')
    .then((ok) => { if (ok) $('ban-reason').value = ''; });
});

$('unban').addEventListener('click', () => act('unban', {}, (a) => 'Unbanned ' + a.name + '.'));
$('revoke').addEventListener('click', () => act('revoke', {}, (a) => 'Revoked every session of ' + a.name + '.'));

async function loadAudit() {
  let data;
  try {
    data = await api('GET', 'audit?limit=50');
  } catch (err) {
    $('acct-error').textContent = err.message;
    return;
  }
  $('audit').replaceChildren(...data.audit.map((e) => {
    const tr = document.createElement('tr');
    tr.append(cell(when(e.at)), cell(e.actor), cell(e.action), cell(e.account), cell(detail(e), 'wrap'));
    return tr;
  }));
}

$('audit-refresh').addEventListener('click', loadAudit);

window.arenaAdmin = { series }; // for tests
poll();
