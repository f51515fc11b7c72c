// render.js — draws the field on a canvas in the game's coordinates: the
// whole field, or with a camera a window of it that follows the own
// player; sharp at any device pixel ratio and any size. Names are drawn
// as canvas text, so nothing a player types can become markup.

import { KIND_PLAYER } from './protocol.js';

const DOT_RADIUS = 10;
// Dots stop at the edge of the world, and their rings, shadows and labels
// reach past it: the field is drawn inset by this margin, in world units.
const MARGIN = 22;
const IT_COLOR = '#e0362c';

export class Renderer {
  constructor(canvas) {
    this.canvas = canvas;
    this.g = canvas.getContext('2d');
    this.world = { width: 500, height: 500 };
    // look, when a mode has its own (blasters.js), draws its background,
    // its items and more on its players; kinds are the welcome's.
    this.look = null;
    this.kinds = [];
    // view is the part of the world the last frame drew, in world units:
    // all of it and a margin, or with a look that has a camera (world.js)
    // a window of look.camera units around the own player.
    this.view = null;
    this.centre = null; // the camera's last centre
  }

  // frameView is the part of the world a frame draws: {left, top, width,
  // height} in world units.
  frameView(sprites) {
    const span = this.look?.camera;
    if (!span) {
      const W = this.world.width, H = this.world.height;
      return { left: -MARGIN, top: -MARGIN, width: W + 2 * MARGIN, height: H + 2 * MARGIN };
    }
    const me = sprites?.find((s) => s.me);
    if (me) this.centre = [me.x, me.y];
    const [x, y] = this.centre ?? [this.world.width / 2, this.world.height / 2];
    return { left: x - span / 2, top: y - span / 2, width: span, height: span };
  }

  // toPage is toWorld's inverse: where on the page a world point is drawn.
  toPage(x, y) {
    const r = this.canvas.getBoundingClientRect();
    const v = this.view ?? this.frameView();
    return [r.left + (x - v.left) / v.width * r.width, r.top + (y - v.top) / v.height * r.height];
  }

  // toWorld turns a point of the page (a pointer's clientX, clientY) into
  // world coordinates, as the last frame drew the world.
  toWorld(clientX, clientY) {
    const r = this.canvas.getBoundingClientRect();
    const v = this.view ?? this.frameView();
    const u = (clientX - r.left) / r.width, w = (clientY - r.top) / r.height;
    return [v.left + u * v.width, v.top + w * v.height];
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

  // draw paints one frame and returns what it drew, for tests:
  // [{id, label, it, box: [left, top, right, bottom]}] in canvas pixels.
  // sprites: entities [{id, kind, away, x, y, me, and their declared
  // fields}]. Players are dots; anything else is drawn by its fields color,
  // size (a radius) and shape (circle, square or ring).
  draw(sprites) {
    this.fit();
    const { g, canvas } = this;
    const css = getComputedStyle(document.documentElement);
    const W = this.world.width, H = this.world.height;
    const view = this.frameView(sprites);
    this.view = view;
    const sx = canvas.width / view.width, sy = canvas.height / view.height;
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, canvas.width, canvas.height);
    g.setTransform(sx, 0, 0, sy, -view.left * sx, -view.top * sy);
    const right = view.left + view.width, bottom = view.top + view.height;

    // The grid, where it is in view: it shows one's own movement even
    // where nothing else is.
    g.strokeStyle = css.getPropertyValue('--grid').trim() || '#e7ecf3';
    g.lineWidth = 1 / sx;
    g.beginPath();
    const x0 = Math.max(0, view.left), x1 = Math.min(W, right), y0 = Math.max(0, view.top), y1 = Math.min(H, bottom);
    for (let v = Math.max(0, Math.ceil(view.left / 50) * 50); v <= x1; v += 50) {
      g.moveTo(v, y0); g.lineTo(v, y1);
    }
    for (let v = Math.max(0, Math.ceil(view.top / 50) * 50); v <= y1; v += 50) {
      g.moveTo(x0, v); g.lineTo(x1, v);
    }
    g.stroke();
    this.look?.background?.(g, view, this.world);

    const fg = css.getPropertyValue('--fg').trim() || '#17202e';
    const field = css.getPropertyValue('--field').trim() || '#fbfcfe';
    const accent = css.getPropertyValue('--accent').trim() || '#2f6fed';
    // Items under players, the own dot on top.
    sprites.sort((a, b) => (b.kind !== KIND_PLAYER) - (a.kind !== KIND_PLAYER) || a.me - b.me);
    const drawn = [];
    const toCanvas = (x, y) => [(x - view.left) * sx, (y - view.top) * sy];
    // Labels stay 12 CSS pixels tall however small the field is drawn.
    const fontPx = 12 * (window.devicePixelRatio || 1) / sx;
    for (const s of sprites) {
      g.globalAlpha = (s.away ? 0.35 : 1) * (this.look?.alpha?.(s) ?? 1);
      if (s.kind !== KIND_PLAYER) {
        if (!this.look?.item?.(g, s, this.kinds)) drawItem(g, s);
        g.globalAlpha = 1;
        continue;
      }
      const RADIUS = this.look?.radius ?? DOT_RADIUS;
      const it = s.it === true;
      let reach = RADIUS + 2;
      g.beginPath();
      g.arc(s.x, s.y, RADIUS, 0, Math.PI * 2);
      g.fillStyle = s.color || fg;
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
        reach = RADIUS + 6;
      }
      if (it) {
        // The chaser: a thick red ring, and "IT" in its label, unmistakable
        // at a glance and without colour vision.
        g.beginPath();
        g.arc(s.x, s.y, RADIUS + 7, 0, Math.PI * 2);
        g.lineWidth = 4;
        g.strokeStyle = IT_COLOR;
        g.stroke();
        reach = RADIUS + 9;
      }
      this.look?.player?.(g, s);
      // Everyone has a label: a name, or the number of a nameless player.
      const label = (it ? 'IT · ' : '') + (s.name || (s.me ? 'you' : '#' + s.id)) + (s.away ? ' (away)' : '');
      g.font = `${it ? 800 : 600} ${fontPx}px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;
      g.textAlign = 'center';
      const half = g.measureText(label).width / 2;
      // Under the dot, or over it at the bottom edge; kept inside the field.
      const below = s.y + reach + fontPx + 2 <= bottom;
      g.textBaseline = below ? 'top' : 'bottom';
      const lx = Math.max(view.left + half, Math.min(right - half, s.x));
      const ly = below ? s.y + reach + 1 : s.y - reach - 1;
      g.lineWidth = fontPx / 4;
      g.strokeStyle = field;
      g.strokeText(label, lx, ly);
      g.fillStyle = it ? IT_COLOR : fg;
      g.fillText(label, lx, ly);
      const [l, t] = toCanvas(Math.min(s.x - reach, lx - half), Math.min(s.y - reach, below ? s.y : ly - fontPx - 1));
      const [r, b] = toCanvas(Math.max(s.x + reach, lx + half), Math.max(s.y + reach, below ? ly + fontPx + 1 : s.y));
      drawn.push({ id: s.id, label, it, box: [l, t, r, b] });
    }
    g.globalAlpha = 1;
    return drawn;
  }
}

// drawItem draws an entity that is not a player by its declared fields: a
// large ring (the hill) and a small coin look like what they are.
function drawItem(g, s) {
  const r = s.size > 0 ? s.size : DOT_RADIUS / 2;
  g.fillStyle = g.strokeStyle = s.color || '#8a94a6';
  g.beginPath();
  if (s.shape === 'square') {
    g.rect(s.x - r, s.y - r, 2 * r, 2 * r);
  } else {
    g.arc(s.x, s.y, r, 0, Math.PI * 2);
  }
  if (s.shape === 'ring') {
    // A zone: translucent, with its edge drawn.
    g.globalAlpha *= 0.25;
    g.fill();
    g.globalAlpha *= 3;
    g.lineWidth = 2;
    g.stroke();
  } else {
    g.fill();
  }
  g.globalAlpha = 1;
}
