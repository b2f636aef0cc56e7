/** Parameter checks shared by the methods: each names the method and the parameter and says what is allowed. */
import type { ParamValue } from './types.js';

function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

export function checkInt(v: ParamValue, name: string, where: string, min: number, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Infinity ? `≥ ${min}` : `in [${min}, ${max}]`;
    throw new Error(`${where}: parameter ${name} must be an integer ${range}, got ${show(v)}`);
  }
  return v;
}

/** A finite number in [min, max] (or (min, max] when `openMin`). */
export function checkNumber(
  v: ParamValue,
  name: string,
  where: string,
  min = -Infinity,
  max = Infinity,
  openMin = false,
): number {
  const ok = typeof v === 'number' && Number.isFinite(v) && (openMin ? v > min : v >= min) && v <= max;
  if (!ok) {
    throw new Error(
      `${where}: parameter ${name} must be a finite number in ${openMin ? '(' : '['}${min}, ${max}], got ${show(v)}`,
    );
  }
  return v as number;
}

export function checkOneOf<T extends string>(
  v: ParamValue,
  name: string,
  where: string,
  allowed: readonly T[],
): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new Error(`${where}: parameter ${name} must be one of ${allowed.join(', ')}, got ${show(v)}`);
  }
  return v as T;
}

export function checkBool(v: ParamValue, name: string, where: string): boolean {
  if (typeof v !== 'boolean')
    throw new Error(`${where}: parameter ${name} must be true or false, got ${show(v)}`);
  return v;
}

/** A [low, high] pair with low < high, e.g. the value range of the input pixels. */
export function checkRange(v: ParamValue, name: string, where: string): [number, number] {
  if (
    !Array.isArray(v) ||
    v.length !== 2 ||
    !v.every((e) => typeof e === 'number' && Number.isFinite(e)) ||
    !(v[0] < v[1])
  ) {
    throw new Error(`${where}: parameter ${name} must be [low, high] with low < high, got ${show(v)}`);
  }
  return [v[0], v[1]];
}
