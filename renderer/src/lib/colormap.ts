import { MAGMA_HEX, VIRIDIS_HEX } from './colormap-data.js';

/** The sequential tables a user picks from, for unsigned maps. */
export const COLORMAPS = ['viridis', 'magma', 'grey'] as const;
export type SequentialColormap = (typeof COLORMAPS)[number];
/**
 * The diverging table of signed maps: matplotlib's `bwr` (blue → white → red, linear in RGB), the blue-white-red
 * map Captum's and Zennit's signed heat maps use; white is exactly 0, so "no evidence" is neutral.
 */
export const DIVERGING = 'bwr' as const;
export type ColormapName = SequentialColormap | typeof DIVERGING;

/** 256 RGB entries, row after row: entry i is at [3i, 3i+1, 3i+2]. */
export type Lut = Uint8Array;

function fromHex(hex: string): Lut {
  if (hex.length !== 256 * 6) throw new Error(`colour table has ${hex.length / 6} entries, expected 256`);
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256 * 3; i++) lut[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return lut;
}

function greyLut(): Lut {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) lut.fill(i, 3 * i, 3 * i + 3);
  return lut;
}

/** Entry i at x = i / 255: x ≤ ½ blends blue to white (r = g = 2x), above it white to red (g = b = 2 − 2x). */
function bwrLut(): Lut {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = i / 255;
    const up = Math.round(255 * Math.min(1, 2 * x));
    const down = Math.round(255 * Math.min(1, 2 - 2 * x));
    lut[3 * i] = up;
    lut[3 * i + 1] = Math.min(up, down);
    lut[3 * i + 2] = down;
  }
  return lut;
}

const cache = new Map<ColormapName, Lut>();

export function isColormap(name: string): name is ColormapName {
  return (COLORMAPS as readonly string[]).includes(name) || name === DIVERGING;
}

/** The 256-entry table of a colour map (built once, then shared: callers must not write to it). */
export function colormapLut(name: ColormapName): Lut {
  let lut = cache.get(name);
  if (!lut) {
    if (name === 'viridis') lut = fromHex(VIRIDIS_HEX);
    else if (name === 'magma') lut = fromHex(MAGMA_HEX);
    else if (name === 'grey') lut = greyLut();
    else if (name === DIVERGING) lut = bwrLut();
    else
      throw new Error(
        `unknown colour map "${String(name)}"; use one of ${COLORMAPS.join(', ')}, ${DIVERGING}`,
      );
    cache.set(name, lut);
  }
  return lut;
}

/** Which table entry a normalised value falls in: [0, 1] maps onto 0..255, outside is clamped. */
export function lutIndex(t: number): number {
  if (!(t > 0)) return 0; // also NaN: a missing value shows as the bottom of the scale, never as "hot"
  if (t >= 1) return 255;
  return Math.min(255, Math.floor(t * 256));
}

export function colourAt(name: ColormapName, t: number): [number, number, number] {
  const lut = colormapLut(name);
  const i = 3 * lutIndex(t);
  return [lut[i], lut[i + 1], lut[i + 2]];
}

export function cssColour([r, g, b]: readonly [number, number, number]): string {
  return `rgb(${r} ${g} ${b})`;
}

/** A CSS linear-gradient for a legend bar, low values first (left or bottom, depending on `direction`). */
export function legendGradient(name: ColormapName, direction = 'to right', stops = 16): string {
  const parts: string[] = [];
  for (let k = 0; k < stops; k++) {
    const t = k / (stops - 1);
    parts.push(`${cssColour(colourAt(name, t))} ${(t * 100).toFixed(1)}%`);
  }
  return `linear-gradient(${direction}, ${parts.join(', ')})`;
}
