/**
 * End-to-end annotation in Chromium through web mode: draw, resize, nudge, undo/redo and paint, each checked in the
 * store through the API; then the server is killed (SIGKILL) and restarted on the same store, port and token, to
 * show that what the UI called "saved" survived and that what it could not save is retried, not lost.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { AnnotationsListView, MaskDataView } from '../../src/api/contract.js';
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

const TOKEN = 'e2e-annotate-token-0123456789abcdef';

let tmp = '';
let db = '';
let rendererDir = '';
let port = 0;
let server: Server | undefined;
let browser: BrowserContext | undefined;
let page: Page;
let launchUrl = '';

/** `xwb serve` on a fixed store, port and token (the CLI picks a new token per launch; a restart here must not). */
async function startServer(): Promise<void> {
  const script = `
    const { openStore } = await import(${JSON.stringify(join(ROOT, 'src/store/index.ts'))});
    const { serveWorkbench } = await import(${JSON.stringify(join(ROOT, 'src/server/launch.ts'))});
    const store = openStore(process.env.E2E_DB);
    const { web } = await serveWorkbench(store, { version: 'e2e', port: Number(process.env.E2E_PORT), token: process.env.E2E_TOKEN });
    console.log(JSON.stringify({ url: web.url, launchUrl: web.launchUrl }));`;
  server = await startJsonServer('server', ['--import', 'tsx', '--input-type=module', '-e', script], {
    XWB_RENDERER_DIR: rendererDir,
    E2E_DB: db,
    E2E_PORT: String(port),
    E2E_TOKEN: TOKEN,
  });
  launchUrl = server.launchUrl;
  port = server.port;
}

const killServer = () => stopServer(server?.child, 'SIGKILL');

/** Calls the contract from Node with the bearer token (independent of the page's state). */
async function call<T>(method: string, body: unknown): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}/api/${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as T;
  assert.equal(res.status, 200, `${method}: ${JSON.stringify(json)}`);
  return json;
}

let imageId = 0;
let me = 0;

async function myBoxes() {
  const list = await call<AnnotationsListView>('annotations.list', { imageId });
  return list.boxes.filter((b) => b.annotator === me).map((b) => [b.x0, b.y0, b.x1, b.y1]);
}

/** Waits until the store holds exactly `want` as this annotator's live boxes. */
async function expectBoxes(want: number[][], what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  let got: number[][] = [];
  while (Date.now() < deadline) {
    got = await myBoxes();
    if (JSON.stringify(got) === JSON.stringify(want)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(got, want, what);
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

const saveState = () => page.getByTestId('save-state');
async function waitSaved(timeout = 30_000): Promise<void> {
  await page.locator('[data-testid=save-state][data-state=saved]').waitFor({ timeout });
}

before(async () => {
  if (NO_BROWSER) return;
  ({ tmp, rendererDir } = prepareWorkspace('xwb-e2e-annotate-'));
  db = join(tmp, 'store.db');
  const dir = join(tmp, 'shapes');
  await generateDataset(dir, {
    images: 4,
    width: 96,
    height: 96,
    shapesPerImage: 4,
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
  await killServer();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('annotate: draw, resize, nudge, undo/redo, paint; killed server keeps what was saved and gets what was not', {
  skip: NO_BROWSER,
  timeout: 180_000,
}, async () => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(launchUrl);
  await openScreen(page, 'image');
  await page.locator('.image-view .viewer img').waitFor();
  await page.keyboard.press('a');
  await page.locator('input[name=annotator]').fill('E2E Annotator');
  await page.getByRole('button', { name: 'Start annotating' }).click();
  await page.locator('.annotate-layer').waitFor();
  // The viewer opens the first image of the first dataset.
  const first = await call<{ items: { id: number }[] }>('images.list', { datasetId: 1, offset: 0, limit: 1 });
  imageId = first.items[0].id;
  me = (await call<{ id: number }>('annotator.set', { name: 'E2E Annotator' })).id;

  // w + drag draws a box on whole pixel edges.
  await page.keyboard.press('w');
  await dragImage([10, 10], [40, 30]);
  await waitSaved();
  await expectBoxes([[10, 10, 40, 30]], 'drawn box');

  // Its south-east handle resizes it.
  await dragImage([40, 30], [50, 36]);
  await expectBoxes([[10, 10, 50, 36]], 'resized by the se handle');

  // Arrows nudge 1 px, Shift+arrow 10 px.
  await page.keyboard.press('ArrowRight');
  await expectBoxes([[11, 10, 51, 36]], 'nudged right');
  await page.keyboard.press('Shift+ArrowDown');
  await expectBoxes([[11, 20, 51, 46]], 'nudged down 10');

  // Undo steps back through the store; undoing the add deletes; redo restores the same box.
  await page.keyboard.press('Control+z');
  await expectBoxes([[11, 10, 51, 36]], 'undo nudge');
  await page.keyboard.press('Control+z');
  await page.keyboard.press('Control+z');
  await expectBoxes([[10, 10, 40, 30]], 'undo resize');
  await page.keyboard.press('Control+z');
  await expectBoxes([], 'undo of the add is a delete');
  const deleted = (await call<AnnotationsListView>('annotations.list', { imageId })).boxes.length;
  await page.keyboard.press('Control+y');
  await expectBoxes([[10, 10, 40, 30]], 'redo of the add restores');
  await page.keyboard.press('Control+Shift+z');
  await page.keyboard.press('Control+y');
  await page.keyboard.press('Control+y');
  await expectBoxes([[11, 20, 51, 46]], 'redo all');
  assert.ok(deleted >= 0);
  const ids = (await call<AnnotationsListView>('annotations.list', { imageId })).boxes.filter(
    (b) => b.annotator === me,
  );
  assert.equal(ids.length, 1, 'undo/redo reuse one stored box (soft delete + restore), no duplicates');

  // The brush paints the region mask: a stroke of radius r along 60 px covers about 2r·60 + πr² pixels.
  await page.keyboard.press('m');
  const r = 6;
  await dragImage([20, 70], [80, 70]);
  await page.locator('[data-testid=save-state][data-state="saving…"]').waitFor();
  await waitSaved();
  const mask = await call<MaskDataView>('masks.get', { imageId, annotator: me, kind: 'region' });
  const expected = 2 * r * 60 + Math.PI * r * r;
  assert.ok(
    Math.abs(mask.count - expected) / expected < 0.1,
    `mask has ${mask.count} px, expected ≈ ${expected}`,
  );
  await page.keyboard.press('Escape');
  await page.mouse.move(5, 5);
  await page.locator('.annotate-layer rect[data-ref]').first().waitFor();
  await page.screenshot({ path: join(SHOTS, 'annotate.png') });

  // SIGKILL after "saved": the box and the mask are in the store after a restart.
  assert.equal(await saveState().getAttribute('data-state'), 'saved');
  await killServer();
  await startServer();
  await expectBoxes([[11, 20, 51, 46]], 'the box survives SIGKILL');
  const again = await call<MaskDataView>('masks.get', { imageId, annotator: me, kind: 'region' });
  assert.equal(again.count, mask.count, 'the mask survives SIGKILL');

  // A save that fails shows as unsaved, and is retried once the server is back.
  await killServer();
  const mine = page.locator(`.annotate-layer rect[data-annotation="${me}"]`);
  await mine.first().waitFor();
  const c = await toScreen(30, 30);
  await page.mouse.click(c.x, c.y);
  await page.keyboard.press('ArrowLeft');
  await page.locator('[data-testid=save-state][data-state=unsaved]').waitFor({ timeout: 15_000 });
  await page.getByTestId('unsaved-banner').waitFor();
  assert.equal(await mine.first().getAttribute('data-unsaved'), 'true', 'the unsaved box is marked');
  await page.screenshot({ path: join(SHOTS, 'annotate-unsaved.png') });
  await startServer();
  // The queue retries by itself with backoff; "Retry now" only shortens the wait. If the automatic retry got
  // there first the button is already gone, which is just as good.
  await page
    .getByRole('button', { name: 'Retry now' })
    .click({ timeout: 2_000 })
    .catch(() => {});
  await waitSaved(60_000); // at worst one full backoff (30 s cap) after the server is back
  await expectBoxes([[10, 20, 50, 46]], 'the queued nudge was retried and stored');

  // Pending changes live in localStorage: a reload while the server is down still sends them later.
  await killServer();
  await page.mouse.click(c.x, c.y);
  await page.keyboard.press('ArrowUp');
  await page.locator('[data-testid=save-state][data-state=unsaved]').waitFor({ timeout: 15_000 });
  await startServer();
  await page.reload();
  await openScreen(page, 'image');
  await page.locator('.image-view .viewer img').waitFor();
  if (!(await page.getByTestId('annotate-toggle').isChecked())) await page.keyboard.press('a');
  await expectBoxes([[10, 19, 50, 45]], 'the change queued before the reload was sent after it');
  assert.deepEqual(errors, []);
});
