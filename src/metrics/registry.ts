/**
 * Every metric by name, so `xwb eval --metrics all` (or a list of names) can iterate: name → definition with
 * its family, defaults, direction and `run`. Order: family, then the order the issue lists them in.
 */
import { complexity } from './complexity/complexity.js';
import { fractionExplained } from './complexity/fraction-explained.js';
import { sparseness } from './complexity/sparseness.js';
import { totalVariationMetric } from './complexity/total-variation.js';
import { aopcLeRF } from './faithfulness/aopc-lerf.js';
import { aopcMoRF } from './faithfulness/aopc-morf.js';
import { deletion } from './faithfulness/deletion.js';
import { faithfulnessCorrelation } from './faithfulness/faithfulness-correlation.js';
import { insertion } from './faithfulness/insertion.js';
import { attributionLocalisation } from './localisation/attribution-localisation.js';
import { largestRegionBoxIoU } from './localisation/largest-region-box-iou.js';
import { pointingGame } from './localisation/pointing-game.js';
import { pompom } from './localisation/pompom.js';
import { relevanceMassAccuracy } from './localisation/relevance-mass-accuracy.js';
import { relevanceRankAccuracy } from './localisation/relevance-rank-accuracy.js';
import { rocAucMetric } from './localisation/roc-auc.js';
import { thresholdIoU } from './localisation/threshold-iou.js';
import { topKIntersection } from './localisation/top-k-intersection.js';
import { modelParameterRandomisation } from './randomisation/model-parameter-randomisation.js';
import { randomLogit } from './randomisation/random-logit.js';
import { diffusion } from './separability/diffusion.js';
import type { MetricDefinition, MetricFamily } from './types.js';

const ALL: readonly MetricDefinition[] = [
  pointingGame,
  relevanceMassAccuracy,
  relevanceRankAccuracy,
  topKIntersection,
  attributionLocalisation,
  rocAucMetric,
  thresholdIoU,
  largestRegionBoxIoU,
  pompom,
  deletion,
  insertion,
  aopcMoRF,
  aopcLeRF,
  faithfulnessCorrelation,
  modelParameterRandomisation,
  randomLogit,
  sparseness,
  complexity,
  totalVariationMetric,
  fractionExplained,
  diffusion,
];

export const METRICS: ReadonlyMap<string, MetricDefinition> = new Map(ALL.map((m) => [m.name, m]));

export function metricNames(family?: MetricFamily): string[] {
  return ALL.filter((m) => family === undefined || m.family === family).map((m) => m.name);
}

export function getMetric(name: string): MetricDefinition {
  const m = METRICS.get(name);
  if (!m) throw new Error(`unknown metric "${name}"; known metrics: ${[...METRICS.keys()].join(', ')}`);
  return m;
}

/**
 * Resolves a `--metrics` argument: "all", family names ("localisation") and metric names, comma-separated,
 * in registry order without duplicates.
 */
export function selectMetrics(spec: string): MetricDefinition[] {
  const families = new Set<string>([
    'localisation',
    'faithfulness',
    'randomisation',
    'complexity',
    'separability',
  ]);
  const wanted = new Set<string>();
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    if (item === 'all') for (const m of ALL) wanted.add(m.name);
    else if (families.has(item)) for (const n of metricNames(item as MetricFamily)) wanted.add(n);
    else wanted.add(getMetric(item).name);
  }
  if (wanted.size === 0)
    throw new Error(`no metric selected by "${spec}"; use "all", a family or metric names`);
  return ALL.filter((m) => wanted.has(m.name));
}
