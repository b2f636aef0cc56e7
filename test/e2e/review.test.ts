/**
 * End-to-end review in Chromium through web mode: a tiny run is trained through the API, a blinded session created
 * through the API, and five explanations rated by keyboard. The page's HTML must never name a method. Midway the
 * server is SIGKILLed; a rating given while it is down stays visibly unsaved, and after a restart on the same store
 * every acknowledged rating is there, the unsaved one arrives from the page's queue, and rating resumes at the
 * right item. Writes docs/screenshots/review.png and review-analysis.png.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { openStore } from '../../src/store/index.js';
import {
  canvasStats,
  launchChromium,
  NO_BROWSER,
  openScreen,
  pageCallOk,
  prepareWorkspace,
  type Server,
  SHOTS,
  startXwbServe,
  stopServer,
  strongShare,
  trainTinyRun,
} from './harness.js';
import { waitForPage } from './wait.js';

const METHODS = ['explainer', 'gradient'];

let tmp = '';
let db = '';
let rendererDir = '';
let server: Server | undefined;
let browser: BrowserContext | undefined;
let page: Page;
let port = 0;
/** Every method name the workbench knows: none may appear in the page while rating a blinded session. */
let allMethods: string[] = [];
const jsErrors: string[] = [];

const call = <T>(method: string, body: unknown) => pageCallOk<T>(page, method, body);

const wordRe = (name: string) =>
  new RegExp(`(^|[^a-z0-9_-])${name.toLowerCase().replace(/[-/\\^$*+?.()|[\]{}]/g, '\\$&')}([^a-z0-9_-]|$)`);

/** Every text, comment, attribute value and field value in the page, and its title. */
const PAGE_STRINGS = `(() => {
  const out = [document.title];
  const w = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_COMMENT);
  while (w.nextNode()) out.push(w.currentNode.nodeValue);
  for (const el of document.querySelectorAll('*')) for (const a of el.attributes) out.push(a.value);
  for (const el of document.querySelectorAll('input, textarea, select')) out.push(el.value);
  return out.join('\\n');
})()`;

/**
 * No method name anywhere in the page: not in its full HTML (method names that are also HTML tag names, like the
 * "input" control, are checked in everything except the markup itself), nor in any text, attribute or field.
 */
async function assertBlind(where: string): Promise<void> {
  const html = (await page.content()).toLowerCase();
  const strings = ((await page.evaluate(PAGE_STRINGS)) as string).toLowerCase();
  for (const m of allMethods) {
    const re = wordRe(m);
    if (!HTML_TAGS.has(m)) assert.ok(!re.test(html), `${where}: the page's HTML names the method "${m}"`);
    assert.ok(!re.test(strings), `${where}: the page's text or attributes name the method "${m}"`);
  }
}

const HTML_TAGS = new Set(['input', 'label', 'form', 'select', 'option', 'table', 'canvas', 'img']);

before(async () => {
  if (NO_BROWSER) return;
  ({ tmp, rendererDir } = prepareWorkspace('xwb-e2e-review-'));
  db = join(tmp, 'store.db');
  server = await startXwbServe(db, rendererDir);
  port = server.port;
  ({ browser, page } = await launchChromium(tmp));
  page.on('pageerror', (e) => jsErrors.push(e.message));
  page.on('console', (m) => {
    const text = m.text();
    // While the server is down on purpose, failed fetches are expected.
    if (m.type() === 'error' && !/Failed to load resource|ERR_CONNECTION_REFUSED/.test(text))
      jsErrors.push(text);
    for (const name of allMethods) {
      if (!HTML_TAGS.has(name) && wordRe(name).test(text.toLowerCase()))
        jsErrors.push(`the console names a method: ${text}`);
    }
  });
  await page.goto(server.launchUrl);
});

after(async () => {
  await browser?.close();
  await stopServer(server?.child);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

let sessionId = 0;

test('a tiny run and a blinded session, through the API', {
  skip: NO_BROWSER,
  timeout: 240_000,
}, async () => {
  await call('datasets.generate', {
    name: 'review shapes',
    options: { images: 24, size: 32, valFraction: 0.3, seed: 4 },
  });
  allMethods = (await call<{ name: string }[]>('explain.methods', {})).map((m) => m.name);
  assert.ok(METHODS.every((m) => allMethods.includes(m)));
  const runId = await trainTinyRun(page, { datasetId: 1, size: 32, timeoutMs: 180_000 });
  const created = await call<{ session: { id: number }; items: number; computed: number }>('review.create', {
    name: 'Reader study 1',
    runIds: [runId],
    methods: METHODS,
    sample: { split: 'val', n: 4, seed: 1 },
    raters: ['Ann'],
  });
  assert.equal(created.items, 8);
  assert.equal(created.computed, 8);
  sessionId = created.session.id;
});

/**
 * What a rater sees of the current item: the session's one rule in words, a legend without raw values (blinded),
 * the original beside the overlay, a map that is not a flat dark wash, and `o` / the opacity slider working.
 */
async function checkView(label: string): Promise<void> {
  assert.match(
    (await page.getByTestId('review-rule').textContent()) ?? '',
    /drawn the same way: scaled per image/,
  );
  const legend = page.locator('.review-canvas [data-testid=legend]').first();
  await legend.waitFor();
  assert.match(
    (await legend.getByTestId('legend-rule').textContent()) ?? '',
    /per image; Captum's rule/,
    `${label}: the legend states the rule`,
  );
  const ticks = ((await legend.locator('.ticks').textContent()) ?? '').replace(/\s+/g, ' ').trim();
  assert.ok(
    /^(low high|− 0 \+)$/.test(ticks),
    `${label}: a blinded legend shows no raw values, got "${ticks}"`,
  );
  await page.getByTestId('review-original').locator('img').waitFor();
  const [drawn] = await canvasStats(page, '.review-canvas canvas.overlay');
  const share = strongShare(drawn, await legend.getAttribute('data-kind'));
  // The old failure: small values on an absolute scale, a flat dark wash with nothing strong. (All strong is a
  // truthful picture of a map that highlights everything, as an untrained explainer's does.)
  assert.ok(share > 0.001, `${label}: a flat dark wash (strong-pixel share ${share})`);
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('o');
  assert.equal(await page.locator('.review-canvas canvas.overlay').count(), 0, 'o hides the overlay');
  await page.keyboard.press('o');
  await page.locator('.review-canvas canvas.overlay').first().waitFor();
  await page.getByLabel('Overlay opacity').fill('0.3');
  assert.equal(
    await page.evaluate("getComputedStyle(document.querySelector('.review-canvas canvas.overlay')).opacity"),
    '0.3',
  );
  await page.getByLabel('Overlay opacity').fill('0.6');
}

/** Scores the current item by keyboard and saves it; returns the label that was rated. */
async function rateByKeyboard(
  scores: [number, number, number],
  extra: { flag?: boolean; comment?: string } = {},
) {
  const label = (await page.getByTestId('item-label').textContent())?.trim() ?? '';
  await page.locator('body').click({ position: { x: 5, y: 5 } }); // keyboard focus on the page, not a field
  for (const s of scores) await page.keyboard.press(String(s));
  if (extra.flag) await page.keyboard.press('x');
  if (extra.comment) {
    await page.keyboard.press('c');
    await page.keyboard.type(extra.comment);
    // Digits typed in the comment stay there and score nothing.
    await page.keyboard.press('Escape');
  }
  await assertBlind(`before saving ${label}`);
  await page.keyboard.press('Enter');
  return label;
}

test('rate by keyboard, survive a SIGKILL of the server, resume at the right item', {
  skip: NO_BROWSER,
  timeout: 180_000,
}, async () => {
  await page.reload(); // the page opened before the dataset existed
  await openScreen(page, 'review');
  await page.getByLabel('Your name').fill('Ann');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.getByTestId('item-label').filter({ hasText: 'Explanation 1' }).waitFor();
  await page.locator('.review-canvas canvas.overlay').first().waitFor();
  await assertBlind('first item');
  await checkView('Explanation 1');

  // 1: plain scores.
  await rateByKeyboard([4, 3, 5]);
  await page.getByTestId('item-label').filter({ hasText: 'Explanation 2' }).waitFor();
  await page.locator('.review-canvas canvas.overlay').first().waitFor();
  await checkView('Explanation 2');
  // 2: Tab moves focus; the wrong-thing flag; a comment with digits in it.
  await rateByKeyboard([2, 2, 1], { flag: true, comment: 'looks at 3 circles' });
  await page.getByTestId('item-label').filter({ hasText: 'Explanation 3' }).waitFor();
  // 3: paint where it should have looked, with a larger brush, then save.
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press(']');
  await page.keyboard.press(']');
  const stage = await page.locator('.review-canvas .stage').first().boundingBox();
  assert.ok(stage);
  await page.mouse.move(stage.x + stage.width * 0.3, stage.y + stage.height * 0.3);
  await page.mouse.down();
  await page.mouse.move(stage.x + stage.width * 0.6, stage.y + stage.height * 0.5, { steps: 8 });
  await page.mouse.up();
  await page.locator('.review-canvas canvas.paint').waitFor();
  for (const s of [3, 4, 3]) await page.keyboard.press(String(s));
  await page.screenshot({ path: join(SHOTS, 'review.png') });
  await assertBlind('while painting');
  await page.keyboard.press('Enter');
  await page.getByTestId('item-label').filter({ hasText: 'Explanation 4' }).waitFor();
  // Three acknowledged: the page says "saved" for each.
  await page.locator('.history li[data-saved=true]').nth(2).waitFor();
  assert.equal(await page.locator('.history li[data-saved=false]').count(), 0);

  // The server dies without warning.
  await stopServer(server?.child, 'SIGKILL');
  // 4: rated while the server is down: shown unsaved, retried, never dropped.
  const fourth = await rateByKeyboard([5, 5, 4]);
  assert.equal(fourth, 'Explanation 4');
  await page.locator('.history li[data-saved=false]').first().waitFor();
  await page.getByTestId('save-error').waitFor();
  assert.match((await page.getByTestId('save-error').textContent()) ?? '', /not saved yet/);

  // Every acknowledged rating is in the store (read directly, the server being down).
  const store = openStore(db);
  try {
    const ratings = store.ratings.list({ sessionId });
    assert.equal(ratings.length, 3);
    const byPos = ratings
      .map((r) => ({ r, pos: store.ratings.getItem(r.reviewItemId!)!.position }))
      .sort((a, b) => a.pos - b.pos);
    assert.deepEqual(
      byPos.map(({ r }) => [r.correctness, r.completeness, r.compactness, r.wrongFlag]),
      [
        [4, 3, 5, false],
        [2, 2, 1, true],
        [3, 4, 3, false],
      ],
    );
    assert.equal(byPos[1].r.comment, 'looks at 3 circles');
    const third = store.explanations.getMeta(byPos[2].r.explanationId)!;
    const painted = store.masks.list(third.imageId).filter((m) => m.kind === 'should-highlight');
    assert.equal(painted.length, 1, 'the painted mask was stored with the rating');
  } finally {
    store.close();
  }

  // Restart on the same store and port; the page signs in again (new token) and its queue delivers rating 4.
  server = await startXwbServe(db, rendererDir, port);
  await page.goto(server.launchUrl);
  await openScreen(page, 'review');
  await page.getByTestId('rater').filter({ hasText: 'Ann' }).waitFor();
  await page.getByTestId('item-label').filter({ hasText: 'Explanation 5' }).waitFor();
  await waitForPage(page, "document.querySelector('[data-testid=save-error]') === null");
  const next = await call<{ done: number; total: number; item: { label: string } }>('review.next', {
    sessionId,
    rater: 'Ann',
  });
  assert.deepEqual([next.done, next.total, next.item.label], [4, 8, 'Explanation 5']);

  // 5: the fifth keyboard rating, after the restart.
  await rateByKeyboard([1, 2, 3]);
  await page.getByTestId('item-label').filter({ hasText: 'Explanation 6' }).waitFor();
  await page.locator('.history li[data-saved=true]').first().waitFor();
  await page.getByTestId('progress').filter({ hasText: '5 / 8 rated' }).waitFor();
  const after5 = await call<{ done: number }>('review.next', { sessionId, rater: 'Ann' });
  assert.equal(after5.done, 5);
  await assertBlind('after the restart');
  assert.deepEqual(jsErrors, []);
});

test('the analysis view shows agreement, per-method means and the metric table', {
  skip: NO_BROWSER,
}, async () => {
  await page.getByRole('tab', { name: 'Analysis' }).click();
  await page.locator('table[data-table=methods] tbody tr').first().waitFor();
  const methods = await page.locator('table[data-table=methods] tbody td:first-child').allTextContents();
  assert.deepEqual(methods.sort(), [...METHODS].sort(), 'the analysis is unblinded');
  await page.locator('table[data-table=agreement]').waitFor();
  await page.screenshot({ path: join(SHOTS, 'review-analysis.png') });
});
