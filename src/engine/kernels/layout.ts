/**
 * Data movement for the wasm gradient kernels, on plain Float32Arrays (views of the wasm heap or JS memory),
 * so it can be tested against naive loops without a backend. See geometry.ts for the layouts.
 */
import type { ConvGeometry, PhaseGrid } from './geometry.js';

/**
 * Splits a channels-first input [inC, batch, inH, inW] into stride phases on the zero-padded grid:
 * result[((ph·phasesW + pw)·inC + c)·batch + n][gy][gx] = x[c, n, sH·gy + ph − padTop, sW·gx + pw − padLeft].
 */
export function buildPhases(xCF: Float32Array, g: ConvGeometry, grid: PhaseGrid, out: Float32Array): void {
  const { phasesH, phasesW, gridH, gridW, plane } = grid;
  out.fill(0, 0, phasesSize(g, grid));
  const imageSize = g.inH * g.inW;
  for (let ph = 0; ph < phasesH; ph++) {
    for (let pw = 0; pw < phasesW; pw++) {
      // Grid columns whose input column lies inside the image; the rest stay zero (padding).
      const gx0 = Math.max(0, Math.ceil((g.padLeft - pw) / g.sW));
      const gx1 = Math.min(gridW, Math.ceil((g.inW + g.padLeft - pw) / g.sW));
      const ix0 = g.sW * gx0 + pw - g.padLeft;
      const phaseBase = (ph * phasesW + pw) * g.inC * g.batch * plane;
      for (let cn = 0; cn < g.inC * g.batch; cn++) {
        const src = cn * imageSize;
        const dstImage = phaseBase + cn * plane;
        for (let gy = 0; gy < gridH; gy++) {
          const iy = g.sH * gy + ph - g.padTop;
          if (iy < 0 || iy >= g.inH || gx1 <= gx0) continue;
          const rowSrc = src + iy * g.inW + ix0;
          const rowDst = dstImage + gy * gridW + gx0;
          if (g.sW === 1) {
            out.set(xCF.subarray(rowSrc, rowSrc + gx1 - gx0), rowDst);
          } else {
            for (let k = 0; k < gx1 - gx0; k++) out[rowDst + k] = xCF[rowSrc + k * g.sW];
          }
        }
      }
    }
  }
}

/** Floats in the phase layout of one input. */
export function phasesSize(g: ConvGeometry, grid: PhaseGrid): number {
  return grid.phasesH * grid.phasesW * g.inC * g.batch * grid.plane;
}

/**
 * Fills the patch matrix P [kH·kW·inC, cols] for images n0 .. n0+images-1: row (kh·kW + kw)·inC + c is the
 * phase plane of (kh mod sH, kw mod sW, c) from image n0 on, shifted by the tap's grid offset.
 */
export function fillPatches(
  phases: Float32Array,
  g: ConvGeometry,
  grid: PhaseGrid,
  n0: number,
  cols: number,
  out: Float32Array,
): void {
  const channelStride = g.batch * grid.plane;
  for (let kh = 0; kh < g.kH; kh++) {
    const ph = kh % g.sH;
    const qh = Math.floor(kh / g.sH);
    for (let kw = 0; kw < g.kW; kw++) {
      const pw = kw % g.sW;
      const qw = Math.floor(kw / g.sW);
      const offset = qh * grid.gridW + qw;
      const phaseBase = (ph * grid.phasesW + pw) * g.inC * channelStride;
      const rowBase = (kh * g.kW + kw) * g.inC;
      for (let c = 0; c < g.inC; c++) {
        const src = phaseBase + c * channelStride + n0 * grid.plane + offset;
        out.set(phases.subarray(src, src + cols), (rowBase + c) * cols);
      }
    }
  }
}

/**
 * Fills D [cols, outC]: the NHWC output gradient of images n0 .. n0+images-1 placed on the grid, zero where a
 * grid position is not an output pixel.
 */
export function fillGradGrid(
  dy: Float32Array,
  g: ConvGeometry,
  grid: PhaseGrid,
  n0: number,
  images: number,
  cols: number,
  out: Float32Array,
): void {
  out.fill(0, 0, cols * g.outC);
  const rowLen = g.outW * g.outC;
  for (let i = 0; i < images; i++) {
    for (let oy = 0; oy < g.outH; oy++) {
      const src = ((n0 + i) * g.outH + oy) * g.outW * g.outC;
      const dst = (i * grid.plane + oy * grid.gridW) * g.outC;
      out.set(dy.subarray(src, src + rowLen), dst);
    }
  }
}

/** Filter [kH, kW, inC, outC] → flipped in both spatial axes with channels swapped: [kH, kW, outC, inC]. */
export function flipFilter(w: Float32Array, g: ConvGeometry, out: Float32Array): void {
  for (let kh = 0; kh < g.kH; kh++) {
    for (let kw = 0; kw < g.kW; kw++) {
      const src = ((g.kH - 1 - kh) * g.kW + (g.kW - 1 - kw)) * g.inC * g.outC;
      const dst = (kh * g.kW + kw) * g.outC * g.inC;
      for (let ci = 0; ci < g.inC; ci++) {
        for (let co = 0; co < g.outC; co++) out[dst + co * g.inC + ci] = w[src + ci * g.outC + co];
      }
    }
  }
}

/** Filter [kH, kW, inC, outC] → [outC, kH·kW·inC], the right-hand side of the column product. */
export function filterToColumns(w: Float32Array, g: ConvGeometry, out: Float32Array): void {
  const k = g.kH * g.kW * g.inC;
  for (let r = 0; r < k; r++) {
    for (let co = 0; co < g.outC; co++) out[co * k + r] = w[r * g.outC + co];
  }
}

/**
 * Adds the columns G [images·outH·outW, kH·kW·inC] (one row per output pixel: dy · Wᵀ) back onto the NHWC
 * input gradient of images n0 .. n0+images-1 (col2im).
 */
export function scatterColumns(
  cols: Float32Array,
  g: ConvGeometry,
  n0: number,
  images: number,
  dx: Float32Array,
): void {
  const k = g.kH * g.kW * g.inC;
  let row = 0;
  for (let i = 0; i < images; i++) {
    const image = (n0 + i) * g.inH;
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++, row++) {
        const rowBase = row * k;
        for (let kh = 0; kh < g.kH; kh++) {
          const iy = oy * g.sH + kh - g.padTop;
          if (iy < 0 || iy >= g.inH) continue;
          for (let kw = 0; kw < g.kW; kw++) {
            const ix = ox * g.sW + kw - g.padLeft;
            if (ix < 0 || ix >= g.inW) continue;
            const src = rowBase + (kh * g.kW + kw) * g.inC;
            const dst = ((image + iy) * g.inW + ix) * g.inC;
            for (let c = 0; c < g.inC; c++) dx[dst + c] += cols[src + c];
          }
        }
      }
    }
  }
}
