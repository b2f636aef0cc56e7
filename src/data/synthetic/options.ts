/**
 * Generator options: what can be asked for, the defaults, and validation that names the bad option.
 *
 * `resolveOptions` turns a partial `GeneratorOptions` into a complete, JSON-serialisable `ResolvedOptions`; the
 * resolved options are written to `xwb-generator.json` and, fed back to the generator with the same seed,
 * reproduce the dataset byte for byte.
 */
import type { Seed } from '../../util/random.js';
import { drawMargin } from './raster.js';
import { inradiusFactor, NAMED_SHAPES, parseShape, type Shape } from './shapes.js';

export type Rgb = [number, number, number];

export interface SplitFractions {
  train: number;
  val: number;
  test: number;
}

export interface GeneratorOptions {
  /** Image size in pixels. Default 224 x 224. */
  width?: number;
  height?: number;
  /** 1 (grey) or 3 (RGB). Default 3. */
  channels?: 1 | 3;
  /** Total number of images. Default 1000. */
  images?: number;
  /** Exact number of images that contain the target. Default: half of `images`, rounded down. */
  positives?: number;
  /** Target shape: a name ('triangle', 'star', ...) or 'p/q'. Default 'triangle'. */
  target?: string;
  /** Class name written for the target. Default: the shape's name (e.g. 'triangle', 'star7_3'). */
  targetName?: string;
  /** Shapes the distractors are drawn from (uniformly). Default ['circle']. */
  distractors?: string[];
  /**
   * Shapes per image, targets included (a nested pair counts once), fixed or a [min, max] range drawn per image.
   * Default 20, the paper's set.
   */
  shapesPerImage?: number | [number, number];
  /** Target instances in each positive image. Default 1. */
  targetsPerPositive?: number;
  /**
   * Circumradius range in pixels, drawn uniformly per shape. Default [width/32, width/16] like the reference
   * generator, but never below `MIN_DEFAULT_RADIUS_PX` (at 32 px the reference's 1-2 px shapes vanish) and
   * at least `MIN_DEFAULT_RADIUS_PX / 2` wide. Based on min(width, height).
   */
  radius?: [number, number];
  /** Stroke width in pixels for outline shapes. Default 1. */
  lineWidth?: number;
  /** Draw filled shapes instead of outlines. Default false. */
  fill?: boolean;
  /** Random rotation of each shape. Default true. */
  rotation?: boolean;
  /** Allow shapes to overlap. Default false: drawn pixels of two shapes never touch. */
  overlap?: boolean;
  /** Allow shapes to be cut by the image border (their objects get `truncated`). Default false. */
  borderOcclusion?: boolean;
  /** Standard deviation of additive Gaussian noise, in 0-255 grey levels, per channel. Default 0. */
  noiseSigma?: number;
  /**
   * Put every target inside a larger shape of this kind (drawn as an outline). Negative images get the same
   * number of such containers holding a distractor, so the container is no cue. Default null (no nesting).
   */
  nestTargetIn?: string | null;
  /** Draw the target in `targetColour` instead of `ink` (RGB only). Default false. */
  colourCue?: boolean;
  /** Background colour. Default white. With 1 channel, the first component is used for grey values. */
  background?: Rgb;
  /** Colour of distractors, containers and (without colour cue) targets. Default black. */
  ink?: Rgb;
  /** Target colour when `colourCue` is on. Default green [0, 160, 0]. */
  targetColour?: Rgb;
  /** Also write VOC objects for distractors and containers, under their shape names. Default false. */
  annotateDistractors?: boolean;
  /** Split fractions, stratified by positive/negative; must sum to 1. Default 0.75 / 0.25 / 0. */
  split?: Partial<SplitFractions>;
  /** Seed of every random choice. Default 1. */
  seed?: Seed;
  /** Random positions tried per shape before a fresh layout of the image is started. Default 500. */
  placementAttempts?: number;
}

export interface ResolvedOptions {
  width: number;
  height: number;
  channels: 1 | 3;
  images: number;
  positives: number;
  target: string;
  targetName: string;
  distractors: string[];
  shapesPerImage: [number, number];
  targetsPerPositive: number;
  radius: [number, number];
  lineWidth: number;
  fill: boolean;
  rotation: boolean;
  overlap: boolean;
  borderOcclusion: boolean;
  noiseSigma: number;
  nestTargetIn: string | null;
  colourCue: boolean;
  background: Rgb;
  ink: Rgb;
  targetColour: Rgb;
  annotateDistractors: boolean;
  split: SplitFractions;
  seed: Seed;
  placementAttempts: number;
}

/** Parsed shapes of resolved options, kept out of ResolvedOptions so that stays plain JSON. */
export interface ShapeSet {
  target: Shape;
  distractors: Shape[];
  container: Shape | null;
}

export const MIN_DEFAULT_RADIUS_PX = 4;
export const MAX_SIDE = 8192;
export const MAX_IMAGES = 1_000_000;
/** Fresh layouts of one image tried before giving up (each with `placementAttempts` tries per shape). */
export const LAYOUT_RESTARTS = 8;
/** Densest packing of equal discs in the plane; no layout of non-overlapping discs can beat it. */
const DISC_PACKING_DENSITY = Math.PI / Math.sqrt(12);
/** Nested targets keep this fraction of their radius as a gap to the container's inner edge. */
export const NEST_GAP = 0.25;

/** The paper's set (Rio-Torto et al. 2019, section 2.3): 1000 224-px images, triangle among circles, 618 positive. */
export const PAPER_OPTIONS: Readonly<GeneratorOptions> = {
  width: 224,
  height: 224,
  channels: 3,
  images: 1000,
  positives: 618,
  target: 'triangle',
  distractors: ['circle'],
  shapesPerImage: 20,
  split: { train: 0.75, val: 0.25, test: 0 },
};

const KNOWN_KEYS = new Set<string>([
  'width',
  'height',
  'channels',
  'images',
  'positives',
  'target',
  'targetName',
  'distractors',
  'shapesPerImage',
  'targetsPerPositive',
  'radius',
  'lineWidth',
  'fill',
  'rotation',
  'overlap',
  'borderOcclusion',
  'noiseSigma',
  'nestTargetIn',
  'colourCue',
  'background',
  'ink',
  'targetColour',
  'annotateDistractors',
  'split',
  'seed',
  'placementAttempts',
]);

function fail(option: string, problem: string): never {
  throw new Error(`generator option ${option}: ${problem}`);
}

function int(option: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    fail(option, `expected an integer from ${lo} to ${hi}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function num(option: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    fail(option, `expected a number from ${lo} to ${hi}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function bool(option: string, v: unknown): boolean {
  if (typeof v !== 'boolean') fail(option, `expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

function rgb(option: string, v: unknown): Rgb {
  if (!Array.isArray(v) || v.length !== 3 || v.some((c) => !Number.isInteger(c) || c < 0 || c > 255)) {
    fail(option, `expected [r, g, b] with integers 0-255, got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1], v[2]];
}

function shape(option: string, v: unknown): Shape {
  if (typeof v !== 'string') fail(option, `expected a shape name or "p/q", got ${JSON.stringify(v)}`);
  return parseShape(v, `generator option ${option}`);
}

/** The catalogue name when there is one, else the 'p/q' symbol: a spec that parses back to the same shape. */
function canonicalSpec(s: Shape): string {
  return s.name in NAMED_SHAPES ? s.name : s.spec;
}

function defaultRadius(width: number, height: number): [number, number] {
  const side = Math.min(width, height);
  const lo = Math.max(side / 32, MIN_DEFAULT_RADIUS_PX);
  const hi = Math.max(side / 16, lo + MIN_DEFAULT_RADIUS_PX / 2);
  return [lo, hi];
}

/** Radius of the disc, around the shape's centre, that holds every pixel it can touch (its container's if any). */
export function footprintRadius(
  r: number,
  role: 'plain' | 'nested',
  lineWidth: number,
  fill: boolean,
  sh: ShapeSet,
): number {
  const margin = drawMargin({ lineWidth, fill });
  if (role === 'plain' || !sh.container) return r + margin;
  return containerRadius(r, lineWidth, fill, sh.container) + drawMargin({ lineWidth, fill: false });
}

/**
 * Circumradius of the container around a target of circumradius r: its inner edge must clear the target's
 * drawn pixels, the container's own stroke and a gap of NEST_GAP * r.
 */
export function containerRadius(r: number, lineWidth: number, fill: boolean, container: Shape): number {
  const clear = r + drawMargin({ lineWidth, fill }) + drawMargin({ lineWidth, fill: false }) + NEST_GAP * r;
  return clear / inradiusFactor(container);
}

export function parseShapes(o: ResolvedOptions): ShapeSet {
  return {
    target: parseShape(o.target, 'generator option target'),
    distractors: o.distractors.map((d, i) => parseShape(d, `generator option distractors[${i}]`)),
    container: o.nestTargetIn === null ? null : parseShape(o.nestTargetIn, 'generator option nestTargetIn'),
  };
}

/** Validates and completes options; every error names the option and says what is allowed. */
export function resolveOptions(input: GeneratorOptions = {}): ResolvedOptions {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new Error('generator options must be an object');
  }
  for (const k of Object.keys(input)) {
    if (!KNOWN_KEYS.has(k)) fail(k, `unknown option; known options are ${[...KNOWN_KEYS].join(', ')}`);
  }
  const width = int('width', input.width ?? 224, 8, MAX_SIDE);
  const height = int('height', input.height ?? 224, 8, MAX_SIDE);
  const channels = input.channels ?? 3;
  if (channels !== 1 && channels !== 3) fail('channels', `expected 1 or 3, got ${JSON.stringify(channels)}`);
  const images = int('images', input.images ?? 1000, 1, MAX_IMAGES);
  const positives = int('positives', input.positives ?? Math.floor(images / 2), 0, images);

  const target = shape('target', input.target ?? 'triangle');
  const distractorSpecs = input.distractors ?? ['circle'];
  if (!Array.isArray(distractorSpecs) || distractorSpecs.length === 0) {
    fail('distractors', 'expected a non-empty list of shapes, e.g. ["circle"]');
  }
  const distractors = distractorSpecs.map((d, i) => shape(`distractors[${i}]`, d));
  for (const d of distractors) {
    if (d.spec === target.spec) {
      fail('distractors', `"${d.name}" is the target shape; a distractor must differ from the target`);
    }
  }
  const nestSpec = input.nestTargetIn ?? null;
  const container = nestSpec === null ? null : shape('nestTargetIn', nestSpec);
  if (container && container.spec === target.spec) {
    fail('nestTargetIn', 'the container must be a different shape from the target');
  }
  const targetName = input.targetName ?? target.name;
  if (typeof targetName !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(targetName)) {
    fail(
      'targetName',
      `expected a class name of letters, digits, "_", "." or "-", got ${JSON.stringify(targetName)}`,
    );
  }
  const otherNames = new Set([...distractors.map((d) => d.name), ...(container ? [container.name] : [])]);
  if (otherNames.has(targetName))
    fail('targetName', `"${targetName}" is also the name of a distractor class`);

  const spi = input.shapesPerImage ?? 20;
  let shapesPerImage: [number, number];
  if (Array.isArray(spi)) {
    if (spi.length !== 2)
      fail('shapesPerImage', `expected a count or [min, max], got ${JSON.stringify(spi)}`);
    const lo = int('shapesPerImage[0]', spi[0], 0, 10_000);
    const hi = int('shapesPerImage[1]', spi[1], lo, 10_000);
    shapesPerImage = [lo, hi];
  } else {
    const n = int('shapesPerImage', spi, 0, 10_000);
    shapesPerImage = [n, n];
  }
  const targetsPerPositive = int('targetsPerPositive', input.targetsPerPositive ?? 1, 1, 10_000);
  if (positives > 0 && targetsPerPositive > shapesPerImage[0]) {
    fail(
      'targetsPerPositive',
      `${targetsPerPositive} targets do not fit in images with as few as ${shapesPerImage[0]} shapes (shapesPerImage)`,
    );
  }

  const lineWidth = num('lineWidth', input.lineWidth ?? 1, 0.25, 64);
  const fill = bool('fill', input.fill ?? false);
  const radiusIn = input.radius ?? defaultRadius(width, height);
  if (!Array.isArray(radiusIn) || radiusIn.length !== 2) {
    fail('radius', `expected [min, max] in pixels, got ${JSON.stringify(radiusIn)}`);
  }
  const rMin = num('radius[0]', radiusIn[0], 1, MAX_SIDE);
  const rMax = num('radius[1]', radiusIn[1], rMin, MAX_SIDE);

  const colourCue = bool('colourCue', input.colourCue ?? false);
  if (colourCue && channels === 1) fail('colourCue', 'a colour cue needs channels: 3');
  const background = rgb('background', input.background ?? [255, 255, 255]);
  const ink = rgb('ink', input.ink ?? [0, 0, 0]);
  const targetColour = rgb('targetColour', input.targetColour ?? [0, 160, 0]);
  if (colourCue && targetColour.every((c, i) => c === ink[i])) {
    fail('targetColour', 'equals ink, so the colour cue would be invisible');
  }

  const splitIn = input.split ?? {};
  if (typeof splitIn !== 'object' || splitIn === null)
    fail('split', 'expected { train, val, test } fractions');
  const split: SplitFractions = {
    train: num('split.train', splitIn.train ?? 0.75, 0, 1),
    val: num('split.val', splitIn.val ?? 0.25, 0, 1),
    test: num('split.test', splitIn.test ?? 0, 0, 1),
  };
  if (Math.abs(split.train + split.val + split.test - 1) > 1e-9) {
    fail('split', `fractions must sum to 1, got ${split.train} + ${split.val} + ${split.test}`);
  }

  const seed = input.seed ?? 1;
  if (!(typeof seed === 'string' || Number.isSafeInteger(seed))) {
    fail('seed', `expected an integer or a string, got ${JSON.stringify(seed)}`);
  }

  const resolved: ResolvedOptions = {
    width,
    height,
    channels,
    images,
    positives,
    target: canonicalSpec(target),
    targetName,
    distractors: distractors.map(canonicalSpec),
    shapesPerImage,
    targetsPerPositive,
    radius: [rMin, rMax],
    lineWidth,
    fill,
    rotation: bool('rotation', input.rotation ?? true),
    overlap: bool('overlap', input.overlap ?? false),
    borderOcclusion: bool('borderOcclusion', input.borderOcclusion ?? false),
    noiseSigma: num('noiseSigma', input.noiseSigma ?? 0, 0, 255),
    nestTargetIn: container ? canonicalSpec(container) : null,
    colourCue,
    background,
    ink,
    targetColour,
    annotateDistractors: bool('annotateDistractors', input.annotateDistractors ?? false),
    split,
    seed,
    placementAttempts: int('placementAttempts', input.placementAttempts ?? 500, 1, 1_000_000),
  };
  checkFits(resolved, parseShapes(resolved));
  return resolved;
}

/**
 * Rejects layouts that cannot exist, before any image is drawn: a shape larger than the image, or (without
 * overlap) more shape area than the densest packing of discs allows. Layouts that pass can still be too tight
 * for random placement; the layout step then fails after a bounded number of attempts.
 */
function checkFits(o: ResolvedOptions, sh: ShapeSet): void {
  const side = Math.min(o.width, o.height);
  const role = sh.container ? 'nested' : 'plain';
  const biggest = Math.max(
    footprintRadius(o.radius[1], 'plain', o.lineWidth, o.fill, sh),
    footprintRadius(o.radius[1], role, o.lineWidth, o.fill, sh),
  );
  if (!o.borderOcclusion && 2 * biggest > side) {
    const what = sh.container ? `a target nested in a ${sh.container.name}` : 'a shape';
    fail(
      'radius',
      `${what} of radius ${o.radius[1]} px needs ${Math.ceil(2 * biggest)} px but the image is ${o.width}x${o.height}; ` +
        'lower radius or allow borderOcclusion',
    );
  }
  if (o.overlap) return;
  const n = o.shapesPerImage[1];
  const nested = sh.container ? o.targetsPerPositive : 0;
  const smallPlain = footprintRadius(o.radius[0], 'plain', o.lineWidth, o.fill, sh);
  const smallNested = footprintRadius(o.radius[0], role, o.lineWidth, o.fill, sh);
  // With border occlusion a disc may hang halfway out of the image, so the usable area grows by a border band.
  const pad = o.borderOcclusion ? smallPlain : 0;
  const area = (o.width + 2 * pad) * (o.height + 2 * pad);
  const need = Math.PI * ((n - nested) * smallPlain ** 2 + nested * smallNested ** 2);
  if (need > DISC_PACKING_DENSITY * area) {
    fail(
      'shapesPerImage',
      `${n} non-overlapping shapes of radius >= ${o.radius[0]} px cannot fit in a ${o.width}x${o.height} image ` +
        `(they need ${Math.round(need)} px² of ${Math.round(area)}); lower shapesPerImage or radius, or set overlap: true`,
    );
  }
}

/**
 * The paper's 20 shapes per image are for 224 px. Smaller images keep roughly the same density (shapes per
 * area), with at least 4 (2 below 48 px), so `xwb generate --size 64` works without tuning.
 */
export function defaultShapeCount(width: number, height: number): number {
  // Below 48 px even four shapes of the generator's minimum radius (4 px) rarely fit without touching.
  const floor = Math.min(width, height) < 48 ? 2 : 4;
  return Math.max(floor, Math.min(20, Math.round((20 * width * height) / (224 * 224))));
}
