/**
 * Picks the fastest TensorFlow.js engine that works on this machine: the CUDA native build, the CPU native
 * build, WebAssembly (with xwb's training kernels), then the plain JavaScript backend.
 */
import {
  defaultImporter,
  describeError,
  ENGINE_HINTS,
  ENGINE_LOADERS,
  type ModuleImporter,
} from './loaders.js';
import { tf } from './tf.js';
import {
  ENGINE_ORDER,
  type EngineAttempt,
  type EngineInfo,
  type EngineLogger,
  type EngineName,
  isEngineName,
} from './types.js';

export interface InitEngineOptions {
  /** Force one engine; failure to start it is an error. Overrides `XWB_ENGINE`. */
  prefer?: EngineName;
  logger?: EngineLogger;
  /** Environment to read `XWB_ENGINE` from (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Module loader (tests inject fakes for the native packages). */
  importModule?: ModuleImporter;
}

const defaultLogger: EngineLogger = (level, message) => {
  if (level === 'warn') console.warn(`xwb: ${message}`);
};

let current: { request: string; info: EngineInfo } | undefined;
let pending: { request: string; promise: Promise<EngineInfo> } | undefined;

/**
 * Starts (or returns the already started) engine. Calling it again with the same request is cheap; a different
 * `prefer` switches engines.
 */
export function initEngine(opts: InitEngineOptions = {}): Promise<EngineInfo> {
  let forced: EngineName | undefined;
  try {
    forced = resolveForced(opts);
  } catch (err) {
    return Promise.reject(err);
  }
  const request = forced ?? 'auto';
  if (current?.request === request && tf.getBackend() === current.info.backend) {
    return Promise.resolve(copyInfo(current.info));
  }
  if (pending?.request === request) return pending.promise.then(copyInfo);
  const promise = start(forced, opts).finally(() => {
    if (pending?.promise === promise) pending = undefined;
  });
  pending = { request, promise };
  return promise.then((info) => {
    current = { request, info };
    return copyInfo(info);
  });
}

function resolveForced(opts: InitEngineOptions): EngineName | undefined {
  if (opts.prefer !== undefined) {
    if (!isEngineName(opts.prefer)) {
      throw new Error(
        `initEngine: unknown engine '${String(opts.prefer)}'; use one of ${ENGINE_ORDER.join(', ')}`,
      );
    }
    return opts.prefer;
  }
  const raw = (opts.env ?? process.env).XWB_ENGINE?.trim().toLowerCase();
  if (!raw) return undefined;
  if (!isEngineName(raw)) {
    throw new Error(
      `XWB_ENGINE='${raw}' is not an engine; set it to one of ${ENGINE_ORDER.join(', ')} or unset it`,
    );
  }
  return raw;
}

async function start(forced: EngineName | undefined, opts: InitEngineOptions): Promise<EngineInfo> {
  const log = opts.logger ?? defaultLogger;
  const importModule = opts.importModule ?? defaultImporter;
  const candidates: readonly EngineName[] = forced ? [forced] : ENGINE_ORDER;
  const attempts: EngineAttempt[] = [];
  for (const name of candidates) {
    try {
      const { device } = await ENGINE_LOADERS[name](importModule);
      attempts.push({ name, ok: true });
      const info: EngineInfo = {
        name,
        backend: tf.getBackend(),
        device,
        tfVersion: tf.version.tfjs,
        attempts,
      };
      log('info', `engine ${name}: ${device} (tfjs ${info.tfVersion}, backend '${info.backend}')`);
      return info;
    } catch (err) {
      const reason = describeError(err);
      attempts.push({ name, ok: false, reason });
      if (forced) {
        const source = opts.prefer ? 'requested' : 'forced by XWB_ENGINE';
        throw new Error(
          `engine '${name}' (${source}) could not start: ${reason}. To use it, ${ENGINE_HINTS[name]}.`,
        );
      }
      // The native engines are optional; their absence is normal, a broken wasm engine is not.
      log(name === 'gpu' || name === 'node' ? 'info' : 'warn', `engine ${name} skipped: ${reason}`);
    }
  }
  const summary = attempts.map((a) => `${a.name}: ${a.reason}`).join('; ');
  throw new Error(`no TensorFlow.js engine could start (${summary})`);
}

function copyInfo(info: EngineInfo): EngineInfo {
  return { ...info, attempts: info.attempts.map((a) => ({ ...a })) };
}
