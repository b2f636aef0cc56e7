/** Evaluation of a run's explanations: explain (cached), measure, store, summarise. */
export {
  type EvaluateOptions,
  type EvaluateProgress,
  type EvaluateResult,
  type EvaluateRow,
  evaluateRun,
  type MethodRun,
  rowKey,
} from './evaluate.js';
export { classBoxes, type GroundTruth, groundTruth, placeBoxes } from './groundtruth.js';
export { layersTopDown, randomisationStages, shuffleLayer } from './randomise.js';
export { CSV_COLUMNS, formatCell, formatTable, toCsv, toJson } from './report.js';
export {
  DEFAULT_METHODS,
  DEFAULT_METRIC_SPEC,
  EXPENSIVE_METRICS,
  resolveMethods,
  resolveMetrics,
} from './select.js';
export { metricsTable } from './table.js';
