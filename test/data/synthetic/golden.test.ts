/**
 * Fixes the generator's output for given seeds, so a faster rasteriser or encoder cannot change what is drawn.
 *
 * The hashes were taken from the implementation before the speed work (commit 5f95d41): the per-pixel
 * distance rasteriser and sharp's PNG encoder. They cover the pixels, the mask and the VOC objects of every
 * drawing path (circle and polygon strokes, fills, stars, thick lines, nesting, border cuts, grey, noise), and,
 * for a written dataset, the decoded pixels of every PNG plus the bytes of every other file. PNG bytes are not
 * fixed (another encoder may compress differently); what they decode to is.
 */
import assert from 'node:assert/strict';
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { drawImage, generateDataset } from '../../../src/data/synthetic/generate.js';
import {
  type GeneratorOptions,
  PAPER_OPTIONS,
  parseShapes,
  resolveOptions,
} from '../../../src/data/synthetic/options.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-golden-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

function update(h: Hash, label: string, bytes: Uint8Array | string): void {
  // Length-prefixed, so moving bytes from one part to the next changes the hash.
  h.update(`${label}:${bytes.length}:`);
  h.update(bytes);
}

/** Hash of images 0..count-1 drawn in memory (odd indices positive). */
function drawnHash(options: GeneratorOptions, count: number): string {
  const o = resolveOptions(options);
  const sh = parseShapes(o);
  const h = createHash('sha256');
  for (let i = 0; i < count; i++) {
    const img = drawImage(o, sh, i, i % 2 === 1);
    update(h, 'pixels', img.pixels);
    update(h, 'mask', img.mask);
    update(h, 'objects', JSON.stringify(img.objects));
    update(h, 'visible', String(img.visibleTargets));
  }
  return h.digest('hex');
}

const cases: [string, GeneratorOptions, number, string][] = [
  [
    'paper set, 224 px',
    { ...PAPER_OPTIONS, seed: 1 },
    24,
    '70e7f07cc04d8cedf7ad55606756ae3d9793f1e3f574043c775127f853cff76a',
  ],
  [
    'stars and polygons, thick strokes, border cuts, annotated distractors',
    {
      width: 96,
      height: 80,
      target: 'star',
      distractors: ['square', 'hexagram', '7/3', 'circle'],
      shapesPerImage: [3, 9],
      lineWidth: 2.5,
      borderOcclusion: true,
      overlap: true,
      annotateDistractors: true,
      seed: 'golden-a',
    },
    30,
    'c123f6cf51af89ebc9b42286b9741ffe8ecc59aea0466c9a0a9b0a65ddf4b14b',
  ],
  [
    'filled shapes, colour cue, a sub-pixel stroke on the containers',
    {
      width: 72,
      height: 72,
      target: 'pentagon',
      distractors: ['triangle', 'circle', 'octagon'],
      fill: true,
      colourCue: true,
      nestTargetIn: 'hexagon',
      lineWidth: 0.6,
      shapesPerImage: 5,
      seed: 11,
    },
    30,
    'cd689e2e83202285c525c09f224ee1ce766632a051c39d050325add48553d543',
  ],
  [
    'grey with noise, unrotated',
    {
      width: 64,
      height: 48,
      channels: 1,
      noiseSigma: 12,
      rotation: false,
      distractors: ['circle', 'star'],
      background: [200, 180, 40],
      ink: [10, 60, 250],
      shapesPerImage: 6,
      seed: 5,
    },
    30,
    '23f48de7389325a0cee30d30606b5286e70d52eca10b1c61620c902f736ddbdf',
  ],
];

for (const [name, options, count, expected] of cases) {
  test(`drawn images are fixed: ${name}`, () => {
    assert.equal(drawnHash(options, count), expected);
  });
}

/** Size, channels (as stored in the file) and pixels; sharp hands grey images out as RGB, so take one back. */
async function decodedPixels(file: string): Promise<Buffer> {
  const meta = await sharp(file).metadata();
  const decoder = meta.channels === 1 ? sharp(file).extractChannel(0) : sharp(file);
  const data = await decoder.raw().toBuffer();
  return Buffer.concat([Buffer.from(`${meta.width}x${meta.height}x${meta.channels}:`), data]);
}

/** Every file of a dataset: PNGs by their decoded pixels (and size and channels), the rest by their bytes. */
async function datasetHash(root: string): Promise<string> {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (fs.statSync(p).isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(root);
  const h = createHash('sha256');
  for (const f of files) {
    const rel = path.relative(root, f);
    update(h, rel, f.endsWith('.png') ? await decodedPixels(f) : fs.readFileSync(f));
  }
  return h.digest('hex');
}

test('a written dataset is fixed: decoded PNGs, XML, image sets, metadata', async () => {
  const rgb = await generateDataset(path.join(tmpRoot, 'rgb'), {
    width: 80,
    height: 64,
    images: 16,
    positives: 6,
    shapesPerImage: 6,
    annotateDistractors: true,
    distractors: ['circle', 'square'],
    seed: 21,
  });
  // Changed once, for GENERATOR_VERSION 1 → 2 in the metadata file only (same pixels, same XML).
  assert.equal(
    await datasetHash(rgb.outDir),
    '4bce8f243a8ba36920a4a54661959b2b9a8fd8dd809ee2c8ef5e01d78d6a68a9',
  );
  const grey = await generateDataset(path.join(tmpRoot, 'grey'), {
    width: 48,
    height: 48,
    channels: 1,
    images: 8,
    positives: 3,
    shapesPerImage: 4,
    seed: 22,
  });
  assert.equal(
    await datasetHash(grey.outDir),
    'a2c697dd05d8fde264462d253471fd8a3cdadab98c83c0fdbfbecae7056e92c4',
  );
});
