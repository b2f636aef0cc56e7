/**
 * Several processes writing one store at once (issue 11): two `xwb serve` on the same SQLite file, one taking
 * ratings (with should-highlight masks) and one annotation adds, back to back, while `xwb import` brings in a
 * 400-image dataset and `xwb train` runs a small classifier, each in its own process. No request may fail (in
 * particular no "database is locked" reaching a user), every acknowledged write must be in the store afterwards,
 * the import and the run complete, and the store passes integrity_check.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { generateDataset } from '../../src/data/synthetic/generate.js';
import { encodeGreyPng } from '../../src/review/png.js';
import { openStore } from '../../src/store/index.js';
import { ROOT, type Server, startXwbServe, stopServer } from '../e2e/harness.js';
import { call, makeFixture } from './crash-cycles.js';

function xwb(args: string[]): Promise<{ code: number | null; err: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('exit', (code) => resolve({ code, err, ms: Date.now() - t0 }));
  });
}

test('two servers, an import and a training run on one store: no request fails, no write is lost', async () => {
  const f = await makeFixture();
  const rendererDir = path.join(f.dir, 'no-renderer');
  mkdirSync(rendererDir);
  await generateDataset(path.join(f.dir, 'big'), {
    images: 400,
    width: 32,
    height: 32,
    shapesPerImage: 2,
    seed: 8,
  });
  const servers: Server[] = [];
  try {
    servers.push(
      ...(await Promise.all([
        startXwbServe(f.db, rendererDir, 0, 180_000),
        startXwbServe(f.db, rendererDir, 0, 180_000),
      ])),
    );
    const tokens = servers.map((s) => new URL(s.launchUrl).searchParams.get('token') ?? '');
    const annotator = (
      (await call(servers[1], tokens[1], 'annotator.set', { name: 'Ana' })) as { id: number }
    ).id;

    const failures: string[] = [];
    const rated = new Map<number, string>();
    const masks = new Map<number, Buffer>();
    const added = new Map<string, number>();
    let stop = false;
    let slowest = 0;
    const timed = async <T>(p: Promise<T>): Promise<T> => {
      const t0 = Date.now();
      try {
        return await p;
      } finally {
        slowest = Math.max(slowest, Date.now() - t0);
      }
    };
    let n = 0;
    const ratings = async () => {
      while (!stop) {
        const item = f.items[n % f.items.length];
        const comment = `c${++n}`;
        const im = f.images.find((x) => x.id === item.imageId)!;
        const grey = new Uint8Array(im.width * im.height);
        grey.fill(255, 0, (n % im.height) * im.width + 1);
        const png = encodeGreyPng(grey, im.width, im.height);
        try {
          await timed(
            call(servers[0], tokens[0], 'review.rate', {
              itemId: item.id,
              correctness: (n % 5) + 1,
              completeness: null,
              compactness: 3,
              comment,
              shouldHighlight: png.toString('base64'),
            }),
          );
          rated.set(item.id, comment);
          masks.set(im.id, png);
        } catch (e) {
          failures.push(`review.rate: ${(e as Error).message}`);
        }
      }
    };
    let k = 0;
    const annotations = async () => {
      while (!stop) {
        const key = `k${++k}`;
        const im = f.images[k % f.images.length];
        try {
          const v = (await timed(
            call(servers[1], tokens[1], 'annotations.add', {
              imageId: im.id,
              annotator,
              box: { x0: 1, y0: 1, x1: 2 + (k % 20), y1: 2 + (k % 10) },
              className: 'triangle',
              clientKey: key,
            }),
          )) as { id: number };
          added.set(key, v.id);
        } catch (e) {
          failures.push(`annotations.add: ${(e as Error).message}`);
        }
      }
    };
    const lanes = [ratings(), annotations()];
    const [imported, trained] = await Promise.all([
      xwb(['import', path.join(f.dir, 'big'), '--name', 'big', '--db', f.db]),
      xwb([
        'train',
        'cue',
        '--db',
        f.db,
        '--model',
        'classifier',
        '--size',
        '32',
        '--base',
        '4',
        '--epochs',
        '3',
        '--batch',
        '4',
        '--engine',
        'wasm',
      ]),
    ]);
    stop = true;
    await Promise.all(lanes);
    await Promise.all(servers.map((s) => stopServer(s.child, 'SIGTERM')));

    console.log(
      `# ${rated.size} items rated in ${n} requests, ${added.size} boxes added, slowest answer ${slowest} ms; ` +
        `import ${imported.ms} ms, train ${trained.ms} ms`,
    );
    assert.deepEqual(failures, [], 'every request was answered 200');
    assert.equal(imported.code, 0, `xwb import: ${imported.err}`);
    assert.equal(trained.code, 0, `xwb train: ${trained.err}`);
    assert.doesNotMatch(imported.err + trained.err, /locked|busy/i);
    assert.ok(rated.size > 0 && added.size > 10, `writes kept flowing (${n} ratings, ${k} adds)`);

    const store = openStore(f.db);
    const db = new Database(f.db);
    try {
      const got = new Map(store.ratings.list({ raterId: f.raterId }).map((r) => [r.reviewItemId, r.comment]));
      for (const [itemId, comment] of rated)
        assert.equal(got.get(itemId), comment, `rating of item ${itemId}`);
      for (const [imageId, png] of masks) {
        const m = store.masks.get(imageId, 'should-highlight', { kind: 'annotator', annotatorId: f.raterId });
        assert.ok(m && 'png' in m.content && m.content.png.equals(png), `mask of image ${imageId}`);
      }
      const keys = db
        .prepare(
          'SELECT client_key AS key, count(*) AS n FROM objects WHERE client_key IS NOT NULL GROUP BY client_key',
        )
        .all() as { key: string; n: number }[];
      assert.equal(keys.length, added.size);
      for (const r of keys) assert.equal(r.n, 1, `key ${r.key} stored once`);
      for (const [, id] of added) assert.ok(store.objects.get(id), `box ${id}`);
      const big = store.datasets.getByName('big');
      assert.equal(big && store.images.list(big.id, { offset: 0, limit: 1000 }).length, 400);
      const runs = store.runs.list();
      assert.equal(runs.length, 2, 'the fixture run and the trained one');
      assert.equal(runs.find((r) => r.id !== 1)?.status, 'done');
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      db.close();
      store.close();
    }
  } finally {
    for (const s of servers) await stopServer(s.child, 'SIGKILL');
    rmSync(f.dir, { recursive: true, force: true });
  }
});
