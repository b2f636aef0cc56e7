/**
 * The task module of each job kind the workbench runs. The server and the team workers both resolve a kind
 * through this table: a queue entry names a kind, never a module, so what a worker executes is chosen by its own
 * code, not by whoever can write to the queue.
 */
export const WORKBENCH_JOB_KINDS: Readonly<Record<string, URL>> = {
  export: new URL('./tasks/export.js', import.meta.url),
  explain: new URL('./tasks/explain.js', import.meta.url),
  eval: new URL('./tasks/eval.js', import.meta.url),
};

/** Kinds from the compiled .js, or from the sources when this file runs as .ts (tests, tsx). */
export function jobKinds(extra: Readonly<Record<string, URL>> = {}): Record<string, URL> {
  const out: Record<string, URL> = {};
  for (const [k, url] of Object.entries({ ...WORKBENCH_JOB_KINDS, ...extra })) {
    out[k] = import.meta.url.endsWith('.ts') ? new URL(url.href.replace(/\.js$/, '.ts')) : url;
  }
  return out;
}
