import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type GeneratorOptions, PAPER_OPTIONS, resolveOptions } from '../../../src/data/synthetic/options.js';

test('defaults: 224 px RGB, triangle among 20 circles, radius 7-14 px, 75/25 split, half positive', () => {
  const o = resolveOptions();
  assert.equal(o.width, 224);
  assert.equal(o.height, 224);
  assert.equal(o.channels, 3);
  assert.equal(o.images, 1000);
  assert.equal(o.positives, 500);
  assert.equal(o.target, 'triangle');
  assert.deepEqual(o.distractors, ['circle']);
  assert.deepEqual(o.shapesPerImage, [20, 20]);
  assert.deepEqual(o.radius, [7, 14]);
  assert.deepEqual(o.split, { train: 0.75, val: 0.25, test: 0 });
  assert.equal(o.seed, 1);
  assert.equal(o.nestTargetIn, null);
});

test('the default radius is clamped to at least 4 px for small images (the reference would give 1-2 px)', () => {
  assert.deepEqual(resolveOptions({ width: 32, height: 32, shapesPerImage: 3 }).radius, [4, 6]);
  assert.deepEqual(resolveOptions({ width: 64, height: 48, shapesPerImage: 3 }).radius, [4, 6]);
  assert.deepEqual(resolveOptions({ width: 512, height: 512 }).radius, [16, 32]);
});

test('the paper preset resolves to 1000 images with 618 positives', () => {
  const o = resolveOptions(PAPER_OPTIONS);
  assert.equal(o.images, 1000);
  assert.equal(o.positives, 618);
});

test('resolved options are plain JSON that resolve to themselves (so xwb-generator.json reproduces a set)', () => {
  const o = resolveOptions({
    target: '{7/3}',
    distractors: ['5/1', 'circle'],
    nestTargetIn: '9/1',
    shapesPerImage: [2, 6],
  });
  assert.equal(o.target, '7/3');
  assert.deepEqual(o.distractors, ['pentagon', 'circle']);
  assert.equal(o.nestTargetIn, '9/1');
  assert.equal(o.targetName, 'star7_3');
  const again = resolveOptions(JSON.parse(JSON.stringify(o)) as GeneratorOptions);
  assert.deepEqual(again, o);
});

const bad: [string, GeneratorOptions, RegExp][] = [
  ['unknown option', { widht: 10 } as GeneratorOptions, /option widht: unknown option/],
  ['width', { width: 0 }, /option width: expected an integer from 8/],
  ['width float', { width: 64.5 }, /option width/],
  ['channels', { channels: 2 as 3 }, /option channels: expected 1 or 3/],
  ['positives > images', { images: 10, positives: 11 }, /option positives: expected an integer from 0 to 10/],
  ['bad target', { target: 'blob' }, /option target: unknown shape "blob"/],
  ['degenerate target', { target: '6/3' }, /option target: "6\/3" needs 1 <= q < p\/2/],
  ['target among distractors', { target: 'circle' }, /option distractors: "circle" is the target shape/],
  ['empty distractors', { distractors: [] }, /option distractors: expected a non-empty list/],
  [
    'container = target',
    { nestTargetIn: 'triangle' },
    /option nestTargetIn: the container must be a different/,
  ],
  ['bad class name', { targetName: 'a b' }, /option targetName/],
  [
    'targets > shapes',
    { shapesPerImage: [1, 3], targetsPerPositive: 2 },
    /option targetsPerPositive: 2 targets/,
  ],
  ['range order', { shapesPerImage: [5, 3] }, /option shapesPerImage\[1\]: expected an integer from 5/],
  ['radius order', { radius: [5, 4] }, /option radius\[1\]: expected a number from 5/],
  [
    'radius too big',
    { width: 64, height: 64, radius: [10, 40], shapesPerImage: 1 },
    /option radius: a shape of radius 40/,
  ],
  ['line width', { lineWidth: 0.1 }, /option lineWidth: expected a number from 0.25/],
  [
    'colour cue in grey',
    { channels: 1, colourCue: true },
    /option colourCue: a colour cue needs channels: 3/,
  ],
  ['invisible cue', { colourCue: true, targetColour: [0, 0, 0] }, /option targetColour: equals ink/],
  ['colour', { ink: [0, 0, 256] }, /option ink: expected \[r, g, b\]/],
  ['split sum', { split: { train: 0.8, val: 0.3 } }, /option split: fractions must sum to 1/],
  ['split range', { split: { train: 1.5, val: -0.5 } }, /option split.train/],
  ['seed', { seed: 1.5 }, /option seed: expected an integer or a string/],
  ['noise', { noiseSigma: -1 }, /option noiseSigma/],
  ['boolean', { overlap: 'yes' as unknown as boolean }, /option overlap: expected true or false/],
  [
    'cannot fit',
    { width: 64, height: 64, shapesPerImage: 40, radius: [8, 10] },
    /option shapesPerImage: 40 non-overlapping shapes of radius >= 8 px cannot fit in a 64x64 image/,
  ],
  [
    'nested too big',
    {
      width: 64,
      height: 64,
      shapesPerImage: 1,
      radius: [12, 14],
      nestTargetIn: 'triangle',
      target: 'square',
    },
    /option radius: a target nested in a triangle of radius 14 px needs/,
  ],
];

for (const [name, opts, re] of bad) {
  test(`invalid options are rejected with the option named: ${name}`, () => {
    assert.throws(() => resolveOptions(opts), re);
  });
}

test('packing limits are not checked when overlap is allowed', () => {
  const o = resolveOptions({ width: 64, height: 64, shapesPerImage: 40, radius: [8, 10], overlap: true });
  assert.deepEqual(o.shapesPerImage, [40, 40]);
});

test('defaultShapeCount keeps the paper density and always lays out at the default radii', async () => {
  const { defaultShapeCount } = await import('../../../src/data/synthetic/options.js');
  const { drawImage, parseShapes } = await import('../../../src/data/synthetic/index.js');
  assert.equal(defaultShapeCount(224, 224), 20);
  assert.equal(defaultShapeCount(64, 64), 4);
  assert.equal(defaultShapeCount(32, 32), 2);
  for (const size of [24, 32, 48, 64, 96, 128, 224]) {
    const o = resolveOptions({
      width: size,
      height: size,
      images: 4,
      shapesPerImage: defaultShapeCount(size, size),
    });
    for (let i = 0; i < 4; i++)
      assert.doesNotThrow(() => drawImage(o, parseShapes(o), i, i % 2 === 0), `${size} px`);
  }
});
