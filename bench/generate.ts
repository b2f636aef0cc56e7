/**
 * Benchmark of the synthetic generator on the paper's set: 1,000 RGB images of 224x224, a triangle among
 * circles, 618 positives, with XML annotations and masks, written to a temp folder (removed afterwards), beside
 * the OpenCV yardstick (bench/reference/generate_cv2.py, Debian's python3-opencv) run in the same process, and an
 * I/O floor: creating as many files of the same sizes. Runs alternate (reference, xwb, floor) `--reps` times;
 * medians and the ratio xwb / reference are printed with the load average before and after.
 *
 *   node --import tsx bench/generate.ts [--images 1000] [--reps 3] [--threads N] [--dir PARENT] [--no-reference]
 *
 * `--dir` chooses where the files go (default the OS temp folder; /dev/shm takes the disk out). Target (issue 13):
 * at most 2x the reference's time.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateDataset, PAPER_OPTIONS } from '../src/data/synthetic/index.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '1000' },
    reps: { type: 'string', default: '3' },
    threads: { type: 'string' },
    dir: { type: 'string', default: os.tmpdir() },
    'no-reference': { type: 'boolean', default: false },
  },
});
const images = Number(values.images);
const reps = Number(values.reps);
const threads = values.threads === undefined ? undefined : Number(values.threads);
const python = process.env.XWB_PYTHON ?? '/usr/bin/python3';
const script = path.join(import.meta.dirname, 'reference', 'generate_cv2.py');
const positives = Math.round((images * (PAPER_OPTIONS.positives ?? 0)) / (PAPER_OPTIONS.images ?? 1));

const load = () =>
  os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function fresh(): string {
  return fs.mkdtempSync(path.join(values.dir, 'xwb-bench-gen-'));
}

async function runXwb(): Promise<{ s: number; cpu: number; files: { size: number }[] }> {
  const dir = fresh();
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const out = path.join(dir, 'paper');
    await generateDataset(out, { ...PAPER_OPTIONS, images, positives, seed: 1 }, undefined, { threads });
    const s = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(cpu0); // every thread of this process, workers included
    const files: { size: number }[] = [];
    for (const sub of ['JPEGImages', 'SegmentationClass', 'Annotations']) {
      for (const f of fs.readdirSync(path.join(out, sub))) files.push(fs.statSync(path.join(out, sub, f)));
    }
    return { s, cpu: (c.user + c.system) / 1e6, files };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function runReference(): { s: number; cpu: number } | string {
  const dir = fresh();
  try {
    const r = spawnSync(
      python,
      [script, path.join(dir, 'out'), '--images', String(images), '--positives', String(positives)],
      {
        encoding: 'utf8',
      },
    );
    if (r.status !== 0)
      return `reference failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; cpu: number };
    return { s: j.seconds, cpu: j.cpu };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Creating and writing files of these sizes, nothing else: what the file system alone costs. */
function runFloor(sizes: readonly { size: number }[]): number {
  const dir = fresh();
  try {
    const t0 = performance.now();
    const buf = Buffer.alloc(Math.max(...sizes.map((f) => f.size)), 1);
    sizes.forEach((f, i) => {
      fs.writeFileSync(path.join(dir, `${i}.bin`), buf.subarray(0, f.size));
    });
    return (performance.now() - t0) / 1000;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `generate benchmark: ${images} images of 224 px (${positives} positive), into ${values.dir}, node ${process.version}, ` +
    `${os.availableParallelism()} cores, threads ${threads ?? 'default'}; load average ${load()}`,
);
const xs: number[] = [];
const xcpu: number[] = [];
const refs: number[] = [];
const rcpu: number[] = [];
const floors: number[] = [];
for (let r = 0; r < reps; r++) {
  if (!values['no-reference']) {
    const ref = runReference();
    if (typeof ref === 'string') {
      console.log(`  ${ref}`);
      values['no-reference'] = true;
    } else {
      refs.push(ref.s);
      rcpu.push(ref.cpu);
      console.log(`  rep ${r + 1}: reference ${ref.s.toFixed(2)} s (cpu ${ref.cpu.toFixed(2)} s)`);
    }
  }
  const x = await runXwb();
  xs.push(x.s);
  xcpu.push(x.cpu);
  const floor = runFloor(x.files);
  floors.push(floor);
  console.log(
    `  rep ${r + 1}: xwb ${x.s.toFixed(2)} s (cpu ${x.cpu.toFixed(2)} s), file floor (${x.files.length} files) ${floor.toFixed(2)} s`,
  );
}
console.log(`medians: xwb ${median(xs).toFixed(2)} s (cpu ${median(xcpu).toFixed(2)} s)`);
if (refs.length > 0) {
  const ratio = median(xs) / median(refs);
  console.log(
    `         reference ${median(refs).toFixed(2)} s (cpu ${median(rcpu).toFixed(2)} s); ` +
      `xwb / reference ${ratio.toFixed(2)} (target <= 2: ${ratio <= 2 ? 'MET' : 'MISSED'})`,
  );
}
console.log(`         file floor ${median(floors).toFixed(2)} s; load average at the end ${load()}`);
