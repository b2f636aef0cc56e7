/**
 * Latency of typical store calls on SQLite and on PostgreSQL (pg-native in the main thread; the bridged `pg`
 * client that worker threads use), on the same machine. Prints the median and p90 per call and the ratio to SQLite.
 * Usage: node --import tsx bench/store/latency.ts --pg postgres://user@host:port/postgres [--reps 300]
 * (the role must be allowed to create databases; one is created and dropped). Without --pg only SQLite is measured.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { openStore, type Store } from '../../src/store/index.js';
import { spawnModuleWorker } from '../../src/util/worker.js';

type Timings = Record<string, number[]>;

function measure(store: Store, reps: number): Timings {
  const d = store.datasets.create({ name: `bench-${Date.now()}`, kind: 'folder', classes: ['a', 'b'] });
  const images = store.images.upsertMany(
    Array.from({ length: 200 }, (_, i) => ({
      datasetId: d.id,
      relPath: `img${i}.png`,
      width: 224,
      height: 224,
      channels: 3,
      format: 'png',
      sha256: i.toString(16).padStart(64, '0'),
      label: i % 2 ? 'a' : 'b',
    })),
  ).ids;
  const run = store.runs.create({ datasetId: d.id, model: 'expclass', config: {}, engine: 'cpu' });
  const rater = store.ratings.createRater(`r${Date.now()}`);
  const map = Buffer.alloc(224 * 224 * 4, 7); // a 224×224 float32 map: 196 KiB
  const t: Timings = {};
  const time = (name: string, fn: (i: number) => void) => {
    const out: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = process.hrtime.bigint();
      fn(i);
      out.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    t[name] = out;
  };
  time('images.get (one row by id)', (i) => store.images.get(images[i % images.length]));
  time('images.list (100 rows)', () => store.images.list(d.id, { limit: 100 }));
  time('datasets.summary (5 aggregates)', () => store.datasets.summary(d.id));
  const explanationIds: number[] = [];
  time('explanations.put (196 KiB map, tx)', (i) => {
    const data = Buffer.from(map);
    data.writeUInt32LE(i, 0);
    explanationIds.push(
      store.explanations.put({
        runId: run.id,
        imageId: images[i % images.length],
        classIndex: 0,
        method: `m${Math.floor(i / images.length)}`,
        params: {},
        width: 224,
        height: 224,
        encoding: 'f32le',
        data,
      }).id,
    );
  });
  time('explanations.getById (196 KiB map)', (i) => store.explanations.getById(explanationIds[i]));
  time('ratings.put (tx, durable commit)', (i) =>
    store.ratings.put({
      raterId: rater.id,
      explanationId: explanationIds[i % explanationIds.length],
      correctness: ((i % 5) + 1) as 1,
    }),
  );
  time('runs.appendEpoch (tx, upsert)', (i) =>
    store.runs.appendEpoch(run.id, { phase: 'joint', epoch: i, metrics: { loss: 1 / (i + 1) } }),
  );
  return t;
}

const stat = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], p90: s[Math.floor(s.length * 0.9)] };
};

if (!isMainThread) {
  const { url, reps } = workerData as { url: string; reps: number };
  const store = openStore(url);
  const t = measure(store, reps);
  store.close();
  parentPort!.postMessage(t);
} else {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i === -1 ? undefined : args[i + 1];
  };
  const reps = Number(opt('--reps') ?? 300);
  const pg = opt('--pg');
  const results: Record<string, Timings> = {};

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-bench-store-'));
  const sqlite = openStore(path.join(dir, 'xwb.db'));
  results.sqlite = measure(sqlite, reps);
  sqlite.close();
  fs.rmSync(dir, { recursive: true, force: true });

  if (pg !== undefined) {
    const { createRequire } = await import('node:module');
    const Client = createRequire(import.meta.url)('pg-native');
    const admin = new Client();
    admin.connectSync(pg);
    const name = `xwb_bench_${process.pid}`;
    admin.querySync(`CREATE DATABASE ${name}`);
    const u = new URL(pg);
    u.pathname = `/${name}`;
    try {
      const store = openStore(u.toString());
      results['postgres (pg-native, main thread)'] = measure(store, reps);
      store.close();
      const worker = spawnModuleWorker(
        new URL(import.meta.url),
        { url: u.toString(), reps },
        import.meta.url,
      );
      results['postgres (bridged pg, worker thread)'] = await new Promise<Timings>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      await worker.terminate();
    } finally {
      admin.querySync(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  }

  console.log(
    `store call latency, µs per call (median / p90), ${reps} calls each, ${os.cpus().length} cores`,
  );
  const engines = Object.keys(results);
  const calls = Object.keys(results.sqlite);
  const base = (c: string) => stat(results.sqlite[c]).median;
  for (const c of calls) {
    console.log(`\n${c}`);
    for (const e of engines) {
      const s = stat(results[e][c]);
      const ratio = e === 'sqlite' ? '' : `  ×${(s.median / base(c)).toFixed(1)} SQLite`;
      console.log(
        `  ${e.padEnd(38)} ${s.median.toFixed(0).padStart(7)} / ${s.p90.toFixed(0).padStart(7)}${ratio}`,
      );
    }
  }
}
