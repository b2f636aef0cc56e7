/** Public surface of the metrics: the registry, the shared types and the helpers callers need. */

export { type Normalisation, normalise } from './core/normalise.js';
export { ssim } from './core/ssim.js';
export { midranks, pearson, rocAuc, spearman, trapezoid } from './core/stats.js';
export { type Summary, summarise } from './core/summarise.js';
export { boundingBox, boxesToMask, boxIoU } from './mask.js';
export { getMetric, METRICS, metricNames, selectMetrics } from './registry.js';
export type * from './types.js';
