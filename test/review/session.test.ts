import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import {
  createReviewSession,
  itemView,
  MissingExplanationsError,
  nextItem,
  rate,
} from '../../src/review/session.js';
import { reviewFixture } from './helpers.js';

/** Every number in a parsed JSON value, as strings and as numbers (ids can hide in either). */
function allNumbers(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (typeof v === 'string') return (v.match(/\d+/g) ?? []).map(Number);
  if (Array.isArray(v)) return v.flatMap(allNumbers);
  if (v !== null && typeof v === 'object') return Object.values(v).flatMap(allNumbers);
  return [];
}

const full = { correctness: 4, completeness: 3, compactness: 5 } as const;

test('createReviewSession: every rater sees every explanation once, in a seeded order of their own', () => {
  const f = reviewFixture({ images: 6 });
  try {
    const make = (name: string, seed: number) =>
      createReviewSession(f.store, {
        name,
        runIds: f.runIds,
        methods: f.methods,
        imageIds: f.imageIds,
        raters: ['Ana', 'Ben', 'Cy'],
        seed,
      });
    const s = make('pilot', 7);
    assert.equal(s.explanations, 12);
    assert.equal(s.items, 36);
    assert.equal(s.session.blinded, true);
    const order = (sessionId: number, raterId: number) =>
      f.store.ratings.items(sessionId, raterId).map((i) => i.explanationId);
    const [ana, ben, cy] = s.raters.map((r) => order(s.session.id, r.id));
    for (const o of [ana, ben, cy])
      assert.deepEqual([...o].sort(), [...ana].sort(), 'same explanations for everyone');
    assert.equal(new Set(ana).size, 12);
    assert.notDeepEqual(ana, ben, 'orders differ between raters');
    assert.notDeepEqual(ben, cy);
    // Same seed → same orders; another seed → another order.
    const again = make('pilot again', 7);
    assert.deepEqual(order(again.session.id, again.raters[0].id), ana);
    const other = make('other seed', 8);
    assert.notDeepEqual(order(other.session.id, other.raters[0].id), ana);
    assert.equal(s.session.config.seed, 7);
  } finally {
    f.done();
  }
});

test('createReviewSession: sampling from a split is seeded; missing explanations are all reported', () => {
  const f = reviewFixture({ images: 8 });
  try {
    const base = { runIds: f.runIds, methods: f.methods, raters: ['Ana'], seed: 1 };
    const a = createReviewSession(f.store, { ...base, name: 'a', sample: { split: 'test', n: 3, seed: 5 } });
    const b = createReviewSession(f.store, { ...base, name: 'b', sample: { split: 'test', n: 3, seed: 5 } });
    assert.deepEqual(a.session.config.imageIds, b.session.config.imageIds);
    assert.equal((a.session.config.imageIds as number[]).length, 3);
    assert.throws(
      () => createReviewSession(f.store, { ...base, name: 'c', sample: { split: 'val', n: 1 } }),
      /val split of dataset \d+ has 0 images/,
    );
    const before = f.store.ratings.listSessions().length;
    assert.throws(
      () =>
        createReviewSession(f.store, {
          ...base,
          name: 'd',
          imageIds: f.imageIds,
          methods: ['gradcam', 'lrp', 'rise'],
        }),
      (e: unknown) =>
        e instanceof MissingExplanationsError &&
        e.missing.length === 16 &&
        /16 explanation\(s\) .* not in the store: run \d+ \/ image \d+ \/ lrp/.test(e.message) &&
        /Compute them first/.test(e.message),
    );
    assert.equal(f.store.ratings.listSessions().length, before, 'nothing was created');
  } finally {
    f.done();
  }
});

test('a blinded item view never contains the method, run id or explanation id; unblinded does', () => {
  const f = reviewFixture({ images: 2, methods: ['gradcam-distinctive', 'explainer-distinctive'] });
  try {
    // Push the run and explanation ids to values no other number in a view has (sizes, positions, zero pixels).
    for (let i = 0; i < 40; i++) {
      const filler = f.store.runs.create({
        datasetId: f.datasetId,
        model: 'filler',
        config: {},
        engine: 'cpu',
      });
      for (const m of ['a', 'b', 'c']) {
        const e = { runId: filler.id, imageId: f.imageIds[0], classIndex: 0, method: m, params: {} };
        f.store.explanations.put({ ...e, width: 1, height: 1, encoding: 'f32le', data: Buffer.alloc(4) });
      }
    }
    const run = f.store.runs.create({ datasetId: f.datasetId, model: 'expclass', config: {}, engine: 'cpu' });
    for (const imageId of f.imageIds) {
      for (const method of f.methods) {
        f.store.explanations.put({
          runId: run.id,
          imageId,
          classIndex: 1,
          method,
          params: { layer: 'conv5' },
          width: 2,
          height: 2,
          encoding: 'f32le',
          data: Buffer.alloc(16),
        });
      }
    }
    const s = createReviewSession(f.store, {
      name: 'blind',
      runIds: [run.id],
      methods: f.methods,
      imageIds: f.imageIds,
      raters: ['Ana'],
      seed: 3,
    });
    for (const item of f.store.ratings.items(s.session.id)) {
      const view = itemView(f.store, item.id);
      const json = JSON.stringify(view);
      for (const m of f.methods) assert.ok(!json.includes(m), `method name in ${json.slice(0, 200)}`);
      assert.ok(!json.includes('conv5'), 'parameters leak the method');
      assert.ok(
        !/"(runId|run|method|params|explanationId|unblinded)"/.test(json),
        'no key names the run or method',
      );
      const numbers = allNumbers(JSON.parse(json));
      assert.ok(run.id > 40 && !numbers.includes(run.id), 'the run id is nowhere in the view');
      assert.ok(item.explanationId > 120 && !numbers.includes(item.explanationId), 'nor the explanation id');
      assert.match(view.label, /^Explanation \d+$/);
      assert.equal(view.className, 'triangle');
      const open = itemView(f.store, item.id, { blinded: false });
      assert.equal(open.unblinded?.runId, run.id);
      assert.ok(f.methods.includes(open.unblinded!.method));
    }
  } finally {
    f.done();
  }
});

test('nextItem resumes at the first incompletely rated item; rate saves a should-highlight mask with the rating', async () => {
  const f = reviewFixture({ images: 3 });
  try {
    const s = createReviewSession(f.store, {
      name: 'resume',
      runIds: f.runIds,
      methods: f.methods,
      imageIds: f.imageIds,
      raters: ['Ana', 'Ben'],
      seed: 11,
    });
    const [ana, ben] = s.raters;
    const items = f.store.ratings.items(s.session.id, ana.id);
    let next = nextItem(f.store, s.session.id, ana.id);
    assert.deepEqual([next.item?.id, next.done, next.total], [items[0].id, 0, 6]);
    rate(f.store, items[0].id, full);
    rate(f.store, items[1].id, { correctness: 2 }); // incomplete: the rater comes back to it
    rate(f.store, items[2].id, full);
    next = nextItem(f.store, s.session.id, ana.id);
    assert.deepEqual([next.item?.id, next.done, next.total], [items[1].id, 2, 6]);
    assert.equal(nextItem(f.store, s.session.id, ben.id).done, 0, "Ben's progress is his own");
    assert.equal(itemView(f.store, items[1].id).rating?.correctness, 2, 'the view shows what was saved');

    const mask = new Uint8Array(8 * 6);
    mask.fill(1, 0, 16);
    const r = rate(f.store, items[1].id, {
      ...full,
      comment: 'looks at the border',
      shouldHighlight: { width: 8, height: 6, mask },
    });
    assert.equal(r.comment, 'looks at the border');
    const imageId = f.store.explanations.getMeta(items[1].explanationId)!.imageId;
    const stored = f.store.masks.get(imageId, 'should-highlight', { kind: 'annotator', annotatorId: ana.id });
    assert.ok(stored && 'png' in stored.content);
    const px = await sharp(stored.content.png).extractChannel(0).raw().toBuffer();
    assert.deepEqual([...px], [...mask], 'the PNG holds the painted pixels');
    assert.throws(
      () =>
        rate(f.store, items[4].id, {
          ...full,
          shouldHighlight: { width: 4, height: 4, mask: new Uint8Array(16) },
        }),
      /mask is 4×4, the image 8×6/,
    );
    for (const it of items.slice(3)) rate(f.store, it.id, full);
    next = nextItem(f.store, s.session.id, ana.id);
    assert.deepEqual([next.item, next.done], [null, 6]);
    assert.equal(f.store.ratings.history(r.id).length, 1, 'the incomplete values are kept as a revision');
  } finally {
    f.done();
  }
});

test('side-by-side sessions: pairs of the same image, sides randomised, labelled A and B', () => {
  const f = reviewFixture({ images: 10, methods: ['gradcam', 'explainer'] });
  try {
    const s = createReviewSession(f.store, {
      name: 'pairs',
      runIds: f.runIds,
      methods: f.methods,
      imageIds: f.imageIds,
      raters: ['Ana'],
      pairwise: true,
      seed: 2,
    });
    const items = f.store.ratings.items(s.session.id);
    assert.equal(items.length, 20);
    let gradcamLeft = 0;
    for (let k = 0; k < 10; k++) {
      const [l, r] = [items[2 * k], items[2 * k + 1]];
      assert.deepEqual([l.side, r.side], ['left', 'right']);
      const [el, er] = [
        f.store.explanations.getMeta(l.explanationId)!,
        f.store.explanations.getMeta(r.explanationId)!,
      ];
      assert.equal(el.imageId, er.imageId, 'a pair shows one image');
      assert.notEqual(el.method, er.method);
      if (el.method === 'gradcam') gradcamLeft++;
      const view = itemView(f.store, l.id);
      assert.equal(view.label, 'Explanation A');
      assert.equal(view.partnerItemId, r.id);
      assert.equal(itemView(f.store, r.id).label, 'Explanation B');
    }
    assert.ok(gradcamLeft > 0 && gradcamLeft < 10, `sides are randomised (gradcam left ${gradcamLeft}/10)`);
    const next = nextItem(f.store, s.session.id, s.raters[0].id);
    assert.equal(next.partner?.id, items[1].id);
  } finally {
    f.done();
  }
});
