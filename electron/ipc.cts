/**
 * The one IPC entry point, `xwb:call`: sender checked, method checked, request validated with the contract's
 * schemas, then handed to the core. Nothing else from the renderer reaches the service.
 *
 * Answers travel as an envelope rather than as a rejected promise because Electron flattens errors thrown from
 * `ipcMain.handle` into a message string; the envelope keeps the status and the form field at fault.
 */
import type { ApiErrorBody } from '../src/api/contract.js';
import { type FrameLike, isTrustedSender } from './security.cjs';

export type CallResult =
  | { ok: true; value: unknown }
  | { ok: false; error: ApiErrorBody & { status: number } };

/** The parts of the contract module the handler needs (injected: main loads the core's ESM at run time). */
export interface ContractLike {
  isMethod(name: string): boolean;
  validateRequest(method: never, body: unknown): unknown;
}

export interface ServiceLike {
  call(method: never, req: never): Promise<unknown>;
}

export interface CallHandlerOptions {
  contract: ContractLike;
  service: ServiceLike;
  /** Told about refused senders (a sign of something wrong in the renderer, worth a line in the log). */
  warn?: (message: string) => void;
}

/** Turns whatever the core threw into the body the renderer shows next to the field at fault. */
export function errorBody(e: unknown): ApiErrorBody & { status: number } {
  const o = typeof e === 'object' && e !== null ? (e as Record<string, unknown>) : {};
  const status = typeof o.status === 'number' && o.status >= 400 && o.status < 600 ? o.status : 500;
  const message = e instanceof Error ? e.message : typeof e === 'string' ? e : 'unexpected error';
  const body: ApiErrorBody & { status: number } = { error: message, status };
  if (typeof o.field === 'string' && o.field !== '') body.field = o.field;
  return body;
}

export function createCallHandler(
  opts: CallHandlerOptions,
): (frame: FrameLike | null | undefined, method: unknown, req: unknown) => Promise<CallResult> {
  const { contract, service } = opts;
  // The contract's own signatures are generic over the method; here the method is only known at run time,
  // after isMethod() has vouched for it.
  const validate = contract.validateRequest as (method: string, body: unknown) => unknown;
  const call = service.call.bind(service) as (method: string, req: unknown) => Promise<unknown>;
  return async (frame, method, req) => {
    if (!isTrustedSender(frame)) {
      opts.warn?.(`refused an IPC call from ${frame ? `"${frame.url}"` : 'a destroyed frame'}`);
      return {
        ok: false,
        error: { error: 'refused: the call did not come from the workbench window', status: 403 },
      };
    }
    if (typeof method !== 'string' || !contract.isMethod(method)) {
      return { ok: false, error: { error: `unknown method "${String(method)}"`, status: 404 } };
    }
    try {
      const valid = validate(method, req);
      return { ok: true, value: await call(method, valid) };
    } catch (e) {
      return { ok: false, error: errorBody(e) };
    }
  };
}
