/**
 * The review handlers over the contract: create (computing missing explanations) → next → rate → next resumes;
 * blinded answers carry no method name; should-highlight masks are stored with the rating; the summary.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ApiError, type Responses, type ReviewNextView, validateRequest } from '../../src/api/contract.js';
import { registerReviewHandlers } from '../../src/api/review-handlers.js';
import { XwbService } from '../../src/api/service.js';
import { tf } from '../../src/engine/tf.js';
import { encodeGreyPng } from '../../src/review/png.js';
import { type EvalFixture, evalFixture, wasmEngine } from '../evaluate/fixture.js';

const METHODS = ['explainer', 'gradient'];
let f: EvalFixture;
let runId: number;
let service: XwbService;
let baseline: number;
const events: unknown[] = [];

function makeService(): XwbService {
  const s = new XwbService({
    store: f.store,
    transport: 'web',
    version: 'test',
    urls: { image: (id) => `/files/image/${id}`, explanation: (id) => `/files/explanation/${id}` },
  });
  registerReviewHandlers(s);
  return s;
}

before(async () => {
  await wasmEngine();
  f = await evalFixture(12);
  runId = await f.makeRun();
  baseline = tf.memory().numTensors;
  service = makeService();
  service.events.on('event', (e) => events.push(e));
});

after(() => {
  assert.equal(tf.memory().numTensors, baseline, 'the models loaded to explain are disposed');
  f.done();
});

/** As the transports do: validate at the boundary, then call. */
async function call<M extends keyof Responses>(
  method: M,
  body: unknown,
  svc = service,
): Promise<Responses[M]> {
  const m = method as Parameters<typeof validateRequest>[0];
  return (await svc.call(m, validateRequest(m, body))) as Responses[M];
}

async function rejects(fn: () => Promise<unknown>, status: number, field: string | undefined, re: RegExp) {
  await assert.rejects(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError, `expected an ApiError, got ${String(e)}`);
    assert.equal(e.status, status, e.message);
    if (field !== undefined) assert.equal(e.field, field, e.message);
    assert.match(e.message, re);
    return true;
  });
}

const fullRating = (itemId: number, v: number) => ({
  itemId,
  correctness: v,
  completeness: v,
  compactness: v,
  comment: null,
  wrongFlag: false,
});

let blindedId = 0;

/** A score that depends only on the explanation (its URL is by id), so raters who use it agree perfectly. */
const scoreFor = (item: { explanation: { url: string } }) =>
  1 + ((Number(/(\d+)$/.exec(item.explanation.url)?.[1]) * 7) % 5);

test('review.create computes the missing explanations, then creates the session', async () => {
  events.length = 0;
  const created = await call('review.create', {
    name: 'blinded study',
    runIds: [runId],
    methods: METHODS,
    sample: { split: 'val', n: 2, seed: 3 },
    raters: ['Ann', 'Bob'],
  });
  blindedId = created.session.id;
  assert.equal(created.computed, 4, '2 images × 2 methods, none cached');
  assert.equal(created.explanations, 4);
  assert.equal(created.items, 8, '4 explanations for each of 2 raters');
  assert.equal(created.session.blinded, true);
  assert.deepEqual(
    created.session.raters.map((r) => [r.rater, r.done, r.total]),
    [
      ['Ann', 0, 4],
      ['Bob', 0, 4],
    ],
  );
  const progress = events.filter((e) => (e as { type: string }).type === 'review.progress') as {
    done: number;
    total: number;
    stage: string;
  }[];
  assert.ok(progress.length >= 2, 'progress is reported');
  assert.deepEqual(progress.at(-1), {
    type: 'review.progress',
    name: 'blinded study',
    done: 4,
    total: 4,
    stage: 'creating',
  });
  // The picker's list does not name methods either.
  const sessions = await call('review.sessions', {});
  assert.equal(sessions.length, 1);
  for (const m of METHODS) assert.ok(!JSON.stringify(sessions).includes(m));

  // A second session over the same maps computes nothing.
  const again = await call('review.create', {
    name: 'unblinded',
    runIds: [runId],
    methods: METHODS,
    sample: { split: 'val', n: 2, seed: 3 },
    raters: ['Ann'],
    blinded: false,
  });
  assert.equal(again.computed, 0);
});

test('review.create refuses unknown methods, runs and impossible samples, naming the field', async () => {
  const base = {
    name: 'x',
    runIds: [runId],
    methods: ['gradient'],
    sample: { split: 'val', n: 1 },
    raters: ['A'],
  };
  await rejects(() => call('review.create', { ...base, methods: ['nope'] }), 400, 'methods', /unknown.*nope/);
  await rejects(() => call('review.create', { ...base, runIds: [999] }), 404, 'runIds', /no run 999/);
  await rejects(
    () => call('review.create', { ...base, sample: { split: 'val', n: 999 } }),
    400,
    undefined,
    /fewer than the 999/,
  );
  await rejects(() => call('review.create', { ...base, raters: [] }), 400, 'raters', /raters/);
});

test('next → rate → next: blinded JSON has no method name, resumes after a restart', async () => {
  const first = await call('review.next', { sessionId: blindedId, rater: 'Ann' });
  assert.equal(first.blinded, true);
  assert.deepEqual([first.done, first.total], [0, 4]);
  assert.ok(first.item);
  assert.equal(first.item.position, 0);
  assert.equal(first.item.label, 'Explanation 1');
  assert.match(first.item.image.url, /^\/files\/image\/\d+$/);
  assert.match(first.item.explanation.url, /^\/files\/explanation\/\d+$/);
  assert.equal(first.item.unblinded, undefined);
  const json = JSON.stringify(first);
  for (const m of METHODS) assert.ok(!json.toLowerCase().includes(m), `"${m}" in ${json}`);
  assert.ok(!/runId|method|params/i.test(json), json);

  const v = scoreFor(first.item);
  const rated = await call('review.rate', { ...fullRating(first.item.itemId, v), comment: 'ok' });
  assert.deepEqual([rated.correctness, rated.comment, rated.done, rated.total], [v, 'ok', 1, 4]);

  const second = await call('review.next', { sessionId: blindedId, rater: 'Ann' });
  assert.equal(second.item?.position, 1);
  assert.equal(second.done, 1);

  // A partial rating does not count as done: the rater comes back to it.
  await call('review.rate', { ...fullRating(second.item!.itemId, 2), compactness: null });
  const stillSecond = await call('review.next', { sessionId: blindedId, rater: 'Ann' });
  assert.equal(stillSecond.item?.itemId, second.item?.itemId);
  assert.equal(stillSecond.item?.rating?.completeness, 2, 'the saved values come back');

  // skip: items the renderer is still saving are passed over.
  const skipped = await call('review.next', {
    sessionId: blindedId,
    rater: 'Ann',
    skip: [second.item!.itemId],
  });
  assert.equal(skipped.item?.position, 2);

  // A new service on the same store (a restarted server) resumes at the same item.
  const restarted = await call('review.next', { sessionId: blindedId, rater: 'ann' }, makeService());
  assert.equal(restarted.item?.itemId, second.item?.itemId);
  assert.equal(restarted.rater.name, 'Ann', 'names are case-insensitive');

  await rejects(() => call('review.next', { sessionId: blindedId, rater: 'Zed' }), 404, 'rater', /Ann, Bob/);
  await rejects(() => call('review.next', { sessionId: 999, rater: 'Ann' }), 404, 'sessionId', /999/);
  await rejects(() => call('review.rate', fullRating(second.item!.itemId, 6)), 400, 'correctness', /5/);
});

test('review.rate stores the should-highlight mask with the rating, at the image size only', async () => {
  const next = await call('review.next', { sessionId: blindedId, rater: 'Bob' });
  const item = next.item!;
  const { width, height } = item.image;
  const mask = new Uint8Array(width * height);
  for (let y = 4; y < 10; y++) for (let x = 5; x < 12; x++) mask[y * width + x] = 255;
  const png = encodeGreyPng(mask, width, height).toString('base64');
  const v = scoreFor(item);
  const r = await call('review.rate', {
    ...fullRating(item.itemId, v),
    wrongFlag: true,
    shouldHighlight: png,
  });
  assert.equal(r.maskPixels, 6 * 7);
  assert.equal(r.wrongFlag, true);
  const imageId = Number(/(\d+)$/.exec(item.image.url)![1]);
  const bob = f.store.ratings.raterByName('Bob')!;
  const stored = f.store.masks.list(imageId).filter((m) => m.kind === 'should-highlight');
  assert.equal(stored.length, 1);
  assert.deepEqual(stored[0].source, { kind: 'annotator', annotatorId: bob.id });

  const small = encodeGreyPng(new Uint8Array(4), 2, 2).toString('base64');
  const before = f.store.ratings.list({ raterId: bob.id }).length;
  await rejects(
    () => call('review.rate', { ...fullRating(item.itemId, 1), shouldHighlight: small }),
    400,
    'shouldHighlight',
    /2×2.*paint it at the image size/,
  );
  // The size is read from the PNG header, before decoding: a compression bomb is refused without inflating it.
  const bomb = encodeGreyPng(new Uint8Array(3000 * 3000), 3000, 3000).toString('base64');
  await rejects(
    () => call('review.rate', { ...fullRating(item.itemId, 1), shouldHighlight: bomb }),
    400,
    'shouldHighlight',
    new RegExp(`the PNG is 3000×3000 but the image of review item ${item.itemId} is ${width}×${height}`),
  );
  await rejects(
    () => call('review.rate', { ...fullRating(item.itemId, 1), shouldHighlight: 'not a png!' }),
    400,
    'shouldHighlight',
    /base64/,
  );
  // A refused mask leaves the rating as it was (one transaction).
  const after = f.store.ratings.list({ raterId: bob.id });
  assert.equal(after.length, before);
  assert.equal(after.find((x) => x.reviewItemId === item.itemId)?.correctness, v);
});

test('an unblinded session names the method; the summary names methods and agreement', async () => {
  const sessions = await call('review.sessions', {});
  const open = sessions.find((s) => !s.blinded)!;
  const n = await call('review.next', { sessionId: open.id, rater: 'Ann' });
  assert.ok(n.item?.unblinded && METHODS.includes(n.item.unblinded.method));
  assert.equal(n.item.unblinded.runId, runId);

  // Both raters finish the blinded session with scores that agree on the ordering.
  for (const rater of ['Ann', 'Bob']) {
    for (;;) {
      const next: ReviewNextView = await call('review.next', { sessionId: blindedId, rater });
      if (!next.item) {
        assert.equal(next.done, next.total);
        break;
      }
      await call('review.rate', fullRating(next.item.itemId, scoreFor(next.item)));
    }
  }
  const s = await call('review.summary', { sessionId: blindedId });
  assert.equal(s.ratings, 8);
  assert.deepEqual(s.raters, ['Ann', 'Bob']);
  assert.equal(s.explanations, 4);
  assert.deepEqual(s.methods.map((m) => m.method).sort(), [...METHODS].sort());
  for (const m of s.methods) {
    assert.equal(m.explanations, 2);
    assert.equal(m.scores.mean.n, 2);
    assert.ok(m.scores.mean.mean !== null && m.scores.mean.mean >= 1 && m.scores.mean.mean <= 5);
  }
  // The two raters gave each explanation the same score (scoreFor): perfect agreement.
  assert.equal(s.agreement.correctness.pairableUnits, 4);
  assert.equal(s.agreement.correctness.alphaOrdinal, 1);
  assert.equal(s.agreement.correctness.fleissUnits, 4);
  assert.ok(JSON.stringify(s).length > 0 && !JSON.stringify(s).includes('NaN'));
  await rejects(() => call('review.summary', { sessionId: 999 }), 404, 'sessionId', /999/);
});
