/**
 * End-to-end: the long jobs from the workbench (issue 12). A run is trained through the contract; then, in the
 * browser: an evaluation job started from the Jobs screen shows progress, survives a page reload and ends with its
 * table; an export with explanations writes its folder; a cancelled run shows "cancelled" with a Resume button,
 * and the resumed run shows "running" in the runs table while it trains (it used to say "queued" all along);
 * the viewer's run picker leaves cancelled runs out unless asked for.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { importDataset } from '../../src/data/import/import.js';
import { generateDataset } from '../../src/data/synthetic/generate.js';
import { openStore } from '../../src/store/index.js';
import {
  launchChromium,
  NO_BROWSER,
  openScreen,
  pageCallOk,
  prepareWorkspace,
  type Server,
  SHOTS,
  startXwbServe,
  stopServer,
} from './harness.js';
import { waitForPage } from './wait.js';

let tmp = '';
let server: Server | undefined;
let browser: BrowserContext | undefined;
let page: Page;
const errors: string[] = [];

before(async () => {
  if (NO_BROWSER) return;
  const ws = prepareWorkspace('xwb-e2e-jobs-');
  tmp = ws.tmp;
  const db = join(tmp, 'store.db');
  await generateDataset(join(tmp, 'cue'), {
    images: 24,
    width: 32,
    height: 32,
    shapesPerImage: 3,
    colourCue: true,
    seed: 5,
  });
  const store = openStore(db);
  await importDataset(store, join(tmp, 'cue'), { name: 'cue' });
  store.close();
  server = await startXwbServe(db, ws.rendererDir);
  ({ browser, page } = await launchChromium(tmp));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource: .* 40\d/.test(m.text())) errors.push(m.text());
  });
});

after(async () => {
  await browser?.close();
  await stopServer(server?.child);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const TRAIN = {
  datasetId: 1,
  model: 'expclass',
  size: 32,
  base: 4,
  alpha: [1, 0.25, 0.9],
  batchSize: 8,
  engine: 'wasm',
};

async function waitRun(runId: number, want: string[], timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await pageCallOk<{ status: string; epoch: number | null; phase: string | null }>(
      page,
      'runs.get',
      {
        runId,
      },
    );
    if (want.includes(r.status)) return r.status;
    assert.ok(
      Date.now() < deadline,
      `run ${runId} is ${r.status}, not ${want.join('/')}, after ${timeoutMs} ms`,
    );
    await new Promise((res) => setTimeout(res, 300));
  }
}

const jobItem = (kind: string) => page.locator(`li[data-kind=${kind}]`).first();

test('evaluation and export from the Jobs screen: progress, a reload in between, results', {
  skip: NO_BROWSER,
}, async () => {
  await page.goto(server!.launchUrl);
  const { runId } = await pageCallOk<{ runId: number }>(page, 'train.start', { ...TRAIN, epochs: [1, 1, 1] });
  await waitRun(runId, ['done']);
  await page.reload();
  await openScreen(page, 'jobs');
  const form = page.getByRole('form', { name: 'Explain or evaluate a run' });
  await form.waitFor();
  await form.getByLabel('Job run').selectOption(String(runId));
  await form.getByLabel('Job split').selectOption('trainval');
  await form.getByLabel('Job methods').fill('gradient, gradcam, explainer');
  // Faithfulness makes it long enough to watch (about 100 model passes per image).
  await form.getByLabel('Job metrics').fill('default, faithfulness');
  await form.getByRole('button', { name: 'Start evaluation' }).click();
  const item = jobItem('eval');
  await item.waitFor();
  // Wait for some progress past the start, so the bar and its ETA have something to show.
  await waitForPage(
    page,
    `/^[1-9]\\d* \\/ /.test(document.querySelector('li[data-kind=eval] .line')?.textContent ?? '')`,
    120_000,
  );
  await page.screenshot({ path: join(SHOTS, 'jobs-eval-running.png') });
  const before = await item.locator('.line').textContent();
  assert.match(before ?? '', /\d+ \/ \d+ · (explain|measure) \w+[^·]* · ETA/);

  // A reload finds the job from the server, still going or done.
  await page.reload();
  await openScreen(page, 'jobs');
  await jobItem('eval').waitFor();
  assert.match(
    (await jobItem('eval').locator('.label').textContent()) ?? '',
    /eval run \d+: gradient, gradcam/,
  );
  await page.locator('li[data-kind=eval][data-status=done]').waitFor({ timeout: 240_000 });
  assert.match((await jobItem('eval').locator('.outcome').textContent()) ?? '', /values on 24 images/);
  await page.screenshot({ path: join(SHOTS, 'jobs-eval-done.png') });
  // The values are the run's metric table now.
  const table = await pageCallOk<{ rows: { method: string; metric: string; n: number }[] }>(
    page,
    'metrics.table',
    {
      runId,
    },
  );
  assert.ok(table.rows.some((r) => r.method === 'gradcam' && r.metric === 'deletion' && r.n > 0));

  // Export: a relative folder is refused next to the field, then a full path with explanations.
  const exp = page.getByRole('form', { name: 'Export the dataset' });
  await exp.getByLabel('Export folder').fill('out/cue');
  await exp.getByRole('button', { name: 'Export' }).click();
  assert.match((await exp.locator('.error').first().textContent()) ?? '', /full path/);
  const out = join(tmp, 'exported', 'cue');
  await exp.getByLabel('Export folder').fill(out);
  await exp.getByLabel('with explanations').check();
  await exp.getByRole('button', { name: 'Export' }).click();
  await page.locator('li[data-kind=export][data-status=done]').waitFor({ timeout: 60_000 });
  assert.match((await jobItem('export').locator('.outcome').textContent()) ?? '', /24 images written to /);
  assert.equal(readdirSync(join(out, 'JPEGImages')).length, 24);
  assert.ok(existsSync(join(out, 'explanations')), 'the maps were exported');
  await page.screenshot({ path: join(SHOTS, 'jobs-export-done.png'), fullPage: true });
  assert.deepEqual(errors, []);
});

test('a cancelled run resumes from the runs table, which shows it running; the viewer hides cancelled runs', {
  skip: NO_BROWSER,
}, async () => {
  await page.goto(server!.launchUrl);
  await openScreen(page, 'training');
  const { runId } = await pageCallOk<{ runId: number }>(page, 'train.start', {
    ...TRAIN,
    epochs: [1, 1, 40],
  });
  const row = page.locator('.runs tr', { hasText: `#${runId}` });
  // The table says "running" while the run trains (no reload: the status event).
  await row.locator('td.status[data-status=running]').waitFor({ timeout: 60_000 });
  // Cancel once the joint phase has a checkpoint to resume from.
  for (const deadline = Date.now() + 180_000; ; ) {
    const d = await pageCallOk<{ epochs: { phase: string }[] }>(page, 'runs.get', { runId });
    if (d.epochs.some((e) => e.phase === 'joint')) break;
    assert.ok(Date.now() < deadline, 'no joint epoch in 3 minutes');
    await new Promise((res) => setTimeout(res, 300));
  }
  // The row's phase and epoch follow the progress events.
  await waitForPage(
    page,
    `[...document.querySelectorAll('.runs tr')].some((tr) => tr.textContent.includes('#${runId}') && /joint/.test(tr.textContent))`,
    60_000,
  );
  await row.getByRole('button', { name: 'Cancel' }).click();
  await row.locator('td.status[data-status=cancelled]').waitFor({ timeout: 60_000 });
  await page.screenshot({ path: join(SHOTS, 'runs-cancelled-resume.png') });
  await row.getByRole('button', { name: `Resume run ${runId}` }).click();
  let resumed: { id: number } | undefined;
  for (const deadline = Date.now() + 60_000; !resumed; ) {
    const runs = await pageCallOk<{ id: number; config: { resumedFrom?: number } }[]>(page, 'runs.list', {});
    resumed = runs.find((r) => r.config.resumedFrom === runId);
    assert.ok(resumed || Date.now() < deadline, 'no run resumed from the cancelled one in a minute');
    if (!resumed) await new Promise((res) => setTimeout(res, 300));
  }
  const newRow = page.locator('.runs tr', { hasText: `#${resumed.id}` });
  await newRow.locator('td.status[data-status=running]').waitFor({ timeout: 60_000 });
  await page.screenshot({ path: join(SHOTS, 'runs-resumed-running.png') });
  await newRow.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await waitRun(resumed.id, ['cancelled', 'done']), 'cancelled');

  // The viewer: both cancelled runs are left out of the picker until asked for.
  await openScreen(page, 'image').catch(() => page.locator('button[data-screen=image]').click());
  const picker = page.getByLabel('Run', { exact: true });
  await picker.waitFor();
  const options = async () => (await picker.locator('option').allTextContents()).join('|');
  assert.doesNotMatch(await options(), /cancelled/);
  await page.getByLabel('Show cancelled runs').check();
  assert.match(await options(), new RegExp(`#${runId} expclass · cancelled`));
  await page.screenshot({ path: join(SHOTS, 'viewer-show-cancelled.png') });
  assert.deepEqual(errors, []);
});
