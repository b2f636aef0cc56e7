/** The models of xwb: builders, the common XwbModel contract, persistence and description. */
export {
  describeModel,
  type ModelDescription,
  type ParameterCount,
  type PartDescription,
} from './describe.js';
export { buildClassifier, buildExpClass, buildXcnn, composeModel } from './model.js';
export { loadModel, MANIFEST, type SaveOptions, saveModel } from './persist.js';
export type {
  ClassifierOptions,
  CommonModelOptions,
  ExpClassOptions,
  ForwardOptions,
  ModelKind,
  ModelOutputs,
  ModelSpec,
  TrainingMode,
  VariableGroups,
  XcnnOptions,
  XwbModel,
} from './types.js';
