import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ConvGeometry,
  chunkColumns,
  flippedConvPads,
  imagesPerChunk,
  phaseGrid,
} from '../../src/engine/kernels/geometry.js';
import {
  buildPhases,
  fillGradGrid,
  fillPatches,
  filterToColumns,
  flipFilter,
  phasesSize,
  scatterColumns,
} from '../../src/engine/kernels/layout.js';

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32). */
function rand(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

/** Geometry as tfjs computes it for 'same' / 'valid' padding (floor rounding). */
function geometry(
  batch: number,
  inH: number,
  inW: number,
  inC: number,
  outC: number,
  k: number,
  s: number,
  pad: 'same' | 'valid',
): ConvGeometry {
  const out = (n: number) => (pad === 'same' ? Math.ceil(n / s) : Math.ceil((n - k + 1) / s));
  const padFor = (n: number) => Math.floor(Math.max(0, (out(n) - 1) * s + k - n) / 2);
  const p = pad === 'same';
  return {
    batch,
    inH,
    inW,
    inC,
    outH: out(inH),
    outW: out(inW),
    outC,
    kH: k,
    kW: k,
    sH: s,
    sW: s,
    padTop: p ? padFor(inH) : 0,
    padLeft: p ? padFor(inW) : 0,
  };
}

/** Direct definition of the filter gradient (NHWC x and dy). */
function naiveFilterGrad(x: Float32Array, dy: Float32Array, g: ConvGeometry): Float64Array {
  const dw = new Float64Array(g.kH * g.kW * g.inC * g.outC);
  for (let n = 0; n < g.batch; n++)
    for (let oy = 0; oy < g.outH; oy++)
      for (let ox = 0; ox < g.outW; ox++)
        for (let kh = 0; kh < g.kH; kh++)
          for (let kw = 0; kw < g.kW; kw++) {
            const iy = oy * g.sH + kh - g.padTop;
            const ix = ox * g.sW + kw - g.padLeft;
            if (iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW) continue;
            for (let c = 0; c < g.inC; c++)
              for (let o = 0; o < g.outC; o++)
                dw[((kh * g.kW + kw) * g.inC + c) * g.outC + o] +=
                  x[((n * g.inH + iy) * g.inW + ix) * g.inC + c] *
                  dy[((n * g.outH + oy) * g.outW + ox) * g.outC + o];
          }
  return dw;
}

function nhwcToChannelsFirst(x: Float32Array, g: ConvGeometry): Float32Array {
  const out = new Float32Array(x.length);
  for (let n = 0; n < g.batch; n++)
    for (let i = 0; i < g.inH * g.inW; i++)
      for (let c = 0; c < g.inC; c++)
        out[(c * g.batch + n) * g.inH * g.inW + i] = x[(n * g.inH * g.inW + i) * g.inC + c];
  return out;
}

function matMul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) out[i * n + j] += a[i * k + p] * b[p * n + j];
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    num += (actual[i] - expected[i]) ** 2;
    den += expected[i] ** 2;
  }
  assert.ok(den > 0, `${label}: reference is all zeros, the case tests nothing`);
  assert.ok(Math.sqrt(num / den) < 1e-5, `${label}: relative error ${Math.sqrt(num / den)}`);
}

const CASES: [number, number, number, number, number, number, number, 'same' | 'valid'][] = [
  // batch, inH, inW, inC, outC, k, stride, pad
  [2, 7, 6, 3, 4, 3, 1, 'same'],
  [2, 9, 8, 3, 5, 3, 2, 'same'],
  [1, 8, 8, 2, 3, 2, 2, 'valid'],
  [3, 7, 9, 4, 2, 3, 2, 'valid'],
  [2, 5, 5, 3, 3, 1, 2, 'same'],
  [2, 6, 7, 2, 3, 2, 1, 'same'],
  [1, 10, 9, 2, 2, 3, 3, 'valid'],
];

test('phase grid + patch product equals the direct filter gradient, whole batch and in chunks', () => {
  for (const [b, h, w, ci, co, k, s, pad] of CASES) {
    const g = geometry(b, h, w, ci, co, k, s, pad);
    const label = JSON.stringify([b, h, w, ci, co, k, s, pad]);
    const x = rand(b * h * w * ci, 1);
    const dy = rand(b * g.outH * g.outW * co, 2);
    const grid = phaseGrid(g);
    const phases = new Float32Array(phasesSize(g, grid)).fill(Number.NaN);
    buildPhases(nhwcToChannelsFirst(x, g), g, grid, phases);
    const expected = naiveFilterGrad(x, dy, g);
    for (const chunk of [b, 1]) {
      const total = new Float64Array(expected.length);
      for (let n0 = 0; n0 < b; n0 += chunk) {
        const images = Math.min(chunk, b - n0);
        const cols = chunkColumns(grid, images);
        const p = new Float32Array(grid.patchRows * cols);
        const d = new Float32Array(cols * co).fill(Number.NaN);
        fillPatches(phases, g, grid, n0, cols, p);
        fillGradGrid(dy, g, grid, n0, images, cols, d);
        matMul(p, d, grid.patchRows, cols, co).forEach((v, i) => {
          total[i] += v;
        });
      }
      assertClose(total, expected, `${label} chunk ${chunk}`);
    }
  }
});

test('column product + scatter equals the direct input gradient', () => {
  for (const [b, h, w, ci, co, k, s, pad] of CASES) {
    const g = geometry(b, h, w, ci, co, k, s, pad);
    const wt = rand(k * k * ci * co, 3);
    const dy = rand(b * g.outH * g.outW * co, 4);
    const expected = new Float64Array(b * h * w * ci);
    for (let n = 0; n < b; n++)
      for (let oy = 0; oy < g.outH; oy++)
        for (let ox = 0; ox < g.outW; ox++)
          for (let kh = 0; kh < k; kh++)
            for (let kw = 0; kw < k; kw++) {
              const iy = oy * s + kh - g.padTop;
              const ix = ox * s + kw - g.padLeft;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              for (let c = 0; c < ci; c++)
                for (let o = 0; o < co; o++)
                  expected[((n * h + iy) * w + ix) * ci + c] +=
                    dy[((n * g.outH + oy) * g.outW + ox) * co + o] * wt[((kh * k + kw) * ci + c) * co + o];
            }
    const kk = k * k * ci;
    const wCols = new Float32Array(co * kk);
    filterToColumns(wt, g, wCols);
    const dx = new Float32Array(b * h * w * ci);
    for (let n0 = 0; n0 < b; n0++) {
      const rows = g.outH * g.outW;
      const cols = matMul(dy.subarray(n0 * rows * co, (n0 + 1) * rows * co), wCols, rows, co, kk);
      scatterColumns(Float32Array.from(cols), g, n0, 1, dx);
    }
    assertClose(dx, expected, JSON.stringify([b, h, w, ci, co, k, s, pad]));
  }
});

test('flipFilter reverses both spatial axes and swaps channels', () => {
  const g = geometry(1, 4, 4, 2, 3, 3, 1, 'same');
  const w = rand(3 * 3 * 2 * 3, 5);
  const f = new Float32Array(w.length);
  flipFilter(w, g, f);
  for (let kh = 0; kh < 3; kh++)
    for (let kw = 0; kw < 3; kw++)
      for (let ci = 0; ci < 2; ci++)
        for (let co = 0; co < 3; co++)
          assert.equal(
            f[((kh * 3 + kw) * 3 + co) * 2 + ci],
            w[(((2 - kh) * 3 + (2 - kw)) * 2 + ci) * 3 + co],
          );
});

test('flippedConvPads: same/valid stride 1 work, strided or over-padded geometries are refused', () => {
  assert.deepEqual(flippedConvPads(geometry(1, 8, 8, 1, 1, 3, 1, 'same')), {
    top: 1,
    bottom: 1,
    left: 1,
    right: 1,
  });
  assert.deepEqual(flippedConvPads(geometry(1, 8, 8, 1, 1, 2, 1, 'same')), {
    top: 1,
    bottom: 0,
    left: 1,
    right: 0,
  });
  assert.deepEqual(flippedConvPads(geometry(1, 8, 8, 1, 1, 3, 1, 'valid')), {
    top: 2,
    bottom: 2,
    left: 2,
    right: 2,
  });
  assert.equal(flippedConvPads(geometry(1, 8, 8, 1, 1, 3, 2, 'same')), undefined);
  const overPadded = { ...geometry(1, 8, 8, 1, 1, 3, 1, 'same'), padTop: 3, outH: 12 };
  assert.equal(flippedConvPads(overPadded), undefined);
});

test('imagesPerChunk keeps at least one image and never exceeds the batch', () => {
  assert.equal(imagesPerChunk(100, 8, 1_000_000), 8);
  assert.equal(imagesPerChunk(100, 8, 350), 3);
  assert.equal(imagesPerChunk(1000, 8, 10), 1);
});
