/**
 * The preload: the renderer's only door to the main process. Runs sandboxed and context-isolated, so it may
 * `require` nothing but `electron` — which is why the channel names below are repeated from security.cts
 * (test/electron/preload.test.ts checks they agree) and the method list arrives through argv.
 *
 * Exposes exactly `window.xwb = { call, onEvent }` (the XwbBridge of renderer/src/lib/api.ts). Never exposes
 * `ipcRenderer` or an IPC event object (whose `sender` is ipcRenderer).
 */
import { contextBridge, ipcRenderer } from 'electron';
import type { ApiErrorBody, XwbEvent } from '../src/api/contract.js';

const CALL_CHANNEL = 'xwb:call';
const EVENT_CHANNEL = 'xwb:event';
const METHODS_ARG = '--xwb-methods=';

type CallResult = { ok: true; value: unknown } | { ok: false; error: ApiErrorBody & { status: number } };

/** What a failed call rejects with. A plain object: contextBridge drops custom properties of Error objects. */
interface BridgeError {
  name: 'CallError';
  message: string;
  field?: string;
  status: number;
}

function bridgeError(message: string, status: number, field?: string): BridgeError {
  return field === undefined
    ? { name: 'CallError', message, status }
    : { name: 'CallError', message, status, field };
}

// Missing argument → no method is callable: fail closed rather than forward unknown names.
const arg = process.argv.find((a) => a.startsWith(METHODS_ARG));
const methods: ReadonlySet<string> = new Set(
  arg ? arg.slice(METHODS_ARG.length).split(',').filter(Boolean) : [],
);

function isCallResult(r: unknown): r is CallResult {
  return typeof r === 'object' && r !== null && typeof (r as { ok?: unknown }).ok === 'boolean';
}

contextBridge.exposeInMainWorld('xwb', {
  call(method: unknown, req: unknown): Promise<unknown> {
    if (typeof method !== 'string' || !methods.has(method)) {
      return Promise.reject(bridgeError(`unknown method "${String(method)}"`, 404));
    }
    return ipcRenderer.invoke(CALL_CHANNEL, method, req ?? {}).then(
      (r: unknown) => {
        if (!isCallResult(r)) throw bridgeError(`${method}: malformed answer from the main process`, 500);
        if (r.ok) return r.value;
        throw bridgeError(r.error.error, r.error.status, r.error.field);
      },
      (e: unknown) => {
        throw bridgeError(`${method}: ${e instanceof Error ? e.message : String(e)}`, 500);
      },
    );
  },
  onEvent(listener: unknown): () => void {
    if (typeof listener !== 'function') throw new TypeError('xwb.onEvent needs a function');
    const relay = (_event: unknown, payload: XwbEvent) => {
      (listener as (e: XwbEvent) => void)(payload);
    };
    ipcRenderer.on(EVENT_CHANNEL, relay);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, relay);
    };
  },
});
