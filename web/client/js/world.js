// world.js — the page's side of the world mode (games/world): its movement
// rule, for prediction, identical to Go's world.Move and checked against
// games/world/testdata/moves.json; a camera that follows the own player
// over a field far larger than the screen; and a minimap of the cells
// around it, the area the server sends.

import { step } from './rules.js';

// The rules, as games/world pins them.
export const DEFAULT_SIZE = 20000;
export const EDGE = 10;
export const SPEED = 20;
export const DIAGONAL_SPEED = 14;
export const CELL = 700;
export const MARGIN = CELL / 10;
// CAMERA is how much of the world the field shows, in world units a side.
export const CAMERA = 1600;

// size is the field's side in the room played: the welcome's world, set by
// the page (setSize), since a room may choose its size (option "size").
let size = DEFAULT_SIZE;

export function setSize(n) { size = n > 0 ? n : DEFAULT_SIZE; }

// move returns where a player at (x, y) holding buttons is one tick later
// on a field of side size (default: the room's, per setSize).
export function move(x, y, buttons, side = size) {
  const [dx, dy] = step(buttons, SPEED, DIAGONAL_SPEED);
  const clamp = (v) => Math.max(EDGE, Math.min(side - EDGE, v));
  return [clamp(x + dx), clamp(y + dy)];
}

// look draws the world on the page's renderer: the camera's window of it,
// and what lies beyond the field's edge shaded. Landmarks are items the
// renderer draws by their size and shape.
export const look = {
  camera: CAMERA,
  // Players drawn at the dots' 10 units were 3 pixels across in a
  // 1,600-unit camera: a player must be easy to see.
  radius: 24,
  background(g, view, world) {
    // Beyond the edge: shade what the camera sees outside the field.
    g.fillStyle = 'rgba(90,100,120,0.18)';
    const { left, top, width, height } = view;
    const right = left + width, bottom = top + height;
    if (left < 0) g.fillRect(left, top, -left, height);
    if (right > world.width) g.fillRect(world.width, top, right - world.width, height);
    if (top < 0) g.fillRect(Math.max(0, left), top, Math.min(right, world.width) - Math.max(0, left), -top);
    if (bottom > world.height) g.fillRect(Math.max(0, left), world.height, Math.min(right, world.width) - Math.max(0, left), bottom - world.height);
  },
};

// Minimap draws the neighbourhood on a small canvas: the 3×3 cells of the
// interest grid the server sends (the window around the own cell, with
// the server's hysteresis, so it changes when the view does), a dot for
// each player in view and a ring for the own one.
export class Minimap {
  constructor(canvas) {
    this.canvas = canvas;
    this.cell = null; // [column, row] of the own cell
  }

  // follow keeps the own cell, moving it only once the player is MARGIN
  // past its border, as games/world does.
  follow(x, y) {
    const cols = Math.ceil(size / CELL);
    const axis = (v) => Math.max(0, Math.min(cols - 1, Math.floor(v / CELL)));
    if (!this.cell) this.cell = [axis(x), axis(y)];
    const [cx, cy] = this.cell;
    const nx = x < cx * CELL - MARGIN || x >= (cx + 1) * CELL + MARGIN ? axis(x) : cx;
    const ny = y < cy * CELL - MARGIN || y >= (cy + 1) * CELL + MARGIN ? axis(y) : cy;
    this.cell = [nx, ny];
    // The window: shifted inwards on the edge of the field.
    const inward = (v) => Math.max(1, Math.min(cols - 2, v));
    return [inward(nx), inward(ny)];
  }

  // draw paints the minimap for the own player me ({x, y}) and the
  // entities in view; kinds are the welcome's.
  draw(me, entities, kinds) {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const px = Math.round(c.clientWidth * dpr);
    if (px && c.width !== px) c.width = c.height = px;
    const g = c.getContext('2d');
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, c.width, c.height);
    if (!me) return;
    const [wx, wy] = this.follow(me.x, me.y);
    const left = (wx - 1) * CELL, top = (wy - 1) * CELL, span = 3 * CELL;
    const k = c.width / span;
    g.setTransform(k, 0, 0, k, -left * k, -top * k);
    g.fillStyle = 'rgba(20,28,40,0.72)';
    g.fillRect(left, top, span, span);
    g.strokeStyle = 'rgba(255,255,255,0.35)';
    g.lineWidth = 1 / k;
    g.beginPath();
    for (let i = 0; i <= 3; i++) {
      g.moveTo(left + i * CELL, top); g.lineTo(left + i * CELL, top + span);
      g.moveTo(left, top + i * CELL); g.lineTo(left + span, top + i * CELL);
    }
    g.stroke();
    // The camera's window, for scale.
    g.strokeStyle = 'rgba(255,255,255,0.6)';
    g.strokeRect(me.x - CAMERA / 2, me.y - CAMERA / 2, CAMERA, CAMERA);
    const r = 2.5 * dpr / k;
    for (const e of entities) {
      if (e.me || kinds[e.kind]?.name !== 'player') continue;
      g.fillStyle = e.color || '#fff';
      g.beginPath();
      g.arc(e.x, e.y, r, 0, Math.PI * 2);
      g.fill();
    }
    g.strokeStyle = '#fff';
    g.lineWidth = 1.5 * dpr / k;
    g.beginPath();
    g.arc(me.x, me.y, 2 * r, 0, Math.PI * 2);
    g.stroke();
  }
}
