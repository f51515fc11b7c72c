// input.js — what the player holds: arrow keys and W/A/S/D (by physical
// key, so other keyboard layouts work), space for the action button, and
// the on-screen pad for mouse and touch. A tap shorter than a tick still
// counts for one tick.

import { UP, DOWN, LEFT, RIGHT, ACTION } from './rules.js';

const KEYS = {
  ArrowUp: UP, ArrowDown: DOWN, ArrowLeft: LEFT, ArrowRight: RIGHT,
  KeyW: UP, KeyS: DOWN, KeyA: LEFT, KeyD: RIGHT,
  Space: ACTION, // fire, in blasters
};
const PAD = { up: UP, down: DOWN, left: LEFT, right: RIGHT };

export class Input {
  constructor(pad) {
    this.keys = new Map(); // code -> button
    this.pointers = new Map(); // pointerId -> button
    this.tapped = 0;
    const typing = (e) => e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement;
    addEventListener('keydown', (e) => {
      const b = KEYS[e.code] ?? KEYS[e.key];
      if (!b || typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (b === ACTION && e.target instanceof HTMLButtonElement) return; // space presses a focused button
      e.preventDefault();
      this.keys.set(e.code || e.key, b);
      this.tapped |= b;
    });
    addEventListener('keyup', (e) => {
      this.keys.delete(e.code || e.key);
    });
    addEventListener('blur', () => {
      this.keys.clear();
      this.pointers.clear();
      this.paint(pad);
    });
    for (const btn of pad.querySelectorAll('[data-dir]')) {
      const b = PAD[btn.dataset.dir];
      btn.addEventListener('pointerdown', (e) => {
        e.preventDefault();
        btn.setPointerCapture?.(e.pointerId);
        this.pointers.set(e.pointerId, b);
        this.tapped |= b;
        this.paint(pad);
      });
      const up = (e) => {
        this.pointers.delete(e.pointerId);
        this.paint(pad);
      };
      btn.addEventListener('pointerup', up);
      btn.addEventListener('pointercancel', up);
      btn.addEventListener('lostpointercapture', up);
      btn.addEventListener('contextmenu', (e) => e.preventDefault());
    }
  }

  held() {
    let b = 0;
    for (const v of this.keys.values()) b |= v;
    for (const v of this.pointers.values()) b |= v;
    return b;
  }

  // sample returns the buttons for the next tick: those held, and those
  // pressed and already released since the last sample.
  sample() {
    const b = this.held() | this.tapped;
    this.tapped = 0;
    return b;
  }

  paint(pad) {
    const held = new Set(this.pointers.values());
    for (const btn of pad.querySelectorAll('[data-dir]')) {
      btn.classList.toggle('held', held.has(PAD[btn.dataset.dir]));
    }
  }
}
