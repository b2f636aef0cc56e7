/**
 * Loading one split of a dataset into memory, ready for batching: every image decoded once to the model's input
 * (size×size×3 Float32 in [0, 1]), its class index, and its mask when one is asked for.
 */
import { join } from 'node:path';
import type { SplitName } from '../../data/types.js';
import type { Dataset, ImageRecord, Split, Store } from '../../store/index.js';
import { mapLimit } from '../../util/pool.js';
import { DecodeCache, type DecodeVariant } from './cache.js';
import {
  DataLoadError,
  decodeImage,
  type ImageDecoder,
  RESIZE_KERNELS,
  type ResizeKernel,
} from './decode.js';
import { buildMask, MASK_SOURCES, type MaskSource } from './masks.js';
import { type Placement, placeImage, RESIZE_MODES, type ResizeMode } from './placement.js';

export const DEFAULT_SET_BYTES = 2 * 1024 * 1024 * 1024;
/**
 * One bad file in ten thousand should not cost a night's training run; a tenth of the split unreadable means
 * the dataset moved or is broken, and training on the rest would quietly be training on another dataset.
 */
export const DEFAULT_MAX_SKIPPED_FRACTION = 0.1;
const MAX_INPUT_SIZE = 4096;
const PAGE = 1000;

export interface LoadOptions {
  /** The model's (square) input size in pixels. */
  size: number;
  /** How non-square images become square (see placement.ts). Default 'stretch', like the reference code. */
  resize?: ResizeMode;
  /** Resampling kernel. Default 'linear'. */
  kernel?: ResizeKernel;
  /** Value of letterbox padding in [0, 1]. Default 1 (white, like composited alpha). */
  padValue?: number;
  /** Where masks come from (see masks.ts). Default 'none'. */
  maskSource?: MaskSource;
  /** Also unite painted "should-highlight" masks into each image's mask. Default false. */
  highlightMasks?: boolean;
  /** Keep images without a label (their label index is -1) instead of refusing the split. Default false. */
  allowUnlabelled?: boolean;
  /** Shared decoded-image cache; by default a private one (which still decodes duplicate files only once). */
  cache?: DecodeCache;
  /** Replaces the sharp decoder (tests count decodes through it). */
  decoder?: ImageDecoder;
  /** Images decoded at once. Default 4: sharp already spreads each decode over its own threads. */
  concurrency?: number;
  /**
   * Upper bound on the loaded set's memory (pixels plus masks), checked before anything is decoded. Default
   * 2 GiB. A 224 px image takes 602 KB as Float32, so 10 000 of them need 6 GB: shrink the input instead.
   */
  maxBytes?: number;
  /**
   * Share of the split's images that may be unreadable (missing, changed since import, undecodable) and are
   * then left out with a warning instead of failing the load. Default 0.1; one image may always be skipped
   * unless it is the split's only one. 0 makes every unreadable image fatal.
   */
  maxSkippedFraction?: number;
  /** Called for each image left out (see maxSkippedFraction), as soon as it is. */
  onSkip?: (skipped: SkippedImage) => void;
  /** Called with (0, total) first, then after each image (skipped ones included). */
  onProgress?: (done: number, total: number) => void;
  /** Stops loading: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface LoadedImage {
  imageId: number;
  relPath: string;
  sha256: string;
  /** Index into ImageSetData.classes; -1 for an unlabelled image (only with allowUnlabelled). */
  label: number;
  /** size×size×3 HWC Float32 in [0, 1]. Shared with the cache: never modify it. */
  pixels: Float32Array;
  /** size×size 0/1 mask, or null when the image has none (the hybrid loss then skips it). */
  mask: Uint8Array | null;
  /** How the source image maps onto the input (to bring explanations back to the source pixels). */
  placement: Placement;
}

/** An image of the split that could not be read and was left out of it. */
export interface SkippedImage {
  imageId: number;
  relPath: string;
  file: string;
  /** The problem, starting with the file's path. */
  message: string;
}

export interface ImageSetData {
  datasetId: number;
  datasetName: string;
  split: SplitName;
  size: number;
  /** The dataset's classes: a label's index here is the model's output index. */
  classes: readonly string[];
  resize: ResizeMode;
  kernel: ResizeKernel;
  maskSource: MaskSource;
  highlightMasks: boolean;
  /** In the store's order (by relative path), without the skipped images. */
  items: readonly LoadedImage[];
  /** Images left out because they could not be read (see LoadOptions.maxSkippedFraction). */
  skipped: readonly SkippedImage[];
}

function formatBytes(b: number): string {
  return b >= 1024 ** 3 ? `${(b / 1024 ** 3).toFixed(2)} GiB` : `${(b / 1024 ** 2).toFixed(1)} MiB`;
}

interface Resolved {
  size: number;
  resize: ResizeMode;
  kernel: ResizeKernel;
  padValue: number;
  maskSource: MaskSource;
  highlightMasks: boolean;
  allowUnlabelled: boolean;
  concurrency: number;
  maxBytes: number;
  maxSkippedFraction: number;
}

function resolve(opts: LoadOptions): Resolved {
  const o = opts ?? ({} as LoadOptions);
  const fail = (option: string, problem: string): never => {
    throw new DataLoadError(`loadSplit option ${option}: ${problem}`);
  };
  if (!Number.isInteger(o.size) || o.size < 1 || o.size > MAX_INPUT_SIZE) {
    fail('size', `expected an integer from 1 to ${MAX_INPUT_SIZE}, got ${String(o.size)}`);
  }
  const resize = o.resize ?? 'stretch';
  if (!RESIZE_MODES.includes(resize)) fail('resize', `expected one of ${RESIZE_MODES.join(', ')}`);
  const kernel = o.kernel ?? 'linear';
  if (!RESIZE_KERNELS.includes(kernel)) fail('kernel', `expected one of ${RESIZE_KERNELS.join(', ')}`);
  const padValue = o.padValue ?? 1;
  if (!(padValue >= 0 && padValue <= 1)) fail('padValue', `expected a number in [0, 1], got ${padValue}`);
  const maskSource = o.maskSource ?? 'none';
  if (!MASK_SOURCES.includes(maskSource)) fail('maskSource', `expected one of ${MASK_SOURCES.join(', ')}`);
  const concurrency = o.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) fail('concurrency', 'expected an integer >= 1');
  const maxBytes = o.maxBytes ?? DEFAULT_SET_BYTES;
  if (!(Number.isFinite(maxBytes) && maxBytes > 0)) fail('maxBytes', 'expected a positive number of bytes');
  const maxSkippedFraction = o.maxSkippedFraction ?? DEFAULT_MAX_SKIPPED_FRACTION;
  if (!(maxSkippedFraction >= 0 && maxSkippedFraction <= 1))
    fail('maxSkippedFraction', `expected a number in [0, 1], got ${maxSkippedFraction}`);
  return {
    size: o.size,
    resize,
    kernel,
    padValue,
    maskSource,
    highlightMasks: o.highlightMasks ?? false,
    allowUnlabelled: o.allowUnlabelled ?? false,
    concurrency,
    maxBytes,
    maxSkippedFraction,
  };
}

/** How many unreadable images a split of `total` may lose: one always (unless it is the only image). */
export function allowedSkips(total: number, fraction: number): number {
  if (fraction === 0 || total <= 1) return 0;
  return Math.max(1, Math.floor(total * fraction));
}

/** Every image of the split, in relative-path order ('trainval' is train and val together). */
export function listSplit(store: Store, datasetId: number, split: SplitName): ImageRecord[] {
  const parts: Split[] = split === 'trainval' ? ['train', 'val'] : [split];
  const out: ImageRecord[] = [];
  for (const part of parts) {
    for (let offset = 0; ; offset += PAGE) {
      const page = store.images.list(datasetId, { split: part, offset, limit: PAGE });
      out.push(...page);
      if (page.length < PAGE) break;
    }
  }
  if (parts.length > 1) out.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
  return out;
}

/** Class indices of the images, or an error listing (the first few of) the images that have none. */
export function labelIndices(
  images: readonly ImageRecord[],
  dataset: Dataset,
  split: SplitName,
  allowUnlabelled: boolean,
): number[] {
  const index = new Map(dataset.classes.map((c, i) => [c, i]));
  const problems: string[] = [];
  let unlabelled = 0;
  const labels = images.map((img) => {
    if (img.label === null) {
      if (!allowUnlabelled) {
        problems.push(`${img.relPath} has no label`);
        unlabelled++;
      }
      return -1;
    }
    const i = index.get(img.label);
    if (i === undefined) {
      problems.push(`${img.relPath} has label "${img.label}", which is not one of the dataset's classes`);
      return -1;
    }
    return i;
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ');
    const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
    const hint =
      unlabelled > 0 ? '; to load unlabelled images anyway (with label -1), pass allowUnlabelled' : '';
    throw new DataLoadError(
      `dataset "${dataset.name}", split ${split}: ${problems.length} image(s) cannot be trained on: ${shown}${more}. ` +
        `Classes are [${dataset.classes.join(', ')}]. Re-import with a target class (--target) or fix the labels${hint}`,
    );
  }
  return labels;
}

/**
 * Loads a split into memory. Fails before decoding anything when a label is missing or unknown, or when the
 * set would exceed `maxBytes`. An image that cannot be read (missing, changed, undecodable) is left out and
 * reported through `onSkip` and `skipped`; more of them than `maxSkippedFraction` allows fails the load, naming
 * them.
 */
export async function loadSplit(
  store: Store,
  datasetId: number,
  split: SplitName,
  opts: LoadOptions,
): Promise<ImageSetData> {
  const o = resolve(opts);
  const dataset = store.datasets.getById(datasetId);
  if (dataset === undefined) throw new DataLoadError(`no dataset with id ${datasetId} in ${store.path}`);
  if (dataset.sourcePath === null) {
    throw new DataLoadError(
      `dataset "${dataset.name}" has no source folder recorded, so its images cannot be read`,
    );
  }
  const root = dataset.sourcePath;
  const images = listSplit(store, datasetId, split);
  const labels = labelIndices(images, dataset, split, o.allowUnlabelled);

  const perImage = o.size * o.size * (3 * 4 + (o.maskSource === 'none' && !o.highlightMasks ? 0 : 1));
  const need = perImage * images.length;
  if (need > o.maxBytes) {
    throw new DataLoadError(
      `dataset "${dataset.name}", split ${split}: ${images.length} images at ${o.size} px need ${formatBytes(need)} in memory, ` +
        `more than the allowed ${formatBytes(o.maxBytes)}; use a smaller input size or raise maxBytes`,
    );
  }

  const cache = opts.cache ?? new DecodeCache();
  const decoder = opts.decoder ?? decodeImage;
  const variant: DecodeVariant = { size: o.size, resize: o.resize, kernel: o.kernel, padValue: o.padValue };
  const total = images.length;
  let done = 0;
  // After the first failure the other workers stop picking up images instead of decoding the rest for nothing.
  let failed = false;
  const skipped: SkippedImage[] = [];
  const allowed = allowedSkips(total, o.maxSkippedFraction);
  const tooMany = () => {
    const shown = skipped
      .slice(0, 5)
      .map((s) => s.message)
      .join('; ');
    const more = skipped.length > 5 ? `; and ${skipped.length - 5} more` : '';
    return new DataLoadError(
      `dataset "${dataset.name}", split ${split}: ${skipped.length} of ${total} images cannot be read, more than ` +
        `the ${allowed} that may be skipped (${Math.round(o.maxSkippedFraction * 100)} %): ${shown}${more}. ` +
        'Fix or restore the files, or re-import the dataset',
    );
  };
  opts.onProgress?.(0, total);
  const loadOne = async (img: ImageRecord, i: number): Promise<LoadedImage | undefined> => {
    if (failed) throw new DataLoadError('loading stopped after an earlier failure');
    opts.signal?.throwIfAborted();
    const placement = placeImage(img.width, img.height, o.size, o.resize);
    const file = join(root, img.relPath);
    let pixels: Float32Array;
    try {
      pixels = await cache.get(img.sha256, variant, () =>
        decoder({ file, sha256: img.sha256, placement, kernel: o.kernel, padValue: o.padValue }),
      );
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      const message = e instanceof Error ? e.message : String(e);
      const s: SkippedImage = {
        imageId: img.id,
        relPath: img.relPath,
        file,
        message: message.startsWith(file) ? message : `${file}: ${message}`,
      };
      skipped.push(s);
      if (skipped.length > allowed) throw tooMany();
      opts.onSkip?.(s);
      opts.onProgress?.(++done, total);
      return undefined;
    }
    const mask =
      o.maskSource === 'none' && !o.highlightMasks
        ? null
        : await buildMask(store, dataset, img, placement, {
            source: o.maskSource,
            highlightMasks: o.highlightMasks,
          });
    opts.onProgress?.(++done, total);
    return {
      imageId: img.id,
      relPath: img.relPath,
      sha256: img.sha256,
      label: labels[i],
      pixels,
      mask,
      placement,
    };
  };
  const loaded = await mapLimit(images, o.concurrency, async (img, i) => {
    try {
      return await loadOne(img, i);
    } catch (e) {
      failed = true;
      throw e;
    }
  });
  const items = loaded.filter((it): it is LoadedImage => it !== undefined);
  skipped.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
  return {
    datasetId,
    datasetName: dataset.name,
    split,
    size: o.size,
    classes: [...dataset.classes],
    resize: o.resize,
    kernel: o.kernel,
    maskSource: o.maskSource,
    highlightMasks: o.highlightMasks,
    items,
    skipped,
  };
}
