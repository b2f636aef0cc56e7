import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drawImage } from '../../../src/data/synthetic/generate.js';
import { LayoutError, layoutImage } from '../../../src/data/synthetic/layout.js';
import { type GeneratorOptions, parseShapes, resolveOptions } from '../../../src/data/synthetic/options.js';
import type { RenderedImage } from '../../../src/data/synthetic/render.js';
import { inradiusFactor } from '../../../src/data/synthetic/shapes.js';
import type { Box } from '../../../src/data/types.js';
import { Random } from '../../../src/util/random.js';

function draw(opts: GeneratorOptions, index: number, positive: boolean): RenderedImage {
  const o = resolveOptions({ width: 64, height: 64, ...opts });
  return drawImage(o, parseShapes(o), index, positive);
}

const inBox = (b: Box, x: number, y: number) => x >= b.x0 && x < b.x1 && y >= b.y0 && y < b.y1;

/** Pixels that differ from the background colour (no noise in these tests). */
function inked(img: RenderedImage, bg: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * img.channels;
      for (let c = 0; c < img.channels; c++) {
        if (img.pixels[i + c] !== bg[c]) {
          out.push([x, y]);
          break;
        }
      }
    }
  }
  return out;
}

function assertTight(box: Box, pixels: [number, number][], what: string): void {
  const mine = pixels.filter(([x, y]) => inBox(box, x, y));
  assert.ok(
    mine.some(([x]) => x === box.x0),
    `${what}: nothing drawn on the left edge of ${JSON.stringify(box)}`,
  );
  assert.ok(
    mine.some(([x]) => x === box.x1 - 1),
    `${what}: nothing drawn on the right edge`,
  );
  assert.ok(
    mine.some(([, y]) => y === box.y0),
    `${what}: nothing drawn on the top edge`,
  );
  assert.ok(
    mine.some(([, y]) => y === box.y1 - 1),
    `${what}: nothing drawn on the bottom edge`,
  );
}

const variants: [string, GeneratorOptions][] = [
  ['outlines', { shapesPerImage: 5, target: 'star', distractors: ['circle', 'square'] }],
  [
    'filled, thick lines',
    { shapesPerImage: [3, 6], fill: true, lineWidth: 2.5, distractors: ['hexagon', '7/2'] },
  ],
  ['border occlusion', { shapesPerImage: 6, borderOcclusion: true, radius: [5, 9] }],
  ['nested', { shapesPerImage: 3, nestTargetIn: 'circle', radius: [4, 6] }],
  ['two targets, no rotation', { shapesPerImage: 4, targetsPerPositive: 2, rotation: false, radius: [4, 7] }],
];

for (const [name, opts] of variants) {
  test(`boxes enclose every drawn pixel and are tight; masks lie in target boxes (${name})`, () => {
    for (let i = 0; i < 12; i++) {
      const positive = i % 3 !== 0;
      const img = draw({ ...opts, annotateDistractors: true, seed: 5 }, i, positive);
      const ink = inked(img, [255, 255, 255]);
      const targets = img.objects.filter((o) => o.name === resolveOptions(opts).targetName);
      assert.equal(targets.length, positive ? (opts.targetsPerPositive ?? 1) : 0);
      for (const [x, y] of ink) {
        assert.ok(
          img.objects.some((o) => inBox(o.box, x, y)),
          `image ${i}: pixel (${x},${y}) is drawn but in no box`,
        );
      }
      for (const o of img.objects) {
        assertTight(o.box, ink, `image ${i} ${o.name}`);
        const atBorder = o.box.x0 === 0 || o.box.y0 === 0 || o.box.x1 === 64 || o.box.y1 === 64;
        if (o.truncated) assert.ok(atBorder, `image ${i}: truncated ${o.name} does not touch the border`);
        if (!opts.borderOcclusion) assert.equal(o.truncated, false);
      }
      let maskPixels = 0;
      for (let y = 0; y < 64; y++) {
        for (let x = 0; x < 64; x++) {
          if (!img.mask[y * 64 + x]) continue;
          maskPixels++;
          assert.ok(
            targets.some((t) => inBox(t.box, x, y)),
            `image ${i}: mask pixel (${x},${y}) outside every target box`,
          );
        }
      }
      assert.equal(maskPixels > 0, positive, `image ${i}: mask pixels ${maskPixels}, positive ${positive}`);
    }
  });
}

test('border occlusion produces truncated objects cut at the image edge', () => {
  let truncated = 0;
  for (let i = 0; i < 10; i++) {
    const img = draw(
      { shapesPerImage: 8, borderOcclusion: true, annotateDistractors: true, radius: [6, 9] },
      i,
      true,
    );
    truncated += img.objects.filter((o) => o.truncated).length;
  }
  assert.ok(truncated > 5, `only ${truncated} truncated objects in 10 images`);
});

test('the colour cue draws the target, and only the target, in its colour', () => {
  for (let i = 0; i < 8; i++) {
    const img = draw(
      { shapesPerImage: 6, colourCue: true, targetColour: [0, 200, 0], seed: 2 },
      i,
      i % 2 === 0,
    );
    const coloured: [number, number][] = [];
    for (let p = 0; p < 64 * 64; p++) {
      const [r, g, b] = [img.pixels[3 * p], img.pixels[3 * p + 1], img.pixels[3 * p + 2]];
      if (r !== g || g !== b) {
        coloured.push([p % 64, Math.floor(p / 64)]);
        assert.ok(g > r && r === b, `pixel ${p} is not a green blend: ${r},${g},${b}`);
      }
    }
    if (i % 2 === 0) {
      assert.equal(img.objects.length, 1);
      assert.ok(coloured.length > 10, `only ${coloured.length} coloured pixels`);
      for (const [x, y] of coloured) assert.ok(inBox(img.objects[0].box, x, y));
      assertTight(img.objects[0].box, coloured, 'coloured target');
    } else {
      assert.equal(coloured.length, 0, 'negative images have no coloured pixels');
    }
  }
});

test('grey images have one channel; noise has the requested standard deviation', () => {
  const grey = draw({ channels: 1, shapesPerImage: 3 }, 0, true);
  assert.equal(grey.pixels.length, 64 * 64);
  const base = { shapesPerImage: 0, positives: 0, background: [128, 128, 128] as [number, number, number] };
  const clean = draw({ ...base, width: 128, height: 128 }, 0, false);
  const noisy = draw({ ...base, width: 128, height: 128, noiseSigma: 10 }, 0, false);
  const d = Array.from(noisy.pixels, (v, i) => v - clean.pixels[i]);
  const mean = d.reduce((a, b) => a + b, 0) / d.length;
  const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / d.length);
  assert.ok(Math.abs(mean) < 0.2, `noise mean ${mean}`);
  assert.ok(Math.abs(sd - 10) < 0.3, `noise sd ${sd}`);
});

test('nested targets sit inside their container; negatives get the same containers holding distractors', () => {
  const o = resolveOptions({
    width: 96,
    height: 96,
    shapesPerImage: 4,
    nestTargetIn: 'square',
    radius: [4, 6],
  });
  const sh = parseShapes(o);
  for (const positive of [true, false]) {
    for (let i = 0; i < 10; i++) {
      const items = layoutImage(new Random(i), o, sh, positive, `t${i}`);
      const containers = items.filter((it) => it.role === 'container');
      const inner = items.filter((it) => it.inner);
      assert.equal(containers.length, 1);
      assert.equal(items.filter((it) => !it.inner).length, 4, 'a nested pair counts as one shape');
      assert.equal(inner.length, 1);
      assert.equal(inner[0].role, positive ? 'target' : 'distractor');
      assert.equal(items.indexOf(inner[0]), items.length - 1, 'inner shapes are drawn last');
      const c = containers[0];
      const gap =
        c.r * inradiusFactor(c.shape) - (Math.hypot(inner[0].cx - c.cx, inner[0].cy - c.cy) + inner[0].r);
      assert.ok(gap > 1, `inner shape only ${gap} px from the container's edge`);
    }
  }
});

test('shape counts follow shapesPerImage ranges', () => {
  const o = resolveOptions({ width: 128, height: 128, shapesPerImage: [2, 5], radius: [4, 5] });
  const seen = new Set<number>();
  for (let i = 0; i < 60; i++)
    seen.add(layoutImage(new Random(i), o, parseShapes(o), i % 2 === 0, 'x').length);
  assert.deepEqual([...seen].sort(), [2, 3, 4, 5]);
});

test('a layout too tight for random placement fails with a clear error after bounded attempts', () => {
  // 12 discs of footprint 9 px fill 75% of 64x64: allowed by the packing bound, hopeless for random placement.
  const o = resolveOptions({
    width: 64,
    height: 64,
    shapesPerImage: 12,
    radius: [8, 8],
    placementAttempts: 200,
  });
  const t = performance.now();
  assert.throws(
    () => layoutImage(new Random(1), o, parseShapes(o), true, '000007'),
    (e: unknown) =>
      e instanceof LayoutError &&
      /image 000007: could not place shape \d+ of 12 .* after 200 attempts in each of 8 fresh layouts; lower shapesPerImage/.test(
        e.message,
      ),
  );
  assert.ok(performance.now() - t < 2000, 'gave up quickly');
});
