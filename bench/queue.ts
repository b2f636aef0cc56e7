/**
 * What the team queue costs per job, beside the desktop's worker thread: N small export jobs (no tfjs, so the job
 * itself is short and the queue's part shows) run one after another through LocalJobQueue and through
 * PgBossJobQueue + a QueueWorker in this process, on a throwaway PostgreSQL cluster. Per job: pick-up latency
 * (enqueued → the row says 'running'), total wall time (start() → the row is 'done'), and the run time inside the
 * job (started → finished). The queue's overhead is the difference of the totals.
 *
 *   nice -n 19 node --import tsx bench/queue.ts [--jobs 20] [--images 12]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { importDataset } from '../src/data/import/import.js';
import { generateDataset } from '../src/data/synthetic/generate.js';
import { jobKinds } from '../src/jobs/kinds.js';
import { PgBossJobQueue } from '../src/jobs/pgboss/server.js';
import { QueueWorker } from '../src/jobs/pgboss/worker.js';
import { type JobQueue, LocalJobQueue } from '../src/jobs/queue.js';
import { openStore, type Store } from '../src/store/index.js';
import { NO_POSTGRES, startPgCluster } from '../test/jobs/pg-cluster.js';

const { values } = parseArgs({ options: { jobs: { type: 'string' }, images: { type: 'string' } } });
const N = Number(values.jobs ?? 20);
const IMAGES = Number(values.images ?? 12);

if (NO_POSTGRES) {
  console.error(`skipped: ${NO_POSTGRES}`);
  process.exit(0);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-bench-queue-'));
await generateDataset(path.join(dir, 'set'), {
  width: 32,
  height: 32,
  images: IMAGES,
  shapesPerImage: 2,
  seed: 3,
});
const dbPath = path.join(dir, 'xwb.db');
const store = openStore(dbPath);
const { dataset } = await importDataset(store, path.join(dir, 'set'), { name: 'set' });

interface Sample {
  pickupMs: number;
  totalMs: number;
  runMs: number;
}

async function runJobs(queue: JobQueue, label: string): Promise<Sample[]> {
  const out: Sample[] = [];
  for (let i = 0; i < N; i++) {
    const outDir = path.join(dir, `out-${label}-${i}`);
    const t0 = performance.now();
    const job = await queue.start('export', { datasetId: dataset.id, outDir, with: [] }, `export ${i}`);
    let pickedAt = 0;
    for (;;) {
      const j = store.jobs.get(job.id)!;
      if (!pickedAt && j.status !== 'queued') pickedAt = performance.now();
      if (['done', 'failed', 'cancelled'].includes(j.status)) {
        if (j.status !== 'done') throw new Error(`job ${job.id} ${j.status}: ${j.error}`);
        const run = Date.parse(j.finishedAt!) - Date.parse(j.startedAt!);
        out.push({ pickupMs: pickedAt - t0, totalMs: performance.now() - t0, runMs: run });
        break;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  }
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];
function report(name: string, s: Sample[]) {
  const f = (xs: number[]) => `median ${median(xs).toFixed(1)} ms, p90 ${p90(xs).toFixed(1)} ms`;
  console.log(`${name}: pick-up ${f(s.map((x) => x.pickupMs))}; total ${f(s.map((x) => x.totalMs))}`);
  console.log(`${' '.repeat(name.length)}  in the job (started → finished) ${f(s.map((x) => x.runMs))}`);
}

const local = new LocalJobQueue({ store, kinds: jobKinds(), storeIntervalMs: 1000 });
const localSamples = await runJobs(local, 'local');
await local.close();

const pg = await startPgCluster();
let workerStore: Store | undefined;
try {
  const queue = await PgBossJobQueue.connect({ store, url: pg.url, kinds: jobKinds(), log: () => {} });
  workerStore = openStore(dbPath);
  const worker = await QueueWorker.start({
    store: workerStore,
    dbPath,
    url: pg.url,
    kinds: jobKinds(),
    log: () => {},
  });
  // Idle long enough that the worker is waiting on its notification, as it would between jobs.
  await new Promise((r) => setTimeout(r, 500));
  const queueSamples = await runJobs(queue, 'queue');
  console.log(`${N} export jobs of ${IMAGES} images each, one at a time, ${os.cpus().length} cores`);
  report('local worker thread', localSamples);
  report('pg-boss + xwb worker', queueSamples);
  const over = median(queueSamples.map((x) => x.totalMs)) - median(localSamples.map((x) => x.totalMs));
  console.log(`queue overhead per job (difference of median totals): ${over.toFixed(1)} ms`);
  await worker.stop();
  await queue.close();
} finally {
  workerStore?.close();
  pg.stop();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
