/**
 * Starting a worker thread on a module of this code base, from the compiled .js or from the .ts sources.
 */
import { Worker } from 'node:worker_threads';

/**
 * From the compiled .js the worker is a plain module. From the .ts sources (tests, `node --import tsx`),
 * `execArgv: ['--import', 'tsx']` is not enough on Node 20: the worker resolves its entry before the preload
 * registers tsx ("Unknown file extension .ts"), so a small bootstrap registers tsx's loader first and then imports
 * the entry. `entry` is the module's URL as this file's caller sees it (`new URL('./worker.js', import.meta.url)`);
 * a `.js` entry next to a `.ts` caller is mapped to its `.ts` source.
 */
export function spawnModuleWorker(entry: URL, workerData: unknown, callerUrl: string): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(entry, { workerData });
  const api = import.meta.resolve('tsx/esm/api');
  const source = entry.href.replace(/\.js$/, '.ts');
  const bootstrap = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}
