/**
 * End-to-end, team mode: `xwb serve --queue postgres://…` and an `xwb worker` as separate processes on a throwaway
 * PostgreSQL, Chromium on the Jobs screen. A batch explain runs on the worker; its progress shows live in the
 * page (no reload) and the job ends done with the worker's result. Skipped, with the reason, without Chromium or
 * the PostgreSQL binaries.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { type EvalFixture, evalFixture } from '../evaluate/fixture.js';
import { NO_POSTGRES, type PgCluster, startPgCluster } from '../jobs/pg-cluster.js';
import {
  launchChromium,
  NO_BROWSER,
  openScreen,
  pageCallOk,
  prepareWorkspace,
  ROOT,
  type Server,
  SHOTS,
  startJsonServer,
  stopServer,
} from './harness.js';

const SKIP = NO_BROWSER || NO_POSTGRES;
let tmp = '';
let pg: PgCluster | undefined;
let f: EvalFixture | undefined;
let runId = 0;
let server: Server | undefined;
let worker: ChildProcess | undefined;
let workerLog = '';
let browser: BrowserContext | undefined;
let page: Page;
const errors: string[] = [];

before(async () => {
  if (SKIP) return;
  tmp = prepareWorkspace('xwb-e2e-queue-').tmp;
  pg = await startPgCluster();
  f = await evalFixture(12);
  runId = await f.makeRun();
  server = await startJsonServer(
    'xwb serve --queue',
    ['--import', 'tsx', join(ROOT, 'src/cli/run.ts'), 'serve', '--db', f.dbPath, '--port', '0', '--json'],
    { XWB_RENDERER_DIR: join(tmp, 'renderer'), XWB_QUEUE: pg.url },
  );
  worker = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/run.ts', 'worker', '--queue', pg.url, '--db', f.dbPath],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, XWB_ENGINE: 'wasm' } },
  );
  worker.stderr?.on('data', (d: Buffer) => {
    workerLog += d.toString();
  });
  ({ browser, page } = await launchChromium(tmp));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource: .* 40\d/.test(m.text())) errors.push(m.text());
  });
});

after(async () => {
  await browser?.close();
  await stopServer(server?.child);
  await stopServer(worker, 'SIGKILL');
  f?.done();
  pg?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('a job run by a separate worker process shows its progress live on the Jobs screen', {
  skip: SKIP,
}, async () => {
  await page.goto(server!.launchUrl);
  await openScreen(page, 'jobs');
  const job = await pageCallOk<{ id: number; status: string }>(page, 'explain.start', {
    runId,
    methods: ['gradient', 'occlusion'],
    split: 'trainval',
    batchSize: 1,
    engine: 'wasm',
  });
  assert.equal(job.status, 'queued');
  const item = page.locator(`li[data-kind=explain]`).first();
  await item.waitFor();
  // Progress counts as the page shows them, read without reloading, until the job ends.
  const counts: number[] = [];
  for (const deadline = Date.now() + 180_000; ; ) {
    const status = await item.getAttribute('data-status');
    const line =
      (await item
        .locator('.line')
        .textContent()
        .catch(() => '')) ?? '';
    const m = /^(\d+) \/ 24/.exec(line);
    if (m && Number(m[1]) !== counts.at(-1)) counts.push(Number(m[1]));
    if (counts.length === 2) await page.screenshot({ path: join(SHOTS, 'jobs-worker-running.png') });
    if (status === 'done' || status === 'failed') break;
    assert.ok(Date.now() < deadline, `the job did not end in 3 minutes: ${workerLog}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(await item.getAttribute('data-status'), 'done', workerLog);
  assert.ok(counts.length >= 3, `live progress in the page: ${counts.join(', ')}`);
  assert.deepEqual(
    counts,
    [...counts].sort((a, b) => a - b),
  );
  await page.screenshot({ path: join(SHOTS, 'jobs-worker-done.png') });
  const end = await pageCallOk<{ result: { worker: { name: string; engine: string } } }>(page, 'jobs.get', {
    jobId: job.id,
  });
  assert.match(end.result.worker.engine, /^wasm/);
  assert.match(workerLog, new RegExp(`job ${job.id}: done`));
  assert.deepEqual(errors, []);
});

test('a training run by the worker process shows its epochs live on the Training screen', {
  skip: SKIP,
}, async () => {
  await page.goto(server!.launchUrl);
  const datasetId = f!.store.runs.get(runId)!.datasetId;
  const { runId: trained } = await pageCallOk<{ runId: number }>(page, 'train.start', {
    datasetId,
    model: 'classifier',
    size: 16,
    base: 4,
    // Long enough (a few seconds) for the page to see it running: the server reads the run twice a second.
    epochs: [12, 0, 0],
    alpha: [1, 1, 1],
    batchSize: 2,
    engine: 'wasm',
  });
  await openScreen(page, 'training');
  const row = page.locator('.runs tr', { hasText: `#${trained}` });
  await row.click();
  // The epochs the page shows, read without reloading, as the worker writes them into the store.
  const seen: string[] = [];
  const statuses: string[] = [];
  for (const deadline = Date.now() + 180_000; ; ) {
    const status = (await row.locator('td.status').textContent()) ?? '';
    if (status !== statuses.at(-1)) statuses.push(status);
    const last =
      (await page
        .locator('.detail p.muted.small')
        .textContent()
        .catch(() => '')) ?? '';
    const m = /^Last: (\w+ epoch \d+)/.exec(last);
    if (m && m[1] !== seen.at(-1)) {
      seen.push(m[1]);
      if (seen.length === 2) await page.screenshot({ path: join(SHOTS, 'training-worker-running.png') });
    }
    if (status === 'done' || status === 'failed') break;
    assert.ok(Date.now() < deadline, `the run did not end in 3 minutes: ${workerLog}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(statuses.at(-1), 'done', `${f!.store.runs.get(trained)?.error}\n${workerLog}`);
  // Its last epoch as the store has it (early stopping may end the phase before 12).
  const lastRow = f!.store.runs.epochs(trained).at(-1)!;
  await page
    .locator('.detail p.muted.small', { hasText: `Last: classifier epoch ${lastRow.epoch},` })
    .waitFor();
  await page.screenshot({ path: join(SHOTS, 'training-worker-done.png') });
  assert.ok(statuses.includes('running'), `the row went through running: ${statuses.join(' → ')}`);
  assert.ok(seen.length >= 2, `epochs appeared one by one in the page: ${seen.join(', ')}`);
  assert.equal(await row.locator('td.small').textContent(), 'wasm', 'the worker’s engine, once it ran');
  assert.match(workerLog, /job \d+ \(train\) started/);
  assert.deepEqual(errors, []);
});
