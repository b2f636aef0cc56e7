/**
 * The explanation cache: maps computed once per (run, image, class, method, parameters) and kept in the store.
 *
 * Resolution: maps are stored at the model's input resolution S×S, the resolution the methods produce and the
 * metrics measure at. The viewer needs them over the image, so {@link explanationAtImage} brings a map to the
 * image's W×H on the way out, through the image's placement (the run's resize mode, src/training/data/
 * placement.ts) and bilinear sampling with half-pixel centres (the rule `tf.image.resizeBilinear` with
 * `halfPixelCenters` follows, and the one the data pipeline and `predict` use). Storing S×S keeps rows small
 * (a 64 px map is 8 KB in f16 whatever the photo's size) and lets `xwb eval` reuse cached maps exactly.
 *
 * Encoding ({@link MapEncoding}):
 * - 'f16le-scaled' (default): a float32 scale s = max |v| (1 for an all-zero map), then one IEEE half per pixel
 *   holding v / s, rounded to nearest even. Half precision has 11 significant bits, so every value comes back
 *   within max(|v|·2⁻¹¹, s·2⁻²⁵) of the original: about 3 significant digits, fine for display and for metrics
 *   read at 1e-3. The scale matters: gradient maps are often ~1e-6, where a plain half would be subnormal or 0.
 * - 'f32le': plain row-major float32; exact, twice the size. Choose it when a study needs bit-exact maps.
 * Either way the cache hands back the DECODED map, also right after computing it, so a first and a second
 * evaluation of the same maps measure exactly the same numbers.
 *
 * This module does not import TensorFlow: the web service decodes maps through it without loading an engine.
 * The model work is behind {@link RunModel} (run-model.ts).
 */
import { endianness } from 'node:os';
import type { Explanation, ImageRecord, JsonObject, Store } from '../store/index.js';
import { type Placement, placeImage, RESIZE_MODES, type ResizeMode } from '../training/data/placement.js';
import { predictionRows } from './predictions.js';
import type { RunModel } from './run-model.js';
import type { ExplainProgress, Params } from './types.js';

/**
 * The name under which a map's conservation (see CachedMap.conservation) is kept in its explanation's metric
 * rows: it belongs to the map, is replaced with it, and shows in the run's metric table next to the metrics.
 */
export const CONSERVATION = 'conservation';

/** The stored conservation of explanation `id`: undefined when none was stored, null for NaN. */
export function storedConservation(store: Store, id: number): number | null | undefined {
  const row = store.explanations.metrics(id).find((m) => m.metric === CONSERVATION);
  if (row === undefined) return undefined;
  return Number.isFinite(row.value) ? row.value : null;
}

export type MapEncoding = 'f16le-scaled' | 'f32le';
export const MAP_ENCODINGS: readonly MapEncoding[] = ['f16le-scaled', 'f32le'];
export const DEFAULT_ENCODING: MapEncoding = 'f16le-scaled';

// ---- float16 ----

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Drops the low `shift` bits of `m`, rounding to nearest, ties to even. */
function shiftRound(m: number, shift: number): number {
  const q = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q;
}

/** The IEEE 754 binary16 bits nearest to `v` (ties to even; overflow to ±Infinity; NaN stays NaN). */
export function toHalfBits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): value = m · 2⁻²⁴ with the implicit bit made explicit.
    if (e < -10) return sign;
    return sign | shiftRound(mant | 0x800000, 14 - e);
  }
  // A carry out of the mantissa correctly bumps the exponent (up to Infinity).
  return sign | ((e << 10) + shiftRound(mant, 13));
}

let halfTable: Float32Array | undefined;

/** binary16 bits → number, through a 64 K-entry table built on first use. */
export function fromHalfBits(h: number): number {
  if (halfTable === undefined) {
    halfTable = new Float32Array(65536);
    for (let b = 0; b < 65536; b++) {
      const sign = b & 0x8000 ? -1 : 1;
      const e = (b >>> 10) & 0x1f;
      const m = b & 0x3ff;
      if (e === 0) halfTable[b] = sign * m * 2 ** -24;
      else if (e === 0x1f) halfTable[b] = m !== 0 ? Number.NaN : sign * Number.POSITIVE_INFINITY;
      else halfTable[b] = sign * (1 + m / 1024) * 2 ** (e - 15);
    }
  }
  return halfTable[h & 0xffff];
}

// ---- encoding ----

const LITTLE_ENDIAN = endianness() === 'LE';

/** Row-major float32 little-endian bytes of `data` (a copy). */
export function f32leBytes(data: Float32Array): Buffer {
  if (LITTLE_ENDIAN)
    return Buffer.from(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const out = Buffer.alloc(data.length * 4);
  for (let i = 0; i < data.length; i++) out.writeFloatLE(data[i], i * 4);
  return out;
}

export function encodeMap(data: Float32Array, encoding: MapEncoding = DEFAULT_ENCODING): Buffer {
  if (encoding === 'f32le') return f32leBytes(data);
  if (encoding !== 'f16le-scaled') {
    throw new Error(
      `encodeMap: unknown encoding "${String(encoding)}"; use one of ${MAP_ENCODINGS.join(', ')}`,
    );
  }
  let scale = 0;
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]);
    if (a > scale && Number.isFinite(a)) scale = a;
  }
  if (scale === 0) scale = 1;
  // The scale is rounded to float32 before dividing, so decoding multiplies by exactly the number used here.
  f32[0] = scale;
  scale = f32[0];
  const out = Buffer.alloc(4 + data.length * 2);
  out.writeFloatLE(scale, 0);
  for (let i = 0; i < data.length; i++) out.writeUInt16LE(toHalfBits(data[i] / scale), 4 + i * 2);
  return out;
}

/** Decodes `count` values; the byte length must be exactly what the encoding says. */
export function decodeMap(bytes: Buffer, encoding: string, count: number, where = 'decodeMap'): Float32Array {
  const out = new Float32Array(count);
  if (encoding === 'f32le') {
    if (bytes.length !== count * 4) {
      throw new Error(
        `${where}: f32le data of ${bytes.length} bytes for ${count} values (expected ${count * 4})`,
      );
    }
    for (let i = 0; i < count; i++) out[i] = bytes.readFloatLE(i * 4);
    return out;
  }
  if (encoding === 'f16le-scaled') {
    if (bytes.length !== 4 + count * 2) {
      throw new Error(
        `${where}: f16le-scaled data of ${bytes.length} bytes for ${count} values (expected ${4 + count * 2})`,
      );
    }
    const scale = bytes.readFloatLE(0);
    for (let i = 0; i < count; i++) out[i] = fromHalfBits(bytes.readUInt16LE(4 + i * 2)) * scale;
    return out;
  }
  throw new Error(
    `${where}: encoding "${encoding}" is not one xwb can decode (${MAP_ENCODINGS.join(', ')}); ` +
      'recompute the explanation with this version of xwb',
  );
}

// ---- resolution ----

/** Source index pairs and weights of bilinear sampling with half-pixel centres along one axis. */
function axisSamples(outLength: number, inLength: number, inStart: number) {
  const lo = new Int32Array(outLength);
  const hi = new Int32Array(outLength);
  const frac = new Float64Array(outLength);
  const ratio = inLength / outLength;
  for (let o = 0; o < outLength; o++) {
    const s = (o + 0.5) * ratio - 0.5;
    const floor = Math.floor(s);
    lo[o] = inStart + Math.max(0, floor);
    hi[o] = inStart + Math.min(inLength - 1, Math.ceil(s));
    frac[o] = s - floor;
  }
  return { lo, hi, frac };
}

/**
 * An S×S map (row-major) at the W×H image resolution: the letterbox padding cropped, then bilinear sampling with
 * half-pixel centres, the same arithmetic as `tf.image.resizeBilinear(…, false, true)` (tested against it).
 */
export function mapToImageResolution(map: Float32Array, p: Placement): Float32Array {
  const { size, srcWidth: w, srcHeight: h } = p;
  if (map.length !== size * size) {
    throw new Error(`mapToImageResolution: a map of ${map.length} values is not ${size}×${size}`);
  }
  const xs = axisSamples(w, p.contentWidth, p.contentX);
  const ys = axisSamples(h, p.contentHeight, p.contentY);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const top = ys.lo[y] * size;
    const bottom = ys.hi[y] * size;
    const fy = ys.frac[y];
    for (let x = 0; x < w; x++) {
      const fx = xs.frac[x];
      const tl = map[top + xs.lo[x]];
      const tr = map[top + xs.hi[x]];
      const bl = map[bottom + xs.lo[x]];
      const br = map[bottom + xs.hi[x]];
      const t = tl + (tr - tl) * fx;
      const b = bl + (br - bl) * fx;
      out[y * w + x] = t + (b - t) * fy;
    }
  }
  return out;
}

/** The resize mode a run was trained with, read from its stored (resolved) configuration. */
export function runResizeMode(config: JsonObject, runId: number): ResizeMode {
  const data = config.data;
  const mode = data !== null && typeof data === 'object' && !Array.isArray(data) ? data.resize : undefined;
  if (!RESIZE_MODES.includes(mode as ResizeMode)) {
    throw new Error(
      `run ${runId}: its stored configuration has no valid data.resize (${JSON.stringify(mode)}); ` +
        `expected one of ${RESIZE_MODES.join(', ')}`,
    );
  }
  return mode as ResizeMode;
}

function runInputSize(config: JsonObject, runId: number): number {
  const model = config.model;
  const size =
    model !== null && typeof model === 'object' && !Array.isArray(model) ? model.inputSize : undefined;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) {
    throw new Error(`run ${runId}: its stored configuration has no valid model.inputSize`);
  }
  return size;
}

export interface MapAtImage {
  width: number;
  height: number;
  data: Float32Array;
}

/**
 * A stored explanation at its image's resolution, as float32. Maps stored at the image size (by other tools)
 * are returned as they are; maps at the run's input size are placed back onto the image.
 */
export function explanationAtImage(store: Store, explanation: Explanation): MapAtImage {
  const where = `explanation ${explanation.id}`;
  const data = decodeMap(
    explanation.data,
    explanation.encoding,
    explanation.width * explanation.height,
    where,
  );
  const image = store.images.get(explanation.imageId);
  if (image === undefined)
    throw new Error(`${where}: its image ${explanation.imageId} is not in ${store.path}`);
  if (explanation.width === image.width && explanation.height === image.height) {
    return { width: image.width, height: image.height, data };
  }
  const run = store.runs.get(explanation.runId);
  if (run === undefined) throw new Error(`${where}: its run ${explanation.runId} is not in ${store.path}`);
  const size = runInputSize(run.config, run.id);
  if (explanation.width !== size || explanation.height !== size) {
    throw new Error(
      `${where}: stored at ${explanation.width}×${explanation.height}, neither the image's ` +
        `${image.width}×${image.height} nor run ${run.id}'s input size ${size}×${size}`,
    );
  }
  const placement = placeImage(image.width, image.height, size, runResizeMode(run.config, run.id));
  return { width: image.width, height: image.height, data: mapToImageResolution(data, placement) };
}

// ---- the cache ----

/** Which class to explain: a class index, the model's prediction, or the image's ground-truth label. */
export type ClassChoice = number | 'predicted' | 'target';

export interface CacheOptions {
  /** Images explained per batch (default 8); the event loop gets a turn between batches. */
  batchSize?: number;
  encoding?: MapEncoding;
  signal?: AbortSignal;
  /** Images explained so far out of those that were missing; `cached` were found in the store. */
  onProgress?: (p: { done: number; total: number; cached: number }) => void;
  /** Progress inside a batch (the method's own units), for fine-grained bars. */
  onMethodProgress?: (p: ExplainProgress) => void;
  /**
   * A coarse map of an image that is being computed, before its exact one (the many-pass methods' progressive
   * refinement, ExplainContext.onPartial), at the model's input resolution; the stored maps are the exact
   * ones whether or not this is given.
   */
  onPartial?: (p: PartialMap) => void;
}

export interface PartialMap {
  imageId: number;
  classIndex: number;
  /** S×S, row-major, at the model's input resolution; the receiver owns it. */
  map: Float32Array;
  size: number;
  placement: Placement;
  /** What the coarse map is, e.g. 'integrated_gradients with 4 of 50 intervals'. */
  note: string;
}

export interface CachedMap {
  imageId: number;
  classIndex: number;
  explanationId: number;
  /** True when the map was already in the store. */
  cached: boolean;
  /** The decoded S×S map, row-major. */
  map: Float32Array;
  /**
   * For LRP-family maps: Σ relevance ÷ explained logit (1 when the composite conserves relevance), stored with
   * the map as its `conservation` row; null when undefined (a zero logit), absent for other methods.
   */
  conservation?: number | null;
  size: number;
  placement: Placement;
}

export interface CacheResult {
  method: string;
  /** The parameters the maps are keyed by (defaults filled in, batch size left out). */
  params: Params;
  items: CachedMap[];
  computed: number;
  cached: number;
}

/**
 * The parameters an explanation is keyed by: the method's defaults overridden by `given`, without `batchSize`
 * (it changes how the work is split, never the map), so `{}` and the spelled-out defaults find the same row.
 */
export function keyParams(
  defaults: Readonly<Params>,
  given: Readonly<Record<string, unknown>>,
  method: string,
): Params {
  const out: Params = { ...defaults };
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined) continue;
    if (!(k in defaults)) {
      throw new Error(
        `explain ${method}: unknown parameter '${k}'; known parameters: ${Object.keys(defaults).join(', ')}`,
      );
    }
    out[k] = v as Params[string];
  }
  delete out.batchSize;
  return out;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function imagesOf(store: Store, run: RunModel, imageIds: readonly number[]): ImageRecord[] {
  return imageIds.map((id) => {
    if (!Number.isInteger(id) || id < 1) throw new Error(`image id ${id} is not a positive integer`);
    const image = store.images.get(id);
    if (image === undefined) throw new Error(`no image ${id} in ${store.path}`);
    if (image.datasetId !== run.datasetId) {
      throw new Error(
        `image ${id} belongs to dataset ${image.datasetId}, but run ${run.runId} was trained on dataset ${run.datasetId}`,
      );
    }
    return image;
  });
}

/**
 * Resolves the class to explain per image. 'predicted' takes a stored prediction of the run's current checkpoint
 * where there is one and runs the model on the others (in batches), storing what it predicted.
 */
async function resolveClasses(
  store: Store,
  run: RunModel,
  images: readonly ImageRecord[],
  choice: ClassChoice,
  batchSize: number,
  signal: AbortSignal | undefined,
): Promise<number[]> {
  if (typeof choice === 'number') {
    if (!Number.isInteger(choice) || choice < 0 || choice >= run.classes.length) {
      throw new Error(
        `class ${choice} is not a class of run ${run.runId} (0 to ${run.classes.length - 1}: ${run.classes.join(', ')})`,
      );
    }
    return images.map(() => choice);
  }
  if (choice === 'target') {
    return images.map((im) => {
      const index = im.label === null ? -1 : run.classes.indexOf(im.label);
      if (index < 0) {
        throw new Error(
          `image ${im.id} (${im.relPath}) has ${im.label === null ? 'no label' : `label "${im.label}", not a class of the run`}; ` +
            'explain a class index or the predicted class instead',
        );
      }
      return index;
    });
  }
  if (choice !== 'predicted')
    throw new Error(`class must be an index, 'predicted' or 'target', got ${String(choice)}`);
  const have = store.predictions.current(
    run.runId,
    run.checkpoint.path,
    images.map((im) => im.id),
  );
  const known = new Map<number, number>();
  for (const id of have) {
    const p = store.predictions.get(run.runId, id);
    if (p) known.set(id, p.classIndex);
  }
  const todo = images.filter((im) => !known.has(im.id));
  for (let start = 0; start < todo.length; start += batchSize) {
    signal?.throwIfAborted();
    const batch = todo.slice(start, start + batchSize);
    const inputs = await run.inputs(batch);
    const rows = predictionRows(run, batch, await run.probabilities(inputs.map((i) => i.pixels)));
    store.predictions.putMany(rows);
    for (const r of rows) known.set(r.imageId, r.classIndex);
    await yieldToEventLoop();
  }
  return images.map((im) => known.get(im.id) as number);
}

export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/**
 * The maps of `method` for the images, from the store where present, computed (in batches of `batchSize`,
 * cancellable, with progress) and stored where missing. Results are in the order of `imageIds`.
 */
export async function getOrCompute(
  store: Store,
  run: RunModel,
  imageIds: readonly number[],
  method: string,
  params: Readonly<Record<string, unknown>>,
  classChoice: ClassChoice,
  options: CacheOptions = {},
): Promise<CacheResult> {
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`getOrCompute: batchSize must be an integer ≥ 1`);
  const encoding = options.encoding ?? DEFAULT_ENCODING;
  if (!MAP_ENCODINGS.includes(encoding)) {
    throw new Error(`getOrCompute: unknown encoding "${encoding}"; use one of ${MAP_ENCODINGS.join(', ')}`);
  }
  const info = run.method(method);
  const key = keyParams(info.defaults, params, method);
  const images = imagesOf(store, run, imageIds);
  const size = run.inputSize;
  const classes = await resolveClasses(store, run, images, classChoice, batchSize, options.signal);
  const items: (CachedMap | undefined)[] = new Array(images.length);
  const missing: number[] = [];
  images.forEach((image, i) => {
    const found = store.explanations.get({
      runId: run.runId,
      imageId: image.id,
      classIndex: classes[i],
      method,
      params: key as JsonObject,
    });
    // A row this version cannot decode (other size or encoding) is recomputed and replaced.
    if (
      found &&
      found.width === size &&
      found.height === size &&
      MAP_ENCODINGS.includes(found.encoding as MapEncoding)
    ) {
      items[i] = {
        imageId: image.id,
        classIndex: classes[i],
        explanationId: found.id,
        cached: true,
        map: decodeMap(found.data, found.encoding, size * size, `explanation ${found.id}`),
        size,
        placement: run.placement(image),
      };
      const kept = storedConservation(store, found.id);
      if (kept !== undefined) items[i]!.conservation = kept;
    } else missing.push(i);
  });
  const cached = images.length - missing.length;
  options.onProgress?.({ done: 0, total: missing.length, cached });
  for (let start = 0; start < missing.length; start += batchSize) {
    options.signal?.throwIfAborted();
    const batch = missing.slice(start, start + batchSize);
    const inputs = await run.inputs(batch.map((i) => images[i]));
    const { maps, debug } = await run.explain(
      method,
      inputs.map((x) => x.pixels),
      batch.map((i) => classes[i]),
      { ...key, batchSize },
      {
        signal: options.signal,
        onProgress: options.onMethodProgress,
        onPartial: options.onPartial
          ? (p) => {
              const i = batch[p.image];
              options.onPartial?.({
                imageId: images[i].id,
                classIndex: classes[i],
                map: p.map,
                size,
                placement: run.placement(images[i]),
                note: p.note,
              });
            }
          : undefined,
      },
    );
    const conservation = debug[CONSERVATION];
    batch.forEach((i, k) => {
      const data = encodeMap(maps[k], encoding);
      const { id } = store.explanations.put({
        runId: run.runId,
        imageId: images[i].id,
        classIndex: classes[i],
        method,
        params: key as JsonObject,
        width: size,
        height: size,
        encoding,
        data,
      });
      items[i] = {
        imageId: images[i].id,
        classIndex: classes[i],
        explanationId: id,
        cached: false,
        map: decodeMap(data, encoding, size * size),
        size,
        placement: inputs[k].placement,
      };
      if (conservation !== undefined) {
        const value = conservation[k];
        // The map and its conservation are two writes: a crash between them leaves a map without it, which
        // reads as "not reported", never as a wrong number.
        store.explanations.putMetrics(id, [{ metric: CONSERVATION, value }]);
        items[i]!.conservation = Number.isFinite(value) ? value : null;
      }
    });
    options.onProgress?.({
      done: Math.min(missing.length, start + batch.length),
      total: missing.length,
      cached,
    });
    await yieldToEventLoop();
  }
  return { method, params: key, items: items as CachedMap[], computed: missing.length, cached };
}
