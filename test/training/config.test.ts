import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  activePhases,
  ConfigError,
  configToJson,
  onlyPhases,
  phaseObjective,
  resolveTrainConfig,
  selectPhases,
} from '../../src/training/config.js';
import { inheritModel } from '../../src/training/init-from.js';
import { kerasL1ToMeanWeight } from '../../src/training/losses.js';

test('defaults: expclass with the three phases of the brief, JSON round trip', () => {
  const c = resolveTrainConfig({ datasetId: 3 });
  assert.equal(c.model.kind, 'expclass');
  assert.deepEqual(activePhases(c), ['classifier', 'explainer', 'joint']);
  // The default layout's phases (docs/paper-reproduction.md, "Why the default is what it is").
  assert.deepEqual(
    activePhases(c).map((p) => [
      c.phases[p]!.epochs,
      c.phases[p]!.alpha,
      c.phases[p]!.optimizer,
      c.phases[p]!.lr,
    ]),
    [
      [10, 1, 'adam', 0.001],
      [10, 2 / 3, 'adam', 0.001],
      [20, 2 / 3, 'adam', 0.001],
    ],
  );
  assert.equal(c.phases.classifier!.weightDecay, 0);
  assert.deepEqual(
    [c.model.explainerUpsample, c.model.explainerHead, c.model.gateAt, c.frozenStatistics],
    ['resize', 'sigmoid', 'stages', false],
  );
  // The reference layout keeps the reference's SGD defaults.
  const ref = resolveTrainConfig({
    datasetId: 3,
    model: { explainerHead: 'tanh-relu', explainerUpsample: 'transpose' },
  });
  assert.deepEqual(
    activePhases(ref).map((p) => [
      ref.phases[p]!.epochs,
      ref.phases[p]!.alpha,
      ref.phases[p]!.optimizer,
      ref.phases[p]!.lr,
    ]),
    [
      [10, 1, 'sgd', 0.01],
      [10, 0.25, 'sgd', 0.01],
      [50, 0.9, 'sgd', 0.001],
    ],
  );
  assert.equal(ref.phases.classifier!.weightDecay, 1e-4);
  assert.equal(ref.model.explainerBias, 3);
  // A version-1 config (stored before the layout options) reads as the reference layout it was trained with.
  const { frozenStatistics: _notInVersion1, ...stored } = JSON.parse(JSON.stringify(ref));
  const v1 = resolveTrainConfig({ ...stored, version: 1, model: { kind: 'expclass' } });
  assert.deepEqual(
    [v1.model.explainerHead, v1.model.explainerUpsample, v1.frozenStatistics],
    ['tanh-relu', 'transpose', true],
  );
  assert.equal(c.data.maskSource, 'none');
  // Stored and read back (as a resume does), the config resolves to itself.
  assert.deepEqual(resolveTrainConfig(JSON.parse(JSON.stringify(configToJson(c)))), c);
});

test('each kind has its own phases; 0-epoch phases are skipped', () => {
  assert.deepEqual(activePhases(resolveTrainConfig({ datasetId: 1, model: { kind: 'xcnn' } })), ['joint']);
  assert.deepEqual(activePhases(resolveTrainConfig({ datasetId: 1, model: { kind: 'classifier' } })), [
    'classifier',
  ]);
  const c = resolveTrainConfig({ datasetId: 1, phases: { explainer: { epochs: 0 } } });
  assert.deepEqual(activePhases(c), ['classifier', 'joint']);
});

test('an optimiser without a rate gets its own default rate and weight decay', () => {
  const c = resolveTrainConfig({
    datasetId: 1,
    phases: { classifier: { optimizer: 'adadelta' }, joint: { optimizer: 'sgd' } },
  });
  assert.equal(c.phases.classifier!.lr, 1);
  assert.equal(c.phases.classifier!.weightDecay, 0);
  assert.equal(c.phases.joint!.lr, 0.01);
  assert.equal(c.phases.joint!.weightDecay, 1e-4);
});

test('validation names the field and the problem', () => {
  const bad: [unknown, RegExp][] = [
    [{}, /datasetId must be an integer/],
    [{ datasetId: 1, model: { inputSize: 40 } }, /model\.inputSize must be a multiple of 16/],
    [{ datasetId: 1, model: { kind: 'resnet' } }, /model\.kind must be one of expclass, xcnn, classifier/],
    [
      { datasetId: 1, model: { kind: 'xcnn' }, phases: { classifier: { epochs: 3 } } },
      /phases\.classifier does not apply to a xcnn model/,
    ],
    [
      { datasetId: 1, phases: { joint: { alpha: 1.5 } } },
      /phases\.joint\.alpha must be a number in \[0, 1\]/,
    ],
    [{ datasetId: 1, phases: { joint: { lr: 0 } } }, /phases\.joint\.lr must be a number in \(0/],
    [
      { datasetId: 1, phases: { joint: { optimizer: 'rmsprop' } } },
      /optimizer must be one of sgd, adadelta, adam/,
    ],
    [
      { datasetId: 1, phases: { classifier: { epochs: 0 }, explainer: { epochs: 0 }, joint: { epochs: 0 } } },
      /at least one phase/,
    ],
    [{ datasetId: 1, loss: { gamma: 1 }, data: { maskSource: 'none' } }, /hybrid term needs masks/],
    [
      { datasetId: 1, loss: { l1: { weight: 1e-6 } }, phases: { joint: { alpha: 0.5 } } },
      /give only one of them/,
    ],
    [{ datasetId: 1, data: { batchSize: 0 } }, /data\.batchSize/],
    [{ datasetId: 1, learningRate: 3 }, /learningRate is not a known option/],
    [{ datasetId: 1, version: 7 }, /version 7 is not supported/],
  ];
  for (const [input, message] of bad) {
    assert.throws(
      () => resolveTrainConfig(input as Parameters<typeof resolveTrainConfig>[0]),
      (e: unknown) => e instanceof ConfigError && message.test(e.message),
      JSON.stringify(input),
    );
  }
});

test('gamma > 0 defaults the masks to the ground-truth boxes', () => {
  assert.equal(resolveTrainConfig({ datasetId: 1, loss: { gamma: 0.5 } }).data.maskSource, 'gt-boxes');
});

test('loss.l1 sets α = 1/(1 + λ) and β = 1 in the explainer phases only; Keras factors are converted', () => {
  const mean = resolveTrainConfig({ datasetId: 1, loss: { l1: { weight: 0.25 } } });
  assert.deepEqual(phaseObjective(mean, 'explainer'), {
    alpha: 0.8,
    beta: 1,
    gamma: 0,
    blockDiagonal: 0,
    delta: 0,
    sparsity: 'absolute',
  });
  assert.equal(phaseObjective(mean, 'classifier').alpha, 1);
  const keras = resolveTrainConfig({
    datasetId: 1,
    model: { inputSize: 64 },
    data: { batchSize: 8 },
    loss: { l1: { weight: 1e-6, convention: 'keras' } },
  });
  const lambda = kerasL1ToMeanWeight(1e-6, 64, 64, 8);
  assert.ok(Math.abs(phaseObjective(keras, 'joint').alpha - 1 / (1 + lambda)) < 1e-12);
});

test('the block-diagonal penalty applies only while the classifier trains', () => {
  const c = resolveTrainConfig({ datasetId: 1, loss: { blockDiagonal: 0.01 } });
  assert.equal(phaseObjective(c, 'classifier').blockDiagonal, 0.01);
  assert.equal(phaseObjective(c, 'explainer').blockDiagonal, 0);
  assert.equal(phaseObjective(c, 'joint').blockDiagonal, 0.01);
});

test('a resolved config with an L1 weight resolves to itself (a stored run can be loaded again)', () => {
  const first = resolveTrainConfig({
    datasetId: 1,
    model: { kind: 'expclass', inputSize: 32, base: 4 },
    loss: { l1: { weight: 0.5, convention: 'mean' } },
  });
  const again = resolveTrainConfig(JSON.parse(JSON.stringify(first)));
  assert.deepEqual(again, first);
  // What a person writes is still checked.
  assert.throws(
    () =>
      resolveTrainConfig({
        datasetId: 1,
        phases: { explainer: { alpha: 0.3 } },
        loss: { l1: { weight: 0.5, convention: 'mean' } },
      }),
    /both set the explanation weight/,
  );
});

test('initFrom and the phase selection resolve, validate and survive a store round trip', () => {
  const c = resolveTrainConfig({
    datasetId: 2,
    model: { kind: 'expclass', inputSize: 32, base: 4 },
    phases: onlyPhases('expclass', selectPhases('expclass', ['joint', 'explainer']), {
      explainer: { epochs: 3 },
      classifier: { lr: 0.5 },
    }),
    initFrom: { run: 7 },
  });
  assert.deepEqual(c.initFrom, { run: 7, checkpoint: 'best' });
  assert.deepEqual(activePhases(c), ['explainer', 'joint']);
  assert.equal(c.phases.classifier!.epochs, 0);
  assert.equal(c.phases.classifier!.lr, 0.5, 'a deselected phase keeps what else was given');
  assert.equal(c.phases.explainer!.epochs, 3);
  assert.equal(c.phases.joint!.epochs, 20);
  assert.deepEqual(resolveTrainConfig(JSON.parse(JSON.stringify(configToJson(c)))), c);
  assert.equal(resolveTrainConfig({ datasetId: 1 }).initFrom, null);
  assert.deepEqual(resolveTrainConfig({ datasetId: 1, initFrom: { run: 3, checkpoint: 'last' } }).initFrom, {
    run: 3,
    checkpoint: 'last',
  });
  const bad: [unknown, RegExp][] = [
    [{ run: 0 }, /initFrom\.run must be an integer from 1/],
    [{ run: 2, checkpoint: 'first' }, /initFrom\.checkpoint must be one of best, last, got "first"/],
    [{ run: 2, phase: 'joint' }, /initFrom\.phase is not a known option/],
    [5, /initFrom must be an object/],
  ];
  for (const [initFrom, message] of bad) {
    assert.throws(
      () => resolveTrainConfig({ datasetId: 1, initFrom } as never),
      (e: Error) => e instanceof ConfigError && message.test(e.message),
      String(message),
    );
  }
});

test('selectPhases keeps the kind order and names the kind and its phases on bad input', () => {
  assert.deepEqual(selectPhases('expclass', ['joint', 'classifier']), ['classifier', 'joint']);
  assert.deepEqual(selectPhases('xcnn', ['joint']), ['joint']);
  assert.throws(
    () => selectPhases('xcnn', ['explainer']),
    /phases: "explainer" is not a phase of the xcnn model \(the phases of xcnn: joint\)/,
  );
  assert.throws(() => selectPhases('expclass', ['joint', 'joint']), /joint is named twice/);
  assert.throws(() => selectPhases('expclass', []), /name at least one phase/);
  assert.throws(() => selectPhases('expclass', ['joint', '']), /name at least one phase/);
  // All phases deselected but one with 0 epochs: the usual error.
  assert.throws(
    () =>
      resolveTrainConfig({
        datasetId: 1,
        phases: onlyPhases('expclass', ['joint'], { joint: { epochs: 0 } }),
      }),
    /give at least one phase at least one epoch/,
  );
});

test('inheritModel fills the model from the source and refuses a conflict, naming both values', () => {
  const source = resolveTrainConfig({ datasetId: 1, model: { kind: 'expclass', inputSize: 32, base: 4 } });
  const filled = resolveTrainConfig(inheritModel({ datasetId: 1 }, 9, source.model));
  assert.deepEqual(filled.model, source.model);
  const same = resolveTrainConfig(
    inheritModel({ datasetId: 1, model: { base: 4, inputSize: 32 } }, 9, source.model),
  );
  assert.deepEqual(same.model, source.model);
  assert.throws(
    () => inheritModel({ datasetId: 1, model: { base: 8 } }, 9, source.model),
    /model\.base is 8, but run 9 \(initFrom\) was trained with 4; .*leave model\.base out/,
  );
  assert.throws(
    () => inheritModel({ datasetId: 1, model: { kind: 'xcnn' } }, 9, source.model),
    /model\.kind is "xcnn", but run 9 \(initFrom\) was trained with "expclass"/,
  );
  assert.throws(
    () => inheritModel({ datasetId: 1, model: { batchNorm: false } }, 9, source.model),
    /model\.batchNorm is false, but run 9 \(initFrom\) was trained with true/,
  );
});
