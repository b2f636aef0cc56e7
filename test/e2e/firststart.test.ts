/**
 * End-to-end first start: `xwb start` on an empty store (web mode: no Electron here) generates the demo set and
 * trains the small demo model in the background; the gallery shows its progress, then a way to its explanation.
 * Then the view lives in the address (a reload comes back to it) and the arrow keys move through the grid.
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
  prepareWorkspace,
  ROOT,
  type Server,
  SHOTS,
  startJsonServer,
  stopServer,
} from './harness.js';
import { waitForPage } from './wait.js';

let tmp = '';
let server: Server | undefined;
let browser: BrowserContext | undefined;
let page: Page;
const errors: string[] = [];

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`) });

before(async () => {
  if (NO_BROWSER) return;
  const ws = prepareWorkspace('xwb-e2e-first-');
  tmp = ws.tmp;
  server = await startJsonServer(
    'xwb start',
    [
      '--import',
      'tsx',
      join(ROOT, 'src/cli/run.ts'),
      'start',
      '--db',
      join(tmp, 'store.db'),
      '--port',
      '0',
      '--json',
    ],
    { XWB_RENDERER_DIR: ws.rendererDir },
  );
  ({ browser, page } = await launchChromium(tmp));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
});

after(async () => {
  await browser?.close();
  await stopServer(server?.child);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('first start: the demo model trains with visible progress, then its explanation is one click away', {
  skip: NO_BROWSER,
  // About a minute alone on 2 cores; the generous bound is for a machine shared with other training.
  timeout: 600_000,
}, async () => {
  assert.ok(server);
  await page.goto(server.launchUrl);
  const strip = page.getByTestId('next-step');
  await strip.waitFor();
  assert.match((await strip.textContent()) ?? '', /The demo dataset.*triangle/s);
  // Training in the background, with a progress bar that moves.
  await page.locator('[data-testid=next-step][data-step=training]').waitFor({ timeout: 30_000 });
  await waitForPage(
    page,
    "Number(document.querySelector('[data-testid=demo-progress]')?.value ?? 0) > 0",
    120_000,
  );
  const first = Number(await page.evaluate("document.querySelector('[data-testid=demo-progress]').value"));
  await shot('first-start-training');
  // The gallery shows thumbnails, not the originals.
  const src = await page.locator('.gallery .cell img').first().getAttribute('src');
  assert.match(src ?? '', /^\/files\/thumb\/\d+\?size=(128|256)$/);
  await waitForPage(
    page,
    `Number(document.querySelector('[data-testid=demo-progress]')?.value ?? 1) > ${first} || !!document.querySelector('[data-step=trained]')`,
    120_000,
  );
  await page.locator('[data-testid=next-step][data-step=trained]').waitFor({ timeout: 540_000 });
  await shot('first-start-trained');
  await page.getByTestId('see-explanation').click();
  await page.locator('button[data-screen=image].active').waitFor();
  await page.locator('.image-view .viewer canvas.overlay').waitFor({ timeout: 60_000 });
  await page
    .getByTestId('map-info')
    .filter({ hasText: /^explainer · / })
    .waitFor({ timeout: 60_000 });
  const [overlay] = await canvasStats(page, '.image-view .viewer canvas.overlay');
  assert.ok(overlay.pixels > 0, 'an overlay canvas with pixels');
  await shot('first-start-explanation');
  assert.deepEqual(errors, []);
});

test('the view is in the address: a reload comes back to the same screen, image, run and overlay', {
  skip: NO_BROWSER,
}, async () => {
  // Move to the third image and change the opacity and method, as a person would.
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await page.getByTestId('position').filter({ hasText: /^3 \// }).waitFor();
  await page.keyboard.press('['); // opacity 0.6 → 0.5
  await page.getByRole('combobox', { name: 'Explanation method' }).selectOption('gradient');
  const runValue = await page.getByRole('combobox', { name: 'Run' }).inputValue();
  await waitForPage(page, "location.hash.includes('m=gradient') && location.hash.includes('i=2')");
  const hash = new URL(page.url()).hash;
  assert.match(hash, /^#\/image\?/);
  assert.match(hash, /op=0\.5/);
  assert.match(hash, new RegExp(`run=${runValue}`));

  await page.reload();
  await page.locator('button[data-screen=image].active').waitFor();
  await page.getByTestId('position').filter({ hasText: /^3 \// }).waitFor();
  assert.equal(await page.getByRole('combobox', { name: 'Run' }).inputValue(), runValue);
  assert.equal(await page.getByRole('combobox', { name: 'Explanation method' }).inputValue(), 'gradient');
  assert.equal(new URL(page.url()).hash, hash, 'the address is unchanged by the reload');
  // Back returns to the gallery the image was opened from.
  await page.goBack();
  await page.locator('button[data-screen=gallery].active').waitFor();
});

test('arrow keys move the selection through the gallery grid; Enter opens it', {
  skip: NO_BROWSER,
}, async () => {
  await page.locator('button[data-screen=gallery]').click();
  await page.locator('.gallery .cell img').first().waitFor();
  await page.keyboard.press('Home');
  const current = () => page.locator('.gallery .cell.current').getAttribute('data-index');
  assert.equal(await current(), '0');
  const columns = await page.evaluate(
    "(() => { const xs = [...document.querySelectorAll('.gallery .cell')].map((c) => c.getBoundingClientRect().top); return xs.filter((y) => y === xs[0]).length; })()",
  );
  assert.ok(Number(columns) > 1, `columns: ${columns}`);
  await page.keyboard.press('ArrowRight');
  assert.equal(await current(), '1');
  await page.keyboard.press('ArrowDown');
  assert.equal(await current(), String(1 + Number(columns)));
  await page.keyboard.press('ArrowLeft');
  assert.equal(await current(), String(Number(columns)));
  await page.keyboard.press('ArrowUp');
  assert.equal(await current(), '0');
  // The end of a long grid scrolls into view.
  await page.keyboard.press('End');
  const last = Number(await current());
  assert.equal(last, 199);
  assert.ok(await page.locator(`.gallery .cell[data-index="${last}"]`).isVisible());
  // The caption sits below the image, never over it.
  const cell = page.locator('.gallery .cell').first();
  const [img, tag] = await Promise.all([
    cell.locator('img').boundingBox(),
    cell.locator('.tag').first().boundingBox(),
  ]);
  assert.ok(img && tag && tag.y >= img.y + img.height - 0.5, 'caption below the image');
  await shot('gallery-keyboard');
  await page.keyboard.press('Enter');
  await page.locator('button[data-screen=image].active').waitFor();
  await page
    .getByTestId('position')
    .filter({ hasText: /^200 \// })
    .waitFor();
});
