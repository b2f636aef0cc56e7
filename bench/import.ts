/**
 * Import benchmark: 10,000 generated VOC images (images, XML, masks, image sets) imported into a fresh store,
 * then imported again (nothing should be written). Generation is timed separately and excluded from the target.
 * In the same run, the I/O floor: `cat` of every image and XML file, and `sha256sum` of the images (what
 * reading and hashing alone cost), so the import's time can be read as a ratio to it.
 *
 *   node --import tsx bench/import.ts [--count N] [--size PX] [--keep] [--dir PARENT] [--workers N|auto]
 *
 * Target (issue 13): the first import of 10,000 files in under 3 s on a quiet 2-core machine.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ImportOptions, importDataset } from '../src/data/import/import.js';
import { generateDataset } from '../src/data/synthetic/generate.js';
import { openStore } from '../src/store/index.js';

const TARGET_S = 3;

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    size: { type: 'string', default: '48' },
    keep: { type: 'boolean', default: false },
    dir: { type: 'string', default: tmpdir() },
    /** Reader threads for the import (importDataset's `workers`): a number or 'auto'; default the importer's. */
    workers: { type: 'string' },
  },
});
const workers: number | 'auto' | undefined =
  values.workers === undefined ? undefined : values.workers === 'auto' ? 'auto' : Number(values.workers);
const importOptions: ImportOptions = { name: 'bench', ...(workers !== undefined ? { workers } : {}) };
const count = Number(values.count);
const size = Number(values.size);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(size) || size < 8) {
  throw new Error(
    `--count and --size must be whole numbers (>= 1 and >= 8), got ${values.count}, ${values.size}`,
  );
}

/** Samples RSS every 20 ms: maxRSS is the process's lifetime peak, this gives the peak of one phase. */
function rssSampler(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

interface Timed<T> {
  value: T;
  seconds: number;
  /** User + system CPU seconds of this process: less sensitive than wall time to other load on the machine. */
  cpuSeconds: number;
  peakRss: number;
}

async function timed<T>(fn: () => Promise<T>): Promise<Timed<T>> {
  const sampler = rssSampler();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { value, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRss: sampler.stop() };
}

const load = () =>
  loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');

/** Wall seconds of a shell command over the dataset's files (in batches, as xargs would). */
function floor(cmd: string, files: readonly string[]): number {
  const t0 = performance.now();
  for (let i = 0; i < files.length; i += 2000) {
    const r = spawnSync(cmd, files.slice(i, i + 2000), { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  }
  return (performance.now() - t0) / 1000;
}

const loadBefore = load();
const work = mkdtempSync(join(values.dir, 'xwb-bench-import-'));
try {
  const dataDir = join(work, 'data');
  const gen = await timed(() =>
    generateDataset(dataDir, {
      images: count,
      width: size,
      height: size,
      shapesPerImage: 4,
      seed: 7,
    }),
  );
  const files = count * 3; // image, annotation and mask per id (plus a few image-set files)
  const list = (sub: string) => readdirSync(join(dataDir, sub)).map((f) => join(dataDir, sub, f));
  const images = list('JPEGImages');
  const catS = floor('cat', [...images, ...list('Annotations')]);
  const shaS = floor('sha256sum', images);
  const rssBefore = process.memoryUsage.rss();
  const store = openStore(join(work, 'xwb.db'));
  try {
    const first = await timed(() => importDataset(store, dataDir, importOptions));
    const again = await timed(() => importDataset(store, dataDir, importOptions));
    const r1 = first.value;
    const r2 = again.value;
    if (r1.images.inserted !== count || r1.errors.length > 0) {
      throw new Error(`first import: expected ${count} new images, got ${JSON.stringify(r1.images)}`);
    }
    if (r2.images.unchanged !== count || r2.splitsAssigned !== 0) {
      throw new Error(
        `re-import changed something: ${JSON.stringify(r2.images)}, ${r2.splitsAssigned} splits`,
      );
    }
    const maxRss = process.resourceUsage().maxRSS * 1024;
    const lines = [
      `import benchmark: ${count} images of ${size}x${size} px (${files} files: PNG, XML, mask PNG), node ${process.version}, reader threads: ${workers ?? 'default'}`,
      `  generate   ${gen.seconds.toFixed(2)} s (excluded)`,
      `  import     ${first.seconds.toFixed(2)} s (cpu ${first.cpuSeconds.toFixed(2)} s)  ${(count / first.seconds).toFixed(0)} images/s  ` +
        `peak RSS ${mb(first.peakRss)} (${mb(rssBefore)} before)  ${r1.objects} boxes, ${r1.masks} masks`,
      `  I/O floor  cat of images + XML ${catS.toFixed(2)} s, sha256sum of images ${shaS.toFixed(2)} s; ` +
        `import / (cat + sha256sum) ${(first.seconds / (catS + shaS)).toFixed(2)}`,
      `  re-import  ${again.seconds.toFixed(2)} s (cpu ${again.cpuSeconds.toFixed(2)} s)  ${(count / again.seconds).toFixed(0)} images/s  ` +
        `peak RSS ${mb(again.peakRss)}  all ${r2.images.unchanged} unchanged`,
      `  process maxRSS ${mb(maxRss)}`,
      `  target: first import < ${TARGET_S} s (on a quiet machine): ${first.seconds < TARGET_S ? 'MET' : 'MISSED'}`,
      `  load average before ${loadBefore}, after ${load()}`,
    ];
    console.log(lines.join('\n'));
    if (values.keep) console.log(`  kept: ${work}`);
  } finally {
    store.close();
  }
} finally {
  if (!values.keep) rmSync(work, { recursive: true, force: true });
}
