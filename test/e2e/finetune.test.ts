/**
 * End-to-end: fine-tuning from the training form ("Start from run …" + phase checkboxes) and the banner a map
 * warning raises while the run is going. A classifier run is trained first through the contract; the form then
 * starts an explainer-only run from it whose learning rate is too small for the map to leave white, which the
 * trainer reports after its first epoch ("selects nothing").
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
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

let tmp = '';
let server: Server | undefined;
let browser: BrowserContext | undefined;
let page: Page;
const errors: string[] = [];

before(async () => {
  if (NO_BROWSER) return;
  const ws = prepareWorkspace('xwb-e2e-finetune-');
  tmp = ws.tmp;
  const db = join(tmp, 'store.db');
  await generateDataset(join(tmp, 'cue'), {
    images: 32,
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
    if (m.type() === 'error' && !/^Failed to load resource: .* 400/.test(m.text())) errors.push(m.text());
  });
});

after(async () => {
  await browser?.close();
  await stopServer(server?.child);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function waitDone(runId: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const r = await pageCallOk<{ status: string }>(page, 'runs.get', { runId });
    if (r.status === 'done') return;
    assert.ok(['queued', 'running'].includes(r.status), `run ${runId} ended ${r.status}`);
    assert.ok(Date.now() < deadline, `run ${runId} did not finish in 2 minutes`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

test('start from a run with only the explainer phase; the white-map warning shows as a banner', {
  skip: NO_BROWSER,
}, async () => {
  await page.goto(server!.launchUrl);
  const { runId: sourceId } = await pageCallOk<{ runId: number }>(page, 'train.start', {
    datasetId: 1,
    model: 'expclass',
    // The reference head starts white (BN β 3, tanh): the saturated warning below.
    faithful: true,
    batchNorm: true,
    size: 32,
    base: 4,
    epochs: [1, 1, 1],
    alpha: [1, 0.25, 0.9],
    phases: ['classifier'],
    batchSize: 8,
    engine: 'wasm',
  });
  await waitDone(sourceId);
  await page.reload();
  await openScreen(page, 'training');
  const form = page.getByRole('form', { name: 'Start a training run' });
  await form.waitFor();
  await form.getByLabel('Start from run').selectOption(String(sourceId));
  // The source's model is taken and locked.
  assert.equal(await form.locator('label:has-text("Base width") input').inputValue(), '4');
  assert.equal(await form.locator('label:has-text("Input size") input').isDisabled(), true);
  await form.getByLabel('train the classifier phase').uncheck();
  await form.getByLabel('train the joint phase').uncheck();
  await form.getByLabel('explainer epochs').fill('1');
  for (const p of ['classifier', 'explainer', 'joint'])
    await form.getByLabel(`${p} learning rate`).fill('0.000001');
  await form.locator('label:has-text("Engine") select').selectOption('wasm');
  await page.screenshot({ path: join(SHOTS, 'training-finetune-form.png') });
  await form.getByRole('button', { name: 'Start training' }).click();

  // At a learning rate of 1e-6 the reference head's map stays white: reported as it happens.
  const banner = page.locator('.banner[data-code=saturated]');
  await banner.first().waitFor({ timeout: 120_000 });
  assert.match((await banner.first().textContent()) ?? '', /What to change:/);
  await page.screenshot({ path: join(SHOTS, 'training-warning.png'), fullPage: true });

  const runs = await pageCallOk<{ id: number; config: { initFrom: unknown } }[]>(page, 'runs.list', {});
  const tuned = runs.find((r) => r.id !== sourceId)!;
  assert.deepEqual(tuned.config.initFrom, { run: sourceId, checkpoint: 'best' });
  await waitDone(tuned.id);
  // After a reload the banner comes from the stored epochs.
  await page.reload();
  await openScreen(page, 'training');
  await page.locator('.runs tr', { hasText: `#${tuned.id}` }).click();
  await page.locator('.banner[data-code=saturated]').first().waitFor();
  assert.deepEqual(errors, []);
});
