/**
 * One loader per engine. Each makes its backend the active one or throws an Error whose message says why not;
 * `select.ts` decides the order and what a failure means.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { registerWasmKernels } from './kernels/register.js';
import { tf } from './tf.js';
import type { EngineName } from './types.js';

/** Loads a package by name; injectable so tests can simulate installed or broken native packages. */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

export const defaultImporter: ModuleImporter = (specifier) => import(specifier);

export interface LoadedEngine {
  device: string;
}

export type EngineLoader = (importModule: ModuleImporter) => Promise<LoadedEngine>;

export const NATIVE_PACKAGES = {
  gpu: '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
} as const;

const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';

/** What to tell the user when an engine they asked for cannot start. */
export const ENGINE_HINTS: Record<EngineName, string> = {
  gpu: `install ${NATIVE_PACKAGES.gpu} (it needs an NVIDIA GPU with the CUDA and cuDNN versions it was built for)`,
  node: `install ${NATIVE_PACKAGES.node} (its install script downloads libtensorflow)`,
  wasm: `reinstall ${WASM_PACKAGE}; its dist/ folder must contain the .wasm binaries`,
  cpu: 'the cpu backend ships with @tensorflow/tfjs; reinstall it',
};

async function activate(backend: string): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(backend);
  } catch (err) {
    throw new Error(`tf.setBackend('${backend}') threw: ${describeError(err)}`);
  }
  // FINDINGS: a backend whose initialisation fails leaves tfjs on another one without an exception.
  const inUse = tf.getBackend();
  if (!ok || inUse !== backend) {
    throw new Error(`backend '${backend}' did not initialise (tfjs is using '${inUse}')`);
  }
}

function nativeLoader(name: 'gpu' | 'node'): EngineLoader {
  return async (importModule) => {
    const pkg = NATIVE_PACKAGES[name];
    try {
      await importModule(pkg);
    } catch (err) {
      throw new Error(`${pkg} could not be loaded: ${describeError(err)}`);
    }
    // The native package registers 'tensorflow' against the tfjs-core it resolves; a nested copy of tfjs-core
    // would leave our instance without the backend.
    if (tf.findBackendFactory('tensorflow') == null) {
      throw new Error(`${pkg} loaded but registered no 'tensorflow' backend with this copy of tfjs-core`);
    }
    await activate('tensorflow');
    const cores = os.cpus().length;
    return {
      device:
        name === 'gpu' ? `CUDA build of TensorFlow (${pkg})` : `CPU (${cores} cores, TensorFlow native)`,
    };
  };
}

interface WasmModule {
  setWasmPaths(prefix: string): void;
  getThreadsCount(): number;
}

function isWasmModule(value: unknown): value is WasmModule {
  const m = value as Partial<WasmModule> | null;
  return typeof m?.setWasmPaths === 'function' && typeof m.getThreadsCount === 'function';
}

let wasmPathsSet = false;

const wasmLoader: EngineLoader = async (importModule) => {
  let mod: unknown;
  try {
    mod = await importModule(WASM_PACKAGE);
  } catch (err) {
    throw new Error(`${WASM_PACKAGE} could not be loaded: ${describeError(err)}`);
  }
  if (!isWasmModule(mod)) throw new Error(`${WASM_PACKAGE} does not export setWasmPaths/getThreadsCount`);
  if (!wasmPathsSet) {
    // FINDINGS: the threaded build starts its workers from a blob: URL, which Node's Worker rejects, and tfjs
    // then silently carries on with the cpu backend. Single-threaded SIMD is the build that works in Node.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    const require = createRequire(import.meta.url);
    const dist = path.join(path.dirname(require.resolve(`${WASM_PACKAGE}/package.json`)), 'dist') + path.sep;
    mod.setWasmPaths(dist);
    wasmPathsSet = true;
  }
  // Registered before activation so the replacement kernels' setup runs with the backend's own.
  registerWasmKernels();
  await activate('wasm');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = mod.getThreadsCount();
  return { device: `wasm ${simd ? 'SIMD' : 'without SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}` };
};

const cpuLoader: EngineLoader = async () => {
  await activate('cpu');
  return { device: 'JavaScript cpu backend, 1 thread' };
};

export const ENGINE_LOADERS: Record<EngineName, EngineLoader> = {
  gpu: nativeLoader('gpu'),
  node: nativeLoader('node'),
  wasm: wasmLoader,
  cpu: cpuLoader,
};

export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.message;
  if (typeof err === 'object' && err !== null && 'message' in err) return String(err.message);
  return String(err);
}
