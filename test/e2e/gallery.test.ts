/**
 * End-to-end: the gallery's prediction, correctness and rating filters and its sorts, in Debian's Chromium against
 * `xwb serve` on a real small store: a generated 12-image dataset imported as usual, one run with a stored
 * prediction per image and ratings on some of its explanations (written through the store's API, as the batch
 * jobs and the review screen write them), and a second run with no predictions. The expected images are worked
 * out here from the fixture, not asked of the server.
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
let runId = 0;
let emptyRunId = 0;
const errors: string[] = [];

interface Fixture {
  file: string;
  label: string;
  correct: boolean;
  probability: number;
  /** Mean rating score, or null when not rated. */
  rating: number | null;
}
let fixture: Fixture[] = [];

before(async () => {
  if (NO_BROWSER) return;
  const ws = prepareWorkspace('xwb-e2e-gallery-');
  tmp = ws.tmp;
  const data = join(tmp, 'shapes');
  await generateDataset(data, {
    images: 12,
    positives: 6,
    width: 96,
    height: 96,
    shapesPerImage: [3, 5],
    seed: 5,
  });
  const db = join(tmp, 'store.db');
  const store = openStore(db);
  try {
    const { dataset } = await importDataset(store, data, { name: 'gallery e2e' });
    const classes = dataset.classes;
    const images = store.images.list(dataset.id);
    assert.equal(images.length, 12);
    runId = store.runs.create({ datasetId: dataset.id, model: 'expclass', config: {}, engine: 'wasm' }).id;
    emptyRunId = store.runs.create({
      datasetId: dataset.id,
      model: 'classifier',
      config: {},
      engine: 'wasm',
    }).id;
    // Finished runs, as the gallery meets them after training (queued ones would show the training strip).
    for (const id of [runId, emptyRunId]) {
      store.runs.setStatus(id, 'running');
      store.runs.setStatus(id, 'done');
    }
    const rater = store.ratings.ensureRater('e2e');
    // Every third image predicted wrong; probabilities all different; images 1, 4, 7 rated 1, 5, 2.
    const ratings = new Map<number, 1 | 2 | 5>([
      [1, 1],
      [4, 5],
      [7, 2],
    ]);
    fixture = images.map((im, k) => {
      const truth = classes.indexOf(im.label as string);
      assert.ok(truth >= 0, `image ${im.relPath} is labelled with a class`);
      const correct = k % 3 !== 0;
      const probability = 0.5 + k * 0.04;
      store.predictions.putMany([
        {
          runId,
          imageId: im.id,
          classIndex: correct ? truth : 1 - truth,
          probability,
          trueProbability: correct ? probability : 1 - probability,
          correct,
          checkpoint: '/nowhere/final',
        },
      ]);
      const score = ratings.get(k) ?? null;
      if (score !== null) {
        const e = store.explanations.put({
          runId,
          imageId: im.id,
          classIndex: truth,
          method: 'gradcam',
          params: {},
          width: 1,
          height: 1,
          encoding: 'f32le',
          data: Buffer.alloc(4),
        });
        store.ratings.put({ raterId: rater.id, explanationId: e.id, correctness: score });
      }
      return { file: im.fileName, label: im.label as string, correct, probability, rating: score };
    });
  } finally {
    store.close();
  }
  server = await startXwbServe(db, ws.rendererDir);
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

/** The file names in the grid, in grid order (all 12 fit on one screen). */
async function shown(): Promise<string[]> {
  // Loaded cells only: a cell without its page has no image yet.
  return page.evaluate(
    "[...document.querySelectorAll('.gallery .cell')].sort((a, b) => a.dataset.index - b.dataset.index).map((c) => c.querySelector('img')?.alt ?? '?')",
  ) as Promise<string[]>;
}

async function waitShown(expected: string[]): Promise<void> {
  const want = JSON.stringify(expected);
  try {
    await waitForPage(
      page,
      `JSON.stringify([...document.querySelectorAll('.gallery .cell')].sort((a, b) => a.dataset.index - b.dataset.index).map((c) => c.querySelector('img')?.alt ?? '?')) === ${JSON.stringify(want)}`,
      20_000,
    );
  } catch {
    assert.deepEqual(await shown(), expected);
  }
}

const select = (name: string) => page.getByRole('combobox', { name });
const byPath = (xs: Fixture[]) => xs.map((x) => x.file).sort();

test('filter by correctness and by rating on a real store shows exactly those images', {
  skip: NO_BROWSER,
}, async () => {
  assert.ok(server);
  await page.goto(server.launchUrl);
  await page.locator('.gallery .cell img').first().waitFor({ timeout: 60_000 });
  await waitShown(byPath(fixture));
  // Without a run the prediction filters are off.
  assert.equal(await select('Filter by correctness').isDisabled(), true);

  await select('Run for predictions').selectOption(String(runId));
  await page.locator('.gallery .tag.pred').first().waitFor();
  await select('Filter by correctness').selectOption('wrong');
  const wrong = byPath(fixture.filter((f) => !f.correct));
  assert.equal(wrong.length, 4);
  await waitShown(wrong);
  assert.equal(
    await page.locator('.gallery .cell[data-tone=wrong]').count(),
    4,
    'every cell shown is marked wrong',
  );

  await select('Filter by correctness').selectOption('right');
  await waitShown(byPath(fixture.filter((f) => f.correct)));

  await select('Filter by correctness').selectOption('');
  await select('Filter by rating').selectOption('low');
  await waitShown(byPath(fixture.filter((f) => f.rating !== null && f.rating <= 2)));
  await select('Filter by rating').selectOption('rated');
  await waitShown(byPath(fixture.filter((f) => f.rating !== null)));
  // Both at once: rated and wrong (image 1 is rated 1 and is right; 7 rated 2, right; 4 rated 5, right).
  await select('Filter by correctness').selectOption('wrong');
  await waitShown([]);
  await page
    .getByTestId('gallery-status')
    .filter({ hasText: /^0 images/ })
    .waitFor();
  assert.deepEqual(errors, []);
});

test('sort orders: confidence, most wrong first, rating; the filter state survives a reload', {
  skip: NO_BROWSER,
}, async () => {
  await select('Filter by correctness').selectOption('');
  await select('Filter by rating').selectOption('');
  await select('Sort').selectOption('confidence');
  const byConfidence = [...fixture].sort((a, b) => b.probability - a.probability).map((f) => f.file);
  await waitShown(byConfidence);

  await select('Sort').selectOption('wrong');
  // The labelled class's probability ascending: wrong ones (1 − p) first, by their confidence, then right ones.
  const trueP = (f: Fixture) => (f.correct ? f.probability : 1 - f.probability);
  const mostWrong = [...fixture].sort((a, b) => trueP(a) - trueP(b)).map((f) => f.file);
  await waitShown(mostWrong);

  await select('Sort').selectOption('rating');
  const rated = fixture.filter((f) => f.rating !== null).sort((a, b) => (a.rating ?? 0) - (b.rating ?? 0));
  const byRating = [...rated.map((f) => f.file), ...byPath(fixture.filter((f) => f.rating === null))];
  await waitShown(byRating);

  // A filter and a sort together, then a reload: the address carries both, and the same images come back.
  await select('Sort').selectOption('confidence');
  await select('Filter by correctness').selectOption('right');
  const expected = [...fixture]
    .filter((f) => f.correct)
    .sort((a, b) => b.probability - a.probability)
    .map((f) => f.file);
  await waitShown(expected);
  const hash = new URL(page.url()).hash;
  assert.match(hash, /correct=1/);
  assert.match(hash, /sort=confidence/);
  assert.match(hash, new RegExp(`run=${runId}`));
  await page.reload();
  await page.locator('.gallery .cell img').first().waitFor({ timeout: 60_000 });
  await waitShown(expected);
  assert.equal(await select('Filter by correctness').inputValue(), 'right');
  assert.equal(await select('Sort').inputValue(), 'confidence');
  assert.equal(await select('Run for predictions').inputValue(), String(runId));
  assert.deepEqual(errors, []);
});

test('captions sit below the image, never over it', { skip: NO_BROWSER }, async () => {
  await select('Filter by correctness').selectOption('');
  await waitShown([...fixture].sort((a, b) => b.probability - a.probability).map((f) => f.file));
  await waitForPage(
    page,
    "[...document.querySelectorAll('.gallery .cell img')].every((i) => i.complete && i.naturalWidth > 0)",
  );
  await page.screenshot({ path: join(SHOTS, 'gallery-filters.png') });
  const overlaps = (await page.evaluate(`[...document.querySelectorAll('.gallery .cell')].map((c) => {
    const img = c.querySelector('img').getBoundingClientRect();
    return [...c.querySelectorAll('.tag')].map((t) => {
      const r = t.getBoundingClientRect();
      return Math.max(0, Math.min(img.bottom, r.bottom) - Math.max(img.top, r.top));
    });
  }).flat()`)) as number[];
  assert.ok(overlaps.length >= 24, 'two caption lines per cell');
  assert.deepEqual(
    overlaps.filter((o) => o > 0),
    [],
    'no caption line overlaps its image',
  );
});

test('a run without stored predictions says so and offers the batch-explain job instead of an empty grid', {
  skip: NO_BROWSER,
}, async () => {
  await select('Run for predictions').selectOption(String(emptyRunId));
  const notice = page.getByTestId('gallery-notice');
  await notice.waitFor();
  assert.match((await notice.textContent()) ?? '', /no stored predictions/);
  await page.getByTestId('gallery-explain').waitFor();
  assert.equal(await page.locator('.gallery .scroller').isVisible(), false, 'no empty grid');
  await page.screenshot({ path: join(SHOTS, 'gallery-no-predictions.png') });
  // Sorting by path needs no predictions: the grid is back, with the notice above it.
  await select('Filter by correctness').selectOption('');
  await select('Sort').selectOption('path');
  await waitShown(byPath(fixture));
  assert.deepEqual(errors, []);
});
