// rules.js — the built-in modes' movement rule, identical to games/dots
// Move in Go, so the client can predict its own dot. Both sides are checked
// against games/dots/testdata/moves.json.

export const MIN = 10;
export const MAX = 490;
export const SPEED = 10;
export const DIAGONAL_SPEED = 7;

export const UP = 1;
export const DOWN = 2;
export const LEFT = 4;
export const RIGHT = 8;
export const ACTION = 16;

const clamp = (v) => Math.max(MIN, Math.min(MAX, v));

// move returns where a dot at (x, y) holding buttons is one tick later.
export function move(x, y, buttons) {
  let dx = 0, dy = 0;
  if (buttons & LEFT) dx--;
  if (buttons & RIGHT) dx++;
  if (buttons & UP) dy--;
  if (buttons & DOWN) dy++;
  const step = dx !== 0 && dy !== 0 ? DIAGONAL_SPEED : SPEED;
  return [clamp(x + dx * step), clamp(y + dy * step)];
}
