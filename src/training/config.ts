/**
 * The training configuration: everything a run needs to be reproduced, validated once, with every default filled
 * in, and JSON-serialisable so it is stored with the run (`store.runs.create({ config })`) and read back to resume.
 *
 * Phases (Rio-Torto et al. 2019, §3): 'classifier' (the classifier alone on a white map, explainer frozen),
 * 'explainer' (the explainer alone, classifier frozen and in inference mode), 'joint' (both). Which phases a model
 * kind has:
 * - expclass: classifier → explainer → joint, as in the paper.
 * - xcnn: joint only. Tavanaei trains the generator and classifier end to end with the classification loss; its
 *   classifier sees nothing but the heatmap, so a classifier-alone phase on a white map would learn nothing.
 * - classifier: classifier only (it has no explainer).
 * A phase with 0 epochs is skipped.
 *
 * The objective of a phase is L = α·CE + (1 − α)·(β·L1 + (1 − β)·TV + γ·hybrid) (+ λ·block-diagonal L1 when the
 * classifier trains). `loss.l1` replaces α and β of the phases that train the explainer with the 2019 paper's
 * "CE + λ·L1": α = 1/(1 + λ), β = 1 (the objective scaled by α). λ is given either in our convention (the weight
 * of the MEAN |e| per pixel) or in Keras's summed convention (the paper's activity-regulariser factors 1e-8…1e-4,
 * summed over every pixel of the batch), converted with λ = w·S·S·batch (see kerasL1ToMeanWeight).
 */
import { defaultMicroBatch, defaultReplicas } from '../engine/parallel/index.js';
import type { EngineName } from '../engine/types.js';
import type { ModelKind } from '../models/index.js';
import { SIZE_MULTIPLE } from '../models/options.js';
import type { JsonObject } from '../store/index.js';
import { MASK_SOURCES, type MaskSource } from './data/masks.js';
import { RESIZE_MODES, type ResizeMode } from './data/placement.js';
import { kerasL1ToMeanWeight, meanWeightToAlpha } from './losses.js';

/** 2: the explainer's layout (upsampling, head, batch norm) and the gate's place became options. */
export const CONFIG_VERSION = 2;
export const PHASES = ['classifier', 'explainer', 'joint'] as const;
export type PhaseName = (typeof PHASES)[number];
export const OPTIMIZERS = ['sgd', 'adadelta', 'adam'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];
export const MODEL_KINDS: readonly ModelKind[] = ['expclass', 'xcnn', 'classifier'];

/** The phases each model kind goes through, in order. */
export const KIND_PHASES: Record<ModelKind, readonly PhaseName[]> = {
  expclass: ['classifier', 'explainer', 'joint'],
  xcnn: ['joint'],
  classifier: ['classifier'],
};

/**
 * Learning rates when none is given: SGD as the reference code; Adadelta as Keras 2's default (lr 1.0, the
 * optimiser the 2019 paper used); Adam's usual 1e-3.
 */
export const DEFAULT_LR: Record<OptimizerName, number> = { sgd: 0.01, adadelta: 1.0, adam: 0.001 };
/** The reference code's SGD weight decay; the adaptive optimisers get none unless asked. */
export const DEFAULT_WEIGHT_DECAY: Record<OptimizerName, number> = { sgd: 1e-4, adadelta: 0, adam: 0 };

export interface PhaseConfig {
  /** 0 skips the phase. */
  epochs: number;
  /** Weight of the cross-entropy in [0, 1]; replaced by loss.l1 in the phases that train the explainer. */
  alpha: number;
  optimizer: OptimizerName;
  lr: number;
  /** Coupled L2 (PyTorch SGD's weight_decay): wd·w is added to each gradient. */
  weightDecay: number;
}

export interface ModelConfig {
  kind: ModelKind;
  /** Square input side; a multiple of 16. */
  inputSize: number;
  base: number;
  batchNorm: boolean;
  dropout: number;
  /** expclass only. */
  explanationPool: 'avg' | 'max';
  /** expclass only: the initial offset of the explainer's head (see ExpClassOptions.explainerBias). */
  explainerBias: number;
  /** expclass only: see src/models/nets.ts. */
  explainerUpsample: 'transpose' | 'resize';
  explainerHead: 'tanh-relu' | 'sigmoid';
  explainerBatchNorm: boolean;
  gateAt: 'stages' | 'input';
  /** 'input' gating: the grey a masked-out pixel takes; 'auto' = the training split's mean pixel value. */
  maskFill: number | 'auto';
  /** xcnn only. */
  generatorFilters: number;
  /** xcnn only. */
  conv1x1: boolean;
}

export interface L1Weight {
  weight: number;
  /** 'mean': λ multiplies mean|e|; 'keras': the paper's summed activity-regulariser factor. */
  convention: 'mean' | 'keras';
}

export interface LossConfig {
  beta: number;
  gamma: number;
  l1: L1Weight | null;
  /** λ of Rieger's block-diagonal L1 on the dense layers (0 = off). */
  blockDiagonal: number;
  /** δ of the deletion term in the phases that train the explainer (0 = off); see losses.ts. */
  deletion: number;
  /** How the L1 term measures sparsity: the map's mean, or its mean relative to its maximum (losses.ts). */
  sparsity: 'absolute' | 'relative';
  /** Inverse-frequency class weights in the cross-entropy. */
  classWeights: boolean;
}

export interface DataConfig {
  batchSize: number;
  /** Random horizontal flips of the training images (and masks). */
  flip: boolean;
  /** Where the hybrid term's masks come from ('none' unless γ > 0). */
  maskSource: MaskSource;
  resize: ResizeMode;
  /**
   * Engines a training step is split across (data parallelism over worker threads, see src/engine/parallel/).
   * 'auto': one per core on the single-threaded engines (wasm, cpu), 1 on the native ones, which use every
   * core already. A run records the number it used.
   */
  replicas: number | 'auto';
  /**
   * Most images one engine takes through a forward/backward pass; larger shares of a batch are split and their
   * gradients summed (wasm's heap ends at 4 GB; a 224 px pass needs ~640 MB per image). 'auto': what fits the
   * engine at this input size. A run records the number it used.
   */
  microBatch: number | 'auto';
}

export interface DeadExplainerConfig {
  /** A phase that trains the explainer calls it dead when the mean validation activation falls below this. */
  threshold: number;
  /**
   * End the phase when it dies (default true): tanh-then-ReLU at 0 passes no gradient, so the explainer cannot
   * recover and further epochs only cost time. Dead epochs are never the phase's best, so the next phase starts
   * from the last live best.
   */
  stopPhase: boolean;
}

/** Which checkpoint of another run a new run starts from (see init-from.ts). */
export const INIT_CHECKPOINTS = ['best', 'last'] as const;
export type InitCheckpoint = (typeof INIT_CHECKPOINTS)[number];

export interface InitFrom {
  /** The run whose weights the first phase starts from. */
  run: number;
  /**
   * 'best': the run's final model, the one predict and explain use (the best checkpoint of its last phase that
   * has one). 'last': the weights as the run ended (its latest checkpoint in phase order).
   */
  checkpoint: InitCheckpoint;
}

export interface TrainConfig {
  version: typeof CONFIG_VERSION;
  datasetId: number;
  model: ModelConfig;
  /** Exactly the phases of the model kind, in KIND_PHASES order. */
  phases: Partial<Record<PhaseName, PhaseConfig>>;
  loss: LossConfig;
  data: DataConfig;
  /** Seeds weight initialisation, dropout and the per-epoch shuffles and flips. */
  seed: number;
  /** Stop a phase after this many epochs without a better validation loss (0 = never). */
  patience: number;
  /** Keep a checkpoint every N epochs besides the best ones and each phase's last (0 = only those). */
  checkpointEvery: number;
  deadExplainer: DeadExplainerConfig;
  /**
   * The explainer phase runs the frozen classifier in inference mode (true, the reference) or lets its batch
   * norm use batch statistics (false, the default); see phases.ts.
   */
  frozenStatistics: boolean;
  /** The run this one continues (set by resume). */
  resumedFrom: number | null;
  /**
   * Start from another run's weights instead of fresh ones (fine-tuning). The model section must then equal the
   * source run's (init-from.ts fills it in from the source and refuses conflicts before the config is resolved).
   */
  initFrom: InitFrom | null;
}

type DeepPartial<T> = {
  [K in keyof T]?: NonNullable<T[K]> extends object ? DeepPartial<NonNullable<T[K]>> | T[K] : T[K];
};

/** What callers write: only datasetId is required. */
export type TrainConfigInput = DeepPartial<Omit<TrainConfig, 'datasetId' | 'version'>> & {
  datasetId: number;
  version?: number;
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function fail(field: string, problem: string): never {
  throw new ConfigError(`training config: ${field} ${problem}`);
}

function integer(field: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(
      field,
      `must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function inRange(field: string, v: unknown, min: number, max: number, openMin = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v > max || (openMin ? v <= min : v < min)) {
    fail(field, `must be a number in ${openMin ? '(' : '['}${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

function oneOf<T extends string>(field: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) {
    fail(field, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

function bool(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') fail(field, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function object(field: string, v: unknown): Record<string, unknown> {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(field, 'must be an object');
  return v as Record<string, unknown>;
}

function rejectUnknown(field: string, o: Record<string, unknown>, known: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k))
      fail(`${field ? `${field}.` : ''}${k}`, `is not a known option (known: ${known.join(', ')})`);
  }
}

interface PhaseDefault {
  epochs: number;
  alpha: number;
  optimizer: OptimizerName;
  lr: number;
}

/**
 * Per-kind phase defaults. expclass has two sets:
 * - the default layout (resize decoder, sigmoid head, normalised explainer): Adam at 1e-3 in every phase and
 *   α = 2/3 (λ = 0.5) in the phases that train the explainer, `--epochs 10,10,20`. SGD at 0.01 left a base-8
 *   classifier at 62 % after 5 epochs where Adam reached 90–100 %. Before the explainer had batch norm the joint
 *   phase at 1e-3 sometimes lost the map in one epoch, so it ran at 3e-4; with it, 1e-3 took the base-32 README
 *   run from mass in box 0.29 to 0.52 (docs/paper-reproduction.md, "Why the default is what it is").
 * - the reference layout (`--faithful`, tanh-then-ReLU head): the CLI's historical `--epochs 10,10,50
 *   --alpha 1,0.25,0.9 --lr 0.01,0.01,0.001` with SGD, as expclass_torch.py.
 */
const PHASE_DEFAULTS: Record<ModelKind, Partial<Record<PhaseName, PhaseDefault>>> = {
  expclass: {
    classifier: { epochs: 10, alpha: 1, optimizer: 'adam', lr: 0.001 },
    explainer: { epochs: 10, alpha: 2 / 3, optimizer: 'adam', lr: 0.001 },
    joint: { epochs: 20, alpha: 2 / 3, optimizer: 'adam', lr: 0.001 },
  },
  // XCNN is trained with the classification loss only (Tavanaei, eq. 3).
  // Tavanaei trains with the classification loss only. Measured (base 8, colour cue, 10 epochs): with SGD at 0.01
  // the generator's tanh saturated at +1 and accuracy stayed at 50 %; with Adam and CE alone 100 %, but the
  // heatmap is +1 everywhere except a dip on the triangle (mass in box 0.02, AUC 0.03: inverted); with λ = 0.5
  // (α = 2/3) the background goes to 0 and the triangle is marked (mass 0.14, AUC 0.94). `--alpha 1` restores
  // the paper's loss.
  xcnn: { joint: { epochs: 20, alpha: 2 / 3, optimizer: 'adam', lr: 0.001 } },
  classifier: { classifier: { epochs: 10, alpha: 1, optimizer: 'sgd', lr: 0.01 } },
};

const REFERENCE_EXPCLASS: Partial<Record<PhaseName, PhaseDefault>> = {
  classifier: { epochs: 10, alpha: 1, optimizer: 'sgd', lr: 0.01 },
  explainer: { epochs: 10, alpha: 0.25, optimizer: 'sgd', lr: 0.01 },
  joint: { epochs: 50, alpha: 0.9, optimizer: 'sgd', lr: 0.001 },
};

/** The phase defaults of a model: the reference ones for the reference's explainer head. */
export function phaseDefaults(model: Pick<ModelConfig, 'kind' | 'explainerHead'>) {
  return model.kind === 'expclass' && model.explainerHead === 'tanh-relu'
    ? REFERENCE_EXPCLASS
    : PHASE_DEFAULTS[model.kind];
}

function resolvePhase(model: ModelConfig, phase: PhaseName, raw: unknown): PhaseConfig {
  const field = `phases.${phase}`;
  const p = object(field, raw);
  rejectUnknown(field, p, ['epochs', 'alpha', 'optimizer', 'lr', 'weightDecay']);
  const d = phaseDefaults(model)[phase]!;
  const optimizer = oneOf(`${field}.optimizer`, p.optimizer ?? d.optimizer, OPTIMIZERS);
  // When another optimiser than the default was chosen but no rate, that optimiser's own default fits better.
  const lrDefault = optimizer === d.optimizer ? d.lr : DEFAULT_LR[optimizer];
  return {
    epochs: integer(`${field}.epochs`, p.epochs ?? d.epochs, 0, 100_000),
    alpha: inRange(`${field}.alpha`, p.alpha ?? d.alpha, 0, 1),
    optimizer,
    lr: inRange(`${field}.lr`, p.lr ?? lrDefault, 0, 1e3, true),
    weightDecay: inRange(`${field}.weightDecay`, p.weightDecay ?? DEFAULT_WEIGHT_DECAY[optimizer], 0, 1),
  };
}

/**
 * The paper-faithful layout (expclass_torch.py, Rio-Torto et al. 2019): transposed-convolution decoder, saturated
 * tanh-then-ReLU head, map gating every stage, no batch normalisation in the classifier. `--faithful` asks for it.
 */
export const FAITHFUL_MODEL = {
  batchNorm: false,
  explainerUpsample: 'transpose',
  explainerHead: 'tanh-relu',
  explainerBias: 3,
  explainerBatchNorm: false,
  gateAt: 'stages',
} as const;

/** What a version-1 config (stored before the layout options existed) was trained with. */
const VERSION_1_MODEL = {
  explainerUpsample: 'transpose',
  explainerHead: 'tanh-relu',
  explainerBias: 3,
} as const;

/** Every field of `model`: what a config may name, and what a fine-tuned run inherits from its source. */
export const MODEL_FIELDS = [
  'kind',
  'inputSize',
  'base',
  'batchNorm',
  'dropout',
  'explanationPool',
  'explainerBias',
  'explainerUpsample',
  'explainerHead',
  'explainerBatchNorm',
  'gateAt',
  'maskFill',
  'generatorFilters',
  'conv1x1',
] as const satisfies readonly (keyof ModelConfig)[];

function resolveModel(raw: unknown, version: number): ModelConfig {
  const given = object('model', raw);
  const m = version === 1 ? { ...VERSION_1_MODEL, ...given } : given;
  rejectUnknown('model', m, MODEL_FIELDS);
  const inputSize = integer('model.inputSize', m.inputSize ?? 224, SIZE_MULTIPLE, 4096);
  if (inputSize % SIZE_MULTIPLE !== 0) {
    fail(
      'model.inputSize',
      `must be a multiple of ${SIZE_MULTIPLE} (the classifier pools four times by 2), got ${inputSize}`,
    );
  }
  const dropout = inRange('model.dropout', m.dropout ?? 0.3, 0, 1);
  if (dropout >= 1) fail('model.dropout', 'must be below 1');
  return {
    kind: oneOf('model.kind', m.kind ?? 'expclass', MODEL_KINDS),
    inputSize,
    base: integer('model.base', m.base ?? 32, 1, 1024),
    batchNorm: bool('model.batchNorm', m.batchNorm ?? true),
    dropout,
    explanationPool: oneOf('model.explanationPool', m.explanationPool ?? 'avg', ['avg', 'max'] as const),
    ...resolveExplainerLayout(m),
    generatorFilters: integer('model.generatorFilters', m.generatorFilters ?? 128, 1, 4096),
    conv1x1: bool('model.conv1x1', m.conv1x1 ?? false),
  };
}

function resolveExplainerLayout(m: Record<string, unknown>) {
  const explainerHead = oneOf('model.explainerHead', m.explainerHead ?? 'sigmoid', [
    'tanh-relu',
    'sigmoid',
  ] as const);
  return {
    explainerBias: inRange(
      'model.explainerBias',
      m.explainerBias ?? (explainerHead === 'sigmoid' ? 0 : 3),
      -100,
      100,
    ),
    explainerUpsample: oneOf('model.explainerUpsample', m.explainerUpsample ?? 'resize', [
      'transpose',
      'resize',
    ] as const),
    explainerHead,
    // On for today's layout (see ExpClassOptions.explainerBatchNorm); off for the reference's tanh head.
    explainerBatchNorm: bool('model.explainerBatchNorm', m.explainerBatchNorm ?? explainerHead === 'sigmoid'),
    gateAt: oneOf('model.gateAt', m.gateAt ?? 'stages', ['stages', 'input'] as const),
    maskFill:
      m.maskFill === undefined || m.maskFill === 'auto'
        ? ('auto' as const)
        : inRange('model.maskFill', m.maskFill, 0, 1),
  };
}

function resolveLoss(raw: unknown): LossConfig {
  const l = object('loss', raw);
  rejectUnknown('loss', l, ['beta', 'gamma', 'l1', 'blockDiagonal', 'classWeights', 'deletion', 'sparsity']);
  let l1: L1Weight | null = null;
  if (l.l1 !== undefined && l.l1 !== null) {
    const o = object('loss.l1', l.l1);
    rejectUnknown('loss.l1', o, ['weight', 'convention']);
    l1 = {
      weight: inRange('loss.l1.weight', o.weight, 0, 1e9),
      convention: oneOf('loss.l1.convention', o.convention ?? 'mean', ['mean', 'keras'] as const),
    };
  }
  return {
    beta: inRange('loss.beta', l.beta ?? 0.9, 0, 1),
    gamma: inRange('loss.gamma', l.gamma ?? 0, 0, 1e6),
    l1,
    blockDiagonal: inRange('loss.blockDiagonal', l.blockDiagonal ?? 0, 0, 1e6),
    deletion: inRange('loss.deletion', l.deletion ?? 0, 0, 1e6),
    sparsity: oneOf('loss.sparsity', l.sparsity ?? 'absolute', ['absolute', 'relative'] as const),
    classWeights: bool('loss.classWeights', l.classWeights ?? false),
  };
}

function resolveData(raw: unknown, gamma: number): DataConfig {
  const d = object('data', raw);
  rejectUnknown('data', d, ['batchSize', 'flip', 'maskSource', 'resize', 'replicas', 'microBatch']);
  const maskSource = oneOf(
    'data.maskSource',
    d.maskSource ?? (gamma > 0 ? 'gt-boxes' : 'none'),
    MASK_SOURCES,
  );
  if (gamma > 0 && maskSource === 'none') {
    fail(
      'data.maskSource',
      "is 'none' but loss.gamma > 0: the hybrid term needs masks ('gt-boxes' or 'gt-mask')",
    );
  }
  return {
    batchSize: integer('data.batchSize', d.batchSize ?? 8, 1, 4096),
    flip: bool('data.flip', d.flip ?? false),
    maskSource,
    resize: oneOf('data.resize', d.resize ?? 'stretch', RESIZE_MODES),
    replicas: autoOr('data.replicas', d.replicas, 64),
    microBatch: autoOr('data.microBatch', d.microBatch, 4096),
  };
}

function autoOr(field: string, v: unknown, max: number): number | 'auto' {
  return v === undefined || v === 'auto' ? 'auto' : integer(field, v, 1, max);
}

/** How a run spreads its steps over engines: what 'auto' means on `engine`. */
export interface ParallelPlan {
  replicas: number;
  /** Never more than the batch size (a larger value would mean the same). */
  microBatch: number;
}

export function parallelPlan(config: TrainConfig, engine: EngineName): ParallelPlan {
  const { replicas, microBatch, batchSize } = config.data;
  return {
    replicas: replicas === 'auto' ? defaultReplicas(engine) : replicas,
    microBatch: Math.min(
      batchSize,
      microBatch === 'auto' ? defaultMicroBatch(engine, config.model.inputSize) : microBatch,
    ),
  };
}

/** Validates a config (from a caller, the CLI or a stored run) and fills in every default. */
export function resolveTrainConfig(input: TrainConfigInput): TrainConfig {
  const c = object('', input);
  rejectUnknown('', c, [
    'version',
    'datasetId',
    'model',
    'phases',
    'loss',
    'data',
    'seed',
    'patience',
    'checkpointEvery',
    'deadExplainer',
    'frozenStatistics',
    'resumedFrom',
    'initFrom',
  ]);
  if (c.version !== undefined && c.version !== CONFIG_VERSION && c.version !== 1) {
    fail(
      'version',
      `${JSON.stringify(c.version)} is not supported (this xwb reads versions 1 and ${CONFIG_VERSION})`,
    );
  }
  const datasetId = integer('datasetId', c.datasetId, 1);
  const model = resolveModel(c.model, c.version === 1 ? 1 : CONFIG_VERSION);
  const rawPhases = object('phases', c.phases);
  const own = KIND_PHASES[model.kind];
  for (const name of Object.keys(rawPhases)) {
    if (!own.includes(name as PhaseName)) {
      fail(`phases.${name}`, `does not apply to a ${model.kind} model (its phases: ${own.join(', ')})`);
    }
  }
  const phases: Partial<Record<PhaseName, PhaseConfig>> = {};
  for (const name of own) phases[name] = resolvePhase(model, name, rawPhases[name]);
  if (own.every((name) => phases[name]!.epochs === 0))
    fail('phases', 'give at least one phase at least one epoch');
  const loss = resolveLoss(c.loss);
  // The conflict check is for what people write. A stored, already resolved config (it carries `version`) has
  // every phase's alpha filled in beside its l1, and must resolve to itself so its run can be loaded again.
  if (loss.l1 !== null && c.version === undefined) {
    for (const name of own) {
      const given = (rawPhases[name] as { alpha?: unknown } | undefined)?.alpha;
      if (phaseTrainsExplainer(name) && given !== undefined) {
        fail(`phases.${name}.alpha`, 'and loss.l1 both set the explanation weight; give only one of them');
      }
    }
  }
  const dead = object('deadExplainer', c.deadExplainer);
  rejectUnknown('deadExplainer', dead, ['threshold', 'stopPhase']);
  return {
    version: CONFIG_VERSION,
    datasetId,
    model,
    phases,
    loss,
    data: resolveData(c.data, loss.gamma),
    seed: integer('seed', c.seed ?? 1, 0, 2 ** 31 - 1),
    patience: integer('patience', c.patience ?? 10, 0),
    checkpointEvery: integer('checkpointEvery', c.checkpointEvery ?? 5, 0),
    deadExplainer: {
      // A sigmoid map never reaches 0; one whose mean is 0.2 % of a white map shows nothing (a target box covers
      // 1–3 % of these images), and its gradient has all but gone: measured, it did not come back.
      threshold: inRange(
        'deadExplainer.threshold',
        dead.threshold ?? (model.explainerHead === 'sigmoid' && c.version !== 1 ? 2e-3 : 1e-4),
        0,
        1,
      ),
      stopPhase: bool('deadExplainer.stopPhase', dead.stopPhase ?? true),
    },
    frozenStatistics: bool(
      'frozenStatistics',
      c.frozenStatistics ?? (c.version === 1 || model.batchNorm === false),
    ),
    resumedFrom: c.resumedFrom == null ? null : integer('resumedFrom', c.resumedFrom, 1),
    initFrom: resolveInitFrom(c.initFrom),
  };
}

function resolveInitFrom(raw: unknown): InitFrom | null {
  if (raw === undefined || raw === null) return null;
  const o = object('initFrom', raw);
  rejectUnknown('initFrom', o, ['run', 'checkpoint']);
  return {
    run: integer('initFrom.run', o.run, 1),
    checkpoint: oneOf('initFrom.checkpoint', o.checkpoint ?? 'best', INIT_CHECKPOINTS),
  };
}

/**
 * The phases a run trains, chosen by name (`--phases explainer,joint`): each must be one of the kind's, none
 * twice; returned in the kind's order. The others get 0 epochs (see onlyPhases).
 */
export function selectPhases(kind: ModelKind, names: readonly string[]): PhaseName[] {
  const own = KIND_PHASES[kind];
  const bad = (problem: string): never => {
    throw new ConfigError(`training config: phases: ${problem} (the phases of ${kind}: ${own.join(', ')})`);
  };
  if (names.length === 0 || names.some((n) => n === '')) bad('name at least one phase, separated by commas');
  const seen = new Set<string>();
  for (const n of names) {
    if (!own.includes(n as PhaseName)) bad(`${JSON.stringify(n)} is not a phase of the ${kind} model`);
    if (seen.has(n)) bad(`${n} is named twice`);
    seen.add(n);
  }
  return own.filter((p) => seen.has(p));
}

/** `phases` with every phase of the kind that is not in `selected` set to 0 epochs (the others as given). */
export function onlyPhases(
  kind: ModelKind,
  selected: readonly PhaseName[],
  phases: NonNullable<TrainConfigInput['phases']>,
): NonNullable<TrainConfigInput['phases']> {
  const out: NonNullable<TrainConfigInput['phases']> = {};
  for (const p of KIND_PHASES[kind]) {
    const given = phases[p];
    if (selected.includes(p)) {
      if (given !== undefined) out[p] = given;
    } else {
      out[p] = { ...(typeof given === 'object' && given !== null ? given : {}), epochs: 0 };
    }
  }
  return out;
}

export function phaseTrainsExplainer(phase: PhaseName): boolean {
  return phase !== 'classifier';
}

export function phaseTrainsClassifier(phase: PhaseName): boolean {
  return phase !== 'explainer';
}

/** The phases that will run (kind order, 0-epoch phases left out). */
export function activePhases(config: TrainConfig): PhaseName[] {
  return KIND_PHASES[config.model.kind].filter((p) => (config.phases[p]?.epochs ?? 0) > 0);
}

/**
 * Whether a run's final classifier learned on white maps (its last phase is the classifier phase of an expclass
 * model): then it must predict with a white map, and its explainer explains nothing yet.
 */
export function endsOnWhiteMaps(config: TrainConfig): boolean {
  const phases = activePhases(config);
  return config.model.kind === 'expclass' && phases[phases.length - 1] === 'classifier';
}

export function phaseConfig(config: TrainConfig, phase: PhaseName): PhaseConfig {
  const p = config.phases[phase];
  if (p === undefined)
    throw new ConfigError(`training config: a ${config.model.kind} model has no ${phase} phase`);
  return p;
}

export interface Objective {
  alpha: number;
  beta: number;
  gamma: number;
  /** λ of the block-diagonal penalty in this phase (0 when the classifier is frozen). */
  blockDiagonal: number;
  /** δ of the deletion term in this phase (0 when the explainer is frozen or the model has none). */
  delta: number;
  /** Default 'absolute'. */
  sparsity?: 'absolute' | 'relative';
}

/** α, β, γ and λ of one phase, with loss.l1 converted (see the module comment). */
export function phaseObjective(config: TrainConfig, phase: PhaseName): Objective {
  const p = phaseConfig(config, phase);
  const { l1, beta, gamma, blockDiagonal, sparsity } = config.loss;
  const block = phaseTrainsClassifier(phase) ? blockDiagonal : 0;
  const delta = phaseTrainsExplainer(phase) && config.model.kind === 'expclass' ? config.loss.deletion : 0;
  if (l1 === null || !phaseTrainsExplainer(phase))
    return { alpha: p.alpha, beta, gamma, blockDiagonal: block, delta, sparsity };
  const s = config.model.inputSize;
  const lambda =
    l1.convention === 'keras' ? kerasL1ToMeanWeight(l1.weight, s, s, config.data.batchSize) : l1.weight;
  return { alpha: meanWeightToAlpha(lambda), beta: 1, gamma, blockDiagonal: block, delta, sparsity };
}

/**
 * The options of the model builders for a dataset with `classes` classes. `meanPixel` (the training split's mean
 * value) resolves maskFill 'auto'.
 */
export function modelOptions(config: TrainConfig, classes: number, meanPixel = 0.5) {
  const m = config.model;
  return {
    inputSize: m.inputSize,
    classes,
    base: m.base,
    batchNorm: m.batchNorm,
    dropout: m.dropout,
    seed: config.seed,
    explanationPool: m.explanationPool,
    explainerBias: m.explainerBias,
    explainerUpsample: m.explainerUpsample,
    explainerHead: m.explainerHead,
    explainerBatchNorm: m.explainerBatchNorm,
    gateAt: m.gateAt,
    maskFill: m.maskFill === 'auto' ? meanPixel : m.maskFill,
    generatorFilters: m.generatorFilters,
    conv1x1: m.conv1x1,
  };
}

/** The config as the store's JSON column wants it. */
export function configToJson(config: TrainConfig): JsonObject {
  return JSON.parse(JSON.stringify(config)) as JsonObject;
}
