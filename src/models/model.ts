/**
 * The three model kinds behind one XwbModel: an optional map-producing part (explainer or generator) and a
 * classifier, composed in code rather than in one tfjs graph so that a training phase can run the classifier on
 * a white map, freeze either part, and save each part as an ordinary tfjs layers model.
 */
import { tf } from '../engine/tf.js';
import {
  buildUNetExplainer,
  buildVggClassifier,
  buildXcnnGenerator,
  IMAGE_INPUT,
  MAP_INPUT,
} from './nets.js';
import { resolveClassifier, resolveExpClass, resolveXcnn } from './options.js';
import type {
  ClassifierOptions,
  ExpClassOptions,
  ForwardOptions,
  ModelOutputs,
  ModelSpec,
  VariableGroups,
  XcnnOptions,
  XwbModel,
} from './types.js';

/** Layer seeds of the second part start here so the two parts never share a seed. */
const CLASSIFIER_SEED_OFFSET = 1000;

/** The tf.Variable behind a layer weight: what optimisers and tf.variableGrads take. */
function variableOf(w: tf.LayerVariable): tf.Variable {
  const v = w.read();
  if (!(v instanceof tf.Variable))
    throw new Error(`internal: weight ${w.name} is not backed by a tf.Variable`);
  return v;
}

function trainableVariables(model: tf.LayersModel | null): tf.Variable[] {
  return model ? model.trainableWeights.map(variableOf) : [];
}

function partTraining(mode: ForwardOptions['training'], part: 'explainer' | 'classifier'): boolean {
  if (mode === undefined || typeof mode === 'boolean') return mode ?? false;
  return mode[part];
}

class ComposedModel implements XwbModel {
  readonly variables: VariableGroups;
  readonly denseKernels: tf.Variable[];
  private readonly classifierInputs: ('image' | 'map')[];
  private disposed = false;
  explainerUntrained = false;

  constructor(
    readonly spec: ModelSpec,
    readonly parts: { explainer: tf.LayersModel | null; classifier: tf.LayersModel },
  ) {
    const expectMap = spec.kind !== 'classifier';
    if (expectMap !== (parts.explainer !== null)) {
      throw new Error(`a ${spec.kind} model ${expectMap ? 'needs' : 'has no'} explainer part`);
    }
    this.classifierInputs = parts.classifier.inputNames.map((name) => {
      if (name === IMAGE_INPUT) return 'image';
      if (name === MAP_INPUT) return 'map';
      throw new Error(
        `classifier part has an unexpected input "${name}" (expected "${IMAGE_INPUT}" or "${MAP_INPUT}")`,
      );
    });
    this.variables = {
      explainer: trainableVariables(parts.explainer),
      classifier: trainableVariables(parts.classifier),
    };
    this.denseKernels = parts.classifier.layers
      .filter((layer) => layer.getClassName() === 'Dense')
      .map((layer) => {
        const kernel = layer.weights.find((w) => w.originalName.endsWith('/kernel'));
        if (!kernel) throw new Error(`dense layer ${layer.name} has no kernel`);
        return variableOf(kernel);
      });
  }

  get kind() {
    return this.spec.kind;
  }
  get inputSize() {
    return this.spec.options.inputSize;
  }
  get classes() {
    return this.spec.options.classes;
  }

  predict(x: tf.Tensor4D, options: ForwardOptions = {}): ModelOutputs {
    if (this.disposed) throw new Error(`this ${this.kind} model has been disposed`);
    const { inputSize: s, channels } = this.spec.options;
    if (
      !(x instanceof tf.Tensor) ||
      x.rank !== 4 ||
      x.shape[1] !== s ||
      x.shape[2] !== s ||
      x.shape[3] !== channels
    ) {
      const got = x instanceof tf.Tensor ? `[${x.shape.join(', ')}]` : typeof x;
      throw new Error(`${this.kind}.predict: expected images [N, ${s}, ${s}, ${channels}], got ${got}`);
    }
    if (options.whiteExplanation && this.kind === 'xcnn') {
      throw new Error(
        'xcnn.predict: whiteExplanation makes no sense, the heatmap is its classifier’s only input',
      );
    }
    return tf.tidy(() => {
      const white =
        this.parts.explainer === null ||
        options.whiteExplanation === true ||
        (this.explainerUntrained && options.whiteExplanation !== false);
      const explanation = white
        ? tf.ones([x.shape[0], s, s, 1])
        : (this.parts.explainer!.apply(x, {
            training: partTraining(options.training, 'explainer'),
          }) as tf.Tensor4D);
      const classify = (map: tf.Tensor) =>
        this.parts.classifier.apply(
          this.classifierInputs.map((k) => (k === 'image' ? x : map)),
          { training: partTraining(options.training, 'classifier') },
        ) as tf.Tensor2D;
      const logits = classify(explanation);
      if (!options.deletion || white) return { logits, explanation: explanation as tf.Tensor4D };
      const deletedLogits = classify(tf.sub(1, explanation));
      return { logits, explanation: explanation as tf.Tensor4D, deletedLogits };
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.parts.explainer?.dispose();
    this.parts.classifier.dispose();
  }
}

/** Wraps parts that were built or loaded; checks that they fit the spec. */
export function composeModel(
  spec: ModelSpec,
  parts: { explainer: tf.LayersModel | null; classifier: tf.LayersModel },
): XwbModel {
  return new ComposedModel(spec, parts);
}

function classifierSeed(seed: number | undefined): number | undefined {
  return seed === undefined ? undefined : seed + CLASSIFIER_SEED_OFFSET;
}

/** Rio-Torto et al.'s explainer+classifier. Outputs logits and an explanation in [0, 1). */
export function buildExpClass(options: ExpClassOptions): XwbModel {
  const spec = resolveExpClass(options);
  if (spec.kind !== 'expclass') throw new Error('internal: wrong spec kind');
  const o = spec.options;
  const explainer = buildUNetExplainer({
    ...o,
    bias: o.explainerBias,
    upsample: o.explainerUpsample,
    head: o.explainerHead,
    batchNorm: o.explainerBatchNorm,
  });
  const classifier = buildVggClassifier({
    ...o,
    seed: classifierSeed(o.seed),
    mode: 'gate',
    gateAt: o.gateAt,
  });
  return composeModel(spec, { explainer, classifier });
}

/** Tavanaei's XCNN: the generator's heatmap in [-1, 1] is the classifier's only input (plus a 1×1 side branch). */
export function buildXcnn(options: XcnnOptions): XwbModel {
  const spec = resolveXcnn(options);
  if (spec.kind !== 'xcnn') throw new Error('internal: wrong spec kind');
  const o = spec.options;
  const explainer = buildXcnnGenerator({ ...o, filters: o.generatorFilters });
  const classifier = buildVggClassifier({
    ...o,
    seed: classifierSeed(o.seed),
    mode: o.conv1x1 ? 'map+conv1x1' : 'map',
  });
  return composeModel(spec, { explainer, classifier });
}

/** The VGG-like classifier alone, gated by a constant white map: the baseline post-hoc methods explain. */
export function buildClassifier(options: ClassifierOptions): XwbModel {
  const spec = resolveClassifier(options);
  const o = spec.options;
  const classifier = buildVggClassifier({ ...o, seed: classifierSeed(o.seed), mode: 'gate' });
  return composeModel(spec, { explainer: null, classifier });
}
