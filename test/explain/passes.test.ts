/**
 * The many-pass methods give the same maps whoever runs their passes: the previous implementation (gradients
 * through XwbModel.predict, one thread, one internal batch per pass) against the graph's gradients on this
 * thread and against a PassPool over two worker replicas.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { initEngine } from '../../src/engine/select.js';
import { tf } from '../../src/engine/tf.js';
import { type ExplainPartial, getMethod } from '../../src/explain/index.js';
import { chunksAfterFirst } from '../../src/explain/methods/accumulate.js';
import { gridWeights, pointOrder } from '../../src/explain/methods/integrated.js';
import { LocalPasses, type Passes, PassPool, shardSizes } from '../../src/explain/passes/index.js';
import { inputGradient, logitsOf, oneHotRows } from '../../src/explain/tensor.js';
import { buildClassifier, buildExpClass, buildXcnn } from '../../src/models/index.js';
import type { XwbModel } from '../../src/models/types.js';
import { images, noLeak } from './helpers.js';

/**
 * |got − want| ≤ tol · max|want| everywhere: relative to the map's own scale (helpers' assertClose floors the
 * scale at 1, which would let any difference through for the small gradients of these tiny models).
 */
function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, label: string): void {
  assert.equal(got.length, want.length, `${label}: lengths differ`);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  assert.ok(scale > 0, `${label}: the reference is all zero, the comparison would prove nothing`);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    assert.ok(err <= tol * scale, `${label}[${i}]: got ${got[i]}, want ${want[i]} (scale ${scale})`);
  }
}

/** The passes exactly as the methods ran them before: fused forward, tf.grad through model.predict. */
class PreviousPasses implements Passes {
  readonly replicas = 1;
  constructor(readonly model: XwbModel) {}
  async inputGradients(x: tf.Tensor4D, classes: readonly number[]): Promise<tf.Tensor4D> {
    return tf.tidy(() => inputGradient(this.model, x, oneHotRows(classes, this.model.classes)));
  }
  async logits(x: tf.Tensor4D): Promise<tf.Tensor2D> {
    return tf.tidy(() => logitsOf(this.model, x));
  }
}

const models: [string, XwbModel][] = [];
const pools = new Map<string, PassPool>();

before(async () => {
  const engine = await initEngine({ prefer: 'wasm', logger: () => {} });
  models.push(
    ['expclass', buildExpClass({ inputSize: 16, classes: 2, base: 2, seed: 2, explainerBias: 0.5 })],
    ['xcnn', buildXcnn({ inputSize: 16, classes: 2, base: 2, seed: 3, generatorFilters: 4 })],
    ['classifier', buildClassifier({ inputSize: 16, classes: 3, base: 2, seed: 1, batchNorm: true })],
  );
  // A trained model's batch-norm statistics are not the initial 0/1: give them values, so a worker that lost
  // them (or the graph reading them wrongly) shows.
  for (const [, m] of models) {
    for (const w of m.parts.classifier.nonTrainableWeights) {
      const v = w.read();
      const isVar = w.name.includes('variance');
      w.write(
        tf.tidy(() =>
          isVar
            ? tf.randomUniform(v.shape, 0.8, 1.2, 'float32', 7)
            : tf.randomUniform(v.shape, -0.1, 0.1, 'float32', 8),
        ),
      );
    }
  }
  for (const [kind, m] of models)
    pools.set(kind, await PassPool.create({ model: m, engine: engine.name, replicas: 2 }));
});

after(async () => {
  for (const p of pools.values()) await p.close();
  for (const [, m] of models) m.dispose();
});

test('shardSizes: near-equal consecutive shards, never more than the items', () => {
  assert.deepEqual(shardSizes(7, 2), [4, 3]);
  assert.deepEqual(shardSizes(1, 2), [1]);
  assert.deepEqual(shardSizes(6, 3), [2, 2, 2]);
});

test('input gradients through the graph and through a pool equal the previous ones (predict + tf.grad)', async () => {
  const x = images(5, 16, 3, 11);
  for (const [kind, model] of models) {
    const classes = [0, 1, 1, 0, 1];
    const want = await new PreviousPasses(model).inputGradients(x, classes);
    const local = new LocalPasses(model, 2); // a bound of 2 images per pass: 3 passes for 5 images
    const viaGraph = await noLeak(`${kind} local`, async () => {
      const g = await local.inputGradients(x, classes);
      const v = await g.data();
      g.dispose();
      local.dispose();
      return v;
    });
    const pooled = await pools.get(kind)!.inputGradients(x, classes);
    const w = await want.data();
    assert.ok(
      w.some((v) => Math.abs(v) > 1e-6),
      `${kind}: the reference gradient is all zero`,
    );
    assertClose(viaGraph, w, 1e-4, `${kind} graph gradient`);
    assertClose(await pooled.data(), w, 1e-4, `${kind} pooled gradient`);
    tf.dispose([want, pooled]);
    const logits = await pools.get(kind)!.logits(x);
    const wantLogits = tf.tidy(() => logitsOf(model, x));
    assertClose(await logits.data(), await wantLogits.data(), 1e-5, `${kind} pooled logits`);
    tf.dispose([logits, wantLogits]);
  }
  x.dispose();
});

const CASES: [string, Record<string, number | string>][] = [
  ['integrated_gradients', { steps: 7, internalBatch: 3 }],
  ['integrated_gradients', { steps: 4, internalBatch: 16, baseline: 'mean' }],
  ['smoothgrad', { samples: 5, internalBatch: 2, seed: 3 }],
  ['squaregrad', { samples: 4, internalBatch: 3 }],
  ['vargrad', { samples: 5, internalBatch: 2 }],
  ['occlusion', { window: 6, stride: 4, internalBatch: 3 }],
  ['occlusion', { window: 4, stride: 3, internalBatch: 5, score: 'probability', fill: 0 }],
];

test('IG, SmoothGrad/SquareGrad/VarGrad and occlusion: the same maps on a pool of 2 as before, no leaks', async () => {
  const x = images(3, 16, 3, 23);
  for (const [kind, model] of models) {
    for (const [name, params] of CASES) {
      const method = getMethod(name);
      const classes = [1, 0, 1];
      const before = await method.explain(model, x, classes, params, { passes: new PreviousPasses(model) });
      const here = await noLeak(`${kind} ${name}`, () => method.explain(model, x, classes, params));
      const pooled = await noLeak(`${kind} ${name} pooled`, () =>
        method.explain(model, x, classes, params, { passes: pools.get(kind)! }),
      );
      assertClose(here.maps, before.maps, 1e-4, `${kind} ${name} ${JSON.stringify(params)} (this thread)`);
      assertClose(pooled.maps, before.maps, 1e-4, `${kind} ${name} ${JSON.stringify(params)} (pool)`);
      for (const [key, values] of Object.entries(before.debug ?? {})) {
        assertClose(pooled.debug?.[key] ?? [], values, 1e-4, `${kind} ${name} debug.${key}`);
      }
    }
  }
  x.dispose();
});

test('passes made for another model are refused, naming the method', async () => {
  const [, a] = models[0];
  const [, b] = models[1];
  const x = images(1, 16, 3, 5);
  await assert.rejects(
    getMethod('integrated_gradients').explain(a, x, 0, { steps: 2 }, { passes: new PreviousPasses(b) }),
    /explain integrated_gradients: the passes given in the context were made for another model/,
  );
  x.dispose();
});

test('IG point order: an even coarse grid first, every point once; trapezoid weights of uneven grids', () => {
  assert.deepEqual(pointOrder(8, 3), { order: [0, 4, 8, 1, 2, 3, 5, 6, 7], coarse: [0, 4, 8] });
  assert.deepEqual(pointOrder(4, 16), { order: [0, 1, 2, 3, 4], coarse: [] });
  const { order, coarse } = pointOrder(50, 16);
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    Array.from({ length: 51 }, (_, k) => k),
  );
  assert.ok(coarse.length <= 16 && coarse[0] === 0 && coarse[coarse.length - 1] === 50);
  assert.deepEqual(gridWeights([0, 4, 8], 8), [0.25, 0.5, 0.25]);
  // 0, 3, 6, 7 of 7: halves of the neighbouring gaps (3/7, 3/7, 1/7), summing to 1.
  const w = gridWeights([0, 3, 6, 7], 7);
  assertClose(w, [1.5 / 7, 3 / 7, 2 / 7, 0.5 / 7], 1e-12, 'uneven grid');
  assert.deepEqual(chunksAfterFirst(10, 3, 4), [
    [0, 3],
    [3, 7],
    [7, 10],
  ]);
  assert.deepEqual(chunksAfterFirst(2, 3, 4), [[0, 2]]);
});

test('coarse maps come first and are the exact coarser method; the final maps do not change', async () => {
  const [kind, model] = models[0];
  const x = images(2, 16, 3, 31);
  for (const passes of [undefined, pools.get(kind)!]) {
    const where = passes ? 'pool' : 'this thread';
    const partials: ExplainPartial[] = [];
    const onPartial = (p: ExplainPartial) => partials.push(p);
    const ig = getMethod('integrated_gradients');
    // internalBatch 3 on one thread: the coarse grid is 0, 4, 8 of 8 = IG with 2 intervals. With the pool the
    // first chunk is still internalBatch points (split across the replicas), so the same.
    const withPartial = await ig.explain(
      model,
      x,
      [1, 0],
      { steps: 8, internalBatch: 3 },
      { passes, onPartial },
    );
    const plain = await ig.explain(model, x, [1, 0], { steps: 8, internalBatch: 3 }, { passes });
    assert.deepEqual(withPartial.maps, plain.maps, `${where}: onPartial changed the final maps`);
    const coarse = await ig.explain(model, x, [1, 0], { steps: 2 }, { passes });
    assert.deepEqual(
      partials.map((p) => p.image),
      [0, 1],
    );
    assert.match(partials[0].note, /2 of 8 intervals/);
    for (const p of partials) {
      assertClose(
        p.map,
        coarse.maps.subarray(p.image * 256, (p.image + 1) * 256),
        1e-4,
        `${where} IG coarse ${p.image}`,
      );
    }
    partials.length = 0;
    const sg = getMethod('smoothgrad');
    await sg.explain(model, x, [1, 0], { samples: 6, internalBatch: 2 }, { passes, onPartial });
    const few = await sg.explain(model, x, [1, 0], { samples: 2, internalBatch: 2 }, { passes });
    assert.equal(partials.length, 2);
    for (const p of partials) {
      assert.match(p.note, /2 of 6 samples/);
      assertClose(
        p.map,
        few.maps.subarray(p.image * 256, (p.image + 1) * 256),
        1e-4,
        `${where} SmoothGrad coarse`,
      );
    }
  }
  x.dispose();
});
