/**
 * A run's model explains the many-pass methods on a pool of worker replicas (RunModel starts it at the first
 * such request) with the same maps as on one thread, and releases everything when disposed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { tf } from '../../src/engine/tf.js';
import { loadRunModel } from '../../src/explain/run-model.js';
import { listSplit } from '../../src/training/data/load.js';
import { type EvalFixture, evalFixture, wasmEngine } from '../evaluate/fixture.js';

let f: EvalFixture;
let runId: number;

before(async () => {
  await wasmEngine();
  f = await evalFixture(8);
  runId = await f.makeRun();
});

after(() => f.done());

function maxRelDiff(got: Float32Array, want: Float32Array): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    err = Math.max(err, Math.abs(got[i] - want[i]));
  }
  assert.ok(scale > 0, 'the reference map is all zero');
  return err / scale;
}

test('RunModel.explain: pool of 2 and one thread give the same IG, VarGrad and occlusion maps', async () => {
  const baseline = tf.memory().numTensors;
  // RunModel falls back to one thread with a warning when the workers do not start: that would pass unseen.
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.join(' '));
  const pooled = await loadRunModel(f.store, runId, { replicas: 2 });
  const single = await loadRunModel(f.store, runId, { replicas: 1 });
  try {
    const images = listSplit(f.store, f.datasetId, 'train').slice(0, 2);
    assert.equal(images.length, 2, 'the fixture has training images');
    const pixels = (await single.inputs(images)).map((i) => i.pixels);
    const cases: [string, Record<string, number>][] = [
      ['integrated_gradients', { steps: 6, internalBatch: 2 }],
      ['vargrad', { samples: 4, internalBatch: 2 }],
      ['occlusion', { window: 8, stride: 8, internalBatch: 4 }],
    ];
    for (const [name, params] of cases) {
      const a = await pooled.explain(name, pixels, [0, 1], params);
      const b = await single.explain(name, pixels, [0, 1], params);
      for (let i = 0; i < 2; i++) {
        const d = maxRelDiff(a.maps[i], b.maps[i]);
        assert.ok(d < 1e-4, `${name} image ${i}: pooled and single-thread maps differ by ${d} of the scale`);
      }
    }
  } finally {
    console.warn = warn;
    pooled.dispose();
    single.dispose();
  }
  assert.deepEqual(warnings, [], 'the pass workers started');
  // The pool closes asynchronously after dispose; its graph tensors go with it.
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(tf.memory().numTensors, baseline, 'the run models release every tensor');
});

test('getOrCompute with onPartial: coarse maps first, and the stored map is the one-shot map exactly', async () => {
  const { getOrCompute } = await import('../../src/explain/store.js');
  const rm = await loadRunModel(f.store, runId, { replicas: 2 });
  try {
    const ids = listSplit(f.store, f.datasetId, 'train')
      .map((i) => i.id)
      .slice(0, 2);
    const inputs = await rm.inputs(ids.map((id) => f.store.images.get(id)!));
    for (const method of ['integrated_gradients', 'smoothgrad']) {
      const params =
        method === 'smoothgrad' ? { samples: 12, internalBatch: 4 } : { steps: 12, internalBatch: 4 };
      const partials: { imageId: number; map: Float32Array; note: string }[] = [];
      // f32: the stored map is bit-exact, so equality below is about the computation, not the encoding.
      const viaCache = await getOrCompute(f.store, rm, ids, method, params, 'target', {
        encoding: 'f32le',
        onPartial: (p) => partials.push({ imageId: p.imageId, map: p.map, note: p.note }),
      });
      assert.equal(viaCache.computed, ids.length);
      const oneShot = await rm.explain(
        method,
        inputs.map((x) => x.pixels),
        viaCache.items.map((i) => i.classIndex),
        { ...viaCache.params, batchSize: 8 },
      );
      assert.ok(partials.length >= ids.length, `${method}: a coarse map per image (${partials.length})`);
      for (let k = 0; k < ids.length; k++) {
        assert.deepEqual(
          viaCache.items[k].map,
          oneShot.maps[k],
          `${method}: stored map = one-shot map, image ${k}`,
        );
        const coarse = partials.find((p) => p.imageId === ids[k]);
        assert.ok(coarse, `${method}: a coarse map of image ${ids[k]}`);
        assert.equal(coarse.map.length, 32 * 32);
        assert.ok(
          maxRelDiff(coarse.map, oneShot.maps[k]) > 0,
          `${method}: the coarse map is an earlier estimate`,
        );
        assert.match(coarse.note, new RegExp(method));
      }
    }
  } finally {
    rm.dispose();
  }
});
