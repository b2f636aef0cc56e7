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
import { waitForPage } from './wait.js';

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
  // Record every state the map line goes through, and what the overlay shows on the next frame while the coarse
  // map is up: on a busy machine it may be replaced within a frame or two, so a live locator can miss it.
  await page.evaluate(`(() => {
    const seen = [];
    window.seenMaps = seen;
    window.coarseVisible = -1;
    const sample = () => requestAnimationFrame(() => {
      const info = document.querySelector('[data-testid=map-info]');
      const c = document.querySelector('.image-view .viewer canvas.overlay');
      if (!info || !c || info.getAttribute('data-partial') !== 'yes') return;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let visible = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) visible++;
      window.coarseVisible = Math.max(window.coarseVisible, visible / (d.length / 4));
    });
    new MutationObserver(() => {
      const info = document.querySelector('[data-testid=map-info]');
      if (!info) return;
      seen.push(info.getAttribute('data-partial') + '|' + info.textContent);
      if (info.getAttribute('data-partial') === 'yes') sample();
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  })()`);
  await page.getByRole('combobox', { name: 'Explanation method' }).selectOption('smoothgrad');
  await waitForPage(page, `window.seenMaps.some((s) => s.startsWith('yes|smoothgrad'))`, 120_000);
  if ((await page.locator('[data-testid=map-info][data-partial=yes]').count()) > 0) {
    await page.screenshot({ path: join(SHOTS, 'explain-partial-first.png') });
  }
  await page.locator('[data-testid=map-info][data-partial=no]', { hasText: /^smoothgrad · / }).waitFor({
    timeout: 120_000,
  });
  await page.screenshot({ path: join(SHOTS, 'explain-partial-final.png') });
  const [exact] = await canvasStats(page, '.image-view .viewer canvas.overlay');
  const coarseVisible = (await page.evaluate('window.coarseVisible')) as number;
  assert.ok(coarseVisible > 0.001, `the coarse map drawn (share of overlay pixels drawn: ${coarseVisible})`);
  assert.ok(exact.visible > 0.001, 'the exact map drawn');
  const seen = (await page.evaluate('window.seenMaps')) as string[];
  const firstPartial = seen.findIndex((s) => s.startsWith('yes|smoothgrad'));
  const lastExact = seen.findLastIndex((s) => s.startsWith('no|smoothgrad'));
  assert.ok(firstPartial >= 0 && lastExact > firstPartial, `coarse before exact: ${seen.join(' / ')}`);
});
