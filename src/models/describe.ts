/** Parameter counts of a model, by part, for logs, the store and the UI. */
import type { tf } from '../engine/tf.js';
import type { ModelSpec, XwbModel } from './types.js';

export interface ParameterCount {
  /** Weights the optimiser updates. */
  trainable: number;
  /** Weights that are not trained by gradient (batch-norm moving mean and variance). */
  nonTrainable: number;
}

export interface PartDescription extends ParameterCount {
  layers: number;
}

export interface ModelDescription {
  kind: XwbModel['kind'];
  inputSize: number;
  classes: number;
  spec: ModelSpec;
  explainer: PartDescription | null;
  classifier: PartDescription;
  total: ParameterCount;
}

function count(weights: tf.LayerVariable[]): number {
  return weights.reduce((n, w) => n + w.shape.reduce<number>((a, b) => a * (b ?? 0), 1), 0);
}

function describePart(model: tf.LayersModel): PartDescription {
  return {
    layers: model.layers.length,
    trainable: count(model.trainableWeights),
    nonTrainable: count(model.nonTrainableWeights),
  };
}

export function describeModel(model: XwbModel): ModelDescription {
  const explainer = model.parts.explainer ? describePart(model.parts.explainer) : null;
  const classifier = describePart(model.parts.classifier);
  return {
    kind: model.kind,
    inputSize: model.inputSize,
    classes: model.classes,
    spec: model.spec,
    explainer,
    classifier,
    total: {
      trainable: classifier.trainable + (explainer?.trainable ?? 0),
      nonTrainable: classifier.nonTrainable + (explainer?.nonTrainable ?? 0),
    },
  };
}
