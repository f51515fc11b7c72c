// protocol.js — arena's native binary protocol (arena.v1.bin), as
// docs/protocol.md specifies it: encoding the client's messages and decoding
// the server's, and applying snapshot deltas to a world of entities.

export const SUBPROTOCOL = 'arena.v1.bin';

const C_INPUT = 0x01, C_PING = 0x02, C_RESYNC = 0x03, C_LEAVE = 0x04, C_RESUME = 0x05, C_MESSAGE = 0x06, C_AUTH = 0x07;
export const WELCOME = 0x81, SNAPSHOT = 0x82, PONG = 0x83, ERROR = 0x84, NOTICE = 0x85;
export const EVENT = 0x86, REDIRECT = 0x87;

export const KIND_PLAYER = 0;
export const KIND_ITEM = 1;

function pushUvarint(out, v) {
  // Numbers here stay below 2^53, so arithmetic (not bit operators) is safe.
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function pushZigzag(out, v) {
  pushUvarint(out, v >= 0 ? v * 2 : -v * 2 - 1);
}

function pushString(out, s) {
  const bytes = new TextEncoder().encode(s);
  pushUvarint(out, bytes.length);
  for (const b of bytes) out.push(b);
}

// encodeInput encodes the buttons held from a tick, and the values of the
// mode's analog axes (the welcome's axes, in order), if it declares any.
// lag says how many ticks before tick the world was that the player saw as
// it chose them (others are drawn in the past), for lag compensation.
export function encodeInput(seq, buttons, tick, axes = [], lag = 0) {
  const out = [C_INPUT];
  pushUvarint(out, seq);
  out.push(buttons & 0xff);
  pushUvarint(out, tick);
  if (lag > 0 || axes.length > 0) pushUvarint(out, Math.max(0, Math.round(lag)));
  for (const v of axes) pushZigzag(out, v);
  return new Uint8Array(out);
}

// encodeMessage encodes a game message: the index of its type in the
// welcome's messages, and its data, any JSON value.
export function encodeMessage(typeIndex, data) {
  const out = [C_MESSAGE];
  pushUvarint(out, typeIndex);
  pushString(out, JSON.stringify(data));
  return new Uint8Array(out);
}

export function encodePing(time) {
  const b = new Uint8Array(5);
  b[0] = C_PING;
  new DataView(b.buffer).setUint32(1, time >>> 0, true);
  return b;
}

// encodeResume presents a resume token: the first message of a connection
// opened with ?resume=1, so that the token never appears in a URL.
export function encodeResume(token) {
  const bytes = new TextEncoder().encode(token);
  const out = [C_RESUME];
  pushUvarint(out, bytes.length);
  for (const b of bytes) out.push(b);
  return new Uint8Array(out);
}

// encodeAuth signs in: the first message of a connection opened with
// ?auth=1, with an access token and, to resume a player, its resume token
// ('' for none). Like resume's, the tokens never appear in a URL.
export function encodeAuth(access, resume = '') {
  const out = [C_AUTH];
  pushString(out, access);
  if (resume) pushString(out, resume);
  return new Uint8Array(out);
}

export const encodeResync = () => new Uint8Array([C_RESYNC]);
export const encodeLeave = () => new Uint8Array([C_LEAVE]);

class Reader {
  constructor(buf) {
    this.b = new Uint8Array(buf);
    this.i = 0;
  }
  byte() {
    if (this.i >= this.b.length) throw new Error('short message');
    return this.b[this.i++];
  }
  uvarint() {
    let v = 0, mul = 1;
    for (let n = 0; n < 10; n++) {
      const c = this.byte();
      v += (c & 0x7f) * mul;
      if (c < 0x80) return v;
      mul *= 0x80;
    }
    throw new Error('varint too long');
  }
  zigzag() {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }
  uint32() {
    if (this.i + 4 > this.b.length) throw new Error('short message');
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.i, 4).getUint32(0, true);
    this.i += 4;
    return v;
  }
  color() {
    const r = this.byte(), g = this.byte(), b = this.byte();
    return '#' + ((r << 16) | (g << 8) | b).toString(16).padStart(6, '0');
  }
  float32() {
    if (this.i + 4 > this.b.length) throw new Error('short message');
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.i, 4).getFloat32(0, true);
    this.i += 4;
    return v;
  }
  string() {
    const n = this.uvarint();
    if (this.i + n > this.b.length) throw new Error('short string');
    const s = new TextDecoder().decode(this.b.subarray(this.i, this.i + n));
    this.i += n;
    return s;
  }
  done() {
    if (this.i !== this.b.length) throw new Error('trailing bytes');
  }
}

// Field types of a mode's schema (game.FieldType), and the kinds of a mode
// that declares none (game.BasicKinds).
const T_INT = 1, T_UINT = 2, T_FIXED = 3, T_FLOAT = 4, T_BOOL = 5, T_ENUM = 6, T_COLOR = 7;
const TYPE_NAMES = [, 'int', 'uint', 'fixed', 'float', 'bool', 'enum', 'color'];
export const BASIC_KINDS = [{ name: 'player', fields: [], texts: [] }, { name: 'item', fields: [], texts: [] }];

function readKinds(r) {
  const kinds = [];
  for (let n = r.uvarint(); n > 0; n--) {
    const k = { name: r.string(), fields: [], texts: [] };
    for (let f = r.uvarint(); f > 0; f--) {
      const field = { name: r.string(), type: r.byte() };
      const flags = r.byte();
      field.typeName = TYPE_NAMES[field.type];
      field.delta = (flags & 1) !== 0;
      field.interp = (flags & 2) !== 0;
      if (field.type === T_INT || field.type === T_UINT) field.bits = r.byte();
      else if (field.type === T_FIXED) field.scale = r.uvarint();
      else if (field.type === T_ENUM) {
        field.values = [];
        for (let v = r.uvarint(); v > 0; v--) field.values.push(r.string());
      } else if (!field.typeName) throw new Error('unknown field type ' + field.type);
      k.fields.push(field);
    }
    for (let t = r.uvarint(); t > 0; t--) k.texts.push({ name: r.string(), maxLen: r.uvarint() });
    kinds.push(k);
  }
  return kinds;
}

// zero is a field's value before anything sets it, as arena.v1.json shows it.
function zero(f) {
  switch (f.type) {
    case T_BOOL: return false;
    case T_ENUM: return f.values[0];
    case T_COLOR: return '#000000';
    default: return 0;
  }
}

// value reads one field's value, or with delta, a Delta field's difference.
function value(r, f, delta) {
  switch (f.type) {
    case T_INT: return r.zigzag();
    case T_FIXED: return delta ? r.zigzag() : r.zigzag() / f.scale;
    case T_UINT: return r.uvarint();
    case T_ENUM: { const v = r.uvarint(); return v < f.values.length ? f.values[v] : v; }
    case T_FLOAT: return r.float32();
    case T_COLOR: return r.color();
    case T_BOOL: return true;
  }
}

// An entity is a plain object: id, kind (its index in the welcome's kinds),
// away, x, y, and each declared field and text by its name, valued as in
// arena.v1.json: a colour as #rrggbb, an enum by name, a fixed-point field
// as a number, a bool as true or false.
function readAdded(r, kinds, id) {
  const kind = r.byte();
  const k = kinds[kind];
  const e = { id, kind, away: false, x: r.zigzag(), y: r.zigzag() };
  if (!k) throw new Error('entity of undeclared kind ' + kind);
  const mask = r.uvarint();
  if (mask >= 2 ** (1 + k.fields.length + k.texts.length)) throw new Error('undeclared fields');
  e.away = (mask & 1) !== 0;
  k.fields.forEach((f, i) => { e[f.name] = (mask & 2 ** (1 + i)) ? value(r, f, false) : zero(f); });
  k.texts.forEach((t, j) => { e[t.name] = Math.floor(mask / 2 ** (1 + k.fields.length + j)) % 2 ? r.string() : ''; });
  return e;
}

// A change lists what it changes: {index (of its entity in the base, by
// ascending id), dx, dy, away (it flipped), set: {name: value}, add:
// {name: difference}, flip: [bool names]}.
function readChanged(r, kinds, kindBits, v, index) {
  const c = { index, set: {}, add: {}, flip: [] };
  if (v & 1) c.dx = r.zigzag();
  if (v & 2) c.dy = r.zigzag();
  if (!(v & 4)) return c;
  const km = r.uvarint();
  c.kind = km % 2 ** kindBits;
  const k = kinds[c.kind];
  if (!k) throw new Error('change of undeclared kind ' + c.kind);
  const mask = Math.floor(km / 2 ** kindBits);
  if (mask >= 2 ** (1 + k.fields.length + k.texts.length)) throw new Error('undeclared fields');
  if (mask & 1) c.away = true;
  k.fields.forEach((f, i) => {
    if (!(mask & 2 ** (1 + i))) return;
    if (f.type === T_BOOL) c.flip.push(f.name);
    else if (f.delta) c.add[f.name] = value(r, f, true);
    else c.set[f.name] = value(r, f, false);
  });
  k.texts.forEach((t, j) => { if (Math.floor(mask / 2 ** (1 + k.fields.length + j)) % 2) c.set[t.name] = r.string(); });
  return c;
}

// decode turns one binary server message into a plain object. A snapshot
// is read with the kinds of entity of the connection's welcome.
export function decode(buf, kinds = BASIC_KINDS) {
  const r = new Reader(buf);
  const type = r.byte();
  let m;
  switch (type) {
    case WELCOME: {
      const version = r.uvarint();
      m = { type: 'welcome', version, id: r.uvarint(), tickRate: r.uvarint(), width: r.uvarint(), height: r.uvarint() };
      // Flags: bit 0 resumed, bit 1 watching (a spectator: id 0, no
      // token), bit 2 an account at the end; bits not known here are
      // ignored.
      const flags = r.byte();
      m.resumed = (flags & 1) === 1;
      m.watching = (flags & 2) === 2;
      Object.assign(m, { room: r.string(), mode: r.string(), token: r.string(), axes: [] });
      for (let n = r.uvarint(); n > 0; n--) m.axes.push({ name: r.string(), min: r.zigzag(), max: r.zigzag() });
      m.messages = [];
      for (let n = r.uvarint(); n > 0; n--) m.messages.push({ name: r.string(), maxBytes: r.uvarint() });
      m.kinds = readKinds(r);
      // The player's account, for one who signed in; null for a guest.
      m.account = (flags & 4) === 4 ? { id: r.string(), name: r.string() } : null;
      break;
    }
    case SNAPSHOT: {
      const flags = r.byte();
      const tick = r.uvarint();
      const gap = r.uvarint();
      const ack = r.uvarint();
      m = { type: 'snapshot', full: (flags & 1) === 1, tick, base: tick - gap, ack, removed: [], added: [], changed: [] };
      let n = r.uvarint(), id = 0;
      for (let k = 0; k < n; k++) { id += r.uvarint(); m.removed.push(id); }
      n = r.uvarint(); id = 0;
      for (let k = 0; k < n; k++) {
        id += r.uvarint();
        m.added.push(readAdded(r, kinds, id));
      }
      const kindBits = kinds.length > 1 ? 32 - Math.clz32(kinds.length - 1) : 0; // as Go's bits.Len
      // A change names its entity by the base entities it skips since the
      // previous change: applySnapshot finds it in the world it holds.
      n = r.uvarint();
      for (let k = 0, next = 0; k < n; k++) {
        const v = r.uvarint();
        const index = next + Math.floor(v / 8);
        next = index + 1;
        m.changed.push(readChanged(r, kinds, kindBits, v, index));
      }
      break;
    }
    case PONG:
      m = { type: 'pong', time: r.uint32(), tick: r.uvarint() };
      break;
    case REDIRECT:
      // The room runs on another node of the cluster: connect there.
      m = { type: 'redirect', url: r.string(), room: r.string(), seat: r.string() };
      break;
    case ERROR:
    case NOTICE:
      m = { type: type === ERROR ? 'error' : 'notice', code: r.string(), message: r.string() };
      break;
    case EVENT: {
      // A game event: its data is a JSON object, possibly longer than a string.
      m = { type: 'event', tick: r.uvarint(), event: r.string() };
      const n = r.uvarint();
      if (r.i + n > r.b.length) throw new Error('short event data');
      m.data = JSON.parse(new TextDecoder().decode(r.b.subarray(r.i, r.i + n)));
      r.i += n;
      break;
    }
    default:
      throw new Error('unknown message type 0x' + type.toString(16));
  }
  r.done();
  return m;
}

// applySnapshot updates world (a Map from id to entity) with a decoded
// snapshot. It returns false if the snapshot's base is not the state the
// world holds, which means the client must ask for a resync.
export function applySnapshot(world, state, snap, kinds = BASIC_KINDS) {
  if (snap.full) {
    world.clear();
  } else if (snap.base !== state.tick) {
    return false;
  }
  // Changes name their entities by index in the base, by ascending id.
  const ids = snap.changed.length ? [...world.keys()].sort((a, b) => a - b) : [];
  if (snap.changed.some((c) => c.index >= ids.length)) return false;
  for (const id of snap.removed) world.delete(id);
  for (const e of snap.added) world.set(e.id, e);
  for (const c of snap.changed) {
    const id = ids[c.index];
    const e = world.get(id);
    if (!e) continue;
    const next = { ...e };
    if (c.dx !== undefined) next.x += c.dx;
    if (c.dy !== undefined) next.y += c.dy;
    if (c.away) next.away = !e.away;
    Object.assign(next, c.set);
    for (const name of c.flip) next[name] = !e[name];
    for (const [name, d] of Object.entries(c.add)) {
      const f = kinds[e.kind].fields.find((f) => f.name === name);
      // Fixed-point values add as integers, so that no rounding creeps in.
      next[name] = f.type === T_FIXED ? (Math.round(e[name] * f.scale) + d) / f.scale : e[name] + d;
    }
    world.set(id, next);
  }
  state.tick = snap.tick;
  return true;
}
