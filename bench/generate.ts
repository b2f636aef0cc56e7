/**
 * Benchmark of the synthetic generator on the paper's set: 1,000 RGB images of 224x224, a triangle among
 * circles, 618 positives, with XML annotations and masks, written to a temp folder (removed afterwards).
 * Run: node --import tsx bench/generate.ts   (target: under 20 s on the 2-core reference machine)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateDataset, PAPER_OPTIONS } from '../src/data/synthetic/index.js';

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-bench-'));
  let peakRss = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  try {
    let lastReport = 0;
    const summary = await generateDataset(
      path.join(dir, 'paper'),
      { ...PAPER_OPTIONS, seed: 1 },
      (done, total) => {
        if (done - lastReport >= 250 || done === total) {
          lastReport = done;
          process.stdout.write(`  ${done}/${total}\n`);
        }
      },
    );
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const s = summary.elapsedMs / 1000;
    console.log(`images:      ${summary.images} (${summary.positives} positive), ${PAPER_OPTIONS.width} px`);
    console.log(`elapsed:     ${s.toFixed(2)} s`);
    console.log(`throughput:  ${(summary.images / s).toFixed(1)} images/s`);
    console.log(`peak RSS:    ${(peakRss / 2 ** 20).toFixed(0)} MiB sampled every 50 ms`);
    // resourceUsage().maxRSS is in kilobytes.
    console.log(`maxRSS:      ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (resourceUsage)`);
  } finally {
    clearInterval(timer);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
