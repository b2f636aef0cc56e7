/**
 * What a mask upload that is a decompression bomb costs the server: a grey PNG of N×N zeros (a few hundred KiB)
 * sent as a mask for a 64×48 image, refused from its IHDR header (what `masks.put` and `review.rate` do now), and
 * for comparison fully decoded first, as they did before the size was read from the header.
 *
 * Run: `node --import tsx bench/mask-bomb.ts [--size 12000]`. The PNG is written once; each case reads it in its own
 * process, so that the peak RSS (the kernel's VmHWM) is the case's own.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';
import { decodeBinaryMask } from '../src/api/annotation-handlers.js';

const size = Number(process.argv[process.argv.indexOf('--size') + 1]) || 12_000;

/** An N×N 8-bit grey PNG of zeros, built row by row so the bench itself does not hold N² bytes twice. */
function bomb(n: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(n, 0);
  ihdr.writeUInt32BE(n, 4);
  ihdr[8] = 8;
  const raw = Buffer.alloc((n + 1) * n); // filter byte 0 + zeros on every row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

if (process.argv.includes('--case')) {
  const which = process.argv[process.argv.indexOf('--case') + 1];
  const png = readFileSync(process.argv[process.argv.indexOf('--file') + 1]);
  const before = peakRssMiB();
  const t0 = performance.now();
  let outcome: string;
  try {
    const expected = which === 'header' ? { width: 64, height: 48, what: 'image 1' } : undefined;
    const d = await decodeBinaryMask(png, 'png', expected);
    outcome = `decoded ${d.width}×${d.height}`;
  } catch (e) {
    outcome = `refused: ${(e as Error).message.slice(0, 70)}`;
  }
  const ms = performance.now() - t0;
  console.log(
    JSON.stringify({ which, pngKiB: png.length / 1024, ms, peakMiB: peakRssMiB(), before, outcome }),
  );
} else {
  const dir = mkdtempSync(join(tmpdir(), 'xwb-bomb-'));
  const file = join(dir, 'bomb.png');
  writeFileSync(file, bomb(size));
  console.log(`mask bomb: ${size}×${size} grey zeros, sent for a 64×48 image`);
  console.log('| check | PNG | time | peak RSS (process) | outcome |\n|---|---|---|---|---|');
  for (const which of ['header', 'decode-first']) {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--case', which, '--file', file],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(r.stderr);
    const j = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number | string>;
    console.log(
      `| ${which} | ${Number(j.pngKiB).toFixed(0)} KiB | ${Number(j.ms).toFixed(1)} ms | ` +
        `${Number(j.peakMiB).toFixed(0)} MiB (${Number(j.before).toFixed(0)} before) | ${j.outcome} |`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
}
