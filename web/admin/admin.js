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
    sessionStorage.removeItem('arena-admin-token');
    token = '';
    showLogin('That token was refused.');
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

window.arenaAdmin = { series }; // for tests
poll();
