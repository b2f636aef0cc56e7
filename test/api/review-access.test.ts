/**
 * Issue 12 over the contract, on a real store with a real (untrained) run:
 * - a session over a run that holds maps of two classes per image (explained for one class, evaluated for the
 *   other) is created with the class asked for, and each item's map is of that class;
 * - a rater capability reaches only its own queue: analysis, another rater's queue and items, another session,
 *   the workbench, the events and files outside its queue answer 403, in-process and over HTTP;
 * - the analysis's evaluation runs in a worker, reports progress, and its values fill the correlation table.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Caller, mintRaterToken, verifyRaterToken } from '../../src/api/access.js';
import { ApiError, type Responses, validateRequest, type XwbEvent } from '../../src/api/contract.js';
import { registerReviewHandlers } from '../../src/api/review-handlers.js';
import { XwbService } from '../../src/api/service.js';
import { loadRunModel } from '../../src/explain/run-model.js';
import { getOrCompute } from '../../src/explain/store.js';
import { startWebServer, type WebServer } from '../../src/server/http.js';
import { type EvalFixture, evalFixture, wasmEngine } from '../evaluate/fixture.js';
import { raw } from '../server/http-client.js';

const METHODS = ['explainer', 'gradient'];
let f: EvalFixture;
let runId: number;
let service: XwbService;
const events: XwbEvent[] = [];

before(async () => {
  await wasmEngine();
  f = await evalFixture(12);
  runId = await f.makeRun();
  service = new XwbService({
    store: f.store,
    transport: 'web',
    version: 'test',
    urls: { image: (id) => `/files/image/${id}`, explanation: (id) => `/files/explanation/${id}` },
  });
  registerReviewHandlers(service, { evalMetrics: 'sparseness,pointing-game' });
  service.events.on('event', (e) => events.push(e));
});

after(async () => {
  await service.close();
  f.done();
});

async function call<M extends keyof Responses>(
  method: M,
  body: unknown,
  caller?: Caller,
): Promise<Responses[M]> {
  const m = method as Parameters<typeof validateRequest>[0];
  return (await service.call(m, validateRequest(m, body), caller)) as Responses[M];
}

async function forbidden(fn: () => Promise<unknown>, re: RegExp) {
  await assert.rejects(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError, `expected an ApiError, got ${String(e)}`);
    assert.equal(e.status, 403, e.message);
    assert.match(e.message, re);
    return true;
  });
}

const SAMPLE = { split: 'val' as const, n: 3, seed: 2 };
let sessionId = 0;
let otherSessionId = 0;

test('a run explained for one class and evaluated for another: the session rates the class asked for', async () => {
  const imageIds = f.store.splits.ids(f.datasetId, 'val');
  assert.ok(imageIds.length >= 3);
  // Both classes of every val image are in the store, as after `explain` (prediction) and `eval` (target).
  const model = await loadRunModel(f.store, runId);
  try {
    for (const m of METHODS) {
      for (const c of [0, 1]) await getOrCompute(f.store, model, imageIds, m, {}, c);
    }
  } finally {
    model.dispose();
  }
  const base = { runIds: [runId], methods: METHODS, sample: SAMPLE, raters: ['Ann', 'Bob'] };
  const classOfItems = (id: number) =>
    f.store.ratings.items(id).map((i) => {
      const e = f.store.explanations.getMeta(i.explanationId)!;
      return { imageId: e.imageId, classIndex: e.classIndex };
    });

  // The target class: each image's own label, so the classes differ between images of the two labels.
  const target = await call('review.create', { ...base, name: 'target', classChoice: 'target' });
  assert.equal(target.computed, 0, 'every map was in the store');
  assert.equal(target.items, 3 * 2 * 2);
  for (const { imageId, classIndex } of classOfItems(target.session.id)) {
    const label = f.store.images.get(imageId)!.label;
    assert.equal(f.classes[classIndex], label, `image ${imageId}: rated class ${classIndex}, label ${label}`);
  }

  // A named class: every map is of it.
  const one = await call('review.create', { ...base, name: 'class 1', classChoice: 1 });
  assert.deepEqual([...new Set(classOfItems(one.session.id).map((x) => x.classIndex))], [1]);

  // The prediction (the default, and what failed before with "choose one with classIndex"): the model's argmax.
  const predicted = await call('review.create', { ...base, name: 'predicted' });
  const m2 = await loadRunModel(f.store, runId);
  try {
    for (const { imageId, classIndex } of classOfItems(predicted.session.id)) {
      const [input] = await m2.inputs([f.store.images.get(imageId)!]);
      const [p] = await m2.probabilities([input.pixels]);
      const best = p[0] >= p[1] ? 0 : 1;
      assert.equal(classIndex, best, `image ${imageId}: the predicted class`);
    }
  } finally {
    m2.dispose();
  }
  assert.equal(f.store.ratings.getSession(predicted.session.id)?.config.classChoice, 'predicted');
  sessionId = target.session.id;
  otherSessionId = one.session.id;
});

test('a rater capability reaches its own queue and nothing else (403)', async () => {
  const links = await call('review.raterLinks', { sessionId });
  assert.deepEqual(
    links.links.map((l) => l.rater),
    ['Ann', 'Bob'],
  );
  const ann = verifyRaterToken(service.capabilitySecret, links.links[0].token);
  assert.ok(ann && ann.role === 'rater');
  const token = links.links[0].token;
  const tampered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
  assert.equal(verifyRaterToken(service.capabilitySecret, tampered), null, 'one character changed');
  // Another rater's id under this rater's MAC.
  assert.equal(
    verifyRaterToken(service.capabilitySecret, token.replace(/^xr1\.(\d+)\.\d+\./, 'xr1.$1.9999.')),
    null,
  );
  // A token minted under another launch's secret is not one of ours.
  assert.equal(
    verifyRaterToken(service.capabilitySecret, mintRaterToken(Buffer.alloc(32, 7), sessionId, 1)),
    null,
  );

  // Own queue: next and rate work.
  const next = await call('review.next', { sessionId, rater: 'Ann' }, ann);
  assert.ok(next.item);
  const rated = await call(
    'review.rate',
    { itemId: next.item.itemId, correctness: 4, completeness: 3, compactness: 5 },
    ann,
  );
  assert.equal(rated.done, 1);
  const mine = await call('review.sessions', {}, ann);
  assert.deepEqual(
    mine.map((s) => [s.id, s.raters.map((r) => r.rater)]),
    [[sessionId, ['Ann']]],
    'the picker holds the own session and progress only',
  );
  const info = await call('app.info', {}, ann);
  assert.deepEqual([info.role, info.rater?.name, info.storePath], ['rater', 'Ann', '']);

  // The analysis and its evaluation, session management, the workbench: the owner's.
  await forbidden(() => call('review.summary', { sessionId }, ann), /analysis .* owner/);
  await forbidden(() => call('review.evaluate', { sessionId }, ann), /analysis/);
  await forbidden(() => call('review.raterLinks', { sessionId }, ann), /owner/);
  await forbidden(
    () =>
      call(
        'review.create',
        { name: 'x', runIds: [runId], methods: ['gradient'], sample: SAMPLE, raters: ['A'] },
        ann,
      ),
    /owner/,
  );
  await forbidden(() => call('datasets.list', {}, ann), /workbench/);
  await forbidden(() => call('explain.methods', {}, ann), /workbench/);
  // Another rater's queue and ratings.
  await forbidden(() => call('review.next', { sessionId, rater: 'Bob' }, ann), /not your ratings/);
  const bobItem = f.store.ratings.items(sessionId, f.store.ratings.raterByName('Bob')!.id)[0];
  await forbidden(
    () => call('review.rate', { itemId: bobItem.id, correctness: 1, completeness: 1, compactness: 1 }, ann),
    /not in your queue/,
  );
  assert.equal(
    f.store.ratings.list({ sessionId, raterId: bobItem.raterId }).length,
    0,
    "Bob's queue untouched",
  );
  // A session Ann is a rater of too, but not through this link.
  await forbidden(() => call('review.next', { sessionId: otherSessionId, rater: 'Ann' }, ann), /not yours/);
  // A capability for a (session, rater) with no items: refused outright.
  const stray: Caller = { role: 'rater', sessionId, raterId: 9999 };
  await forbidden(() => call('review.sessions', {}, stray), /no items/);
});

test('over HTTP: the rater link signs in as the rater; analysis, events and foreign files are 403', async () => {
  const web: WebServer = await startWebServer({ service, staticDir: f.dir, token: 'owner-token-for-tests' });
  try {
    const port = Number(new URL(web.url).port);
    const links = await call('review.raterLinks', { sessionId });
    const bad = await raw(port, { path: '/?rater=xr1.1.1.nope' });
    assert.equal(bad.status, 403);
    const signIn = await raw(port, { path: `/?rater=${links.links[0].token}` });
    assert.equal(signIn.status, 303);
    const setCookie = ([] as string[]).concat(signIn.headers['set-cookie'] ?? []);
    const raterCookie = setCookie.find((c) => c.startsWith(`xwb_rater_${port}=xr1.`));
    assert.ok(raterCookie, JSON.stringify(setCookie));
    assert.ok(setCookie.some((c) => c.startsWith(`xwb_token_${port}=;`) && /Max-Age=0/.test(c)));
    const cookie = raterCookie.split(';')[0];
    const origin = `http://127.0.0.1:${port}`;
    const post = (method: string, body: unknown) =>
      raw(port, {
        method: 'POST',
        path: `/api/${method}`,
        headers: { cookie, origin, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const next = await post('review.next', { sessionId, rater: 'Ann' });
    assert.equal(next.status, 200, next.text);
    const item = next.json().item as { image: { url: string }; explanation: { url: string } };
    assert.equal((await raw(port, { path: item.image.url, headers: { cookie } })).status, 200);
    assert.equal((await raw(port, { path: item.explanation.url, headers: { cookie } })).status, 200);
    assert.equal((await post('review.summary', { sessionId })).status, 403);
    assert.equal((await post('review.next', { sessionId, rater: 'Bob' })).status, 403);
    assert.equal((await post('review.next', { sessionId: otherSessionId, rater: 'Ann' })).status, 403);
    assert.equal((await raw(port, { path: '/events', headers: { cookie } })).status, 403);
    const bob = f.store.ratings.raterByName('Bob')!.id;
    const foreign = f.store.ratings
      .items(otherSessionId, bob)
      .map((i) => i.explanationId)
      .find((e) => !f.store.ratings.items(sessionId).some((i) => i.explanationId === e))!;
    assert.equal(
      (await raw(port, { path: `/files/explanation/${foreign}`, headers: { cookie } })).status,
      403,
    );
    // The same link as a bearer token, for scripts.
    const bearer = await raw(port, {
      method: 'POST',
      path: '/api/review.summary',
      headers: { authorization: `Bearer ${links.links[0].token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sessionId }),
    });
    assert.equal(bearer.status, 403);
    // The owner still reaches the analysis.
    const owner = await raw(port, {
      method: 'POST',
      path: '/api/review.summary',
      headers: { authorization: 'Bearer owner-token-for-tests', 'content-type': 'application/json' },
      body: JSON.stringify({ sessionId }),
    });
    assert.equal(owner.status, 200, owner.text);
  } finally {
    await web.close();
  }
});

test('an evaluation cancelled at once ends cancelled, having stored nothing', {
  timeout: 120_000,
}, async () => {
  events.length = 0;
  const job = await call('review.evaluate', { sessionId });
  // The message waits in the worker's port until it listens, which it does before measuring anything.
  assert.deepEqual(await call('review.evaluateCancel', { jobId: job.jobId }), { cancelled: true });
  const deadline = Date.now() + 100_000;
  while (!events.some((e) => e.type === 'review.eval' && e.state !== 'running')) {
    assert.ok(Date.now() < deadline, 'the cancelled evaluation did not end');
    await new Promise((r) => setTimeout(r, 100));
  }
  const last = events.filter((e) => e.type === 'review.eval').at(-1)!;
  assert.equal(last.type === 'review.eval' && last.state, 'cancelled', JSON.stringify(last));
  const ids = new Set(f.store.ratings.items(sessionId).map((i) => i.explanationId));
  for (const id of ids) assert.deepEqual(f.store.explanations.metrics(id), []);
  await assert.rejects(() => call('review.evaluateCancel', { jobId: 999 }), /no evaluation job 999/);
});

test('the analysis starts the evaluation in a worker; its values fill the correlation', {
  timeout: 240_000,
}, async () => {
  // Ratings on several explanations with different scores, so a correlation has something to rest on.
  for (const [i, item] of f.store.ratings
    .items(sessionId, f.store.ratings.raterByName('Bob')!.id)
    .entries()) {
    const v = 1 + (i % 5);
    await call('review.rate', { itemId: item.id, correctness: v, completeness: v, compactness: v });
  }
  const before = await call('review.summary', { sessionId });
  assert.deepEqual(before.metrics, [], 'nothing measured yet');
  assert.equal(before.evaluation?.state, 'cancelled', 'the summary tells how the last job ended');
  events.length = 0;
  const job = await call('review.evaluate', { sessionId });
  assert.equal(job.state, 'running');
  assert.equal(job.total, 6, '3 images × 2 methods (one class each)');
  const again = await call('review.evaluate', { sessionId });
  assert.equal(again.jobId, job.jobId, 'a running job is not started twice');
  const deadline = Date.now() + 200_000;
  while (!events.some((e) => e.type === 'review.eval' && e.state !== 'running')) {
    assert.ok(Date.now() < deadline, 'the evaluation did not end');
    await new Promise((r) => setTimeout(r, 200));
  }
  const evals = events.filter((e) => e.type === 'review.eval');
  const last = evals.at(-1)!;
  assert.equal(last.type === 'review.eval' && last.state, 'done', JSON.stringify(last));
  assert.equal(last.type === 'review.eval' && last.values, 6 * 2, '6 explanations × 2 metrics');
  assert.ok(evals.length >= 2, 'progress before the end');

  const after = await call('review.summary', { sessionId });
  assert.deepEqual(
    after.metrics.map((m) => m.metric),
    ['pointing-game', 'sparseness'],
  );
  // The values landed on exactly the session's (target-class) maps: the correlation rests on every rated one.
  const rated = new Set(f.store.ratings.list({ sessionId }).map((r) => r.explanationId));
  // (n counts the rated maps where the metric is defined: the pointing game is NaN without a box of the class.)
  for (const m of after.metrics) {
    const defined = [...rated].filter((id) =>
      f.store.explanations.metrics(id).some((x) => x.metric === m.metric && Number.isFinite(x.value)),
    ).length;
    assert.equal(m.correlations.mean.n, defined, m.metric);
  }
  assert.equal(after.metrics.find((m) => m.metric === 'sparseness')?.correlations.mean.n, rated.size);
  for (const id of rated) {
    assert.deepEqual(
      f.store.explanations
        .metrics(id)
        .map((x) => x.metric)
        .sort(),
      ['pointing-game', 'sparseness'],
    );
  }
  assert.equal(after.evaluation?.state, 'done');
  // Cancelling a finished job changes nothing.
  assert.deepEqual(await call('review.evaluateCancel', { jobId: job.jobId }), { cancelled: false });
});
