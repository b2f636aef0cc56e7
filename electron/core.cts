/**
 * Builds the core behind the desktop window, as src/server/launch.ts does for web mode: the store, the
 * XwbService with xwb:// URLs, the engine handlers. The core is ESM (src/ compiled to dist/src); this CommonJS
 * shell reaches it through dynamic import, so Electron needs nothing but the built tree.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { XwbService } from '../src/api/service.js';
import type { Store } from '../src/store/index.js';
import { APP_ORIGIN } from './security.cjs';

export interface ShellArgs {
  /** The store file from `--db PATH` (or `--db=PATH`); undefined means the default store. */
  db: string | undefined;
}

/**
 * Reads the shell's own options from Electron's argv. Chromium switches and anything unknown are left alone
 * (Electron and the OS pass their own), but a `--db` without a path is an error rather than a silent default.
 */
export function parseShellArgs(argv: readonly string[]): ShellArgs {
  let db: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--db') {
      const next = argv[i + 1];
      if (next === undefined || next === '' || next.startsWith('--')) {
        throw new Error('--db needs a path: xwb start --db PATH (or run the app without --db)');
      }
      db = next;
      i++;
    } else if (a.startsWith('--db=')) {
      db = a.slice('--db='.length);
      if (db === '') throw new Error('--db= needs a path: --db=PATH');
    }
  }
  return { db: db === undefined ? undefined : resolve(db) };
}

/** The built renderer: `<app root>/dist/renderer`, or XWB_RENDERER_DIR (same override as web mode). */
export function rendererRoot(appRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const override = env.XWB_RENDERER_DIR;
  return override ? resolve(override) : join(appRoot, 'dist', 'renderer');
}

/** URLs the renderer loads images and heatmaps from: the app's own origin (see protocol.cts). */
export const electronUrls = {
  image: (id: number): string => `${APP_ORIGIN}/files/image/${id}`,
  explanation: (id: number): string => `${APP_ORIGIN}/files/explanation/${id}`,
};

export interface Core {
  store: Store;
  service: XwbService;
  contract: typeof import('../src/api/contract.js');
  close(): void;
}

/** Opens the store and builds the service. The caller owns `close()`. */
export async function startCore(args: ShellArgs): Promise<Core> {
  const [contract, serviceModule, storeModule, versionModule] = await Promise.all([
    import('../src/api/contract.js'),
    import('../src/api/service.js'),
    import('../src/store/index.js'),
    import('../src/cli/version.js'),
  ]);
  const file = args.db ?? storeModule.defaultStorePath();
  const store = storeModule.openStore(file);
  try {
    const service = new serviceModule.XwbService({
      store,
      transport: 'electron',
      version: versionModule.VERSION,
      urls: electronUrls,
    });
    const { registerAllHandlers } = await import('../src/api/register.js');
    await registerAllHandlers(service);
    return {
      store,
      service,
      contract,
      close: () => {
        service.events.removeAllListeners();
        store.close();
      },
    };
  } catch (e) {
    store.close();
    throw e;
  }
}

/**
 * What to tell the user when the core cannot start. The common case in development is better-sqlite3 built for
 * Node rather than Electron (different NODE_MODULE_VERSION): say how to fix it instead of showing a stack.
 */
export function startupFailureMessage(e: unknown, appRoot: string): string {
  const message = e instanceof Error ? e.message : String(e);
  if (/NODE_MODULE_VERSION|was compiled against a different Node\.js version/.test(message)) {
    const script = join(appRoot, 'build', 'rebuild-native.mjs');
    const how = existsSync(script)
      ? `Run "npm run desktop" (or: node ${script} --for electron) to rebuild it for Electron.`
      : 'Reinstall the application: its native modules do not match this Electron.';
    return `A native module (better-sqlite3) was built for another runtime.\n${how}\n\n${message}`;
  }
  return `xwb could not start.\n\n${message}`;
}
