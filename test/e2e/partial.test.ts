/**
 * Explanations on demand: a many-pass method's first, coarse map reaches the viewer (an `explain.partial`
 * event) and is drawn before the exact map, which then replaces it. Screenshots of both:
 * `explain-partial-first.png`, `explain-partial-final.png`.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import {
  canvasStats,
  launchChromium,
  NO_BROWSER,
  openScreen,
  prepareWorkspace,
  type Server,
  SHOTS,
  startXwbServe,
  stopServer,
  trainTinyRun,
} from './harness.js';

let tmp = '';
let server: Server | undefined;
let browser: BrowserContext | undefined;
let page: Page;

before(async () => {
  if (NO_BROWSER) return;
  const ws = prepareWorkspace('xwb-e2e-partial-');
  tmp = ws.tmp;
  server = await startXwbServe(join(tmp, 'store.db'), ws.rendererDir);
  ({ browser, page } = await launchChromium(tmp));
  await page.goto(server.launchUrl);
});

after(async () => {
  await browser?.close();
  await stopServer(server?.child);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('the viewer draws the coarse map first, then the exact one', { skip: NO_BROWSER }, async () => {
  const form = page.getByRole('form', { name: 'Generate a synthetic dataset' });
  await form.locator('input[name=name]').fill('partial shapes');
  await form.locator('input[name=images]').fill('12');
  await form.locator('input[name=size]').fill('64');
  await form.getByRole('button', { name: 'Generate' }).click();
  await page.locator('tr[data-dataset="partial shapes"]').waitFor({ timeout: 60_000 });
  const runId = await trainTinyRun(page, { datasetId: 1, size: 64, timeoutMs: 180_000 });
  await page.reload();
  await openScreen(page, 'image');
  await page.getByRole('combobox', { name: 'Run' }).selectOption(String(runId));
  await page.locator('.image-view .viewer canvas.overlay').waitFor({ timeout: 60_000 });
  // Record every state the map line goes through (the coarse map may be short-lived).
  await page.evaluate(`(() => {
    const seen = [];
    window.seenMaps = seen;
    new MutationObserver(() => {
      const info = document.querySelector('[data-testid=map-info]');
      if (info) seen.push(info.getAttribute('data-partial') + '|' + info.textContent);
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  })()`);
  await page.getByRole('combobox', { name: 'Explanation method' }).selectOption('smoothgrad');
  const first = page.locator('[data-testid=map-info][data-partial=yes]');
  await first.waitFor({ timeout: 120_000 });
  await page.screenshot({ path: join(SHOTS, 'explain-partial-first.png') });
  const [coarse] = await canvasStats(page, '.image-view .viewer canvas.overlay');
  await page.locator('[data-testid=map-info][data-partial=no]', { hasText: /^smoothgrad · / }).waitFor({
    timeout: 120_000,
  });
  await page.screenshot({ path: join(SHOTS, 'explain-partial-final.png') });
  const [exact] = await canvasStats(page, '.image-view .viewer canvas.overlay');
  assert.ok(coarse.visible > 0.001 && exact.visible > 0.001, 'both maps drawn');
  const seen = (await page.evaluate('window.seenMaps')) as string[];
  const firstPartial = seen.findIndex((s) => s.startsWith('yes|smoothgrad'));
  const lastExact = seen.findLastIndex((s) => s.startsWith('no|smoothgrad'));
  assert.ok(firstPartial >= 0 && lastExact > firstPartial, `coarse before exact: ${seen.join(' / ')}`);
});
