/** Shared helpers of the engine tests: seeded data and comparison of results across backends. */
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/tf.js';

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32), so failures reproduce. */
export function seeded(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

/** Runs `fn` with `backend` active and returns the data of the tensors it returns (which are disposed). */
export async function onBackend(backend: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  assert.ok(await tf.setBackend(backend), `backend ${backend} did not start`);
  assert.equal(tf.getBackend(), backend);
  const out = tf.tidy(fn);
  const list = Array.isArray(out) ? out : [out];
  const data = list.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(list);
  return data;
}

/** ‖a − b‖ / ‖b‖. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'result sizes differ');
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  assert.ok(den > 0, 'the reference result is all zeros: the case tests nothing');
  return Math.sqrt(num / den);
}

/** Same computation on cpu (reference) and wasm; every output must agree to `tol` relative error. */
export async function assertWasmMatchesCpu(
  label: string,
  fn: () => tf.Tensor | tf.Tensor[],
  tol = 1e-4,
): Promise<void> {
  const ref = await onBackend('cpu', fn);
  const got = await onBackend('wasm', fn);
  assert.equal(got.length, ref.length, `${label}: number of outputs`);
  for (let i = 0; i < ref.length; i++) {
    const err = relativeError(got[i], ref[i]);
    assert.ok(err < tol, `${label}: output ${i} relative error ${err.toExponential(2)} ≥ ${tol}`);
  }
}
