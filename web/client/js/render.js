// render.js — draws the field on a canvas in the game's 500×500
// coordinates, sharp at any device pixel ratio and any size. Names are drawn
// as canvas text, so nothing a player types can become markup.

import { FLAG_IT, FLAG_AWAY, KIND_ITEM } from './protocol.js';

const RADIUS = 10;

export class Renderer {
  constructor(canvas) {
    this.canvas = canvas;
    this.g = canvas.getContext('2d');
    this.world = { width: 500, height: 500 };
  }

  // fit sizes the backing store to the canvas's CSS size.
  fit() {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(this.canvas.clientWidth * dpr);
    const h = Math.round(this.canvas.clientHeight * dpr);
    if (w && h && (this.canvas.width !== w || this.canvas.height !== h)) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
  }

  // draw paints one frame. sprites: [{id, x, y, color, flags, kind, name, me}]
  draw(sprites) {
    this.fit();
    const { g, canvas } = this;
    const css = getComputedStyle(document.documentElement);
    const sx = canvas.width / this.world.width, sy = canvas.height / this.world.height;
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, canvas.width, canvas.height);
    g.setTransform(sx, 0, 0, sy, 0, 0);

    g.strokeStyle = css.getPropertyValue('--grid').trim() || '#e7ecf3';
    g.lineWidth = 1 / sx;
    g.beginPath();
    for (let v = 50; v < this.world.width; v += 50) {
      g.moveTo(v, 0); g.lineTo(v, this.world.height);
    }
    for (let v = 50; v < this.world.height; v += 50) {
      g.moveTo(0, v); g.lineTo(this.world.width, v);
    }
    g.stroke();

    const fg = css.getPropertyValue('--fg').trim() || '#17202e';
    const accent = css.getPropertyValue('--accent').trim() || '#2f6fed';
    // Items under players, the own dot on top.
    sprites.sort((a, b) => (b.kind === KIND_ITEM) - (a.kind === KIND_ITEM) || a.me - b.me);
    g.textAlign = 'center';
    g.textBaseline = 'top';
    g.font = '600 11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    for (const s of sprites) {
      g.globalAlpha = s.flags & FLAG_AWAY ? 0.35 : 1;
      if (s.kind === KIND_ITEM) {
        g.fillStyle = s.color;
        g.globalAlpha *= 0.25;
        g.beginPath();
        g.arc(s.x, s.y, 60, 0, Math.PI * 2);
        g.fill();
        g.globalAlpha = 1;
        continue;
      }
      if (s.flags & FLAG_IT) {
        g.fillStyle = 'rgba(230, 60, 50, 0.25)';
        g.beginPath();
        g.arc(s.x, s.y, RADIUS + 9, 0, Math.PI * 2);
        g.fill();
      }
      g.beginPath();
      g.arc(s.x, s.y, RADIUS, 0, Math.PI * 2);
      g.fillStyle = s.color;
      g.shadowColor = 'rgba(0,0,0,0.3)';
      g.shadowBlur = 4;
      g.fill();
      g.shadowBlur = 0;
      g.lineWidth = 2;
      g.strokeStyle = '#fff';
      g.stroke();
      if (s.me) {
        g.beginPath();
        g.arc(s.x, s.y, RADIUS + 4, 0, Math.PI * 2);
        g.lineWidth = 2.5;
        g.strokeStyle = accent;
        g.stroke();
      }
      const label = (s.name || (s.me ? 'you' : '')) + (s.flags & FLAG_AWAY ? ' (away)' : '');
      if (label) {
        g.fillStyle = fg;
        g.fillText(label, s.x, s.y + RADIUS + 5);
      }
    }
    g.globalAlpha = 1;
  }
}
