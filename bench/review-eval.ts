/**
 * What the analysis's evaluation costs the server's event loop: the same session's metrics measured in-process
 * (`evaluateRun` on the main thread, which yields between images) and as the analysis runs it, in a worker
 * (src/review/evaluation/job.ts). Prints wall time and the main thread's event-loop delay (max, p99, mean): the
 * delay is how long a rater's request would wait behind the evaluation.
 *
 * Run: `node --import tsx bench/review-eval.ts [metric spec, default "default"]`. The store is the evaluation
 * tests' fixture (48×32 images, an untrained 32 px model, 12 images × 2 methods).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { evaluateRun, resolveMetrics } from '../src/evaluate/index.js';
import { loadRunModel } from '../src/explain/run-model.js';
import { EvalJobs } from '../src/review/evaluation/job.js';
import { sessionEvalPlan } from '../src/review/evaluation/plan.js';
import { createReviewSession } from '../src/review/session.js';
import { evalFixture, wasmEngine } from '../test/evaluate/fixture.js';

await wasmEngine();
const f = await evalFixture(40);
const runId = await f.makeRun();
const model0 = await loadRunModel(f.store, runId);
const { getOrCompute } = await import('../src/explain/store.js');
const val = f.store.splits.ids(f.datasetId, 'train').slice(0, 12);
for (const m of ['explainer', 'gradient']) await getOrCompute(f.store, model0, val, m, {}, 'target');
model0.dispose();
const s = createReviewSession(f.store, {
  name: 's',
  runIds: [runId],
  methods: ['explainer', 'gradient'],
  imageIds: val,
  raters: ['A'],
  classChoice: 'target',
});
const metrics = process.argv[2] ?? 'default';
async function measure(label: string, fn: () => Promise<void>) {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const t = Date.now();
  await fn();
  h.disable();
  console.log(
    `${label}: ${((Date.now() - t) / 1000).toFixed(1)} s, event-loop delay max ${(h.max / 1e6).toFixed(0)} ms, p99 ${(h.percentile(99) / 1e6).toFixed(0)} ms, mean ${(h.mean / 1e6).toFixed(1)} ms`,
  );
}
await measure('in-process evaluateRun', async () => {
  const model = await loadRunModel(f.store, runId);
  for (const g of sessionEvalPlan(f.store, s.session.id))
    await evaluateRun(f.store, model, {
      methods: [g.method],
      metrics: resolveMetrics(metrics),
      imageIds: g.imageIds,
      classChoice: g.classIndex,
    });
  model.dispose();
});
await measure(
  'worker job',
  () =>
    new Promise<void>((ok) => {
      const jobs = new EvalJobs(
        f.store,
        (st) => {
          if (st.state !== 'running') {
            console.log(' job', st.state, st.values, st.error ?? '');
            ok();
          }
        },
        { metrics },
      );
      jobs.start(s.session.id);
    }),
);
f.done();
