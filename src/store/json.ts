/**
 * JSON columns. JSON cannot hold NaN or Infinity (JSON.stringify silently writes null), and a diverged loss is
 * exactly the NaN a user needs to see, so: general JSON (config, meta, params) refuses non-finite numbers with an
 * error naming the field, while metric maps encode them as the strings "NaN", "Infinity", "-Infinity" and decode
 * them back to numbers.
 */
import { createHash } from 'node:crypto';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

function check(value: unknown, where: string): void {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new Error(`${where}: ${value} cannot be stored as JSON; use a finite number`);
    return;
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) check(v, `${where}[${i}]`);
    return;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue; // dropped by JSON.stringify, the same as an absent key
      check(v, `${where}.${k}`);
    }
    return;
  }
  throw new Error(`${where}: a ${typeof value} cannot be stored as JSON`);
}

export function toJson(value: unknown, where: string): string {
  check(value, where);
  return JSON.stringify(value);
}

export function toJsonObject(value: unknown, where: string): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${where}: expected a plain object`);
  }
  return toJson(value, where);
}

export function fromJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** Same value ⇒ same text, whatever the key order: the basis of params hashes. */
export function canonicalJson(value: unknown, where: string): string {
  check(value, where);
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** sha256 of the canonical JSON: two calls with the same parameters in any key order share a hash. */
export function paramsHash(params: unknown, where = 'params'): string {
  return createHash('sha256').update(canonicalJson(params, where)).digest('hex');
}

export type Metrics = Record<string, number>;

const NON_FINITE: Record<string, number> = { NaN: Number.NaN, Infinity: Infinity, '-Infinity': -Infinity };

export function metricsToJson(metrics: Metrics, where: string): string {
  const out: Record<string, number | string> = {};
  for (const [k, v] of Object.entries(metrics)) {
    if (typeof v !== 'number') throw new Error(`${where}.${k}: expected a number, got ${typeof v}`);
    out[k] = Number.isFinite(v) ? v : String(v);
  }
  return JSON.stringify(out);
}

export function metricsFromJson(text: string): Metrics {
  const raw = JSON.parse(text) as Record<string, number | string>;
  const out: Metrics = {};
  for (const [k, v] of Object.entries(raw))
    out[k] = typeof v === 'number' ? v : (NON_FINITE[v] ?? Number.NaN);
  return out;
}
