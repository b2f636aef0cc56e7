/**
 * The gallery's filters and sorts (src/store/gallery.ts) on a real SQLite file: a 10-image dataset, two runs with
 * hand-chosen predictions, and ratings whose means are worked out here by hand.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { GalleryQuery, Store } from '../../src/store/index.js';
import { postgresUnavailable } from './engines.js';
import { seedDataset, tempStore } from './helpers.js';

// The same cases on both engines: the gallery's SQL is the one most likely to differ between them.
for (const engine of ['sqlite', 'postgres'] as const) {
  const reason = engine === 'postgres' ? postgresUnavailable() : undefined;
  describe(`gallery [${engine}]`, reason === undefined ? {} : { skip: reason }, () => {
    let t: ReturnType<typeof tempStore>;
    let store: Store;
    let datasetId: number;
    let ids: number[];
    let runA: number;
    let runB: number;

    // Image k (img0 … img9; labels cat, dog, cat, …; classes [cat, dog]): run A predicts class PRED[k] with
    // probability PROB[k]. img9 has no label.
    const PRED = [0, 0, 1, 1, 0, 1, 0, 0, 1, 1];
    const PROB = [0.9, 0.6, 0.55, 0.99, 0.7, 0.8, 0.51, 0.95, 0.65, 0.75];

    before(() => {
      t = tempStore(engine);
      store = t.store;
      ({ datasetId, imageIds: ids } = seedDataset(store, 10));
      // img9 unlabelled: correctness unknown.
      const im9 = store.images.get(ids[9])!;
      store.images.upsert({ ...im9, label: null });
      store.splits.set(ids.slice(0, 6).map((imageId) => ({ imageId, split: 'train' as const })));
      store.splits.set(ids.slice(6).map((imageId) => ({ imageId, split: 'val' as const })));
      runA = store.runs.create({ datasetId, model: 'expclass', config: {}, engine: 'wasm' }).id;
      runB = store.runs.create({ datasetId, model: 'expclass', config: {}, engine: 'wasm' }).id;
      // Run A predicts every image but img8; run B only img0 (wrong, so filters must not mix the runs).
      store.predictions.putMany(
        ids
          .map((imageId, k) => {
            const label = k === 9 ? -1 : k % 2;
            const p = PROB[k];
            return {
              runId: runA,
              imageId,
              classIndex: PRED[k],
              probability: p,
              trueProbability: label < 0 ? null : label === PRED[k] ? p : 1 - p,
              correct: label < 0 ? null : label === PRED[k],
              checkpoint: '/runs/a/final',
            };
          })
          .filter((_, k) => k !== 8),
      );
      store.predictions.putMany([
        {
          runId: runB,
          imageId: ids[0],
          classIndex: 1,
          probability: 0.8,
          trueProbability: 0.2,
          correct: false,
          checkpoint: '/runs/b/final',
        },
      ]);
      // Ratings on run A's explanations: img1 by two raters (means 2 and 4 → 3), img3 (1, only one criterion),
      // img5 (5, flagged wrong), img7 (a flag and no score). Run B's explanation of img2 rated 5.
      const ann = store.ratings.ensureRater('ann');
      const bob = store.ratings.ensureRater('bob');
      const explain = (runId: number, k: number) =>
        store.explanations.put({
          runId,
          imageId: ids[k],
          classIndex: 0,
          method: 'gradcam',
          params: {},
          width: 1,
          height: 1,
          encoding: 'u8',
          data: Buffer.from([1]),
        }).id;
      const e1 = explain(runA, 1);
      store.ratings.put({
        raterId: ann.id,
        explanationId: e1,
        correctness: 1,
        completeness: 3,
        compactness: 2,
      });
      store.ratings.put({ raterId: bob.id, explanationId: e1, correctness: 4, completeness: 4 });
      store.ratings.put({ raterId: ann.id, explanationId: explain(runA, 3), correctness: 1 });
      store.ratings.put({
        raterId: ann.id,
        explanationId: explain(runA, 5),
        correctness: 5,
        completeness: 5,
        compactness: 5,
        wrongFlag: true,
      });
      store.ratings.put({ raterId: ann.id, explanationId: explain(runA, 7), wrongFlag: true });
      store.ratings.put({ raterId: ann.id, explanationId: explain(runB, 2), correctness: 5 });
    });

    after(() => t.done());

    const names = (q: Partial<GalleryQuery>) =>
      store.gallery.page({ datasetId, limit: 100, ...q }).rows.map((r) => r.image.relPath);
    const imgs = (...ks: number[]) => ks.map((k) => `img${k}.jpg`);

    test('no filter: every image by path, with the total', () => {
      const page = store.gallery.page({ datasetId, limit: 3, offset: 2 });
      assert.equal(page.total, 10);
      assert.deepEqual(
        page.rows.map((r) => r.image.relPath),
        imgs(2, 3, 4),
      );
      assert.equal(page.rows[0].prediction, null, 'no run given: no prediction');
    });

    test('correctness: right and wrong predictions of the chosen run only', () => {
      // Labels cat(0)/dog(1) alternate: k even → 0. Correct where PRED[k] === k % 2: 0, 3, 4, 5, 6.
      assert.deepEqual(names({ runId: runA, correct: true }), imgs(0, 3, 4, 5, 6));
      assert.deepEqual(names({ runId: runA, correct: false }), imgs(1, 2, 7));
      assert.deepEqual(names({ runId: runB, correct: false }), imgs(0));
      assert.deepEqual(names({ runId: runB, correct: true }), []);
      assert.equal(store.gallery.page({ datasetId, runId: runA, correct: false }).total, 3);
    });

    test('predicted class, combined with split and label', () => {
      assert.deepEqual(names({ runId: runA, predicted: 1 }), imgs(2, 3, 5, 9));
      assert.deepEqual(names({ runId: runA, predicted: 1, split: 'train' }), imgs(2, 3, 5));
      assert.deepEqual(names({ runId: runA, predicted: 0, label: 'dog' }), imgs(1, 7));
    });

    test('rating filters: rated, unrated, low, high, flagged; per run', () => {
      assert.deepEqual(names({ runId: runA, rating: 'rated' }), imgs(1, 3, 5, 7));
      assert.deepEqual(names({ runId: runA, rating: 'unrated' }), imgs(0, 2, 4, 6, 8, 9));
      assert.deepEqual(names({ runId: runA, rating: 'low' }), imgs(3));
      assert.deepEqual(names({ runId: runA, rating: 'high' }), imgs(5));
      assert.deepEqual(names({ runId: runA, rating: 'flagged' }), imgs(5, 7));
      assert.deepEqual(names({ runId: runB, rating: 'rated' }), imgs(2));
      // Without a run, every run's ratings count.
      assert.deepEqual(names({ rating: 'rated' }), imgs(1, 2, 3, 5, 7));
      const r1 = store.gallery.page({ datasetId, runId: runA, offset: 1, limit: 1 }).rows[0];
      // Ann's mean (1+3+2)/3 = 2, Bob's (4+4)/2 = 4: the image's mean 3, two ratings.
      assert.deepEqual(r1.rating, { mean: 3, count: 2, flagged: false });
      const r7 = store.gallery.page({ datasetId, runId: runA, offset: 7, limit: 1 }).rows[0];
      assert.deepEqual(r7.rating, { mean: null, count: 1, flagged: true });
    });

    test('sort by confidence: highest first, then the images without a prediction by path', () => {
      // By PROB descending over the predicted images (img8 has none).
      assert.deepEqual(names({ runId: runA, sort: 'confidence' }), imgs(3, 7, 0, 5, 9, 4, 1, 2, 6, 8));
      const row = store.gallery.page({ datasetId, runId: runA, sort: 'confidence', limit: 1 }).rows[0];
      assert.deepEqual(
        [row.prediction?.classIndex, row.prediction?.probability, row.prediction?.correct],
        [1, 0.99, true],
      );
    });

    test('most wrong first: the labelled class least likely first; unknown correctness last', () => {
      // trueProbability: 0 .9, 1 .4, 2 .45, 3 .99, 4 .7, 5 .8, 6 .51, 7 .05; img8 no prediction, img9 no label.
      assert.deepEqual(names({ runId: runA, sort: 'wrong' }), imgs(7, 1, 2, 6, 4, 5, 0, 3, 8, 9));
      assert.deepEqual(names({ runId: runA, sort: 'wrong', correct: true }), imgs(6, 4, 5, 0, 3));
    });

    test('sort by rating: lowest mean first, unrated (or unscored) by path after', () => {
      assert.deepEqual(names({ runId: runA, sort: 'rating' }), imgs(3, 1, 5, 0, 2, 4, 6, 7, 8, 9));
    });

    test('pages agree with the whole list at every offset and size, across the two parts of a sort', () => {
      for (const sort of ['path', 'confidence', 'wrong', 'rating'] as const) {
        const whole = names({ runId: runA, sort });
        for (let limit = 1; limit <= 4; limit++) {
          for (let offset = 0; offset <= 11; offset++) {
            const page = store.gallery.page({ datasetId, runId: runA, sort, offset, limit });
            assert.equal(page.total, 10);
            assert.deepEqual(
              page.rows.map((r) => r.image.relPath),
              whole.slice(offset, offset + limit),
              `${sort} offset ${offset} limit ${limit}`,
            );
          }
        }
      }
    });

    test('bad queries are refused with what is wrong', () => {
      assert.throws(() => store.gallery.page({ datasetId, correct: true }), /the correct filter needs a run/);
      assert.throws(() => store.gallery.page({ datasetId, sort: 'wrong' }), /sorting by wrong needs a run/);
      assert.throws(
        () => store.gallery.page({ datasetId, sort: 'size' as never }),
        /sort must be one of path, confidence/,
      );
      assert.throws(() => store.gallery.page({ datasetId, runId: runA, predicted: -1 }), /class index/);
    });

    test('predictions: stored values, counts, current checkpoint, and refused bad rows', () => {
      assert.equal(store.predictions.count(runA), 9);
      assert.equal(store.predictions.count(runB), 1);
      assert.deepEqual(
        [...store.predictions.current(runA, '/runs/a/final', ids)].sort((a, b) => a - b),
        ids.filter((_, k) => k !== 8),
      );
      assert.equal(store.predictions.current(runA, '/runs/a/other', ids).size, 0);
      assert.throws(
        () =>
          store.predictions.putMany([
            {
              runId: runA,
              imageId: ids[8],
              classIndex: 0,
              probability: 1.5,
              trueProbability: null,
              correct: null,
              checkpoint: 'x',
            },
          ]),
        /probability in \[0, 1\], got 1.5/,
      );
      assert.throws(
        () =>
          store.predictions.putMany([
            {
              runId: runA,
              imageId: ids[8],
              classIndex: 0,
              probability: 0.5,
              trueProbability: 0.5,
              correct: null,
              checkpoint: 'x',
            },
          ]),
        /both be null/,
      );
      const other = seedDataset(store, 1, 'other');
      assert.throws(
        () =>
          store.predictions.putMany([
            {
              runId: runA,
              imageId: other.imageIds[0],
              classIndex: 0,
              probability: 0.5,
              trueProbability: null,
              correct: null,
              checkpoint: 'x',
            },
          ]),
        /the image is in dataset \d+, the run was trained on dataset \d+/,
      );
      assert.throws(
        () => store.gallery.page({ datasetId: other.datasetId, runId: runA }),
        /belongs to dataset/,
      );
      assert.equal(store.predictions.get(runA, ids[8]), undefined, 'a refused batch writes nothing');
    });
  });
}
