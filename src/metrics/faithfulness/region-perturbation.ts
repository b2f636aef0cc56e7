/**
 * Region perturbation (Samek et al., "Evaluating the visualization of what a deep neural network has learned",
 * IEEE TNNLS 28(11), 2017), the engine of the two AOPC metrics. Square patches are ranked by their mean
 * relevance and perturbed cumulatively, most relevant first (MoRF) or least relevant first (LeRF); after each
 * patch the drop f(x⁰) − f(xᵏ) of the target score is recorded, and
 *
 *   AOPC = 1 / (L + 1) · Σ_{k=0..L} (f(x⁰) − f(xᵏ))      (the k = 0 term is 0, as in the paper's formula).
 *
 * Patch layouts:
 * - 'sliding' (Quantus's RegionPerturbation): every patch position, taken greedily in rank order while it does
 *   not overlap a patch already taken. Only whole patches are candidates, where Quantus also ranks patches that
 *   hang over the right/bottom edge by their sum over fewer pixels, which makes LeRF start in the corners.
 * - 'grid' (Rio-Torto et al.'s code): a fixed grid of patch-size tiles from the top-left corner, edge tiles
 *   clipped to the image, ranked by mean.
 * Ties in rank keep row-major order of the patch's top-left corner.
 */

import type { Box } from '../../data/types.js';
import { requireInteger } from '../core/define.js';
import { scoreImages } from '../core/model.js';
import { prepare } from '../core/normalise.js';
import { baselineImage } from '../core/perturb.js';
import { argsortAscending } from '../core/stats.js';
import type { MetricInput, RunOptions } from '../types.js';
import { modelSetup, type PerturbationParams } from './common.js';

export type RegionPerturbationParams = PerturbationParams & {
  patchSize: number;
  /** Patches perturbed at most (L). */
  regions: number;
  layout: string;
};

export const LAYOUTS = ['sliding', 'grid'] as const;

interface Patch {
  box: Box;
  mean: number;
}

function candidatePatches(
  values: Float64Array,
  width: number,
  height: number,
  size: number,
  layout: string,
): Patch[] {
  const w1 = width + 1;
  const s = new Float64Array(w1 * (height + 1));
  for (let y = 0; y < height; y++) {
    let row = 0;
    for (let x = 0; x < width; x++) {
      row += values[y * width + x];
      s[(y + 1) * w1 + x + 1] = s[y * w1 + x + 1] + row;
    }
  }
  const patch = (x0: number, y0: number, x1: number, y1: number): Patch => ({
    box: { x0, y0, x1, y1 },
    mean: (s[y1 * w1 + x1] - s[y0 * w1 + x1] - s[y1 * w1 + x0] + s[y0 * w1 + x0]) / ((x1 - x0) * (y1 - y0)),
  });
  const out: Patch[] = [];
  if (layout === 'grid') {
    for (let y = 0; y < height; y += size) {
      for (let x = 0; x < width; x += size)
        out.push(patch(x, y, Math.min(width, x + size), Math.min(height, y + size)));
    }
  } else {
    for (let y = 0; y + size <= height; y++) {
      for (let x = 0; x + size <= width; x++) out.push(patch(x, y, x + size, y + size));
    }
  }
  return out;
}

/** The patches to perturb, in order: ranked, then (sliding) greedily without overlap, at most `limit`. */
export function selectPatches(
  values: Float64Array,
  width: number,
  height: number,
  p: Pick<RegionPerturbationParams, 'patchSize' | 'regions' | 'layout'>,
  order: 'morf' | 'lerf',
): Box[] {
  const patches = candidatePatches(values, width, height, p.patchSize, p.layout);
  const means = patches.map((q) => (order === 'morf' ? -q.mean : q.mean));
  const ranked = argsortAscending(means);
  const blocked = new Uint8Array(width * height);
  const chosen: Box[] = [];
  for (const index of ranked) {
    if (chosen.length >= p.regions) break;
    const { box } = patches[index];
    let free = true;
    if (p.layout === 'sliding') {
      for (let y = box.y0; y < box.y1 && free; y++) {
        for (let x = box.x0; x < box.x1; x++) {
          if (blocked[y * width + x]) {
            free = false;
            break;
          }
        }
      }
    }
    if (!free) continue;
    for (let y = box.y0; y < box.y1; y++) blocked.fill(1, y * width + box.x0, y * width + box.x1);
    chosen.push(box);
  }
  return chosen;
}

export interface RegionCurve {
  /** f(x⁰) − f(xᵏ) for k = 0 … L. */
  drops: number[];
  aopc: number;
  patches: Box[];
}

export async function regionPerturbation(
  metric: string,
  order: 'morf' | 'lerf',
  input: MetricInput,
  p: RegionPerturbationParams,
  options: RunOptions,
): Promise<RegionCurve> {
  const setup = modelSetup(metric, input, p, options);
  const { image } = setup;
  if (p.patchSize > Math.min(image.width, image.height)) {
    throw new Error(`${metric}: patchSize ${p.patchSize} exceeds the ${image.width}×${image.height} image`);
  }
  const values = prepare(metric, input.map.data, p.abs, 'none');
  const patches = selectPatches(values, image.width, image.height, p, order);
  const baseline = baselineImage(image, setup.fill, setup.fillOptions);
  const working = Float32Array.from(image.data);
  const ch = image.channels;
  const scores = await scoreImages(setup.request(patches.length + 1), patches.length + 1, (k) => {
    if (k > 0) {
      const b = patches[k - 1];
      for (let y = b.y0; y < b.y1; y++) {
        const from = (y * image.width + b.x0) * ch;
        working.set(baseline.subarray(from, (y * image.width + b.x1) * ch), from);
      }
    }
    return Float32Array.from(working);
  });
  const drops = Array.from(scores, (s) => scores[0] - s);
  return { drops, aopc: drops.reduce((a, b) => a + b, 0) / drops.length, patches };
}

export function validateRegions(metric: string, p: RegionPerturbationParams): void {
  requireInteger(metric, 'patchSize', p.patchSize, 1);
  requireInteger(metric, 'regions', p.regions, 1);
}

export const REGION_DEFAULTS = {
  patchSize: 8,
  regions: 100,
  layout: 'sliding',
  fill: 'black',
  valueMin: 0,
  valueMax: 1,
  blurRadius: 5,
  seed: 0,
  score: 'probability',
  batchSize: 16,
  abs: false,
} satisfies RegionPerturbationParams;
