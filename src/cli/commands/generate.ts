import { defaultShapeCount, type GeneratorOptions } from '../../data/synthetic/options.js';
import { type Command, intOption, numberOption, stringOption } from '../command.js';
import { UsageError } from '../errors.js';
import { createProgress } from '../progress.js';

function rangeOption(v: string | undefined, name: string): number | [number, number] | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)(?:-(\d+))?$/.exec(v.trim());
  if (!m) throw new UsageError(`--${name} takes a number or a range like 10-20, got "${v}"`);
  return m[2] === undefined ? Number(m[1]) : [Number(m[1]), Number(m[2])];
}

function radiusOption(v: string | undefined): [number, number] | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(v.trim());
  if (!m) throw new UsageError(`--radius takes a pixel range like 4-8, got "${v}"`);
  return [Number(m[1]), Number(m[2])];
}

export const generateCommand: Command = {
  name: 'generate',
  summary:
    'Generate a synthetic polygon dataset (images, PASCAL VOC XML, target masks, stratified splits) into a new folder.',
  usage:
    'xwb generate <outDir> [--count N] [--size PX] [--seed K] [--positives N] [--target triangle|square|star|p/q] ' +
    '[--distractors circle,square] [--shapes N|MIN-MAX] [--radius MIN-MAX] [--colour-cue] [--fill] [--no-rotation] ' +
    '[--overlap] [--border] [--noise SIGMA] [--nest-in SHAPE] [--grey] [--annotate-distractors] [--val F] [--test F] [--json]',
  positionals: [1, 1],
  options: {
    count: { type: 'string' },
    size: { type: 'string' },
    width: { type: 'string' },
    height: { type: 'string' },
    seed: { type: 'string' },
    positives: { type: 'string' },
    target: { type: 'string' },
    'target-name': { type: 'string' },
    distractors: { type: 'string' },
    shapes: { type: 'string' },
    radius: { type: 'string' },
    'line-width': { type: 'string' },
    'colour-cue': { type: 'boolean' },
    'color-cue': { type: 'boolean' },
    fill: { type: 'boolean' },
    'no-rotation': { type: 'boolean' },
    overlap: { type: 'boolean' },
    border: { type: 'boolean' },
    noise: { type: 'string' },
    'nest-in': { type: 'string' },
    grey: { type: 'boolean' },
    'annotate-distractors': { type: 'boolean' },
    val: { type: 'string' },
    test: { type: 'string' },
  },
  async run({ values, positionals }, io) {
    const { generateDataset } = await import('../../data/synthetic/generate.js');
    const size = intOption(values, 'size', 224, 8, 4096);
    const val = numberOption(values, 'val', 0.25, 0, 1);
    const test = numberOption(values, 'test', 0, 0, 1);
    if (val + test >= 1) throw new UsageError(`--val ${val} and --test ${test} leave nothing to train on`);
    const opts: GeneratorOptions = {
      width: intOption(values, 'width', size, 8, 4096),
      height: intOption(values, 'height', size, 8, 4096),
      images: intOption(values, 'count', 1000, 1, 10_000_000),
      seed: intOption(values, 'seed', 1, 0, 2 ** 32 - 1),
      channels: values.grey ? 1 : 3,
      colourCue: Boolean(values['colour-cue'] || values['color-cue']),
      fill: Boolean(values.fill),
      rotation: !values['no-rotation'],
      overlap: Boolean(values.overlap),
      borderOcclusion: Boolean(values.border),
      annotateDistractors: Boolean(values['annotate-distractors']),
      split: { train: 1 - val - test, val, test },
    };
    if (values.positives !== undefined) opts.positives = intOption(values, 'positives', 0, 0, opts.images);
    const target = stringOption(values, 'target');
    if (target) opts.target = target;
    const targetName = stringOption(values, 'target-name');
    if (targetName) opts.targetName = targetName;
    const distractors = stringOption(values, 'distractors');
    if (distractors) opts.distractors = distractors.split(',').map((s) => s.trim());
    const shapes = rangeOption(stringOption(values, 'shapes'), 'shapes');
    opts.shapesPerImage = shapes ?? defaultShapeCount(opts.width!, opts.height!);
    const radius = radiusOption(stringOption(values, 'radius'));
    if (radius) opts.radius = radius;
    if (values['line-width'] !== undefined) opts.lineWidth = numberOption(values, 'line-width', 1, 0.1, 100);
    if (values.noise !== undefined) opts.noiseSigma = numberOption(values, 'noise', 0, 0, 255);
    const nest = stringOption(values, 'nest-in');
    if (nest) opts.nestTargetIn = nest;

    const bar = createProgress('generate', { enabled: io.interactive && !values.json });
    const summary = await generateDataset(positionals[0], opts, (d, t) => bar.update(d, t));
    bar.done();
    if (values.json) {
      io.out(JSON.stringify(summary, null, 2));
    } else {
      io.out(
        `wrote ${summary.images} images (${summary.positives} with a ${summary.classes[0]}) to ${summary.outDir} ` +
          `in ${(summary.elapsedMs / 1000).toFixed(1)} s`,
      );
      io.out(`import it with: xwb import ${summary.outDir}`);
    }
    return 0;
  },
};
