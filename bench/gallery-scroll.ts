/**
 * Gallery scrolling at scale: a 100,000-image dataset (store rows made directly; the files are links to a few
 * hundred generated originals inside the dataset folder, so the server's path checks pass), the workbench in
 * Debian's Chromium, and requestAnimationFrame frame times while the gallery scrolls.
 *
 *   node --import tsx bench/gallery-scroll.ts [--count 100000] [--size 512] [--renderer DIR] [--label NAME]
 *
 * Measures (1) a jump to the middle: time until every image in view has loaded; (2) a steady scroll of 60 px per
 * frame for 200 frames: frame-time percentiles and frames over 25 ms (a 60 Hz frame is 16.7 ms), then the time
 * until the images in view after the scroll have loaded. `--renderer` serves another build of the renderer (e.g.
 * an older commit's, for a before/after) against the same server and store.
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
  },
});
const count = Number(values.count);
const size = Number(values.size);
const originals = Number(values.originals);
const frames = Number(values.frames);

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
  store.images.upsertMany(inputs);
  store.close();
  console.log(
    `store: ${count.toLocaleString()} rows over ${files.length} originals of ${size} px in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return db;
}

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
  console.log(
    `[idle] no scrolling × ${idle.length}: frame ms p50 ${f(pct(idle, 0.5))}, p95 ${f(pct(idle, 0.95))}, p99 ${f(pct(idle, 0.99))}; ${idle.filter((t) => t > 25).length} of ${idle.length} frames over 25 ms`,
  );
  for (const pass of ['cold', 'warm']) {
    await page.evaluate("document.querySelector('[data-testid=gallery]').scrollTop = 0");
    const firstLoad = (await page.evaluate(VISIBLE_LOADED)) as number;
    // A jump to the middle, as a scrollbar drag would.
    await page.evaluate(
      "document.querySelector('[data-testid=gallery]').scrollTop = document.querySelector('[data-testid=gallery] .spacer').offsetHeight / 2",
    );
    const jump = (await page.evaluate(VISIBLE_LOADED)) as number;
    const ft = (await page.evaluate(SCROLL(frames))) as number[];
    const afterScroll = (await page.evaluate(VISIBLE_LOADED)) as number;
    const over = ft.filter((t) => t > 25).length;
    console.log(
      `[${pass}] first screen loaded: ${f(firstLoad)} ms; after a jump to the middle: ${f(jump)} ms`,
    );
    console.log(
      `[${pass}] scroll 60 px/frame × ${ft.length}: frame ms p50 ${f(pct(ft, 0.5))}, p95 ${f(pct(ft, 0.95))}, p99 ${f(pct(ft, 0.99))}, max ${f(Math.max(...ft))}; ${over} of ${ft.length} frames over 25 ms`,
    );
    console.log(`[${pass}] images in view loaded ${f(afterScroll)} ms after the scroll stopped`);
  }
  const load = (await import('node:os')).loadavg()[0];
  console.log(`load average (1 min) at the end: ${load.toFixed(1)}`);
} finally {
  await browser.close();
  await stopServer(server.child);
  rmSync(tmp, { recursive: true, force: true });
}
