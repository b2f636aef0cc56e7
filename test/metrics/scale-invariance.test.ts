/**
 * One table over the whole metric registry: what a positive rescaling of the explanation (the method's maps
 * times c, for c = 1e-7, 1, 1e5) does to each metric. Real maps span that range (gradients and integrated
 * gradients of a trained net peak near 1e-5, LRP maps near the logit), so a metric whose definition depends only
 * on the map's order or proportions must give the same value at every scale; one defined on absolute values
 * (a fixed threshold, a norm) is listed with its scaling and the parameters that make it invariant are checked
 * instead. A metric added to the registry without a row here fails the test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { METRICS } from '../../src/metrics/registry.js';
import type { MetricInput, ScalarMap, ScoreModel } from '../../src/metrics/types.js';
import { imageOf, mapOf, maskOf } from './helpers.js';

const W = 8;

/** Deterministic values in (0, 1) without ties (mulberry32). */
function noise(seed: number): (x: number, y: number) => number {
  let a = seed >>> 0;
  const vals: number[] = [];
  for (let i = 0; i < W * W; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    vals.push(0.05 + 0.9 * (((t ^ (t >>> 14)) >>> 0) / 2 ** 32));
  }
  return (x, y) => vals[y * W + x];
}

/** Two-class linear model on channel 0 with mixed-sign weights; raw scores, so nothing saturates. */
const model: ScoreModel = {
  outputs: 'logits',
  async predict(batch, w, h, channels) {
    return batch.map((img) => {
      let s = 0;
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) s += ((x + 2 * y) % 5) - 1.7 * img[(y * w + x) * channels];
      return new Float32Array([s, -0.5 * s + 1]);
    });
  },
};

const base = mapOf(W, W, noise(1));
const other = mapOf(W, W, noise(2));
const scaled = (m: ScalarMap, c: number): ScalarMap => ({ ...m, data: m.data.map((v) => v * c) });

/** The inputs of every metric, for the method rescaled by c: all its maps (this class, others, randomised) × c. */
function inputAt(c: number): MetricInput {
  return {
    map: scaled(base, c),
    mask: maskOf(W, W, (x, y) => x >= 2 && x < 6 && y >= 1 && y < 5),
    boxes: [{ x0: 2, y0: 1, x1: 6, y1: 5 }] as MetricInput['boxes'],
    image: imageOf(W, W, 3, (x, y, ch) => ((x * 7 + y * 3 + ch) % 10) / 10),
    target: 0,
    model,
    numClasses: 2,
    explain: async (_img, cls) => scaled(cls === 0 ? base : other, c),
    randomised: async function* () {
      yield { layer: 'dense_2', map: scaled(other, c) };
      yield { layer: 'conv_1', map: scaled(mapOf(W, W, noise(3)), c) };
    },
  };
}

type Row =
  /** The definition depends only on order or proportions: the same value at every scale. */
  | { expect: 'invariant'; params?: Record<string, number | boolean | string> }
  /** Defined on absolute values: value(c·map) = c^degree · value(map); `invariantWith` must make it invariant. */
  | {
      expect: 'homogeneous';
      degree: number;
      why: string;
      params?: Record<string, number | boolean | string>;
      invariantWith: Record<string, number | boolean | string>;
    }
  /** An absolute threshold by definition: no scaling law; `invariantWith` (if any) must make it invariant. */
  | { expect: 'absolute'; why: string; invariantWith?: Record<string, number | boolean | string> };

const small = { faithfulness: { stepFraction: 0.125, batchSize: 64 } };

const TABLE: Record<string, Row> = {
  'pointing-game': { expect: 'invariant' },
  'relevance-mass-accuracy': { expect: 'invariant' },
  'relevance-rank-accuracy': { expect: 'invariant' },
  'top-k-intersection': { expect: 'invariant', params: { k: 10 } },
  'attribution-localisation': { expect: 'invariant' },
  'roc-auc': { expect: 'invariant' },
  'threshold-iou': {
    expect: 'absolute',
    why: 'mode absolute compares with a fixed threshold (for maps in [0, 1])',
    invariantWith: { normalise: 'max-abs' },
  },
  'largest-region-box-iou': {
    expect: 'absolute',
    why: 'mode absolute compares with a fixed threshold (for maps in [0, 1])',
    invariantWith: { mode: 'percentile' },
  },
  pompom: {
    expect: 'absolute',
    why: 'ε is an activation threshold on in-model maps in [0, 1] (Rio-Torto et al.)',
  },
  deletion: { expect: 'invariant', params: small.faithfulness },
  insertion: { expect: 'invariant', params: small.faithfulness },
  'aopc-morf': { expect: 'invariant', params: { patchSize: 2, regions: 8, batchSize: 64 } },
  'aopc-lerf': { expect: 'invariant', params: { patchSize: 2, regions: 8, batchSize: 64 } },
  'faithfulness-correlation': { expect: 'invariant', params: { runs: 20, subsetSize: 8, batchSize: 64 } },
  'model-parameter-randomisation': { expect: 'invariant' },
  'random-logit': { expect: 'invariant' },
  sparseness: { expect: 'invariant' },
  complexity: { expect: 'invariant' },
  'total-variation': {
    expect: 'homogeneous',
    degree: 1,
    why: 'a sum of absolute differences of the raw map',
    invariantWith: { normalise: 'max-abs' },
  },
  'fraction-explained': {
    expect: 'absolute',
    why: 'the share of pixels above a fixed threshold (for maps in [0, 1])',
    invariantWith: { normalise: 'max-abs' },
  },
  diffusion: {
    expect: 'homogeneous',
    degree: 1,
    why: 'the Frobenius norm of the difference of the raw maps (Rieger 2017 does not normalise)',
    invariantWith: { normalise: 'max-abs' },
  },
};

const SCALES = [1e-7, 1, 1e5];

async function valueAt(name: string, c: number, params: Record<string, unknown> = {}): Promise<number> {
  const m = METRICS.get(name)!;
  return (await m.run(inputAt(c), params as never)).value;
}

function near(a: number, b: number, tol: number): boolean {
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
}

test('every registered metric has a row in the scale table', () => {
  assert.deepEqual([...METRICS.keys()].sort(), Object.keys(TABLE).sort());
});

for (const [name, row] of Object.entries(TABLE)) {
  test(`${name}: under map × c for c in 1e-7, 1, 1e5 it is ${row.expect}`, async () => {
    if (row.expect === 'invariant') {
      const ref = await valueAt(name, 1, row.params);
      assert.ok(Number.isFinite(ref), `${name}: defined at scale 1 (${ref})`);
      for (const c of SCALES) {
        const v = await valueAt(name, c, row.params);
        assert.ok(near(v, ref, 1e-6), `${name} × ${c}: ${v}, at scale 1: ${ref}`);
      }
      return;
    }
    if (row.expect === 'homogeneous') {
      const ref = await valueAt(name, 1, row.params);
      for (const c of SCALES) {
        const v = await valueAt(name, c, row.params);
        assert.ok(near(v, c ** row.degree * ref, 1e-5), `${name} × ${c}: ${v} ≠ ${c}^${row.degree} · ${ref}`);
      }
    } else {
      // An absolute threshold: the tiny map falls below it, so the value changes with the scale.
      const tiny = await valueAt(name, 1e-7);
      const one = await valueAt(name, 1);
      assert.notEqual(tiny, one, `${name}: documented as scale-dependent (${row.why}) but it is not`);
    }
    if (row.invariantWith) {
      const ref = await valueAt(name, 1, row.invariantWith);
      for (const c of SCALES) {
        const v = await valueAt(name, c, row.invariantWith);
        assert.ok(near(v, ref, 1e-6), `${name} ${JSON.stringify(row.invariantWith)} × ${c}: ${v} vs ${ref}`);
      }
    }
  });
}
