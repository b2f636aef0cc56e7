/**
 * Two people on one box, in Chromium through web mode: the page loaded a box, someone else (another tab, another
 * reviewer: here a call from Node) moved it, and then the person nudges the stale box. The edit carries the version
 * it was made on, the core refuses it (409), the panel says the box was changed by someone else and offers to
 * reload it, the other person's box is not overwritten, and the person's edit of another box made right after is
 * saved as usual (the conflict does not block the queue).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { AnnotationsListView, AnnotationView } from '../../src/api/contract.js';
import { importDataset } from '../../src/data/import/import.js';
import { generateDataset } from '../../src/data/synthetic/generate.js';
import { openStore } from '../../src/store/index.js';
import {
  launchChromium,
  NO_BROWSER,
  openScreen,
  prepareWorkspace,
  ROOT,
  type Server,
  SHOTS,
  startJsonServer,
  stopServer,
} from './harness.js';
import { waitForPage } from './wait.js';

const TOKEN = 'e2e-conflict-token-0123456789abcdef';

let tmp = '';
let db = '';
let rendererDir = '';
let server: Server | undefined;
let browser: BrowserContext | undefined;
let page: Page;

async function startServer(): Promise<void> {
  const script = `
    const { openStore } = await import(${JSON.stringify(join(ROOT, 'src/store/index.ts'))});
    const { serveWorkbench } = await import(${JSON.stringify(join(ROOT, 'src/server/launch.ts'))});
    const store = openStore(process.env.E2E_DB);
    const { web } = await serveWorkbench(store, { version: 'e2e', port: 0, token: process.env.E2E_TOKEN });
    console.log(JSON.stringify({ url: web.url, launchUrl: web.launchUrl }));`;
  server = await startJsonServer('server', ['--import', 'tsx', '--input-type=module', '-e', script], {
    XWB_RENDERER_DIR: rendererDir,
    E2E_DB: db,
    E2E_TOKEN: TOKEN,
  });
}

/** The other person: calls the contract from Node with the bearer token. */
async function call<T>(method: string, body: unknown): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${server!.port}/api/${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as T;
  assert.equal(res.status, 200, `${method}: ${JSON.stringify(json)}`);
  return json;
}

async function toScreen(x: number, y: number): Promise<{ x: number; y: number }> {
  const v = page.locator('.image-view .viewer').first();
  const box = await v.boundingBox();
  assert.ok(box);
  const [s, tx, ty] = await Promise.all(['data-scale', 'data-tx', 'data-ty'].map((a) => v.getAttribute(a)));
  return { x: box.x + Number(tx) + Number(s) * x, y: box.y + Number(ty) + Number(s) * y };
}

async function dragImage(a: [number, number], b: [number, number]): Promise<void> {
  const p = await toScreen(...a);
  const q = await toScreen(...b);
  await page.mouse.move(p.x, p.y);
  await page.mouse.down();
  await page.mouse.move(q.x, q.y, { steps: 6 });
  await page.mouse.up();
}

const waitSaved = () =>
  page.locator('[data-testid=save-state][data-state=saved]').waitFor({ timeout: 30_000 });

before(async () => {
  if (NO_BROWSER) return;
  ({ tmp, rendererDir } = prepareWorkspace('xwb-e2e-conflict-'));
  db = join(tmp, 'store.db');
  const dir = join(tmp, 'shapes');
  await generateDataset(dir, {
    images: 2,
    width: 96,
    height: 96,
    shapesPerImage: 2,
    split: { train: 0.5, val: 0.5, test: 0 },
    seed: 3,
  });
  const store = openStore(db);
  await importDataset(store, dir, { name: 'shapes' });
  store.close();
  await startServer();
  ({ browser, page } = await launchChromium(tmp));
});

after(async () => {
  await browser?.close();
  await stopServer(server?.child);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('annotate: an edit of a box someone else changed is refused with a message; nothing is overwritten, other work is saved', {
  skip: NO_BROWSER,
  timeout: 180_000,
}, async () => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server!.launchUrl);
  await openScreen(page, 'image');
  await page.locator('.image-view .viewer img').waitFor();
  await page.keyboard.press('a');
  await page.locator('input[name=annotator]').fill('Ann');
  await page.getByRole('button', { name: 'Start annotating' }).click();
  await page.locator('.annotate-layer').waitFor();
  const first = await call<{ items: { id: number }[] }>('images.list', { datasetId: 1, offset: 0, limit: 1 });
  const imageId = first.items[0].id;
  const me = (await call<{ id: number }>('annotator.set', { name: 'Ann' })).id;

  // Two boxes, drawn and saved.
  await page.keyboard.press('w');
  await dragImage([10, 10], [40, 30]);
  await waitSaved();
  await page.keyboard.press('w');
  await dragImage([50, 50], [80, 80]);
  await waitSaved();
  const mine = async () =>
    (await call<AnnotationsListView>('annotations.list', { imageId })).boxes.filter(
      (b) => b.annotator === me,
    );
  const [a, b] = (await mine()).sort((x, y) => x.x0 - y.x0);
  assert.deepEqual([a.x0, a.y0, a.x1, a.y1], [10, 10, 40, 30]);

  // Someone else moves box A (it is at version a.version in the page).
  const theirs = await call<AnnotationView>('annotations.update', {
    id: a.id,
    box: { x0: 12, y0: 60, x1: 30, y1: 90 },
    className: a.className,
    version: a.version,
  });
  assert.equal(theirs.version, a.version + 1);

  // The page still shows A where it was; Ann nudges it, then nudges B.
  await page.keyboard.press('Escape');
  const pa = await toScreen(25, 20);
  await page.mouse.click(pa.x, pa.y);
  await page.keyboard.press('ArrowRight');
  const pb = await toScreen(65, 65);
  await page.mouse.click(pb.x, pb.y);
  await page.keyboard.press('ArrowDown');

  const banner = page.getByTestId('conflict-banner');
  await banner.waitFor({ timeout: 30_000 });
  const text = (await banner.textContent()) ?? '';
  assert.match(
    text,
    new RegExp(
      `The “${a.className}” box \\(no\\. ${a.id}\\) was changed by someone else after you loaded it`,
    ),
  );
  assert.match(text, /was not saved.*nothing of theirs was overwritten/s);
  assert.match(text, /Reload the box/);
  await waitSaved();
  await page.screenshot({ path: join(SHOTS, 'annotate-conflict.png') });

  // The other person's box is intact; Ann's edit of B was saved.
  const after = (await mine()).sort((x, y) => x.id - y.id);
  const storedA = after.find((x) => x.id === a.id)!;
  const storedB = after.find((x) => x.id === b.id)!;
  assert.deepEqual(
    [storedA.x0, storedA.y0, storedA.x1, storedA.y1],
    [12, 60, 30, 90],
    'theirs is not overwritten',
  );
  assert.equal(storedA.version, theirs.version);
  assert.deepEqual(
    [storedB.x0, storedB.y0, storedB.x1, storedB.y1],
    [50, 51, 80, 81],
    'the other edit was saved',
  );
  assert.equal(await page.getByTestId('unsaved-banner').count(), 0, 'nothing is left waiting');

  // Reload the box: the page shows their version and the message goes.
  await page.getByTestId('conflict-reload').click();
  await banner.waitFor({ state: 'detached' });
  const rectA = page.locator(`.annotate-layer rect[data-ref="s${a.id}"]`);
  await waitForPage(
    page,
    `document.querySelector('.annotate-layer rect[data-ref="s${a.id}"]')?.getAttribute('data-y0') === '60'`,
  );
  assert.deepEqual(
    await Promise.all(['data-x0', 'data-y0', 'data-x1', 'data-y1'].map((k) => rectA.getAttribute(k))),
    ['12', '60', '30', '90'],
  );

  // An edit made on the reloaded version goes through.
  const pa2 = await toScreen(20, 75);
  await page.mouse.click(pa2.x, pa2.y);
  await page.keyboard.press('ArrowLeft');
  await waitSaved();
  const last = (await mine()).find((x) => x.id === a.id)!;
  assert.deepEqual([last.x0, last.y0, last.x1, last.y1], [11, 60, 29, 90]);
  assert.equal(last.version, theirs.version + 1);
  assert.deepEqual(errors, []);
});
