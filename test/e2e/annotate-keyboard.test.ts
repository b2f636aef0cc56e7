/**
 * Annotation from the keyboard alone, in Chromium through web mode: a box drawn with n / arrows / Enter and
 * resized with Alt+arrows, each step checked in the store through the API; a typed class that is kept for the
 * next box instead of renaming the selected one; the `?` help listing every key of every screen; and the side
 * bar at 1280×800 and 900 px wide, where the annotation panel must leave the explanation controls on screen.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { ANNOTATE_KEYMAP } from '../../renderer/src/lib/annotate/keys.js';
import { KEYMAPS } from '../../renderer/src/lib/keys.js';
import type { AnnotationsListView } from '../../src/api/contract.js';
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
let imageId = 0;
let me = 0;
const errors: string[] = [];

type Row = { box: number[]; className: string };

async function myBoxes(): Promise<Row[]> {
  const list = await pageCallOk<AnnotationsListView>(page, 'annotations.list', { imageId });
  return list.boxes
    .filter((b) => b.annotator === me && !b.deleted)
    .map((b) => ({ box: [b.x0, b.y0, b.x1, b.y1], className: b.className }));
}

/** Waits until the store holds exactly `want` as this annotator's live boxes (the save queue is asynchronous). */
async function expectBoxes(want: Row[], what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  let got: Row[] = [];
  while (Date.now() < deadline) {
    got = await myBoxes();
    if (JSON.stringify(got) === JSON.stringify(want)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(got, want, what);
}

async function press(...keys: string[]): Promise<void> {
  for (const k of keys) await page.keyboard.press(k);
}

const times = (n: number, k: string) => Array.from({ length: n }, () => k);

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

before(async () => {
  if (NO_BROWSER) return;
  const ws = prepareWorkspace('xwb-e2e-annotate-keys-');
  tmp = ws.tmp;
  const db = join(tmp, 'store.db');
  const dir = join(tmp, 'shapes');
  await generateDataset(dir, {
    images: 3,
    width: 96,
    height: 96,
    shapesPerImage: 3,
    split: { train: 0.5, val: 0.5, test: 0 },
    seed: 5,
  });
  const store = openStore(db);
  await importDataset(store, dir, { name: 'shapes' });
  store.close();
  server = await startXwbServe(db, ws.rendererDir);
  ({ browser, page } = await launchChromium(tmp));
  page.on('pageerror', (e) => errors.push(e.message));
});

after(async () => {
  await browser?.close();
  await stopServer(server?.child);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('annotate with the keyboard only: draw, resize, move, classes, ? help, side bar at 1280 and 900 px', {
  skip: NO_BROWSER,
  timeout: 180_000,
}, async () => {
  assert.ok(server);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(server.launchUrl);
  await openScreen(page, 'image');
  await page.locator('.image-view .viewer img').waitFor();
  await press('a');
  await page.locator('input[name=annotator]').fill('Keyboard Annotator');
  await page.locator('input[name=annotator]').press('Enter');
  await page.locator('.annotate-layer').waitFor();
  const first = await pageCallOk<{ items: { id: number }[] }>(page, 'images.list', {
    datasetId: 1,
    offset: 0,
    limit: 1,
  });
  imageId = first.items[0].id;
  me = (await pageCallOk<{ id: number }>(page, 'annotator.set', { name: 'Keyboard Annotator' })).id;
  const url = page.url();
  const startClass = (await page.getByTestId('next-class').locator('strong').textContent()) ?? '';
  assert.ok(startClass && startClass !== '—', 'a class is chosen for the first box');

  // n puts a crosshair at the image centre (48, 48); arrows move it (Shift: 10 px); Enter fixes a corner.
  await press('n');
  const draft = page.getByTestId('keyboard-draft');
  await draft.waitFor();
  assert.deepEqual([await draft.getAttribute('data-x'), await draft.getAttribute('data-y')], ['48', '48']);
  await press(...times(3, 'Shift+ArrowLeft'), ...times(2, 'Shift+ArrowUp'));
  assert.deepEqual([await draft.getAttribute('data-x'), await draft.getAttribute('data-y')], ['18', '28']);
  await press('Enter');
  assert.equal(await draft.getAttribute('data-phase'), 'second');
  await press(
    ...times(2, 'Shift+ArrowRight'),
    ...times(5, 'ArrowRight'),
    'Shift+ArrowDown',
    'ArrowDown',
    'ArrowDown',
  );
  await page.mouse.move(2, 2); // no hover effects in the picture
  await shot('annotate-keyboard-draw');
  assert.equal(await myBoxes().then((b) => b.length), 0, 'nothing is stored before the second Enter');
  await press('Enter');
  await draft.waitFor({ state: 'detached' });
  await expectBoxes([{ box: [18, 28, 43, 40], className: startClass }], 'the keyboard-drawn box is stored');

  // The new box is selected: Alt+arrows move its right and bottom edges, arrows move it.
  await press(...times(3, 'Alt+ArrowRight'), 'Alt+Shift+ArrowDown', 'Alt+ArrowUp', 'Alt+ArrowLeft');
  await expectBoxes([{ box: [18, 28, 45, 49], className: startClass }], 'resized with Alt+arrows');
  assert.equal(page.url(), url, 'Alt+← did not navigate back');
  await press('ArrowLeft', 'Shift+ArrowDown');
  await expectBoxes([{ box: [17, 38, 44, 59], className: startClass }], 'moved with arrows');

  // Typing a new class keeps the selected box's class: the name is for the next box.
  const field = page.locator('input[name=new-class]');
  await field.fill('zebra');
  await field.press('Enter');
  await page.getByTestId('next-class').filter({ hasText: 'zebra' }).waitFor();
  assert.equal(
    await page.getByTestId('selected-class').textContent(),
    startClass,
    'the selection is not renamed',
  );
  await new Promise((r) => setTimeout(r, 300));
  await expectBoxes([{ box: [17, 38, 44, 59], className: startClass }], 'typing a class renamed nothing');
  await page.getByTestId('apply-class').waitFor(); // the change is offered, not made

  // The next keyboard box starts where the last one ended (43, 40) and gets the typed class.
  await press('n', 'Enter', 'Shift+ArrowRight', 'Shift+ArrowDown', 'Enter');
  await expectBoxes(
    [
      { box: [17, 38, 44, 59], className: startClass },
      { box: [43, 40, 53, 50], className: 'zebra' },
    ],
    'the second box has the typed class, the first kept its own',
  );

  // Tab goes back to the first box; only the explicit button renames it.
  await press('Tab');
  assert.equal(await page.getByTestId('selected-class').textContent(), startClass);
  await page.getByTestId('apply-class').click();
  await expectBoxes(
    [
      { box: [17, 38, 44, 59], className: 'zebra' },
      { box: [43, 40, 53, 50], className: 'zebra' },
    ],
    'the explicit request renames',
  );
  await page
    .locator('body')
    .click({ position: { x: 5, y: 790 } })
    .catch(() => {});
  await page.evaluate('document.activeElement && document.activeElement.blur()');

  // ? opens the help: every screen's keys, the annotation rows among them; Esc closes only the help.
  await press('Tab'); // select a box again, to see that Esc below does not clear it
  await page.getByTestId('selected-box').waitFor();
  await press('?');
  const help = page.getByTestId('key-help');
  await help.waitFor();
  const sections = await help
    .locator('section')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-section')));
  assert.deepEqual(
    sections,
    KEYMAPS.map((s) => s.title),
  );
  const shown = await help.locator('dt').allTextContents();
  const listed = KEYMAPS.reduce((n, s) => n + s.rows.length, 0);
  assert.equal(shown.length, listed, 'one line per key of every map');
  for (const row of ANNOTATE_KEYMAP) assert.ok(shown.includes(row.keys), `the help lists ${row.keys}`);
  for (const k of ['n', 'Alt + ← → / ↑ ↓', 'Tab / Shift+Tab', '?', '1–5']) assert.ok(shown.includes(k), k);
  await shot('key-help');
  await press('Escape');
  await help.waitFor({ state: 'detached' });
  await page.getByTestId('selected-box').waitFor({ timeout: 2_000 });

  // The side bar: annotation panel open, the explanation controls still on screen without scrolling.
  for (const [w, h] of [
    [1280, 800],
    [900, 800],
    [900, 700],
  ]) {
    await page.setViewportSize({ width: w, height: h });
    await page.waitForTimeout(150);
    const side = await page.evaluate(`(() => {
      const side = document.querySelector('.image-view .side');
      const panel = document.querySelector('[data-testid=annotate-panel]');
      const heads = [...side.querySelectorAll('h4')];
      const expl = heads.find((e) => e.textContent.trim() === 'Explanation');
      const g = expl.parentElement;
      const ctl = g.querySelector('select, input, p');
      const r = ctl.getBoundingClientRect();
      return { scrollTop: side.scrollTop, bottom: r.bottom, top: r.top, panel: panel.getBoundingClientRect().height,
        panelScrolls: panel.scrollHeight > panel.clientHeight, innerHeight };
    })()`);
    const s = side as {
      scrollTop: number;
      bottom: number;
      top: number;
      panel: number;
      panelScrolls: boolean;
      innerHeight: number;
    };
    assert.equal(s.scrollTop, 0);
    assert.ok(
      s.bottom <= s.innerHeight && s.top >= 0,
      `${w}×${h}: the first explanation control is at ${s.top}..${s.bottom}, off a ${s.innerHeight} px window (panel ${s.panel} px)`,
    );
    await shot(`annotate-side-${w}x${h}`);
  }
  assert.deepEqual(errors, []);
});
