// blasters.js — the page's side of the blasters mode (games/blasters): its
// movement rule, for prediction, identical to Go's blasters.Move and
// checked against games/blasters/testdata/moves.json; the aim from a
// pointer; the twin thumb sticks of a touch screen; and how its entities
// are drawn.

import { UP, DOWN, LEFT, RIGHT, ACTION, step } from './rules.js';

// The rules, as games/blasters/testdata/rules.json pins them.
export const SIZE = 1000;
export const RADIUS = 16;
export const SPEED = 8;
export const DIAGONAL_SPEED = 6;
export const WALLS = [
  [440, 440, 560, 560], [200, 200, 260, 260], [740, 200, 800, 260],
  [200, 740, 260, 800], [740, 740, 800, 800], [400, 100, 600, 140], [400, 860, 600, 900],
].map(([minX, minY, maxX, maxY]) => ({ minX, minY, maxX, maxY }));
export const AIM_MAX = 3142; // milliradians; the axis is -AIM_MAX..AIM_MAX

const clamp = (v) => Math.max(RADIUS, Math.min(SIZE - RADIUS, v));
const blocks = (w, x, y) => x + RADIUS > w.minX && x - RADIUS < w.maxX && y + RADIUS > w.minY && y - RADIUS < w.maxY;

// move returns where a player at (x, y) holding buttons is one tick later:
// x first, stopping flush against a wall, then y, so that it slides.
export function move(x, y, buttons) {
  const [dx, dy] = step(buttons, SPEED, DIAGONAL_SPEED);
  if (dx !== 0) {
    x = clamp(x + dx);
    for (const w of WALLS) if (blocks(w, x, y)) x = dx > 0 ? w.minX - RADIUS : w.maxX + RADIUS;
  }
  if (dy !== 0) {
    y = clamp(y + dy);
    for (const w of WALLS) if (blocks(w, x, y)) y = dy > 0 ? w.minY - RADIUS : w.maxY + RADIUS;
  }
  return [x, y];
}

// aimAt is the aim axis's value for a player at (x, y) pointing at (px,
// py): the angle in milliradians, 0 along +x, π/2 down the screen.
export function aimAt(x, y, px, py) {
  const a = Math.round(Math.atan2(py - y, px - x) * 1000);
  return Math.max(-AIM_MAX, Math.min(AIM_MAX, a));
}

// buttonsOf turns a stick's vector into the buttons it holds: a direction
// counts when it is more than a third of the stick's reach.
export function buttonsOf(dx, dy, reach) {
  let b = 0;
  if (dx < -reach / 3) b |= LEFT;
  if (dx > reach / 3) b |= RIGHT;
  if (dy < -reach / 3) b |= UP;
  if (dy > reach / 3) b |= DOWN;
  return b;
}

// Sticks are two thumb sticks on a touch screen: a touch that starts on
// the left half of el moves, one on the right half aims, and fires while
// held. Each stick is centred where its touch began.
export class Sticks {
  constructor(el, reach = 48) {
    this.reach = reach;
    this.move = null; // {id, x0, y0, x, y}
    this.aim = null;
    const start = (e) => {
      if (e.pointerType !== 'touch') return;
      const r = el.getBoundingClientRect();
      const s = { id: e.pointerId, x0: e.clientX, y0: e.clientY, x: e.clientX, y: e.clientY };
      if (e.clientX < r.left + r.width / 2) this.move ??= s;
      else this.aim ??= s;
      e.preventDefault();
    };
    const drag = (e) => {
      for (const s of [this.move, this.aim]) if (s && s.id === e.pointerId) Object.assign(s, { x: e.clientX, y: e.clientY });
    };
    const end = (e) => {
      if (this.move?.id === e.pointerId) this.move = null;
      if (this.aim?.id === e.pointerId) this.aim = null;
    };
    el.addEventListener('pointerdown', start);
    el.addEventListener('pointermove', drag);
    el.addEventListener('pointerup', end);
    el.addEventListener('pointercancel', end);
  }

  // buttons held by the sticks: the move stick's direction, and the
  // action while the aim stick is held.
  buttons() {
    let b = 0;
    if (this.move) b |= buttonsOf(this.move.x - this.move.x0, this.move.y - this.move.y0, this.reach);
    if (this.aim) b |= ACTION;
    return b;
  }

  // angle is the aim stick's direction in milliradians, or null when it
  // is held still at its centre (keep the last aim).
  angle() {
    const s = this.aim;
    if (!s || Math.hypot(s.x - s.x0, s.y - s.y0) < this.reach / 4) return null;
    return aimAt(s.x0, s.y0, s.x, s.y);
  }
}

// look draws blasters on the page's renderer: the walls under everything,
// bullets as small dark discs, players with their aim, a health bar, and
// faded while dead. The round entity is not drawn: the HUD shows it.
export const look = {
  radius: RADIUS,
  background(g) {
    // Walls as raised blocks: a drop shadow, a dark body, a lit top edge.
    g.save();
    g.shadowColor = 'rgba(15,23,42,0.35)';
    g.shadowBlur = 10;
    g.shadowOffsetY = 4;
    g.fillStyle = '#46566e';
    for (const w of WALLS) g.fillRect(w.minX, w.minY, w.maxX - w.minX, w.maxY - w.minY);
    g.restore();
    g.fillStyle = '#6b7c96';
    for (const w of WALLS) g.fillRect(w.minX, w.minY, w.maxX - w.minX, 5);
  },
  // item draws an entity that is not a player; it reports whether it did.
  item(g, s, kinds) {
    const kind = kinds[s.kind]?.name;
    if (kind === 'round') return true;
    if (kind !== 'bullet') return false;
    // A glowing slug with a short trail behind it, along its flight.
    const a = s.angle ?? 0;
    g.save();
    g.strokeStyle = 'rgba(255,150,40,0.45)';
    g.lineWidth = 5;
    g.lineCap = 'round';
    g.beginPath();
    g.moveTo(s.x - Math.cos(a) * 14, s.y - Math.sin(a) * 14);
    g.lineTo(s.x, s.y);
    g.stroke();
    g.shadowColor = '#ffb020';
    g.shadowBlur = 8;
    g.fillStyle = '#ffd24a';
    g.beginPath();
    g.arc(s.x, s.y, 4.5, 0, Math.PI * 2);
    g.fill();
    g.restore();
    return true;
  },
  // player draws over a player's dot: its aim and its health.
  player(g, s) {
    if (s.dead) return;
    const a = s.aim ?? 0;
    // The barrel: a dark rounded bar from the body along the aim.
    g.strokeStyle = '#1d2430';
    g.lineWidth = 7;
    g.lineCap = 'round';
    g.beginPath();
    g.moveTo(s.x + Math.cos(a) * RADIUS * 0.5, s.y + Math.sin(a) * RADIUS * 0.5);
    g.lineTo(s.x + Math.cos(a) * (RADIUS + 12), s.y + Math.sin(a) * (RADIUS + 12));
    g.stroke();
    g.lineCap = 'butt';
    const h = Math.max(0, Math.min(1, (s.health ?? 100) / 100));
    g.fillStyle = '#0003';
    g.fillRect(s.x - RADIUS, s.y - RADIUS - 9, 2 * RADIUS, 4);
    g.fillStyle = h > 0.5 ? '#2fa84f' : h > 0.25 ? '#e0a030' : '#e0362c';
    g.fillRect(s.x - RADIUS, s.y - RADIUS - 9, 2 * RADIUS * h, 4);
  },
  // alpha fades the dead, who come back after 3 s.
  alpha(s) { return s.dead ? 0.25 : 1; },
};

// round finds the round entity's state in a world: {phase, seconds, number}.
export function roundOf(world, kinds) {
  for (const e of world.values()) {
    if (kinds[e.kind]?.name === 'round') return { phase: e.phase, seconds: e.seconds, number: e.number };
  }
  return null;
}

// headline says what the round entity means, for the HUD.
export function headline(r) {
  if (!r) return '';
  const mmss = `${Math.floor(r.seconds / 60)}:${String(r.seconds % 60).padStart(2, '0')}`;
  if (r.phase === 'countdown') return `Round ${r.number} starts in ${r.seconds}`;
  if (r.phase === 'over') return `Round ${r.number} is over`;
  return `Round ${r.number} · ${mmss}`;
}

// feedLine turns a blasters event into a line of the kill feed, or
// undefined for an event blasters does not send (events.js shows those).
export function feedLine(type, data, nameOf) {
  switch (type) {
    case 'kill': return `${nameOf(data.killer)} blasted ${nameOf(data.victim)}`;
    case 'round_start': return `Round ${data.round}: go!`;
    case 'round_over': return data.winner ? `${nameOf(data.winner)} wins round ${data.round}` : `Round ${data.round} is a draw`;
    default: return undefined;
  }
}
