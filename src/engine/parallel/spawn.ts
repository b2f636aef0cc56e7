/** Starting a worker thread from a module of this package, from its TypeScript sources (tsx) or its build. */
import { Worker } from 'node:worker_threads';

/**
 * `url` names the worker module (.ts when running from sources). Node 20 does not pass tsx on to workers, so a
 * .ts worker registers tsx itself before importing its module.
 */
export function spawnModuleWorker(url: URL): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url);
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(code, { eval: true });
}

/** The sibling module `name` of `base` (an import.meta.url), with the extension `base` itself has. */
export function siblingModule(name: string, base: string): URL {
  return new URL(`./${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base);
}
