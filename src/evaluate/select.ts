/**
 * What `xwb eval` measures when told "all", a family or names, and what it measures by default.
 *
 * The default set is everything that costs at most a few model passes per image: localisation, complexity,
 * random-logit (one more explanation) and diffusion (one model call, up to two explanations). Left out unless
 * named (or asked for with "all"): the faithfulness family (deletion, insertion, AOPC, faithfulness correlation:
 * about 100 model passes per image and metric each) and model-parameter randomisation (one explanation per
 * randomised layer and image). At the papers' 224 px, the faithfulness family alone is minutes per image on
 * this machine's CPU.
 */
import { listMethods, methodNames } from '../explain/index.js';
import { type MetricDefinition, metricNames, selectMetrics } from '../metrics/index.js';

export const EXPENSIVE_METRICS: readonly string[] = [
  ...metricNames('faithfulness'),
  'model-parameter-randomisation',
];

export const DEFAULT_METRIC_SPEC = 'default';

/** `--metrics`: "default" (or absent), "all", families and names, comma-separated. */
export function resolveMetrics(spec: string | undefined): MetricDefinition[] {
  const s = spec?.trim() || DEFAULT_METRIC_SPEC;
  const parts = s.split(',').map((p) => p.trim());
  if (!parts.includes(DEFAULT_METRIC_SPEC)) return selectMetrics(s);
  const cheap = metricNames().filter((n) => !EXPENSIVE_METRICS.includes(n));
  const rest = parts.filter((p) => p !== DEFAULT_METRIC_SPEC && p !== '');
  return selectMetrics([...cheap, ...rest].join(','));
}

/**
 * Methods for `--methods`: "all", method names or family names (a method name wins: "gradient" is the plain
 * gradient, not its family), comma-separated, in registry order. Default:
 * the gradient, Grad-CAM and the in-model explainer (fast, and one of each kind). "all" leaves out nothing.
 */
export const DEFAULT_METHODS = ['explainer', 'gradient', 'gradcam'];

export function resolveMethods(spec: string | undefined, modelKind: string): string[] {
  const all = listMethods();
  const wanted = new Set<string>();
  const items = (spec?.trim() ? spec : DEFAULT_METHODS.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const families = new Set<string>(all.map((m) => m.family));
  for (const item of items) {
    // A method name wins over a family of the same name ("gradient" is both).
    if (item === 'all') for (const m of all) wanted.add(m.name);
    else if (all.some((m) => m.name === item)) wanted.add(item);
    else if (families.has(item)) for (const m of all.filter((x) => x.family === item)) wanted.add(m.name);
    else {
      throw new Error(
        `unknown explanation method or family "${item}"; methods: ${methodNames().join(', ')}; ` +
          `families: ${[...families].join(', ')}`,
      );
    }
  }
  if (wanted.size === 0) throw new Error(`no explanation method selected by "${spec}"`);
  // The classifier kind has no explainer of its own: its "explainer" map is constant white, not a method to
  // rank, so a default or "all" selection skips it (naming it explicitly still runs it).
  const named = new Set(spec?.trim() ? items : []);
  return all
    .filter((m) => wanted.has(m.name))
    .filter((m) => !(modelKind === 'classifier' && m.family === 'in-model' && !named.has(m.name)))
    .map((m) => m.name);
}
