/**
 * What the analysis's evaluation measures: exactly the session's explanations, grouped per run and rated class,
 * so `evaluateRun` (explain from the cache, then measure) lands its values on the very rows the raters rated.
 */
import type { JsonObject, Store } from '../../store/index.js';

export interface EvalGroup {
  runId: number;
  method: string;
  classIndex: number;
  /** The method's parameters the session's maps were made with. */
  params: JsonObject;
  imageIds: number[];
}

/** One group per (run, method, class); images in id order. Throws when the session has no explanations. */
export function sessionEvalPlan(store: Store, sessionId: number): EvalGroup[] {
  const session = store.ratings.getSession(sessionId);
  if (session === undefined) throw new Error(`no review session ${sessionId} in ${store.path}`);
  const groups = new Map<string, EvalGroup>();
  const seen = new Set<number>();
  for (const item of store.ratings.items(sessionId)) {
    if (seen.has(item.explanationId)) continue;
    seen.add(item.explanationId);
    const e = store.explanations.getMeta(item.explanationId);
    if (e === undefined)
      throw new Error(`review session ${sessionId}: explanation ${item.explanationId} is missing`);
    const key = `${e.runId}\u0000${e.method}\u0000${e.classIndex}\u0000${e.paramsHash}`;
    const g = groups.get(key) ?? {
      runId: e.runId,
      method: e.method,
      classIndex: e.classIndex,
      params: e.params,
      imageIds: [],
    };
    g.imageIds.push(e.imageId);
    groups.set(key, g);
  }
  if (groups.size === 0) throw new Error(`review session ${sessionId} has no explanations to evaluate`);
  return [...groups.values()]
    .map((g) => ({ ...g, imageIds: [...new Set(g.imageIds)].sort((a, b) => a - b) }))
    .sort((a, b) => a.runId - b.runId || a.method.localeCompare(b.method) || a.classIndex - b.classIndex);
}

/** Explanations the plan measures (each with every metric). */
export const planSize = (plan: readonly EvalGroup[]) => plan.reduce((n, g) => n + g.imageIds.length, 0);
