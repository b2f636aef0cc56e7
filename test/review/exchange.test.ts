import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { inflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { Io } from '../../src/cli/command.js';
import { main } from '../../src/cli/main.js';
import { importDataset } from '../../src/data/import/import.js';
import { exportRatedDataset } from '../../src/review/exchange/export.js';
import { IMPORTED_RUN_KEY } from '../../src/review/exchange/format.js';
import { createReviewSession, rate } from '../../src/review/session.js';
import { type Explanation, openStore, type Store } from '../../src/store/index.js';
import { Random } from '../../src/util/random.js';
import { box, hashTree, removeDir, tempDir, writeVocDevkit } from '../data/import/fixtures.js';
import { randomMap } from './helpers.js';

const root = tempDir();
after(() => removeDir(root));

async function xwb(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), interactive: false };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Pixels of a 16-bit grey PNG written by encodeGreyPng (filter 0 rows), decoded by hand. */
function grey16(png: Buffer): { width: number; height: number; pixels: number[] } {
  let at = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (at < png.length) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      [width, height] = [data.readUInt32BE(0), data.readUInt32BE(4)];
      assert.deepEqual([data[8], data[9]], [16, 0], '16-bit greyscale');
    }
    if (type === 'IDAT') idat.push(data);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const pixels: number[] = [];
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (width * 2 + 1)], 0, 'filter 0');
    for (let x = 0; x < width; x++) pixels.push(raw.readUInt16BE(y * (width * 2 + 1) + 1 + x * 2));
  }
  return { width, height, pixels };
}

/** A study: VOC dataset, two runs, explanations with metrics, a session rated by two people, boxes, masks. */
async function buildStudy(store: Store): Promise<number> {
  const src = path.join(root, 'src');
  await writeVocDevkit(
    src,
    Array.from({ length: 4 }, (_, i) => ({
      id: `img${i}`,
      width: 12,
      height: 10,
      objects: [{ name: 'triangle', box: box(1, 1, 6 + i, 7) }],
      split: 'test' as const,
    })),
  );
  const ds = (await importDataset(store, src, { name: 'study' })).dataset;
  const images = store.images.list(ds.id);
  const rng = new Random('study');
  const runs = [0, 1].map((k) => {
    const run = store.runs.create({
      datasetId: ds.id,
      model: 'expclass',
      config: { lr: 0.01 * (k + 1) },
      engine: 'cpu',
    });
    store.runs.setStatus(run.id, 'running');
    store.runs.setStatus(run.id, 'done');
    return run.id;
  });
  for (const runId of runs) {
    for (const im of images) {
      for (const method of ['gradcam', 'lrp/epsilon']) {
        const data = randomMap(rng, 6, 5);
        if (method === 'gradcam' && im.relPath.endsWith('img0.png')) data.writeFloatLE(Number.NaN, 0);
        const { id } = store.explanations.put({
          runId,
          imageId: im.id,
          classIndex: 0,
          method,
          params: { eps: 0.25 },
          width: 6,
          height: 5,
          encoding: 'f32le',
          data,
        });
        store.explanations.putMetrics(id, [
          { metric: 'pointing', value: rng.next() },
          {
            metric: 'iou',
            params: { threshold: 0.5 },
            value: im.relPath.endsWith('img1.png') ? Number.NaN : rng.next(),
          },
        ]);
      }
    }
  }
  // An explanation in another encoding, not rated: exported only with `explanations`.
  store.explanations.put({
    runId: runs[0],
    imageId: images[0].id,
    classIndex: 0,
    method: 'occlusion',
    params: {},
    width: 2,
    height: 2,
    encoding: 'u8',
    data: Buffer.from([0, 10, 200, 255]),
  });

  const s = createReviewSession(store, {
    name: 'pilot',
    runIds: runs,
    methods: ['gradcam', 'lrp/epsilon'],
    imageIds: images.map((i) => i.id),
    raters: ['Dr. Ana Müller', 'ben'],
    seed: 5,
  });
  const [ana, ben] = s.raters;
  const anaItems = store.ratings.items(s.session.id, ana.id);
  anaItems.slice(0, 10).forEach((it, k) => {
    rate(store, it.id, {
      correctness: ((k % 5) + 1) as 1,
      completeness: 3,
      compactness: 2,
      comment: k === 0 ? 'edge, "border", not object\nsecond line' : null,
    });
  });
  rate(store, anaItems[0].id, { correctness: 5, completeness: 4, compactness: 2, wrongFlag: true }); // a revision
  const mask = new Uint8Array(12 * 10).fill(255, 0, 30);
  rate(store, anaItems[1].id, {
    correctness: 2,
    completeness: 2,
    compactness: 2,
    shouldHighlight: { width: 12, height: 10, mask },
  });
  for (const it of store.ratings.items(s.session.id, ben.id).slice(0, 6))
    rate(store, it.id, { correctness: 4, completeness: null, compactness: 5 });
  store.ratings.put({
    raterId: ben.id,
    explanationId: anaItems[3].explanationId,
    correctness: 1,
    comment: 'free',
  });
  // People's boxes (one soft-deleted: not exported) and a ground-truth region mask.
  const annotator = store.ratings.ensureRater('Carla');
  store.objects.addAnnotation(images[2].id, annotator.id, {
    name: 'triangle',
    box: box(2, 2, 8, 9),
    pose: 'Left',
    difficult: true,
    truncated: false,
  });
  store.objects.addAnnotation(images[2].id, annotator.id, {
    name: 'circle',
    box: box(0, 0, 3, 3),
    pose: 'Unspecified',
    difficult: false,
    truncated: true,
  });
  const gone = store.objects.addAnnotation(images[3].id, annotator.id, {
    name: 'circle',
    box: box(0, 0, 2, 2),
  });
  store.objects.deleteAnnotation(gone.id);
  store.objects.addAnnotation(images[3].id, ana.id, {
    name: 'triangle',
    box: box(4, 4, 9, 9),
    pose: 'Unspecified',
    truncated: false,
    difficult: false,
  });
  const region = await sharp(Buffer.alloc(12 * 10, 7), { raw: { width: 12, height: 10, channels: 1 } })
    .png()
    .toBuffer();
  store.masks.put({
    imageId: images[1].id,
    kind: 'region',
    source: { kind: 'gt' },
    content: { png: region },
    width: 12,
    height: 10,
  });
  return ds.id;
}

/** Ratings by (session name, rater name, position | explanation key), every field but store ids. */
function ratingsByKey(store: Store): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const sessions = new Map(store.ratings.listSessions().map((s) => [s.id, s]));
  const items = new Map(
    store.ratings
      .listSessions()
      .flatMap((s) => store.ratings.items(s.id))
      .map((i) => [i.id, i]),
  );
  for (const r of store.ratings.list()) {
    const rater = store.ratings.getRater(r.raterId)!.name;
    const e = store.explanations.getMeta(r.explanationId)!;
    const image = store.images.get(e.imageId)!.fileName;
    const item = r.reviewItemId === null ? null : items.get(r.reviewItemId)!;
    const key = `${item ? sessions.get(item.sessionId)!.name : '-'}|${rater}|${item?.position ?? '-'}|${image}|${e.method}`;
    const { id, reviewItemId, explanationId, raterId, ...fields } = r;
    out.set(key, {
      ...fields,
      history: store.ratings.history(r.id).map(({ ratingId, ...h }) => h),
      session: item ? { side: item.side, createdAt: item.createdAt } : null,
    });
  }
  return out;
}

test('rated export → import into a fresh store → export again: identical files and equal ratings, field by field', async () => {
  const a = openStore(path.join(root, 'a.db'));
  const b = openStore(path.join(root, 'b.db'));
  try {
    const datasetId = await buildStudy(a);
    const out1 = path.join(root, 'out1');
    a.close();
    const cli = await xwb('export', 'study', out1, '--with', 'all', '--db', path.join(root, 'a.db'));
    assert.equal(cli.code, 0, cli.err);
    assert.match(
      cli.out,
      /with ratings, masks, explanations: 17 ratings in 1 session\(s\) by 3 people, 17 explanations from 2 run\(s\), 3 annotator boxes, 2 masks/,
    );
    const a2 = openStore(path.join(root, 'a.db'));

    // What a VOC tool sees: ground truth only in Annotations/, each person's boxes in their own folder.
    const files = [...hashTree(out1).keys()];
    assert.ok(
      files.includes('Annotations-carla/img2.xml') && files.includes('Annotations-dr.-ana-muller/img3.xml'),
      files.join('\n'),
    );
    assert.ok(!files.some((f) => f.startsWith('Annotations-carla/img3')), 'a deleted box is not exported');
    assert.ok(!fs.readFileSync(path.join(out1, 'Annotations', 'img2.xml'), 'utf8').includes('circle'));
    assert.match(
      fs.readFileSync(path.join(out1, 'Annotations-carla', 'img2.xml'), 'utf8'),
      /<annotation>xwb annotator: Carla<\/annotation>/,
    );
    // Every file has its checksum.
    const manifest = JSON.parse(fs.readFileSync(path.join(out1, 'manifest.json'), 'utf8'));
    assert.deepEqual(Object.keys(manifest.files).sort(), files.filter((f) => f !== 'manifest.json').sort());
    assert.equal(manifest.storeSchemaVersion, a2.schemaVersion);
    // The CSV: one row per rating, RFC 4180 quoting.
    const csv = fs.readFileSync(path.join(out1, 'ratings.csv'), 'utf8');
    assert.equal(csv.split('\r\n').filter((l) => l.startsWith('session-1') || l.startsWith(',')).length, 17);
    assert.ok(
      csv.includes('"edge, ""border"", not object\nsecond line"') === false,
      'the revised comment is gone',
    );
    // 16-bit explanation PNGs: min–max scaled from the raw .f32, min and max recorded, readable by other tools.
    const ex = JSON.parse(fs.readFileSync(path.join(out1, 'explanations.json'), 'utf8'));
    const withNaN = ex.explanations.find(
      (e: { image: string; method: string; run: string }) =>
        e.image === 'img0' && e.method === 'gradcam' && e.run === 'run-1',
    );
    const raw = fs.readFileSync(path.join(out1, withNaN.file));
    const values = Array.from({ length: 30 }, (_, i) => raw.readFloatLE(i * 4));
    const finite = values.filter(Number.isFinite);
    assert.deepEqual([withNaN.min, withNaN.max], [Math.min(...finite), Math.max(...finite)]);
    const png = fs.readFileSync(path.join(out1, withNaN.png));
    const g = grey16(png);
    assert.deepEqual([g.width, g.height], [6, 5]);
    assert.deepEqual(
      g.pixels,
      values.map((v) =>
        Number.isFinite(v) ? Math.round(((v - withNaN.min) / (withNaN.max - withNaN.min)) * 65535) : 0,
      ),
    );
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.depth, meta.channels], ['ushort', 1]);
    assert.ok(
      ex.explanations.some(
        (e: { encoding: string; file: string }) => e.encoding === 'u8' && e.file.endsWith('.raw'),
      ),
    );

    // Into a fresh store, through the CLI as a user would.
    b.close();
    const imp = await xwb('import', out1, '--db', path.join(root, 'b.db'), '--json');
    assert.equal(imp.code, 0, imp.err);
    const review = JSON.parse(imp.out).review;
    assert.deepEqual(review.ratings, { created: 17, unchanged: 0 });
    assert.deepEqual(review.boxes, { created: 3, unchanged: 0 });
    const b2 = openStore(path.join(root, 'b.db'));
    try {
      const ds = b2.datasets.getByName('study');
      assert.ok(ds, 'the dataset keeps its name');
      const out2 = path.join(root, 'out2');
      exportRatedDataset(b2, ds.id, out2, { with: ['ratings', 'masks', 'explanations'] });
      const h1 = hashTree(out1);
      const h2 = hashTree(out2);
      assert.deepEqual([...h2.keys()].sort(), [...h1.keys()].sort());
      // Documented differences: exportedAt (manifest.json, xwb-dataset.json) and xwb-dataset.json's checksum.
      const differ = [...h1.keys()].filter((k) => h1.get(k) !== h2.get(k)).sort();
      assert.deepEqual(
        differ,
        ['manifest.json', 'xwb-dataset.json'].filter((k) => differ.includes(k)),
      );
      const strip = (dir: string, f: string) => {
        const j = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
        delete j.exportedAt;
        if (j.files) delete j.files['xwb-dataset.json'];
        return j;
      };
      for (const f of ['manifest.json', 'xwb-dataset.json'])
        assert.deepEqual(strip(out2, f), strip(out1, f), f);

      // Field by field: ratings (timestamps and history included), explanations, metrics, masks, runs.
      assert.deepEqual(ratingsByKey(b2), ratingsByKey(a2));
      const runsA = a2.runs.list({ datasetId }).reverse();
      const runsB = b2.runs.list({ datasetId: ds.id }).reverse();
      assert.equal(runsB.length, 2);
      runsB.forEach((r, i) => {
        const { [IMPORTED_RUN_KEY]: mark, ...config } = r.config;
        assert.ok(mark, 'restored runs are marked as imported');
        assert.deepEqual(config, runsA[i].config);
        assert.deepEqual(
          [r.status, r.createdAt, r.startedAt, r.finishedAt, r.folder],
          [runsA[i].status, runsA[i].createdAt, runsA[i].startedAt, runsA[i].finishedAt, null],
        );
        const ea = a2.explanations.list(runsA[i].id);
        const eb = b2.explanations.list(r.id);
        assert.equal(eb.length, ea.length);
        for (const e of ea) {
          const other: Explanation = b2.explanations.get({
            runId: r.id,
            imageId: b2.images.list(ds.id).find((im) => im.fileName === a2.images.get(e.imageId)!.fileName)!
              .id,
            classIndex: e.classIndex,
            method: e.method,
            params: e.params,
          })!;
          assert.ok(other.data.equals(a2.explanations.getById(e.id)!.data));
          const strip = (m: { metric: string; paramsHash: string; value: number }) => [
            m.metric,
            m.paramsHash,
            m.value,
          ];
          assert.deepEqual(
            b2.explanations.metrics(other.id).map(strip),
            a2.explanations.metrics(e.id).map(strip),
          );
        }
      });
      const should = (s: Store, dsId: number) =>
        s.images
          .list(dsId)
          .flatMap((im) =>
            s.masks
              .list(im.id)
              .map((m) => [
                im.fileName,
                m.kind,
                m.source.kind === 'gt' ? 'gt' : s.ratings.getRater(m.source.annotatorId)!.name,
                'png' in m.content ? m.content.png.toString('base64') : m.content.relPath,
              ]),
          );
      assert.deepEqual(should(b2, ds.id), should(a2, datasetId));

      // Importing the same folder again changes nothing.
      const again = await importDataset(b2, out1);
      assert.equal(again.review?.ratings.created, 0);
      assert.equal(again.review?.ratings.unchanged, 17);
      assert.equal(again.review?.runs.created, 0);
      assert.equal(b2.ratings.list().length, 17);
      assert.equal(b2.runs.list().length, 2);
    } finally {
      b2.close();
      a2.close();
    }
  } finally {
    a.close();
    b.close();
  }
});

test('a rated export whose files changed is refused before anything is imported', async () => {
  const a = openStore(path.join(root, 'c.db'));
  const out = path.join(root, 'out-tamper');
  try {
    const datasetId = await buildStudy(a);
    exportRatedDataset(a, datasetId, out, { with: ['ratings'] });
  } finally {
    a.close();
  }
  const ratingsFile = path.join(out, 'ratings.json');
  fs.writeFileSync(
    ratingsFile,
    fs.readFileSync(ratingsFile, 'utf8').replace('"correctness": 5', '"correctness": 1'),
  );
  const fresh = openStore(path.join(root, 'd.db'));
  try {
    await assert.rejects(
      importDataset(fresh, out),
      /1 file\(s\) do not match manifest.json \(ratings.json has changed\).*Nothing was imported/,
    );
    assert.equal(fresh.datasets.list().length, 0);
  } finally {
    fresh.close();
  }
});
