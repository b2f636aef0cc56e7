/**
 * Issue 12 in Chromium through web mode: a run whose images were explained for both classes (as after `explain`
 * and `eval`) gets a session from the form with the class field; the analysis measures the metrics itself, with
 * a progress bar, until the correlation table fills in; and a rater link opens that rater's queue only — no tabs,
 * no analysis (the API answers 403), no method name in the page. Writes review-create-class.png,
 * review-analysis-eval.png and review-rater-link.png.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import {
  launchChromium,
  NO_BROWSER,
  openScreen,
  pageCall,
  pageCallOk,
  prepareWorkspace,
  type Server,
  SHOTS,
  startXwbServe,
  stopServer,
  trainTinyRun,
} from './harness.js';

const METHODS = ['explainer', 'gradient'];

let tmp = '';
let server: Server | undefined;
let browser: BrowserContext | undefined;
let page: Page;
let runId = 0;
let allMethods: string[] = [];
const jsErrors: string[] = [];

const call = <T>(method: string, body: unknown) => pageCallOk<T>(page, method, body);

before(async () => {
  if (NO_BROWSER) return;
  let rendererDir: string;
  ({ tmp, rendererDir } = prepareWorkspace('xwb-e2e-review-access-'));
  server = await startXwbServe(join(tmp, 'store.db'), rendererDir);
  ({ browser, page } = await launchChromium(tmp));
  page.on('pageerror', (e) => jsErrors.push(e.message));
  page.on('console', (m) => {
    // The rater's page asks for nothing it may not have; a 403 in the console would mean it did.
    if (m.type() === 'error') jsErrors.push(m.text());
  });
  await page.goto(server.launchUrl);
});

after(async () => {
  await browser?.close();
  await stopServer(server?.child);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('a tiny run, explained for both classes of every val image', {
  skip: NO_BROWSER,
  timeout: 240_000,
}, async () => {
  await call('datasets.generate', {
    name: 'access shapes',
    options: { images: 24, size: 32, valFraction: 0.3, seed: 4 },
  });
  allMethods = (await call<{ name: string }[]>('explain.methods', {})).map((m) => m.name);
  runId = await trainTinyRun(page, { datasetId: 1, size: 32, timeoutMs: 180_000 });
  const val = await call<{ items: { id: number }[] }>('images.list', { datasetId: 1, split: 'val' });
  for (const im of val.items)
    for (const method of METHODS)
      for (const classIndex of [0, 1]) await call('explain', { runId, imageId: im.id, method, classIndex });
});

test('the form takes the class to rate; a session over two cached classes is created', {
  skip: NO_BROWSER,
  timeout: 120_000,
}, async () => {
  await page.reload();
  await openScreen(page, 'review');
  await page.getByRole('tab', { name: 'New session' }).click();
  const form = page.getByRole('form', { name: 'New review session' });
  await form.getByLabel('Name').fill('Two classes');
  await form.getByLabel(`#${runId}`, { exact: false }).check();
  for (const m of METHODS) await form.getByLabel(m, { exact: true }).check();
  await form.getByLabel('how many').fill('4');
  await form.getByLabel('Raters (comma-separated)').fill('Ann, Bob');
  const classField = form.getByLabel('Class to rate');
  const options = await classField.locator('option').allTextContents();
  assert.ok(
    options.some((o) => /prediction/.test(o)) && options.some((o) => /true class/.test(o)),
    String(options),
  );
  await classField.selectOption('target');
  await page.screenshot({ path: join(SHOTS, 'review-create-class.png') });
  await form.getByRole('button', { name: 'Create session' }).click();
  // Created: the page goes back to rating with the new session picked.
  await page
    .getByRole('combobox', { name: 'Review session' })
    .locator('option', { hasText: 'Two classes' })
    .waitFor({ state: 'attached' });
  const sessions = await call<{ id: number; name: string; raters: { total: number }[] }[]>(
    'review.sessions',
    {},
  );
  const s = sessions.find((x) => x.name === 'Two classes');
  assert.ok(s, JSON.stringify(sessions));
  assert.deepEqual(
    s.raters.map((r) => r.total),
    [8, 8],
  );
  assert.equal(await form.count(), 0, 'the form closed without an error');
});

test('the analysis measures the metrics itself, with progress, and the correlation fills in', {
  skip: NO_BROWSER,
  timeout: 300_000,
}, async () => {
  const sessions = await call<{ id: number; name: string }[]>('review.sessions', {});
  const sessionId = sessions.find((x) => x.name === 'Two classes')!.id;
  // Two raters' scores, so the table has something to correlate with.
  for (const rater of ['Ann', 'Bob']) {
    // Ann leaves two for her rater link.
    for (let k = 0; k < (rater === 'Ann' ? 6 : 8); k++) {
      const n = await call<{ item: { itemId: number } | null }>('review.next', { sessionId, rater });
      if (!n.item) break;
      const v = 1 + ((k * 3 + (rater === 'Bob' ? 1 : 0)) % 5);
      await call('review.rate', { itemId: n.item.itemId, correctness: v, completeness: v, compactness: v });
    }
  }
  await page.getByRole('tab', { name: 'Analysis' }).click();
  await page.getByTestId('eval-start').waitFor();
  assert.equal(await page.locator('table[data-table=metrics]').count(), 0, 'no metric measured yet');
  await page.getByTestId('eval-start').click();
  const progress = page.getByTestId('eval-progress');
  await progress.waitFor();
  assert.match((await progress.textContent()) ?? '', /Measuring the metrics: \d+ \/ 8 explanations/);
  await page.screenshot({ path: join(SHOTS, 'review-analysis-eval-running.png') });
  await page.locator('table[data-table=metrics] tbody tr').first().waitFor({ timeout: 240_000 });
  const metrics = await page.locator('table[data-table=metrics] tbody td:first-child').allTextContents();
  assert.ok(metrics.includes('sparseness') && metrics.includes('pointing-game'), String(metrics));
  assert.match(
    (await page.getByTestId('eval-state').textContent()) ?? '',
    /measured \d+ values on 8 explanations/,
  );
  await page.locator('table[data-table=metrics]').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(SHOTS, 'review-analysis-eval.png'), fullPage: true });
});

test('a rater link opens that rater’s queue only; the analysis is refused by the API', {
  skip: NO_BROWSER,
  timeout: 120_000,
}, async () => {
  await page.getByRole('button', { name: 'Show rater links' }).click();
  const link = await page.getByLabel('Rater link for Ann').inputValue();
  assert.match(link, /\/\?rater=xr1\./);
  const sessionId = Number(/xr1\.(\d+)\./.exec(link)?.[1]);
  await page.goto(link);
  await page.getByTestId('rater-only').filter({ hasText: 'Rating as Ann' }).waitFor();
  await page.getByTestId('item-label').waitFor();
  assert.equal(await page.locator('nav').count(), 0, 'no workbench tabs');
  assert.equal(await page.getByRole('tab', { name: 'Analysis' }).count(), 0, 'no analysis tab');
  const text = ((await page.evaluate('document.documentElement.outerHTML')) as string).toLowerCase();
  for (const m of allMethods) {
    if (m === 'input') continue; // an HTML tag name
    assert.ok(!new RegExp(`(^|[^a-z0-9_-])${m}([^a-z0-9_-]|$)`).test(text), `the rater's page names "${m}"`);
  }
  await page.getByTestId('progress').filter({ hasText: '6 / 8 rated' }).waitFor();
  await page.screenshot({ path: join(SHOTS, 'review-rater-link.png') });
  // Rating by keyboard works as before.
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  for (const k of ['3', '4', '5', 'Enter']) await page.keyboard.press(k);
  await page.locator('.history li[data-saved=true]').first().waitFor();
  await page.getByTestId('progress').filter({ hasText: '7 / 8 rated' }).waitFor();
  // Nothing the page asked for was refused (a 403 would be a console error).
  assert.deepEqual(jsErrors, []);
  // What the page does not offer, the API refuses.
  const summary = await pageCall(page, 'review.summary', { sessionId });
  assert.equal(summary.status, 403, JSON.stringify(summary.json));
  assert.match(String((summary.json as { error: string }).error), /analysis/);
  assert.equal((await pageCall(page, 'review.next', { sessionId, rater: 'Bob' })).status, 403);
  assert.equal((await pageCall(page, 'review.evaluate', { sessionId })).status, 403);
  assert.equal((await pageCall(page, 'datasets.list', {})).status, 403);
});
