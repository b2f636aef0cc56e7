/** Running sums across async loops (which tf.tidy cannot span): each step frees what it replaces. */
import { tf } from '../../engine/tf.js';

/** acc + part, disposing both inputs; `acc` null means "nothing yet". */
export function addInto<T extends tf.Tensor>(acc: T | null, part: T): T {
  if (acc === null) return part;
  const sum = tf.add(acc, part) as T;
  acc.dispose();
  part.dispose();
  return sum;
}

/** The image i of a batch as a batch of one. */
export function imageAt(x: tf.Tensor4D, i: number): tf.Tensor4D {
  const [, h, w, c] = x.shape;
  return tf.slice(x, [i, 0, 0, 0], [1, h, w, c]);
}

/** Concatenates per-image maps [1, S, S] into [n, S, S] and disposes the parts. */
export function stackMaps(parts: tf.Tensor[]): tf.Tensor {
  const out = parts.length === 1 ? tf.clone(parts[0]) : tf.concat(parts, 0);
  tf.dispose(parts);
  return out;
}

/** Chunk boundaries [start, end) of `total` items in chunks of `size`. */
export function chunks(total: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let a = 0; a < total; a += size) out.push([a, Math.min(total, a + size)]);
  return out;
}

/**
 * Chunk boundaries of `total` items: a first chunk of `first`, then chunks of `size`. The many-pass methods
 * keep their first chunk at one replica's batch so a coarse map comes early, then give each replica a batch.
 */
export function chunksAfterFirst(total: number, first: number, size: number): [number, number][] {
  const head = Math.min(total, first);
  return [
    [0, head] as [number, number],
    ...chunks(total - head, size).map(([a, b]) => [a + head, b + head] as [number, number]),
  ].filter(([a, b]) => b > a);
}
