/**
 * Validation of the builders' options and the defaults the papers use. The result (a ModelSpec) is what the
 * model was built with and what is stored next to its weights.
 */
import type {
  ClassifierOptions,
  CommonModelOptions,
  ExpClassOptions,
  ModelSpec,
  XcnnOptions,
} from './types.js';

/** The classifier pools four times by 2, so the side must divide by 16 for the last map to be whole. */
export const SIZE_MULTIPLE = 16;

function fail(builder: string, message: string): never {
  throw new Error(`${builder}: ${message}`);
}

function positiveInteger(builder: string, name: string, value: unknown, min = 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(builder, `option ${name} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function resolveCommon(builder: string, o: CommonModelOptions) {
  if (o == null || typeof o !== 'object')
    fail(builder, 'options must be an object with inputSize and classes');
  const inputSize = positiveInteger(builder, 'inputSize', o.inputSize, SIZE_MULTIPLE);
  if (inputSize % SIZE_MULTIPLE !== 0) {
    fail(
      builder,
      `inputSize ${inputSize} is not a multiple of ${SIZE_MULTIPLE} (the classifier pools four times by 2); ` +
        `resize the images to e.g. ${Math.round(inputSize / SIZE_MULTIPLE) * SIZE_MULTIPLE || SIZE_MULTIPLE}`,
    );
  }
  const classes = positiveInteger(builder, 'classes', o.classes, 2);
  const channels = positiveInteger(builder, 'channels', o.channels ?? 3);
  const base = positiveInteger(builder, 'base', o.base ?? 32);
  const batchNorm = o.batchNorm ?? true;
  if (typeof batchNorm !== 'boolean') fail(builder, 'option batchNorm must be true or false');
  const dropout = o.dropout ?? 0.3;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
    fail(builder, `option dropout must be in [0, 1), got ${JSON.stringify(dropout)}`);
  }
  const common = { inputSize, classes, channels, base, batchNorm, dropout };
  if (o.seed === undefined) return common;
  return { ...common, seed: positiveInteger(builder, 'seed', o.seed, 0) };
}

function oneOf<T extends string>(builder: string, name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    fail(
      builder,
      `option ${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

export function resolveExpClass(o: ExpClassOptions): ModelSpec {
  const builder = 'buildExpClass';
  const common = resolveCommon(builder, o);
  const explanationPool = o.explanationPool ?? 'avg';
  if (explanationPool !== 'avg' && explanationPool !== 'max') {
    fail(builder, `option explanationPool must be 'avg' or 'max', got ${JSON.stringify(explanationPool)}`);
  }
  const explainerUpsample = oneOf(builder, 'explainerUpsample', o.explainerUpsample ?? 'resize', [
    'transpose',
    'resize',
  ] as const);
  const explainerHead = oneOf(builder, 'explainerHead', o.explainerHead ?? 'sigmoid', [
    'tanh-relu',
    'sigmoid',
  ] as const);
  const explainerBias = o.explainerBias ?? (explainerHead === 'sigmoid' ? 0 : 3);
  if (typeof explainerBias !== 'number' || !Number.isFinite(explainerBias)) {
    fail(builder, 'option explainerBias must be a finite number');
  }
  const explainerBatchNorm = o.explainerBatchNorm ?? explainerHead === 'sigmoid';
  if (typeof explainerBatchNorm !== 'boolean')
    fail(builder, 'option explainerBatchNorm must be true or false');
  const gateAt = oneOf(builder, 'gateAt', o.gateAt ?? 'stages', ['stages', 'input'] as const);
  const maskFill = o.maskFill ?? 0.5;
  if (typeof maskFill !== 'number' || !(maskFill >= 0 && maskFill <= 1)) {
    fail(builder, `option maskFill must be a number in [0, 1], got ${JSON.stringify(maskFill)}`);
  }
  return {
    kind: 'expclass',
    options: {
      ...common,
      explanationPool,
      explainerBias,
      explainerUpsample,
      explainerHead,
      explainerBatchNorm,
      gateAt,
      maskFill,
    },
  };
}

export function resolveXcnn(o: XcnnOptions): ModelSpec {
  const builder = 'buildXcnn';
  const common = resolveCommon(builder, o);
  const generatorFilters = positiveInteger(builder, 'generatorFilters', o.generatorFilters ?? 128);
  const conv1x1 = o.conv1x1 ?? false;
  if (typeof conv1x1 !== 'boolean') fail(builder, 'option conv1x1 must be true or false');
  return { kind: 'xcnn', options: { ...common, generatorFilters, conv1x1 } };
}

export function resolveClassifier(o: ClassifierOptions): ModelSpec {
  return { kind: 'classifier', options: resolveCommon('buildClassifier', o) };
}
