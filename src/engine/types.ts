/** Engines in the order `initEngine` tries them by default. */
export const ENGINE_ORDER = ['gpu', 'node', 'wasm', 'cpu'] as const;

export type EngineName = (typeof ENGINE_ORDER)[number];

export interface EngineAttempt {
  name: EngineName;
  ok: boolean;
  /** Why the engine could not be used (absent when `ok`). */
  reason?: string;
}

export interface EngineInfo {
  /** The engine that was selected. */
  name: EngineName;
  /** `tf.getBackend()` after selection: the backend really in use, whatever was asked for. */
  backend: string;
  /** Human-readable description of where the maths runs, e.g. 'wasm SIMD, 1 thread'. */
  device: string;
  tfVersion: string;
  /** Every engine tried, in order, with the reason each failed one was skipped. */
  attempts: EngineAttempt[];
}

export type EngineLogLevel = 'info' | 'warn';
export type EngineLogger = (level: EngineLogLevel, message: string) => void;

export function isEngineName(value: string): value is EngineName {
  return (ENGINE_ORDER as readonly string[]).includes(value);
}
