#!/usr/bin/env node
// Draws HexHub's icons and writes them as PNG files into build/icons/ (committed, so building
// needs no image tools): the app icon at 16, 32, 256 and 512 px for electron-builder, and a
// tray icon per state (running, offline, upstream error, busy) at 16 px and @2x (32 px).
// Only Node: shapes are rasterised here with 8×8 supersampling for smooth edges, and the PNG
// is encoded with node:zlib. Run with `npm run icons`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'build', 'icons');

// ---- PNG (RGBA, 8 bits per channel, no interlace) ----

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

export function encodePng(size, rgba) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type: RGBA
  // Each row starts with its filter type, 0 (none).
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---- Shapes, in a unit square (0..1, y down) ----

function polygon(points) {
  return (x, y) => {
    let inside = false;
    for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
      const [xi, yi] = points[i];
      const [xj, yj] = points[j];
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  };
}

function hexagon(cx, cy, r) {
  // Pointy-top: a vertex at the top, as in Hex's own logo.
  return polygon(Array.from({ length: 6 }, (_, i) => [cx + r * Math.cos(((60 * i - 90) * Math.PI) / 180), cy + r * Math.sin(((60 * i - 90) * Math.PI) / 180)]));
}

const circle = (cx, cy, r) => (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
const rect = (x0, y0, x1, y1) => (x, y) => x >= x0 && x <= x1 && y >= y0 && y <= y1;
const minus = (a, b) => (x, y) => a(x, y) && !b(x, y);
const union =
  (...shapes) =>
  (x, y) =>
    shapes.some((s) => s(x, y));

function hex(colour) {
  const n = Number.parseInt(colour.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** Paints layers ([shape, colour]) in order, each pixel covered by 8×8 samples. */
function render(size, layers) {
  const rgba = Buffer.alloc(size * size * 4);
  const samples = 8;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let [r, g, b, a] = [0, 0, 0, 0];
      for (const [shape, colour] of layers) {
        let hits = 0;
        for (let sy = 0; sy < samples; sy++) {
          for (let sx = 0; sx < samples; sx++) if (shape((px + (sx + 0.5) / samples) / size, (py + (sy + 0.5) / samples) / size)) hits++;
        }
        const coverage = hits / (samples * samples);
        if (coverage === 0) continue;
        // "Over" compositing, straight (non-premultiplied) alpha.
        const [cr, cg, cb] = hex(colour);
        const outA = coverage + a * (1 - coverage);
        r = (cr * coverage + r * a * (1 - coverage)) / outA;
        g = (cg * coverage + g * a * (1 - coverage)) / outA;
        b = (cb * coverage + b * a * (1 - coverage)) / outA;
        a = outA;
      }
      const i = (py * size + px) * 4;
      rgba[i] = Math.round(r);
      rgba[i + 1] = Math.round(g);
      rgba[i + 2] = Math.round(b);
      rgba[i + 3] = Math.round(a * 255);
    }
  }
  return rgba;
}

// ---- The icons ----

const WHITE = '#ffffff';
const downArrow = union(
  rect(0.44, 0.27, 0.56, 0.52),
  polygon([
    [0.3, 0.5],
    [0.7, 0.5],
    [0.5, 0.7],
  ]),
);

/** The app: a purple hexagon (Elixir's colour) with an arrow down into a shelf — packages kept locally. */
const APP = [
  [hexagon(0.5, 0.5, 0.48), '#4b2a7b'],
  [hexagon(0.5, 0.5, 0.42), '#6e4a9e'],
  [downArrow, WHITE],
  [rect(0.3, 0.74, 0.7, 0.8), WHITE],
];

/** Tray: a hexagon in the state's colour with a glyph that still reads without colour. */
const TRAY = {
  running: [
    [hexagon(0.5, 0.5, 0.5), '#2f9e5b'],
    [circle(0.5, 0.5, 0.16), WHITE],
  ],
  offline: [[minus(hexagon(0.5, 0.5, 0.5), hexagon(0.5, 0.5, 0.33)), '#7d838c']],
  'upstream-error': [
    [hexagon(0.5, 0.5, 0.5), '#d64545'],
    [rect(0.43, 0.22, 0.57, 0.58), WHITE],
    [circle(0.5, 0.74, 0.075), WHITE],
  ],
  busy: [
    [hexagon(0.5, 0.5, 0.5), '#2f7bd6'],
    [
      union(
        rect(0.42, 0.2, 0.58, 0.5),
        polygon([
          [0.24, 0.48],
          [0.76, 0.48],
          [0.5, 0.8],
        ]),
      ),
      WHITE,
    ],
  ],
};

function write(path, size, layers) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, encodePng(size, render(size, layers)));
  process.stdout.write(`${path}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const size of [16, 32, 256, 512]) write(join(OUT, `${size}x${size}.png`), size, APP);
  for (const [state, layers] of Object.entries(TRAY)) {
    write(join(OUT, 'tray', `${state}.png`), 16, layers);
    write(join(OUT, 'tray', `${state}@2x.png`), 32, layers);
  }
}
