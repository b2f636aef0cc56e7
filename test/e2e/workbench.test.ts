/**
 * End-to-end: the built renderer in Debian's Chromium against `xwb serve` on a temporary store. Builds the
 * renderer into a temp folder first (XWB_RENDERER_DIR), so the test always drives the current source.
 * Screenshots go to docs/screenshots/.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import {
  canvasStats,
  launchChromium,
  NO_BROWSER,
  openScreen,
  pageCall,
  prepareWorkspace,
  type Server,
  SHOTS,
  startXwbServe,
  stopServer,
  strongShare,
  trainTinyRun,
} from './harness.js';
import { waitForPage } from './wait.js';

let tmp = '';
let server: Server | undefined;
let browser: BrowserContext | undefined;
let page: Page;
let launchUrl = '';
let baseUrl = '';

/** Calls the contract from inside the page (same cookie as the UI). */
const call = (method: string, body: unknown) => pageCall(page, method, body);

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** The viewer's zoom/pan transform, as the component publishes it (screen = t + scale · image). */
async function viewerTransform(selector = '.image-view .viewer') {
  const v = page.locator(selector).first();
  const box = await v.boundingBox();
  assert.ok(box, 'viewer has no box');
  const [s, tx, ty] = await Promise.all(['data-scale', 'data-tx', 'data-ty'].map((a) => v.getAttribute(a)));
  return { left: box.x, top: box.y, scale: Number(s), tx: Number(tx), ty: Number(ty) };
}

function vocBoxes(xml: string): { name: string; x0: number; y0: number; x1: number; y1: number }[] {
  const out = [];
  for (const m of xml.matchAll(/<object>([\s\S]*?)<\/object>/g)) {
    const get = (tag: string) => Number(new RegExp(`<${tag}>\\s*([-\\d.]+)\\s*</${tag}>`).exec(m[1])?.[1]);
    const name = /<name>\s*([^<]*?)\s*<\/name>/.exec(m[1])?.[1] ?? '';
    // VOC is 1-based inclusive; xwb boxes are 0-based half-open pixel edges (src/data/types.ts).
    out.push({ name, x0: get('xmin') - 1, y0: get('ymin') - 1, x1: get('xmax'), y1: get('ymax') });
  }
  return out;
}

async function checkBoxesMatchXml(xml: string) {
  const expected = vocBoxes(xml);
  const rects = page.locator('.image-view .viewer svg rect[data-box]');
  assert.equal(await rects.count(), expected.length, 'one drawn box per XML object');
  const t = await viewerTransform();
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const r = await rects.nth(i).boundingBox();
    assert.ok(r);
    const want = {
      x: t.left + t.tx + t.scale * e.x0,
      y: t.top + t.ty + t.scale * e.y0,
      w: t.scale * (e.x1 - e.x0),
      h: t.scale * (e.y1 - e.y0),
    };
    // The bounding box includes half the 1.5 px stroke on each side.
    const tol = 1.5;
    assert.ok(Math.abs(r.x - want.x) <= tol, `box ${i} x: drawn ${r.x}, XML says ${want.x}`);
    assert.ok(Math.abs(r.y - want.y) <= tol, `box ${i} y: drawn ${r.y}, XML says ${want.y}`);
    assert.ok(Math.abs(r.width - want.w) <= 2 * tol, `box ${i} width: drawn ${r.width}, XML says ${want.w}`);
    assert.ok(
      Math.abs(r.height - want.h) <= 2 * tol,
      `box ${i} height: drawn ${r.height}, XML says ${want.h}`,
    );
    assert.equal(await rects.nth(i).getAttribute('data-name'), e.name);
  }
  return expected.length;
}

before(async () => {
  if (NO_BROWSER) return;
  const ws = prepareWorkspace('xwb-e2e-');
  tmp = ws.tmp;
  server = await startXwbServe(join(tmp, 'store.db'), ws.rendererDir);
  launchUrl = server.launchUrl;
  baseUrl = server.url;
  ({ browser, page } = await launchChromium(tmp));
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // A failed request is reported with its URL and the server's words, not only as "status 500".
  page.on('response', async (r) => {
    if (r.status() < 500) return;
    const body = await r.text().catch(() => '');
    errors.push(
      `${r.request().method()} ${new URL(r.url()).pathname} → ${r.status()}: ${body.slice(0, 300)}`,
    );
  });
  page.on('console', (m) => {
    // Failed requests the tests provoke on purpose (400 for a bad field, 501 before explain exists) are not bugs.
    if (m.type() === 'error' && !/^Failed to load resource: .* (400|501)/.test(m.text()))
      errors.push(m.text());
  });
  (page as Page & { jsErrors?: string[] }).jsErrors = errors;
});

after(async () => {
  await browser?.close();
  await stopServer(server?.child);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const jsErrors = () => (page as Page & { jsErrors?: string[] }).jsErrors ?? [];

test('first launch offers the demo; generating a dataset through the form works and errors sit at their field', {
  skip: NO_BROWSER,
}, async () => {
  await page.goto(launchUrl);
  assert.equal(new URL(page.url()).search, '', 'the token leaves the address bar');
  await page.getByRole('button', { name: 'Create the demo dataset' }).waitFor();
  await shot('datasets-empty');

  const form = page.getByRole('form', { name: 'Generate a synthetic dataset' });
  await form.locator('input[name=name]').fill('e2e shapes');
  await form.locator('input[name=images]').fill('1');
  await form.getByRole('button', { name: 'Generate' }).click();
  // The server's message appears next to the field it concerns.
  const fieldError = form.locator('label:has(input[name=images]) .error');
  await fieldError.waitFor();
  assert.match((await fieldError.textContent()) ?? '', /images/);

  await form.locator('input[name=images]').fill('12');
  await form.locator('input[name=size]').fill('96');
  await form.getByRole('button', { name: 'Generate' }).click();
  await page.locator('tr[data-dataset="e2e shapes"]').waitFor({ timeout: 60_000 });
  assert.match((await page.locator('tr[data-dataset="e2e shapes"]').textContent()) ?? '', /12/);
  await shot('datasets');
});

test('the gallery is virtualised and opens an image', { skip: NO_BROWSER }, async () => {
  await page.locator('tr[data-dataset="e2e shapes"]').getByRole('button', { name: 'Open' }).click();
  await page.locator('.gallery .cell img').first().waitFor();
  assert.equal(await page.locator('.gallery .cell').count(), 12);
  // Page-side code as a string: the Node tsconfig has no DOM types.
  await waitForPage(
    page,
    "[...document.querySelectorAll('.gallery .cell img')].every((i) => i.complete && i.naturalWidth > 0)",
  );
  await shot('gallery');
  await page.locator('.gallery .cell[data-index="0"]').click();
  await page.locator('.image-view .viewer img').waitFor();
});

test('ground-truth boxes are drawn where the XML says, before and after zooming', {
  skip: NO_BROWSER,
}, async () => {
  // Find an image with boxes (negatives may have only distractors; every synthetic image has some shapes).
  const fileName = ((await page.locator('.image-view .file').textContent()) ?? '').trim();
  const dsDir = join(tmp, 'datasets');
  const folder = readdirSync(dsDir).find((d) => existsSync(join(dsDir, d, 'Annotations')));
  assert.ok(folder, `no generated dataset folder under ${dsDir}`);
  const xml = readFileSync(join(dsDir, folder, 'Annotations', fileName.replace(/\.[^.]+$/, '.xml')), 'utf8');
  await page.locator('.image-view .viewer svg rect[data-box]').first().waitFor();
  const n = await checkBoxesMatchXml(xml);
  assert.ok(n > 0, 'the image has boxes to check');
  await shot('image');

  // Wheel-zoom around a point: the image point under the cursor stays put, and the boxes follow.
  const before = await viewerTransform();
  const at = { x: before.left + 300, y: before.top + 250 };
  const imgPt = {
    x: (at.x - before.left - before.tx) / before.scale,
    y: (at.y - before.top - before.ty) / before.scale,
  };
  await page.mouse.move(at.x, at.y);
  await page.mouse.wheel(0, -400);
  await waitForPage(
    page,
    `Number(document.querySelector('.image-view .viewer')?.getAttribute('data-scale')) > ${before.scale}`,
  );
  const t = await viewerTransform();
  assert.ok(t.scale > before.scale * 1.5, `zoomed in (${before.scale} → ${t.scale})`);
  assert.ok(
    Math.abs(t.left + t.tx + t.scale * imgPt.x - at.x) < 0.5,
    'the point under the cursor stays fixed (x)',
  );
  assert.ok(
    Math.abs(t.top + t.ty + t.scale * imgPt.y - at.y) < 0.5,
    'the point under the cursor stays fixed (y)',
  );
  await checkBoxesMatchXml(xml);
  await shot('image-zoomed');

  // Drag pans; `f` fits back; `b` hides the boxes; → moves to the next image.
  await page.mouse.move(at.x, at.y);
  await page.mouse.down();
  await page.mouse.move(at.x + 60, at.y + 30, { steps: 4 });
  await page.mouse.up();
  const panned = await viewerTransform();
  assert.ok(
    Math.abs(panned.tx - t.tx - 60) < 1 && Math.abs(panned.ty - t.ty - 30) < 1,
    'drag pans by the mouse movement',
  );
  await checkBoxesMatchXml(xml);
  await page.keyboard.press('f');
  await waitForPage(
    page,
    `Number(document.querySelector('.image-view .viewer')?.getAttribute('data-scale')) === ${before.scale}`,
  );
  await page.keyboard.press('b');
  assert.equal(await page.locator('.image-view .viewer svg rect[data-box]').count(), 0);
  await page.keyboard.press('b');
  await page.keyboard.press('ArrowRight');
  await page.getByTestId('position').filter({ hasText: '2 / 12' }).waitFor();
  // Escape leaves a field, and shortcuts then work again.
  await page.getByRole('slider').first().focus();
  await page.keyboard.press('Escape');
  await page.keyboard.press('ArrowLeft');
  await page.getByTestId('position').filter({ hasText: '1 / 12' }).waitFor();
});

test('explanation overlay toggles with o', { skip: NO_BROWSER }, async (t) => {
  const methods = await call('explain.methods', {});
  if (methods.status === 501) {
    t.skip('explain handler not registered');
    return;
  }
  assert.equal(methods.status, 200, JSON.stringify(methods.json));
  const runId = await trainTinyRun(page, { datasetId: 1, size: 32, timeoutMs: 180_000 });
  await page.reload();
  await openScreen(page, 'image');
  await page.getByRole('combobox', { name: 'Run' }).selectOption(String(runId));
  await page.locator('.image-view .viewer canvas.overlay').waitFor({ timeout: 60_000 });
  await shot('image-overlay');
  await page.keyboard.press('o');
  assert.equal(await page.locator('.image-view .viewer canvas.overlay').count(), 0);
  await page.keyboard.press('o');
  await page.locator('.image-view .viewer canvas.overlay').waitFor();

  // A post-hoc map is visible by default: the gradient's values are tiny, so it is scaled per image (Captum's
  // rule), not read as absolute [0, 1] (which showed "0.0 % at or above the threshold" and a blank overlay).
  await page.getByRole('combobox', { name: 'Explanation method' }).selectOption('gradient');
  await page
    .getByTestId('map-info')
    .filter({ hasText: /^gradient · / })
    .waitFor({ timeout: 60_000 });
  assert.match((await page.getByTestId('legend-rule').textContent()) ?? '', /per image; Captum's rule/);
  const kept = Number.parseFloat((await page.getByTestId('kept').textContent()) ?? '');
  assert.ok(kept > 0 && kept < 100, `share at or above the threshold: ${kept} %`);
  const [overlay] = await canvasStats(page, '.image-view .viewer canvas.overlay');
  assert.ok(overlay.visible > 0.001, `overlay pixels drawn: ${overlay.visible}`);
  // The class picker names the classes.
  const datasets = (await call('datasets.list', {})).json as { id: number; classes: string[] }[];
  const classes = datasets.find((d) => d.id === 1)?.classes ?? [];
  const options = await page
    .getByRole('combobox', { name: 'Class to explain' })
    .locator('option')
    .allTextContents();
  assert.ok(options.length > 1, 'a class picker');
  for (const o of options) assert.doesNotMatch(o, /class \d/, `option "${o}" names a class`);
  for (const c of classes)
    assert.ok(
      options.some((o) => o.startsWith(`${c} · `)),
      `no option for ${c}`,
    );
  // The contour at the threshold runs on the same scale.
  await page.getByLabel('contour at the threshold').check();
  await page.locator('.image-view .viewer path.contour').waitFor();
  assert.ok(((await page.locator('.image-view .viewer path.contour').getAttribute('d')) ?? '').length > 10);
  await shot('image-gradient');
  await page.getByLabel('contour at the threshold').uncheck();

  // A signed map (input × gradient) is drawn diverging, centred on 0, exactly when it has negative values.
  await page.getByRole('combobox', { name: 'Explanation method' }).selectOption('input_x_gradient');
  const info = page.getByTestId('map-info').filter({ hasText: /^input_x_gradient · / });
  await info.waitFor({ timeout: 60_000 });
  const rawMin = Number(/raw (\S+)\.\./.exec((await info.textContent()) ?? '')?.[1]);
  assert.ok(Number.isFinite(rawMin), 'the raw range is shown');
  const signedKind = await page.getByTestId('legend').getAttribute('data-kind');
  assert.equal(signedKind, rawMin < 0 ? 'diverging' : 'sequential', `raw min ${rawMin}`);
  if (signedKind === 'diverging') {
    const ticks = await page.getByTestId('legend').locator('.ticks span').allTextContents();
    assert.equal(ticks[1], '0', 'zero in the middle of the bar');
    assert.equal(Number(ticks[0]), -Number(ticks[2]), 'a symmetric range');
  }
  await shot('image-signed');
  await page.getByRole('combobox', { name: 'Explanation method' }).selectOption('gradient');
  await page
    .getByTestId('map-info')
    .filter({ hasText: /^gradient · / })
    .waitFor();

  // The three panels: the explanation panel is not black.
  await page.getByLabel('three panels').check();
  await page.locator('.image-view .stage.panels canvas.overlay').nth(1).waitFor();
  const [full] = await canvasStats(page, '.image-view .stage.panels .viewer:nth-child(2) canvas.overlay');
  const kind = await page.getByTestId('legend').getAttribute('data-kind');
  assert.ok(
    strongShare(full, kind) > 0.001,
    `strong pixels in the explanation panel: ${JSON.stringify(full)}`,
  );
  await shot('image-panels');
  await page.getByLabel('three panels').uncheck();
  // The compare grid is measured without the threshold: every pixel is drawn, the question is how.
  await page.locator('label.row:has-text("Threshold") input[type=checkbox]').uncheck();

  // An LRP map shows how much of the logit reached the pixels; a gradient map has no such line.
  assert.equal(await page.locator('[data-conservation]').count(), 0);
  await page.getByRole('combobox', { name: 'Explanation method' }).selectOption('deep_taylor');
  const line = page.locator('[data-conservation]');
  await line.waitFor({ timeout: 60_000 });
  assert.match((await line.textContent()) ?? '', /^conservation (\d+\.\d%|undefined)/);
  await shot('image-conservation');
});

test('the compare grid opens with c and shares one zoom', { skip: NO_BROWSER }, async () => {
  await page.locator('button[data-screen=image]').click();
  await page.locator('.image-view .viewer img').waitFor();
  await page.keyboard.press('c');
  const grid = page.getByTestId('compare-grid');
  await grid.waitFor();
  await grid.locator('.viewer img').nth(2).waitFor();
  assert.equal((await grid.locator('.viewer').count()) >= 3, true);
  // Linked zoom: zooming one cell zooms them all.
  const first = grid.locator('.viewer').first();
  const b = await first.boundingBox();
  assert.ok(b);
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
  await page.mouse.wheel(0, -300);
  await page.waitForTimeout(100);
  const scales = await grid
    .locator('.viewer')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-scale')));
  assert.equal(new Set(scales).size, 1, `all cells share one zoom: ${scales.join(', ')}`);

  // The default rows: the model's own map, gradient, Grad-CAM; no controls.
  const rows = await grid
    .locator('.rowhead[data-method]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-method')));
  assert.deepEqual(rows, ['explainer', 'gradient', 'gradcam']);
  // Per method (the default): every row on its own scale, with its own legend, and no post-hoc row is flat.
  await grid.locator('.rowhead[data-method=gradcam] [data-testid=legend]').waitFor({ timeout: 60_000 });
  await grid.locator('.rowhead[data-method=gradient] [data-testid=legend]').waitFor();
  for (const method of ['gradient', 'gradcam']) {
    const cells = `[data-testid=compare-grid] .viewer[aria-label^="${method} on "]`;
    // Every cell of the row painted (maps arrive one by one).
    await waitForPage(
      page,
      `document.querySelectorAll('${cells}').length > 0 && document.querySelectorAll('${cells}').length === document.querySelectorAll('${cells} canvas.overlay').length`,
    );
    const kind = await grid
      .locator(`.rowhead[data-method=${method}] [data-testid=legend]`)
      .getAttribute('data-kind');
    assert.match(
      (await grid.locator(`.rowhead[data-method=${method}] [data-testid=legend-rule]`).textContent()) ?? '',
      /per method/,
    );
    const row = await canvasStats(
      page,
      `[data-testid=compare-grid] .viewer[aria-label^="${method} on "] canvas.overlay`,
    );
    assert.ok(row.length > 0, `${method}: no painted cells`);
    const shares = row.map((s) => strongShare(s, kind));
    assert.ok(
      shares.some((x) => x > 0.001 && x < 0.98),
      `${method}: every cell flat (strong-pixel shares ${shares.join(', ')})`,
    );
  }
  await shot('compare');

  // Shared: one legend for the grid, none per row.
  await page.getByRole('combobox', { name: 'Compare scale' }).selectOption('shared');
  await page
    .locator('.compare .toolbar [data-testid=legend-rule]')
    .filter({ hasText: /one scale for the grid/ })
    .waitFor();
  assert.equal(await grid.locator('.rowhead [data-testid=legend]').count(), 0);
  await page.getByRole('combobox', { name: 'Compare scale' }).selectOption('method');

  // A 900 px window: the grid fits, nothing scrolls sideways.
  await page.setViewportSize({ width: 900, height: 860 });
  await page.waitForTimeout(200);
  const fit = (await page.evaluate(
    "(() => { const c = document.querySelector('.compare'); return [c.scrollWidth, c.clientWidth]; })()",
  )) as [number, number];
  assert.ok(fit[0] <= fit[1] + 1, `the compare screen overflows 900 px: ${fit[0]} > ${fit[1]}`);
  await page.evaluate(
    "document.querySelector('.rowhead[data-method=gradcam]').scrollIntoView({ block: 'center' })",
  );
  await shot('compare-900');
  await page.setViewportSize({ width: 1400, height: 860 });
});

test('the training screen shows its form; no script errors anywhere', { skip: NO_BROWSER }, async () => {
  await page.locator('button[data-screen=training]').click();
  await page.getByRole('form', { name: 'Start a training run' }).waitFor();
  await shot('training');
  assert.deepEqual(jsErrors(), []);
  assert.ok(baseUrl.startsWith('http://127.0.0.1:'));
});
