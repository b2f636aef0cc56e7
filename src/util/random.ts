/**
 * A seeded pseudo-random generator: xoshiro128** (Blackman & Vigna), seeded through a small 128-bit mixing
 * function built on MurmurHash3's finaliser. Fast, 2^128 - 1 period, good statistical quality for simulation
 * and shuffling; not for cryptography.
 *
 * Why a class with `fork(label)`: the dataset generator and training need streams that do not depend on the
 * order in which other parts of the program draw numbers. `root.fork('image:17')` always yields the same stream
 * for the same root seed, however many numbers the root (or any other fork) has produced, so one image can be
 * regenerated alone and adding a consumer does not shift everyone else's randomness.
 */

export type Seed = number | string;

/** Everything needed to resume a generator exactly where it was (e.g. a training shuffle after a restart). */
export interface RandomState {
  key: [number, number, number, number];
  s: [number, number, number, number];
  spare: number | null;
}

const TWO_POW_32 = 4294967296;

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** MurmurHash3's 32-bit finaliser: a bijection that spreads every input bit over the output. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Absorbs 32-bit words into a 128-bit key; used both for seeding and for deriving fork keys. */
function absorb(key: readonly number[], words: readonly number[]): [number, number, number, number] {
  let [a, b, c, d] = key;
  for (const w of [...words, words.length]) {
    a = fmix32((a ^ w) + 0x9e3779b9);
    b = fmix32((b ^ a) + 0x7f4a7c15);
    c = fmix32((c ^ b) + 0x85ebca6b);
    d = fmix32((d ^ c) + 0xc2b2ae35);
  }
  // A final round so the last word also reaches the first lanes.
  a = fmix32(a ^ d);
  b = fmix32(b ^ a);
  return [a >>> 0, b >>> 0, c >>> 0, d >>> 0];
}

function stringWords(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
  return out;
}

function seedWords(seed: Seed): number[] {
  if (typeof seed === 'string') return [1, ...stringWords(seed)];
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`random seed must be a safe integer or a string, got ${seed}`);
  }
  // Sign and both halves, so every safe integer (negative ones too) gives its own key.
  const mag = Math.abs(seed);
  return [0, seed < 0 ? 1 : 0, mag >>> 0, Math.floor(mag / TWO_POW_32) >>> 0];
}

const ROOT_KEY = [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344];

export class Random {
  /** Identifies the stream (seed and fork path); forks are derived from it, never from the running state. */
  private key: [number, number, number, number];
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;

  constructor(seed: Seed = 0) {
    this.key = absorb(ROOT_KEY, seedWords(seed));
    [this.s0, this.s1, this.s2, this.s3] = Random.stateFromKey(this.key);
  }

  private static stateFromKey(key: readonly number[]): [number, number, number, number] {
    const s = absorb(key, [0x5eed]);
    // xoshiro's only forbidden state is all zeros.
    if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
    return s;
  }

  static fromState(state: RandomState): Random {
    const words = [...state.key, ...state.s];
    if (words.length !== 8 || words.some((w) => !Number.isInteger(w) || w < 0 || w >= TWO_POW_32)) {
      throw new Error('Random.fromState: key and s must each be four unsigned 32-bit integers');
    }
    if ((state.s[0] | state.s[1] | state.s[2] | state.s[3]) === 0) {
      throw new Error('Random.fromState: the all-zero state is invalid for xoshiro128**');
    }
    if (state.spare !== null && !Number.isFinite(state.spare)) {
      throw new Error('Random.fromState: spare must be a finite number or null');
    }
    const r = new Random(0);
    r.key = [...state.key];
    [r.s0, r.s1, r.s2, r.s3] = state.s;
    r.spare = state.spare;
    return r;
  }

  getState(): RandomState {
    return {
      key: [...this.key],
      s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0],
      spare: this.spare,
    };
  }

  /** An independent stream named `label`: depends only on this stream's seed/fork path and the label. */
  fork(label: string): Random {
    // Built from the seed-0 stream and then re-keyed: the constructor is the only public way in.
    const child = new Random(0);
    child.key = absorb(this.key, [2, ...stringWords(label)]);
    [child.s0, child.s1, child.s2, child.s3] = Random.stateFromKey(child.key);
    return child;
  }

  /** The next raw 32-bit output, as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A float in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** An integer in [lo, hi], both ends included, without modulo bias. */
  int(lo: number, hi: number): number {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo > hi) {
      throw new Error(`Random.int: need integers lo <= hi, got ${lo}, ${hi}`);
    }
    const n = hi - lo + 1;
    if (n > TWO_POW_32) throw new Error(`Random.int: range ${lo}..${hi} is wider than 2^32`);
    // Reject the top partial block of 2^32 so every value is equally likely.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let u = this.nextUint32();
    while (u >= limit) u = this.nextUint32();
    return lo + (u % n);
  }

  /** A float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) {
      throw new Error(`Random.uniform: need finite lo <= hi, got ${lo}, ${hi}`);
    }
    return lo + (hi - lo) * this.next();
  }

  /** True with probability p. */
  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  /** A normal deviate (Box-Muller; the second value of each pair is kept for the next call). */
  normal(mean = 0, sd = 1): number {
    let z: number;
    if (this.spare !== null) {
      z = this.spare;
      this.spare = null;
    } else {
      const u1 = 1 - this.next(); // (0, 1]: log never sees 0
      const u2 = this.next();
      const rad = Math.sqrt(-2 * Math.log(u1));
      z = rad * Math.cos(2 * Math.PI * u2);
      this.spare = rad * Math.sin(2 * Math.PI * u2);
    }
    return mean + sd * z;
  }

  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T>(array: T[]): T[] {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** A uniformly chosen element. */
  pick<T>(array: readonly T[]): T {
    if (array.length === 0) throw new Error('Random.pick: the array is empty');
    return array[this.int(0, array.length - 1)];
  }
}
