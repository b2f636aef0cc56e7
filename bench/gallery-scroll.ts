/**
 * Gallery scrolling at scale: a 100,000-image dataset (store rows made directly; the files are links to a few
 * hundred generated originals inside the dataset folder, so the server's path checks pass), a finished run with
 * a stored prediction per image (so the sorted list can be measured too), the workbench in Debian's Chromium, and
 * requestAnimationFrame frame times while the gallery scrolls.
 *
 *   nice -n 19 node --import tsx bench/gallery-scroll.ts [--count 100000] [--size 512] [--renderer DIR] [--label NAME]
 *
 * Measures (0) the store: build time, and the gallery's page query (store.gallery.page) per sort at the start,
 * middle and end of the list; (1) a jump to the middle: time until every image in view has loaded; (2) a steady
 * scroll of 60 px per frame, then (3) a fast wheel scroll (wheel events of 400 px as fast as the page takes them):
 * frame-time percentiles and dropped frames at 60 Hz (a frame of dt ms counts round(dt / 16.7) − 1 as dropped),
 * then the time until the images in view after the scroll have loaded; (4) ten jumps to scattered positions, by
 * path and (with the run chosen) by prediction confidence: time until every thumbnail in view has loaded.
 * `--renderer` serves another build of the renderer (e.g. an older commit's, for a before/after) against the
 * same server and store.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { probeImage } from '../src/data/image.js';
import { generateDataset } from '../src/data/synthetic/generate.js';
import { openStore } from '../src/store/index.js';
import { startXwbServe, stopServer } from '../test/e2e/harness.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '100000' },
    size: { type: 'string', default: '512' },
    originals: { type: 'string', default: '200' },
    renderer: { type: 'string' },
    label: { type: 'string', default: 'current' },
    frames: { type: 'string', default: '200' },
    wheels: { type: 'string', default: '120' },
    /** Also record a Chrome trace of the warm scroll and print where the time went, per thread. */
    trace: { type: 'boolean', default: false },
  },
});
const count = Number(values.count);
const size = Number(values.size);
const originals = Number(values.originals);
const frames = Number(values.frames);
const wheels = Number(values.wheels);

const ROOT = new URL('..', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'xwb-bench-gallery-'));

function buildRenderer(): string {
  const out = join(tmp, 'renderer');
  const r = spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/vite/bin/vite.js'),
      'build',
      '--config',
      'renderer/vite.config.ts',
      '--outDir',
      out,
      '--logLevel',
      'warn',
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`vite build failed: ${r.stderr}`);
  return out;
}

async function makeStore(): Promise<string> {
  const t0 = performance.now();
  const data = join(tmp, 'big');
  await generateDataset(data, {
    images: originals,
    positives: Math.round(originals / 2),
    width: size,
    height: size,
    seed: 9,
  });
  const srcDir = join(data, 'JPEGImages');
  const files = readdirSync(srcDir)
    .filter((f) => f.endsWith('.png'))
    .sort();
  const probes = await Promise.all(files.map((f) => probeImage(join(srcDir, f))));
  const many = join(srcDir, 'many');
  mkdirSync(many);
  const db = join(tmp, 'store.db');
  const store = openStore(db);
  const ds = store.datasets.create({
    name: 'scroll-100k',
    kind: 'folder',
    sourcePath: data,
    classes: ['no-triangle', 'triangle'],
  });
  const inputs = [];
  for (let i = 0; i < count; i++) {
    const k = i % files.length;
    const name = `${String(i).padStart(6, '0')}.png`;
    symlinkSync(join('..', files[k]), join(many, name));
    const p = probes[k];
    inputs.push({
      datasetId: ds.id,
      relPath: `JPEGImages/many/${name}`,
      width: p.width,
      height: p.height,
      channels: p.channels,
      format: p.format,
      sha256: p.sha256,
      label: k % 2 ? 'triangle' : 'no-triangle',
    });
  }
  const { ids } = store.images.upsertMany(inputs);
  const tRows = performance.now();
  // A finished run with a prediction per image (deterministic pseudo-random confidences, a tenth wrong), as the
  // batch-explain job would leave it; the model itself is not needed to list or sort.
  const run = store.runs.create({ datasetId: ds.id, model: 'expclass', config: {}, engine: 'wasm' });
  store.runs.setStatus(run.id, 'running');
  store.runs.setStatus(run.id, 'done');
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  store.predictions.putMany(
    ids.map((imageId, i) => {
      const truth = (i % files.length) % 2;
      const correct = rand() > 0.1;
      const probability = 0.5 + rand() / 2;
      return {
        runId: run.id,
        imageId,
        classIndex: correct ? truth : 1 - truth,
        probability,
        trueProbability: correct ? probability : 1 - probability,
        correct,
        checkpoint: '/bench/final',
      };
    }),
  );
  const tPred = performance.now();
  const pageMs: string[] = [];
  for (const sort of ['path', 'confidence', 'wrong', 'rating'] as const) {
    for (const offset of [0, Math.floor(count / 2), count - 200]) {
      const q0 = performance.now();
      const page = store.gallery.page({ datasetId: ds.id, runId: run.id, sort, offset, limit: 200 });
      if (page.rows.length !== 200) throw new Error(`${sort} at ${offset}: ${page.rows.length} rows`);
      pageMs.push(`${sort}@${offset}: ${(performance.now() - q0).toFixed(0)} ms`);
    }
  }
  const q0 = performance.now();
  const wrong = store.gallery.page({
    datasetId: ds.id,
    runId: run.id,
    correct: false,
    sort: 'wrong',
    limit: 200,
  });
  pageMs.push(
    `wrong only, most wrong first: ${(performance.now() - q0).toFixed(0)} ms (${wrong.total} images)`,
  );
  store.close();
  console.log(
    `store: ${count.toLocaleString()} rows (with links) over ${files.length} originals of ${size} px in ${((tRows - t0) / 1000).toFixed(1)} s, ` +
      `${count.toLocaleString()} predictions in ${((tPred - tRows) / 1000).toFixed(1)} s`,
  );
  console.log(`gallery page of 200 (store.gallery.page, count + rows): ${pageMs.join('; ')}`);
  runId = run.id;
  datasetId = ds.id;
  return db;
}
let runId = 0;
let datasetId = 0;

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/** ms until every gallery image in the viewport has loaded (or the timeout). */
const VISIBLE_LOADED = `(() => new Promise((done) => {
  const t0 = performance.now();
  const check = () => {
    const box = document.querySelector('[data-testid=gallery]').getBoundingClientRect();
    const imgs = [...document.querySelectorAll('.gallery .cell')].filter((c) => {
      const r = c.getBoundingClientRect();
      return r.bottom > box.top && r.top < box.bottom;
    });
    const ready = imgs.length > 0 && imgs.every((c) => { const i = c.querySelector('img'); return i && i.complete && i.naturalWidth > 0; });
    if (ready || performance.now() - t0 > 20000) done(performance.now() - t0); else requestAnimationFrame(check);
  };
  check();
}))()`;

const SCROLL = (n: number) => `(() => new Promise((done) => {
  const s = document.querySelector('[data-testid=gallery]');
  const times = [];
  let last = performance.now();
  let i = 0;
  const step = (t) => {
    times.push(t - last);
    last = t;
    s.scrollTop += 60;
    if (++i < ${n}) requestAnimationFrame(step); else done(times.slice(1));
  };
  requestAnimationFrame((t) => { last = t; requestAnimationFrame(step); });
}))()`;

/** Frame recording in the page while Node drives the input (wheel events come from outside the page). */
const REC_START = `(() => { window.__ft = []; window.__rec = true; let last = 0;
  const f = (t) => { if (last) window.__ft.push(t - last); last = t; if (window.__rec) requestAnimationFrame(f); };
  requestAnimationFrame(f); })()`;
const REC_STOP = '(() => { window.__rec = false; return window.__ft; })()';

const FRAME = 1000 / 60;
function frameLine(name: string, ft: number[]): string {
  const f = (x: number) => x.toFixed(1);
  const dropped = ft.reduce((n, t) => n + Math.max(0, Math.round(t / FRAME) - 1), 0);
  const span = ft.reduce((a, b) => a + b, 0);
  return (
    `${name} × ${ft.length} frames over ${(span / 1000).toFixed(1)} s: frame ms p50 ${f(pct(ft, 0.5))}, ` +
    `p95 ${f(pct(ft, 0.95))}, p99 ${f(pct(ft, 0.99))}, max ${f(Math.max(...ft))}; ` +
    `dropped ${dropped} of ${Math.round(span / FRAME)} frames at 60 Hz; ${ft.filter((t) => t > 25).length} over 25 ms`
  );
}

/** Jumps to scattered positions (a scrollbar drag, Page keys, a link): ms until the images in view loaded. */
async function jumps(page: import('playwright-core').Page, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let k = 1; k <= n; k++) {
    // Golden-ratio spread over the list, never the same place twice.
    const at = (k * 0.6180339887) % 1;
    await page.evaluate(
      `(() => { const s = document.querySelector('[data-testid=gallery]'); s.scrollTop = Math.floor((s.scrollHeight - s.clientHeight) * ${at}); })()`,
    );
    out.push((await page.evaluate(VISIBLE_LOADED)) as number);
  }
  return out;
}

/** Busy ms per thread (top-level tasks) and the main thread's heaviest event kinds, from a Chrome trace. */
function summariseTrace(buf: Buffer): string {
  const trace = JSON.parse(buf.toString('utf8')) as {
    traceEvents: {
      name: string;
      ph: string;
      dur?: number;
      tid: number;
      pid: number;
      args?: { name?: string };
    }[];
  };
  const names = new Map<string, string>();
  for (const e of trace.traceEvents) {
    if (e.ph === 'M' && e.name === 'thread_name') names.set(`${e.pid}:${e.tid}`, e.args?.name ?? '?');
  }
  const busy = new Map<string, number>();
  const mainKinds = new Map<string, number>();
  for (const e of trace.traceEvents) {
    if (e.ph !== 'X' || e.dur === undefined) continue;
    const thread = names.get(`${e.pid}:${e.tid}`) ?? '?';
    if (e.name === 'ThreadControllerImpl::RunTask' || e.name === 'RunTask') {
      busy.set(thread, (busy.get(thread) ?? 0) + e.dur / 1000);
    }
    if (thread === 'CrRendererMain' && e.name !== 'ThreadControllerImpl::RunTask' && e.name !== 'RunTask') {
      mainKinds.set(e.name, (mainKinds.get(e.name) ?? 0) + e.dur / 1000);
    }
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join(', ');
  return `busy ms by thread: ${top(busy, 6)}; main thread by event (ms, nested): ${top(mainKinds, 8)}`;
}

const db = await makeStore();
const rendererDir = values.renderer ?? buildRenderer();
const server = await startXwbServe(db, rendererDir);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  await page.goto(server.launchUrl);
  await page.locator('button[data-screen=gallery].active').waitFor({ timeout: 60_000 });
  await page.locator('.gallery .cell img').first().waitFor({ timeout: 60_000 });
  const f = (x: number) => x.toFixed(1);
  console.log(`renderer: ${values.label}`);
  // Twice over the same path: the first pass finds the server's thumbnail cache cold, the second warm (and the
  // browser's HTTP cache holding what it kept).
  // The same number of frames with nothing to do: what the machine's load alone costs (on 2 shared cores a
  // starved renderer misses frames whatever the page does).
  const idle = (await page.evaluate(SCROLL(frames).replace('s.scrollTop += 60;', ''))) as number[];
  console.log(`[idle] ${frameLine('no scrolling', idle)}`);
  for (const pass of ['cold', 'warm']) {
    await page.evaluate("document.querySelector('[data-testid=gallery]').scrollTop = 0");
    const firstLoad = (await page.evaluate(VISIBLE_LOADED)) as number;
    // A jump to the middle, as a scrollbar drag would.
    await page.evaluate(
      "document.querySelector('[data-testid=gallery]').scrollTop = document.querySelector('[data-testid=gallery] .spacer').offsetHeight / 2",
    );
    const jump = (await page.evaluate(VISIBLE_LOADED)) as number;
    const tracing = values.trace && pass === 'warm';
    if (tracing) await browser.startTracing(page, { categories: ['devtools.timeline', 'toplevel'] });
    const ft = (await page.evaluate(SCROLL(frames))) as number[];
    if (tracing) console.log(`[warm] trace: ${summariseTrace(await browser.stopTracing())}`);
    const afterScroll = (await page.evaluate(VISIBLE_LOADED)) as number;
    console.log(
      `[${pass}] first screen loaded: ${f(firstLoad)} ms; after a jump to the middle: ${f(jump)} ms`,
    );
    console.log(`[${pass}] ${frameLine('scroll 60 px/frame', ft)}`);
    console.log(`[${pass}] images in view loaded ${f(afterScroll)} ms after the scroll stopped`);
  }
  // A fast wheel scroll: Node sends wheel events as fast as the page takes them while the page records frames.
  await page.evaluate("document.querySelector('[data-testid=gallery]').scrollTop = 0");
  await page.evaluate(VISIBLE_LOADED);
  const box = await page.locator('[data-testid=gallery]').boundingBox();
  if (!box) throw new Error('the gallery has no box');
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  if (values.trace) await browser.startTracing(page, { categories: ['devtools.timeline', 'toplevel'] });
  await page.evaluate(REC_START);
  for (let i = 0; i < wheels; i++) await page.mouse.wheel(0, 400);
  const wheelFt = (await page.evaluate(REC_STOP)) as number[];
  if (values.trace) console.log(`[wheel] trace: ${summariseTrace(await browser.stopTracing())}`);
  const afterWheel = (await page.evaluate(VISIBLE_LOADED)) as number;
  const where = (await page.evaluate("document.querySelector('[data-testid=gallery]').scrollTop")) as number;
  console.log(
    `[wheel] ${frameLine(`${wheels} wheel events of 400 px (to ${Math.round(where)} px)`, wheelFt)}`,
  );
  console.log(`[wheel] images in view loaded ${f(afterWheel)} ms after the last wheel event`);

  const byPath = await jumps(page, 10);
  console.log(
    `[jumps, by path] thumbnails in view after a jump: p50 ${f(pct(byPath, 0.5))} ms, p95 ${f(pct(byPath, 0.95))} ms, max ${f(Math.max(...byPath))} ms`,
  );
  // The same with the run chosen and the list sorted by confidence (the page query of the sorted list).
  await page.evaluate(`location.hash = '#/gallery?d=${datasetId}&run=${runId}&sort=confidence'`);
  await page
    .locator('[data-testid=gallery-status]', { hasText: 'sorted by prediction confidence' })
    .waitFor();
  await page.locator('.gallery .cell .tag.pred').first().waitFor({ timeout: 60_000 });
  await page.evaluate(VISIBLE_LOADED);
  const sorted = await jumps(page, 10);
  console.log(
    `[jumps, by confidence] thumbnails in view after a jump: p50 ${f(pct(sorted, 0.5))} ms, p95 ${f(pct(sorted, 0.95))} ms, max ${f(Math.max(...sorted))} ms`,
  );
  await page.evaluate("document.querySelector('[data-testid=gallery]').scrollTop = 0");
  await page.evaluate(VISIBLE_LOADED);
  await page.evaluate(REC_START);
  for (let i = 0; i < wheels; i++) await page.mouse.wheel(0, 400);
  const sortedWheel = (await page.evaluate(REC_STOP)) as number[];
  console.log(`[wheel, by confidence] ${frameLine(`${wheels} wheel events of 400 px`, sortedWheel)}`);

  const load = (await import('node:os')).loadavg()[0];
  console.log(`load average (1 min) at the end: ${load.toFixed(1)}`);
} finally {
  await browser.close();
  await stopServer(server.child);
  rmSync(tmp, { recursive: true, force: true });
}
