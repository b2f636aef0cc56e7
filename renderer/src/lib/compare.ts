/**
 * Which methods the compare grid starts with: the model's own map (when the run's model has one), the plain
 * gradient and Grad-CAM — the three a reader compares first. Controls (random, input) are never a default: they
 * are there to be measured against, not looked at first.
 */
import type { MethodInfo } from '../../../src/api/contract.js';

/** Model kinds that produce an explanation of their own (src/models: expclass's explainer, XCNN's heatmap). */
const WITH_EXPLAINER = new Set(['expclass', 'xcnn']);
const PREFERRED = ['gradient', 'gradcam'];

export function defaultCompareMethods(
  methods: readonly MethodInfo[],
  runModel: string | undefined,
): string[] {
  const known = new Set(methods.map((m) => m.name));
  const out: string[] = [];
  if (runModel && WITH_EXPLAINER.has(runModel)) {
    const own = methods.find((m) => m.family === 'in-model');
    if (own) out.push(own.name);
  }
  for (const name of PREFERRED) if (known.has(name)) out.push(name);
  if (out.length === 0) {
    const first = methods.find((m) => m.family !== 'control' && m.family !== 'in-model');
    if (first) out.push(first.name);
  }
  return out;
}
