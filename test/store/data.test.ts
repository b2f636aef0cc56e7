import assert from 'node:assert/strict';
import type { VocObject } from '../../src/data/types.js';
import { GROUND_TRUTH, type ImageInput, openStore } from '../../src/store/index.js';
import { engineTest, rawConnection, seedDataset, sha, tempStore } from './helpers.js';

engineTest(
  'datasets: create, get by name (case-insensitive) and id, unique names, rename, validation',
  (engine) => {
    const t = tempStore(engine);
    try {
      const d = t.store.datasets.create({
        name: 'VOC2012',
        kind: 'voc',
        sourcePath: '/data/voc',
        classes: ['person', 'dog'],
        targetClass: 'dog',
        meta: { year: 2012 },
      });
      assert.deepEqual(t.store.datasets.getById(d.id), d);
      assert.equal(t.store.datasets.getByName('voc2012')?.id, d.id);
      assert.deepEqual(d.classes, ['person', 'dog']);
      assert.equal(d.targetClass, 'dog');
      assert.deepEqual(d.meta, { year: 2012 });
      assert.throws(
        () => t.store.datasets.create({ name: 'voc2012', kind: 'voc', classes: [] }),
        (e: Error) => e.message.includes(`a dataset named "voc2012" already exists in ${t.store.path}`),
      );
      assert.throws(
        () => t.store.datasets.create({ name: 'x', kind: 'voc', classes: ['a'], targetClass: 'b' }),
        /target class "b"/,
      );
      assert.throws(
        () => t.store.datasets.create({ name: 'x', kind: 'voc', classes: ['a', 'a'] }),
        /listed twice/,
      );
      assert.throws(
        () => t.store.datasets.create({ name: 'x', kind: 'folder', classes: [], meta: { bad: Number.NaN } }),
        /meta\.bad: NaN cannot be stored/,
      );
      assert.equal(t.store.datasets.rename(d.id, 'voc-2012').name, 'voc-2012');
      assert.equal(t.store.datasets.getByName('VOC2012'), undefined);
      const u = t.store.datasets.update(d.id, { classes: ['person', 'dog', 'cat'], targetClass: null });
      assert.deepEqual(u.classes, ['person', 'dog', 'cat']);
      assert.equal(u.targetClass, null);
    } finally {
      t.done();
    }
  },
);

engineTest(
  'upsertImage: inserted, then unchanged on the same import, then updated when the file changes',
  (engine) => {
    const t = tempStore(engine);
    try {
      const d = t.store.datasets.create({ name: 'f', kind: 'folder', classes: ['cat', 'dog'] });
      const img: ImageInput = {
        datasetId: d.id,
        relPath: 'cats\\a.jpg',
        width: 10,
        height: 20,
        channels: 3,
        format: 'JPEG',
        sha256: sha(1).toUpperCase(),
        label: 'cat',
      };
      const first = t.store.images.upsert(img);
      assert.equal(first.status, 'inserted');
      const stored = t.store.images.get(first.id)!;
      assert.equal(stored.relPath, 'cats/a.jpg', 'backslashes normalised');
      assert.equal(stored.fileName, 'a.jpg');
      assert.equal(stored.format, 'jpeg');
      assert.equal(stored.sha256, sha(1));
      assert.equal(stored.split, null);

      assert.deepEqual(t.store.images.upsert(img), { id: first.id, status: 'unchanged' });
      assert.deepEqual(t.store.images.upsert({ ...img, relPath: 'cats/a.jpg' }), {
        id: first.id,
        status: 'unchanged',
      });
      assert.deepEqual(t.store.images.get(first.id), stored, 'unchanged wrote nothing (updatedAt too)');

      assert.deepEqual(t.store.images.upsert({ ...img, sha256: sha(2) }), {
        id: first.id,
        status: 'updated',
      });
      assert.deepEqual(t.store.images.upsert({ ...img, sha256: sha(2), label: 'dog' }), {
        id: first.id,
        status: 'updated',
      });
      assert.deepEqual(t.store.images.upsert({ ...img, sha256: sha(2), label: 'dog', width: 11 }), {
        id: first.id,
        status: 'updated',
      });
      assert.equal(t.store.images.get(first.id)!.label, 'dog');

      const many = t.store.images.upsertMany([
        { ...img, sha256: sha(2), label: 'dog', width: 11 },
        { ...img, relPath: 'cats/b.jpg' },
      ]);
      assert.deepEqual({ ...many, ids: many.ids.length }, { ids: 2, inserted: 1, updated: 0, unchanged: 1 });

      assert.throws(() => t.store.images.upsert({ ...img, relPath: '../outside.jpg' }), /must be relative/);
      assert.throws(() => t.store.images.upsert({ ...img, relPath: '/abs.jpg' }), /must be relative/);
      assert.throws(() => t.store.images.upsert({ ...img, sha256: 'abc' }), /sha256 must be 64 hex digits/);
      assert.throws(() => t.store.images.upsert({ ...img, width: 0 }), /width: expected a positive integer/);
      assert.throws(() => t.store.images.upsert({ ...img, datasetId: 999 }), /no dataset with id 999/);
    } finally {
      t.done();
    }
  },
);

engineTest('upsertMany is atomic: one bad image leaves none of the batch behind', (engine) => {
  const t = tempStore(engine);
  try {
    const d = t.store.datasets.create({ name: 'f', kind: 'folder', classes: [] });
    const good: ImageInput = {
      datasetId: d.id,
      relPath: 'a.png',
      width: 1,
      height: 1,
      channels: 1,
      format: 'png',
      sha256: sha(1),
    };
    assert.throws(
      () => t.store.images.upsertMany([good, { ...good, relPath: 'b.png', channels: 7 }]),
      /channels must be 1\.\.4/,
    );
    assert.equal(t.store.images.count(d.id), 0);
  } finally {
    t.done();
  }
});

engineTest(
  'splits: set many, list ids per split, list/count images by split with paging, summary',
  (engine) => {
    const t = tempStore(engine);
    try {
      const { datasetId, imageIds } = seedDataset(t.store, 5);
      t.store.splits.set([
        { imageId: imageIds[0], split: 'train' },
        { imageId: imageIds[1], split: 'train' },
        { imageId: imageIds[2], split: 'val' },
        { imageId: imageIds[3], split: 'test' },
      ]);
      assert.deepEqual(t.store.splits.ids(datasetId, 'train'), [imageIds[0], imageIds[1]]);
      t.store.splits.set([
        { imageId: imageIds[1], split: 'val' },
        { imageId: imageIds[3], split: null },
      ]);
      assert.deepEqual(t.store.splits.ids(datasetId, 'val'), [imageIds[1], imageIds[2]]);
      assert.deepEqual(t.store.splits.ids(datasetId, 'test'), []);
      assert.equal(t.store.images.count(datasetId, { split: null }), 2);
      assert.equal(t.store.images.count(datasetId, { split: 'val', label: 'dog' }), 1);

      const page1 = t.store.images.list(datasetId, { limit: 2 });
      const page2 = t.store.images.list(datasetId, { limit: 2, offset: 2 });
      assert.deepEqual(
        [...page1, ...page2].map((i) => i.relPath),
        ['img0.jpg', 'img1.jpg', 'img2.jpg', 'img3.jpg'],
      );
      assert.equal(page1[0].split, 'train');
      assert.equal(t.store.images.getByPath(datasetId, 'img2.jpg')?.split, 'val');

      // Re-importing an image must not reset its split.
      const img = t.store.images.get(imageIds[0])!;
      t.store.images.upsert({ ...img, sha256: sha(99) });
      assert.equal(t.store.images.get(imageIds[0])!.split, 'train');

      assert.throws(
        () =>
          t.store.splits.set([
            { imageId: imageIds[4], split: 'train' },
            { imageId: 12345, split: 'val' },
          ]),
        /no image with id 12345/,
      );
      assert.deepEqual(
        t.store.splits.ids(datasetId, 'train'),
        [imageIds[0]],
        'the failed batch left nothing',
      );

      const other = t.store.datasets.create({ name: 'empty', kind: 'synthetic', classes: [] });
      const all = t.store.datasets.list();
      assert.deepEqual(
        all.map((s) => s.name),
        ['empty', 'pets'],
      );
      assert.equal(all[0].id, other.id);
      assert.equal(all[0].imageCount, 0);
      const s = all[1];
      assert.equal(s.imageCount, 5);
      assert.deepEqual(s.labelCounts, [
        { label: 'cat', count: 3 },
        { label: 'dog', count: 2 },
      ]);
      assert.deepEqual(s.splitCounts, { train: 1, val: 2, test: 0, unassigned: 2 });
      assert.deepEqual(s.sizes, [{ width: 64, height: 48, count: 5 }]);
      assert.equal(s.objectCount, 0);
      t.store.splits.clear(datasetId);
      assert.equal(t.store.datasets.summary(datasetId).splitCounts.unassigned, 5);
    } finally {
      t.done();
    }
  },
);

const gt: VocObject[] = [
  { name: 'cat', box: { x0: 0, y0: 0, x1: 10, y1: 10 }, difficult: false, truncated: true, pose: 'Left' },
  {
    name: 'dog',
    box: { x0: 1.5, y0: 2, x1: 30, y1: 40 },
    parts: [{ name: 'head', box: { x0: 2, y0: 3, x1: 5, y1: 6 } }],
    attributes: { colour: 'brown' },
  },
];

engineTest('replaceGroundTruth is idempotent and round-trips VOC objects exactly', (engine) => {
  const t = tempStore(engine);
  try {
    const { imageIds } = seedDataset(t.store, 1);
    const id = imageIds[0];
    const a = t.store.objects.replaceGroundTruth(id, gt);
    assert.equal(a.status, 'replaced');
    const stored = t.store.objects.list(id, { source: GROUND_TRUTH });
    assert.deepEqual(
      stored.map((s) => s.object),
      gt,
    );
    const b = t.store.objects.replaceGroundTruth(id, structuredClone(gt));
    assert.deepEqual(b, { status: 'unchanged', ids: a.ids });
    assert.deepEqual(t.store.objects.list(id), stored, 'nothing rewritten');
    const c = t.store.objects.replaceGroundTruth(id, [gt[1]]);
    assert.equal(c.status, 'replaced');
    assert.deepEqual(
      t.store.objects.list(id).map((s) => s.object),
      [gt[1]],
    );
    assert.deepEqual(t.store.objects.replaceGroundTruth(id, []).ids, []);
    assert.equal(t.store.objects.list(id).length, 0);
    assert.throws(
      () => t.store.objects.replaceGroundTruth(id, [{ name: 'cat', box: { x0: 5, y0: 0, x1: 5, y1: 3 } }]),
      /ground-truth object 0: box .* is empty/,
    );
    assert.throws(() => t.store.objects.replaceGroundTruth(9999, gt), /no image with id 9999/);
  } finally {
    t.done();
  }
});

engineTest(
  'annotator boxes: add, update, soft delete, restore; ground truth is not editable that way',
  (engine) => {
    const t = tempStore(engine);
    try {
      const { datasetId, imageIds } = seedDataset(t.store, 1);
      const img = imageIds[0];
      const ana = t.store.ratings.createRater('Ana');
      const gtIds = t.store.objects.replaceGroundTruth(img, gt).ids;
      const box = t.store.objects.addAnnotation(img, ana.id, {
        name: 'cat',
        box: { x0: 3, y0: 3, x1: 9, y1: 9 },
      });
      assert.deepEqual(box.source, { kind: 'annotator', annotatorId: ana.id });
      const moved = t.store.objects.updateAnnotation(box.id, {
        name: 'cat',
        box: { x0: 4, y0: 3, x1: 9, y1: 9 },
      });
      assert.equal(moved.object.box.x0, 4);
      assert.equal(
        t.store.objects.list(img, { source: { kind: 'annotator', annotatorId: ana.id } }).length,
        1,
      );
      assert.equal(t.store.objects.list(img).length, 3);
      assert.equal(t.store.datasets.summary(datasetId).annotatedObjectCount, 1);
      assert.equal(t.store.datasets.summary(datasetId).objectCount, 2);

      const gone = t.store.objects.deleteAnnotation(box.id);
      assert.notEqual(gone.deletedAt, null);
      assert.equal(
        t.store.objects.list(img, { source: { kind: 'annotator', annotatorId: ana.id } }).length,
        0,
      );
      assert.equal(t.store.objects.list(img, { includeDeleted: true }).length, 3);
      assert.throws(
        () => t.store.objects.updateAnnotation(box.id, moved.object),
        /is deleted; restore it first/,
      );
      assert.equal(t.store.objects.restoreAnnotation(box.id).deletedAt, null);

      assert.throws(() => t.store.objects.deleteAnnotation(gtIds[0]), /is ground truth/);
      assert.throws(
        () => t.store.objects.addAnnotation(img, 4242, gt[0]),
        /no person \(rater\) with id 4242/,
      );
      // Ground-truth replacement leaves people's boxes alone.
      t.store.objects.replaceGroundTruth(img, []);
      assert.equal(t.store.objects.list(img).length, 1);
    } finally {
      t.done();
    }
  },
);

engineTest('masks: put replaces per (image, kind, source), PNG or file, validated', (engine) => {
  const t = tempStore(engine);
  try {
    const { imageIds } = seedDataset(t.store, 1);
    const img = imageIds[0];
    const ana = t.store.ratings.createRater('Ana');
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.from('rest'),
    ]);
    const a = t.store.masks.put({
      imageId: img,
      source: GROUND_TRUTH,
      kind: 'class',
      content: { png },
      width: 64,
      height: 48,
    });
    const b = t.store.masks.put({
      imageId: img,
      source: GROUND_TRUTH,
      kind: 'class',
      content: { relPath: 'SegmentationClass/img0.png' },
      width: 64,
      height: 48,
    });
    assert.equal(b.id, a.id, 'same key, same row');
    assert.deepEqual(b.content, { relPath: 'SegmentationClass/img0.png' });
    t.store.masks.put({
      imageId: img,
      source: { kind: 'annotator', annotatorId: ana.id },
      kind: 'should-highlight',
      content: { png },
      width: 64,
      height: 48,
    });
    assert.equal(t.store.masks.list(img).length, 2);
    const got = t.store.masks.get(img, 'should-highlight', { kind: 'annotator', annotatorId: ana.id });
    assert.ok(got !== undefined && 'png' in got.content && got.content.png.equals(png));
    assert.throws(
      () =>
        t.store.masks.put({
          imageId: img,
          source: GROUND_TRUTH,
          kind: 'region',
          content: { png: Buffer.from('GIF89a') },
          width: 1,
          height: 1,
        }),
      /not a PNG file/,
    );
  } finally {
    t.done();
  }
});

engineTest('foreign keys are enforced and deleting a dataset cascades to everything under it', (engine) => {
  const t = tempStore(engine);
  try {
    const { datasetId, imageIds } = seedDataset(t.store, 2);
    t.store.objects.replaceGroundTruth(imageIds[0], gt);
    t.store.splits.set([{ imageId: imageIds[0], split: 'train' }]);
    const run = t.store.runs.create({ datasetId, model: 'm', config: {}, engine: 'cpu' });
    t.store.runs.appendEpoch(run.id, { phase: '1', epoch: 0, metrics: { loss: 1 } });
    const e = t.store.explanations.put({
      runId: run.id,
      imageId: imageIds[0],
      classIndex: 0,
      method: 'gradcam',
      params: {},
      width: 1,
      height: 1,
      encoding: 'u8',
      data: Buffer.from([1]),
    });
    t.store.explanations.putMetrics(e.id, [{ metric: 'iou', value: 0.5 }]);

    // A raw connection, as another program would be: the schema itself refuses orphans.
    const db = rawConnection(t);
    assert.throws(
      () =>
        db.run(
          `INSERT INTO images (dataset_id, rel_path, file_name, width, height, channels, format, sha256, created_at, updated_at)
           VALUES (999, 'x', 'x', 1, 1, 1, 'png', ?, 'now', 'now')`,
          sha(1),
        ),
      { constraint: 'foreign-key' },
    );
    db.close();

    t.store.datasets.delete(datasetId);
    assert.equal(t.store.datasets.getById(datasetId), undefined);
    assert.equal(t.store.images.get(imageIds[0]), undefined);
    assert.equal(t.store.objects.list(imageIds[0], { includeDeleted: true }).length, 0);
    assert.equal(t.store.runs.get(run.id), undefined);
    assert.equal(t.store.runs.epochs(run.id).length, 0);
    assert.equal(t.store.explanations.getById(e.id), undefined);
    assert.equal(t.store.explanations.metrics(e.id).length, 0);
    const check = rawConnection(t);
    for (const table of [
      'images',
      'splits',
      'objects',
      'runs',
      'run_epochs',
      'explanations',
      'explanation_metrics',
    ]) {
      assert.equal(Number(check.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)?.n), 0, table);
    }
    check.close();
  } finally {
    t.done();
  }
});

engineTest(
  'store.transaction commits together or not at all, and refuses async functions',
  async (engine) => {
    const t = tempStore(engine);
    try {
      assert.throws(() =>
        t.store.transaction(() => {
          t.store.datasets.create({ name: 'a', kind: 'folder', classes: [] });
          t.store.datasets.create({ name: 'a', kind: 'folder', classes: [] });
        }),
      );
      assert.equal(t.store.datasets.list().length, 0);
      assert.throws(
        () =>
          t.store.transaction(async () =>
            t.store.datasets.create({ name: 'b', kind: 'folder', classes: [] }),
          ),
        /must be synchronous/,
      );
      assert.equal(t.store.datasets.list().length, 0, 'rolled back');
    } finally {
      t.done();
    }
  },
);

engineTest(
  'a transaction holds the store-wide write lock: another one waits busyTimeoutMs, then fails',
  (engine) => {
    const t = tempStore(engine);
    const other = openStore(t.file, { busyTimeoutMs: 100 });
    try {
      t.store.transaction(() => {
        t.store.datasets.create({ name: 'first', kind: 'folder', classes: [] });
        const started = Date.now();
        assert.throws(
          () =>
            other.transaction(() => other.datasets.create({ name: 'second', kind: 'folder', classes: [] })),
          engine === 'sqlite' ? /database is locked/ : /lock timeout/,
        );
        assert.ok(Date.now() - started >= 90, 'it waited for the lock first');
      });
      // Once the first commits, the other connection writes, and both see both.
      other.datasets.create({ name: 'second', kind: 'folder', classes: [] });
      assert.deepEqual(
        t.store.datasets.list().map((d) => d.name),
        ['first', 'second'],
      );
    } finally {
      other.close();
      t.done();
    }
  },
);
