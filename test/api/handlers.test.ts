import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type ApiError, validateRequest } from '../../src/api/contract.js';
import { type CoreHandlers, registerCoreHandlers } from '../../src/api/handlers.js';
import { XwbService } from '../../src/api/service.js';
import { tf } from '../../src/engine/tf.js';
import { explanationAtImage } from '../../src/explain/store.js';
import { startWebServer } from '../../src/server/http.js';
import { listSplit } from '../../src/training/data/load.js';
import { type EvalFixture, evalFixture, wasmEngine } from '../evaluate/fixture.js';

let f: EvalFixture;
let runs: number[];
let service: XwbService;
let core: CoreHandlers;
let baseline: number;

before(async () => {
  await wasmEngine();
  f = await evalFixture(12);
  runs = [await f.makeRun(), await f.makeRun({ resize: 'stretch', seed: 6 }), await f.makeRun({ seed: 7 })];
  baseline = tf.memory().numTensors;
  service = new XwbService({
    store: f.store,
    transport: 'web',
    version: 'test',
    urls: { image: (id) => `/files/image/${id}`, explanation: (id) => `/files/explanation/${id}` },
  });
  core = await registerCoreHandlers(service);
});

after(async () => {
  await core.dispose();
  assert.equal(tf.memory().numTensors, baseline, 'every cached model is disposed');
  f.done();
});

/** As the transports do: validate at the boundary, then call. */
async function call(method: string, body: unknown): Promise<unknown> {
  const m = method as Parameters<typeof validateRequest>[0];
  return service.call(m, validateRequest(m, body));
}

const valImage = () => listSplit(f.store, f.datasetId, 'val')[0];

test('app.info reports the engine; explain.methods lists the registry', async () => {
  const info = (await call('app.info', {})) as {
    engine: { name: string; backend: string } | null;
    version: string;
  };
  assert.equal(info.version, 'test');
  assert.deepEqual([info.engine?.name, info.engine?.backend], ['wasm', 'wasm']);
  const methods = (await call('explain.methods', {})) as { name: string; family: string }[];
  assert.ok(methods.some((m) => m.name === 'gradcam' && m.family === 'class-activation'));
  assert.equal(methods.length, 22);
});

test('predict: probabilities and class; bad requests are refused with the field', async () => {
  const image = valImage();
  const p = (await call('predict', { runId: runs[0], imageId: image.id })) as {
    probs: number[];
    classIndex: number;
    className: string;
    classes: string[];
  };
  assert.equal(p.probs.length, 2);
  assert.deepEqual(p.classes, f.classes, 'every class is named, in output order');
  assert.ok(Math.abs(p.probs[0] + p.probs[1] - 1) < 1e-5);
  assert.equal(p.className, f.classes[p.classIndex]);
  assert.ok(p.probs[p.classIndex] >= p.probs[1 - p.classIndex]);
  await assert.rejects(
    call('predict', { runId: 'x', imageId: image.id }),
    (e: ApiError) => e.status === 400 && e.field === 'runId',
  );
  await assert.rejects(call('predict', { runId: 999, imageId: image.id }), (e: ApiError) => e.status === 404);
  await assert.rejects(call('predict', { runId: runs[0], imageId: 999 }), (e: ApiError) => e.status === 404);
});

test('explain: computes once, then from the cache; image-resolution view; unknown names are 400s', async () => {
  const image = valImage();
  const req = { runId: runs[0], imageId: image.id, method: 'gradient' };
  const first = (await call('explain', req)) as {
    cached: boolean;
    width: number;
    height: number;
    url: string;
    min: number;
    max: number;
    classIndex: number;
  };
  assert.equal(first.cached, false);
  assert.deepEqual([first.width, first.height], [48, 32], 'the map is served at the image size');
  assert.match(first.url, /^\/files\/explanation\/\d+$/);
  assert.ok(first.min <= first.max);
  const second = (await call('explain', req)) as typeof first;
  assert.equal(second.cached, true);
  assert.equal(second.url, first.url);
  const other = (await call('explain', {
    ...req,
    classIndex: 1 - first.classIndex,
    params: { mode: 'signed' },
  })) as typeof first;
  assert.notEqual(other.url, first.url);
  await assert.rejects(
    call('explain', { ...req, method: 'nope' }),
    (e: ApiError) => e.status === 400 && e.field === 'method',
  );
  await assert.rejects(
    call('explain', { ...req, params: { steps: 4 } }),
    (e: ApiError) => e.status === 400 && /steps/.test(e.message),
  );
  await assert.rejects(call('explain', { ...req, classIndex: 5 }), (e: ApiError) => e.status === 400);
  await assert.rejects(call('explain', { ...req, extra: 1 }), (e: ApiError) => e.status === 400);
});

test('explain: an LRP view carries its conservation; other methods have none', async () => {
  const image = valImage();
  const lrp = (await call('explain', { runId: runs[0], imageId: image.id, method: 'deep_taylor' })) as {
    conservation?: number | null;
    metrics?: Record<string, number | null>;
  };
  assert.equal(typeof lrp.conservation, 'number');
  assert.ok(Number.isFinite(lrp.conservation as number));
  assert.ok(!lrp.metrics || !('conservation' in lrp.metrics), 'not repeated among the metrics');
  const again = (await call('explain', { runId: runs[0], imageId: image.id, method: 'deep_taylor' })) as {
    conservation?: number | null;
  };
  assert.equal(again.conservation, lrp.conservation, 'the cached map keeps it');
  const grad = (await call('explain', { runId: runs[0], imageId: image.id, method: 'gradient' })) as object;
  assert.ok(!('conservation' in grad));
});

test('models are cached per run, two at most, evicted ones disposed', async () => {
  const image = valImage();
  for (const runId of runs) await call('predict', { runId, imageId: image.id });
  assert.deepEqual(core.loadedRuns(), [runs[1], runs[2]]);
  await call('predict', { runId: runs[1], imageId: image.id });
  assert.deepEqual(core.loadedRuns(), [runs[2], runs[1]], 'most recently used last');
});

test('metrics.table: method × metric rows from the stored values', async () => {
  const image = valImage();
  const view = (await call('explain', { runId: runs[0], imageId: image.id, method: 'gradient' })) as {
    url: string;
  };
  const id = Number(view.url.split('/').pop());
  f.store.explanations.putMetrics(id, [
    { metric: 'sparseness', params: { abs: true }, value: 0.25 },
    { metric: 'pointing-game', params: { tolerance: 0, weighted: false, abs: false }, value: Number.NaN },
  ]);
  const table = (await call('metrics.table', { runId: runs[0] })) as {
    rows: {
      method: string;
      metric: string;
      mean: number | null;
      n: number;
      nanCount: number;
      higherIsBetter: boolean;
    }[];
  };
  const sp = table.rows.find((r) => r.metric === 'sparseness')!;
  assert.deepEqual(
    [sp.method, sp.mean, sp.n, sp.nanCount, sp.higherIsBetter],
    ['gradient', 0.25, 1, 0, true],
  );
  const pg = table.rows.find((r) => r.metric === 'pointing-game')!;
  assert.deepEqual([pg.mean, pg.n, pg.nanCount], [null, 0, 1]);
  const again = (await call('explain', { runId: runs[0], imageId: image.id, method: 'gradient' })) as {
    metrics?: Record<string, number | null>;
  };
  assert.deepEqual(again.metrics, { 'pointing-game': null, sparseness: 0.25 });
  await assert.rejects(call('metrics.table', { runId: 999 }), (e: ApiError) => e.status === 404);
});

test('GET /files/explanation/<id> returns width × height float32 at the image size', async () => {
  const web = await startWebServer({ service, port: 0, staticDir: f.dir, token: 'test-token' });
  try {
    for (const runId of [runs[0], runs[1]]) {
      const view = (await call('explain', { runId, imageId: valImage().id, method: 'gradcam' })) as {
        url: string;
        width: number;
        height: number;
      };
      const res = await fetch(new URL(view.url, web.url), {
        headers: { authorization: 'Bearer test-token' },
      });
      assert.equal(res.status, 200);
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.equal(bytes.length, view.width * view.height * 4);
      const got = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
      const expected = explanationAtImage(
        f.store,
        f.store.explanations.getById(Number(view.url.split('/').pop()))!,
      );
      assert.deepEqual(got, expected.data);
    }
    const denied = await fetch(new URL('/files/explanation/1', web.url));
    assert.equal(denied.status, 401);
    const missing = await fetch(new URL('/files/explanation/9999', web.url), {
      headers: { authorization: 'Bearer test-token' },
    });
    assert.equal(missing.status, 404);
  } finally {
    await web.close();
  }
});
