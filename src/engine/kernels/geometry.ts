/**
 * Pure geometry of a 2-D convolution's gradients, shared by the wasm kernels and their tests.
 *
 * The filter gradient is one matrix product P · D with P = [kh·kw·ci, M] (patches) and D = [M, co] (output
 * gradient), so the wasm product takes its non-transposed fast path (FINDINGS: 37 vs 3.2 GFLOP/s).
 * P is built without per-pixel gathers: the input is split into stride phases, each laid out channels-first on
 * a zero-padded "grid" of gridH × gridW positions per image. On that grid every filter tap (kh, kw) is a constant
 * offset, so each row of P is ONE contiguous copy from a phase plane, and D is the output gradient placed on
 * the same grid (zeros at the grid positions that are not output pixels, which cancels the wrapped-around
 * columns of P).
 */

export interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  /** Zero rows/columns added before the input (may exceed what is needed for 'valid' trailing rows). */
  padTop: number;
  padLeft: number;
}

/** The subset of tfjs's `Conv2DInfo` the kernels read. */
export interface ConvInfoLike {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padInfo: { top: number; left: number };
}

export function geometryFromConvInfo(info: ConvInfoLike, kernel: string): ConvGeometry {
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) {
    throw new Error(
      `${kernel} (xwb wasm): dilation ${info.dilationHeight}×${info.dilationWidth} is not supported`,
    );
  }
  const g: ConvGeometry = {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    kH: info.filterHeight,
    kW: info.filterWidth,
    sH: info.strideHeight,
    sW: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
  for (const [k, v] of Object.entries(g)) {
    const min = k === 'padTop' || k === 'padLeft' ? 0 : 1;
    if (!Number.isInteger(v) || v < min) throw new Error(`${kernel} (xwb wasm): bad geometry ${k}=${v}`);
  }
  return g;
}

export interface PhaseGrid {
  /** Stride phases that hold at least one filter tap: min(stride, kernel). */
  phasesH: number;
  phasesW: number;
  /** Taps per phase along each axis: ceil(kernel / stride). */
  tapsH: number;
  tapsW: number;
  gridH: number;
  gridW: number;
  /** gridH · gridW: one image of one channel of one phase. */
  plane: number;
  /** Offset of the last tap; a chunk of n images yields n·plane − maxOffset columns of P. */
  maxOffset: number;
  /** Rows of P: kH · kW · inC. */
  patchRows: number;
}

export function phaseGrid(g: ConvGeometry): PhaseGrid {
  const tapsH = Math.ceil(g.kH / g.sH);
  const tapsW = Math.ceil(g.kW / g.sW);
  const gridH = g.outH + tapsH - 1;
  const gridW = g.outW + tapsW - 1;
  return {
    phasesH: Math.min(g.sH, g.kH),
    phasesW: Math.min(g.sW, g.kW),
    tapsH,
    tapsW,
    gridH,
    gridW,
    plane: gridH * gridW,
    maxOffset: (tapsH - 1) * gridW + (tapsW - 1),
    patchRows: g.kH * g.kW * g.inC,
  };
}

/** Columns of P (rows of D) for a chunk of `images` images. */
export function chunkColumns(grid: PhaseGrid, images: number): number {
  return images * grid.plane - grid.maxOffset;
}

/**
 * Largest scratch matrix (patches or columns) a kernel builds at once, in floats: 64 MB keeps 224 px batches
 * within the wasm heap. Mutable so tests can force the chunked path on small tensors.
 */
export const scratchLimits = { floats: 16 * 1024 * 1024 };

/**
 * How many images to process at once so one scratch matrix of `floatsPerImage` per image stays under
 * `budgetFloats` (always at least one image: a single image is never split).
 */
export function imagesPerChunk(floatsPerImage: number, batch: number, budgetFloats: number): number {
  return Math.max(1, Math.min(batch, Math.floor(budgetFloats / Math.max(1, floatsPerImage))));
}

/**
 * Padding of the output gradient that turns a stride-1 input gradient into a forward convolution with the
 * flipped filter; undefined when the forward convolution's padding makes that impossible (negative pads).
 */
export function flippedConvPads(
  g: ConvGeometry,
): { top: number; bottom: number; left: number; right: number } | undefined {
  if (g.sH !== 1 || g.sW !== 1) return undefined;
  const top = g.kH - 1 - g.padTop;
  const left = g.kW - 1 - g.padLeft;
  const bottom = g.inH + g.kH - 1 - g.outH - top;
  const right = g.inW + g.kW - 1 - g.outW - left;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return undefined;
  return { top, bottom, left, right };
}
