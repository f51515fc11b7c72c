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

// step is how far buttons move something in a tick, [dx, dy]: straight
// along one axis, diagonal along each of two, opposite directions
// cancelling. Go's game.Buttons.Step; every built-in mode moves this way.
export function step(buttons, straight, diagonal) {
  let dx = 0, dy = 0;
  if (buttons & LEFT) dx--;
  if (buttons & RIGHT) dx++;
  if (buttons & UP) dy--;
  if (buttons & DOWN) dy++;
  const s = dx !== 0 && dy !== 0 ? diagonal : straight;
  return [dx * s, dy * s];
}

// move returns where a dot at (x, y) holding buttons is one tick later.
export function move(x, y, buttons) {
  const [dx, dy] = step(buttons, SPEED, DIAGONAL_SPEED);
  return [clamp(x + dx), clamp(y + dy)];
}
