import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { initEngine } from '../../src/engine/select.js';
import { tf } from '../../src/engine/tf.js';
import { type ExplainProgress, getMethod, listMethods, methodNames } from '../../src/explain/index.js';
import { buildClassifier, buildExpClass, buildXcnn } from '../../src/models/index.js';
import type { XwbModel } from '../../src/models/types.js';
import { assertClose, images, noLeak } from './helpers.js';

/** Cheap settings so every method runs in well under a second on 16 px models. */
const CHEAP: Record<string, Record<string, number>> = {
  smoothgrad: { samples: 2 },
  squaregrad: { samples: 2 },
  vargrad: { samples: 3, internalBatch: 2 },
  integrated_gradients: { steps: 3, internalBatch: 2 },
  occlusion: { window: 8, stride: 8, internalBatch: 2 },
  rise: { masks: 6, cell: 4, internalBatch: 4 },
};

const models: [string, XwbModel][] = [];

before(async () => {
  // wasm (with xwb's kernels) runs the conv gradients of 27 method × model runs several times faster than cpu.
  await initEngine({ prefer: 'wasm', logger: () => {} });
  models.push(
    ['classifier', buildClassifier({ inputSize: 16, classes: 3, base: 2, seed: 1 })],
    ['expclass', buildExpClass({ inputSize: 16, classes: 2, base: 2, seed: 2, explainerBias: 0.5 })],
    ['xcnn', buildXcnn({ inputSize: 16, classes: 2, base: 2, seed: 3, generatorFilters: 4 })],
  );
});

after(() => {
  for (const [, m] of models) m.dispose();
});

test('every method: one finite map per image at the input size, for any class, without leaking tensors', async () => {
  const x = images(3, 16, 3, 41);
  for (const [kind, model] of models) {
    for (const method of listMethods()) {
      if (method.name === 'explainer' && kind === 'classifier') continue;
      const label = `${method.name} on ${kind}`;
      for (const target of [model.classes - 1, [0, 1, 0]]) {
        const progress: ExplainProgress[] = [];
        const res = await noLeak(label, () =>
          method.explain(
            model,
            x,
            target,
            { batchSize: 2, ...CHEAP[method.name] },
            { onProgress: (p) => progress.push(p) },
          ),
        );
        assert.deepEqual(res.shape, [3, 16, 16], label);
        assert.equal(res.maps.length, 3 * 16 * 16, label);
        assert.ok(res.maps.every(Number.isFinite), `${label}: finite`);
        assert.ok(progress.length > 0, `${label}: progress reported`);
        const last = progress[progress.length - 1];
        assert.equal(last.done, last.total, `${label}: progress ends at its total`);
        assert.ok(
          progress.every((p, i) => i === 0 || p.done >= progress[i - 1].done),
          `${label}: monotone`,
        );
        assert.equal(res.params.batchSize, 2);
      }
    }
  }
  x.dispose();
});

test('class-specific methods give different maps for different classes', async () => {
  const [, model] = models[0];
  const x = images(1, 16, 3, 42);
  for (const name of ['gradient', 'gradcam', 'lrp', 'occlusion']) {
    const a = await getMethod(name).explain(model, x, 0, CHEAP[name]);
    const b = await getMethod(name).explain(model, x, 2, CHEAP[name]);
    assert.ok(
      a.maps.some((v, i) => Math.abs(v - b.maps[i]) > 1e-9),
      `${name}: class changes the map`,
    );
  }
  x.dispose();
});

test("the explainer method returns the model's own map", async () => {
  const x = images(2, 16, 3, 43);
  for (const [kind, model] of models.slice(1)) {
    const res = await getMethod('explainer').explain(model, x, 0);
    const want = tf.tidy(() => model.predict(x).explanation.dataSync());
    assertClose(res.maps, want, 1e-6, kind);
  }
  await assert.rejects(getMethod('explainer').explain(models[0][1], x, 0), /has no explainer of its own/);
  x.dispose();
});

test('controls: the input reduced over channels; seeded noise independent of the batch size', async () => {
  const [, model] = models[0];
  const x = images(3, 16, 3, 44);
  const input = await getMethod('input').explain(model, x, 0);
  assertClose(
    input.maps,
    tf.tidy(() => tf.mean(x, 3).dataSync()),
    1e-6,
    'mean over channels',
  );
  const r1 = await getMethod('random').explain(model, x, 0, { seed: 3, batchSize: 1 });
  const r3 = await getMethod('random').explain(model, x, 0, { seed: 3, batchSize: 3 });
  assert.deepEqual(r1.maps, r3.maps);
  const other = await getMethod('random').explain(model, x, 0, { seed: 4 });
  assert.notDeepEqual(other.maps, r1.maps);
  assert.ok(r1.maps.every((v) => v >= 0 && v < 1));
  x.dispose();
});

test('cancellation throws an AbortError and leaves no tensors, before or during the run', async () => {
  const [, model] = models[1];
  const x = images(4, 16, 3, 45);
  const pre = new AbortController();
  pre.abort();
  await assert.rejects(getMethod('gradient').explain(model, x, 0, {}, { signal: pre.signal }), {
    name: 'AbortError',
  });
  for (const name of methodNames()) {
    const ctl = new AbortController();
    await noLeak(name, () =>
      assert.rejects(
        getMethod(name).explain(
          model,
          x,
          1,
          { batchSize: 1, ...CHEAP[name] },
          {
            signal: ctl.signal,
            onProgress: () => ctl.abort(new Error('user pressed stop')),
          },
        ),
        { name: 'AbortError' },
        name,
      ),
    );
  }
  x.dispose();
});

test('bad inputs and parameters are errors that name the problem', async () => {
  const [, model] = models[0];
  const x = images(2, 16, 3, 46);
  const g = getMethod('gradient');
  await assert.rejects(g.explain(model, x, 3), /class index 3 is not an integer in \[0, 2\]/);
  await assert.rejects(g.explain(model, x, [0]), /1 class indices for 2 images/);
  await assert.rejects(g.explain(model, x, 0, { sigma: 1 }), /unknown parameter 'sigma'/);
  await assert.rejects(g.explain(model, x, 0, { mode: 'loud' }), /parameter mode must be one of abs, signed/);
  await assert.rejects(g.explain(model, x, 0, { batchSize: 0 }), /batchSize must be an integer ≥ 1/);
  await assert.rejects(getMethod('occlusion').explain(model, x, 0, { window: 17 }), /window/);
  await assert.rejects(
    getMethod('lrp').explain(model, x, 0, { composite: 'gamma' }),
    /composite must be one of/,
  );
  const wrong = images(1, 8, 3, 1);
  await assert.rejects(g.explain(model, wrong, 0), /expected images \[N, 16, 16, 3\]/);
  assert.throws(() => getMethod('shap'), /unknown explanation method 'shap'; known methods: explainer/);
  tf.dispose([x, wrong]);
});
