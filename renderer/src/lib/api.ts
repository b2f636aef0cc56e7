/**
 * The renderer's side of the contract. In Electron the preload exposes `window.xwb` (typed IPC); in web mode
 * the same calls go over HTTP to `xwb serve` (cookie set from the launch token). Components import only this.
 */
import type { ApiErrorBody, Method, Request, Responses, XwbEvent } from '../../../src/api/contract';

export interface XwbBridge {
  call<M extends Method>(method: M, req: Request<M>): Promise<Responses[M]>;
  onEvent(listener: (e: XwbEvent) => void): () => void;
  /**
   * Resolves once events emitted from now on will reach the listeners (web mode: the stream is connected). A
   * request whose answer comes partly as events (a coarse map) waits for it; IPC is always connected.
   */
  eventsOpen?(): Promise<void>;
}

declare global {
  interface Window {
    xwb?: XwbBridge;
  }
}

/** An error from the core, with the form field it concerns (if any), to be shown where the user is working. */
export class CallError extends Error {
  constructor(
    message: string,
    readonly field?: string,
    readonly status?: number,
    /** Team mode: the server wants the user to sign in (the renderer shows the sign-in screen). */
    readonly signIn = false,
  ) {
    super(message);
    this.name = 'CallError';
  }
}

/**
 * One event stream per page, shared by every listener. A stream per listener (as before) meant each map request
 * opened its own connection: a coarse map emitted before that connection was up was lost, and a few open views
 * used up the browser's six connections per host, stalling the API calls behind them.
 */
const webEvents = (() => {
  const listeners = new Set<(e: XwbEvent) => void>();
  let source: EventSource | undefined;
  let opened: Promise<void> = Promise.resolve();
  return {
    opened: () => opened,
    add(listener: (e: XwbEvent) => void): () => void {
      listeners.add(listener);
      // A stream the server refused (a rater's page) or that failed for good is closed: open a new one.
      if (!source || source.readyState === EventSource.CLOSED) {
        const s = new EventSource('events', { withCredentials: true });
        source = s;
        // The server adds a client before it answers, so once open, nothing emitted later is missed.
        opened = new Promise((resolve) => {
          s.addEventListener('open', () => resolve(), { once: true });
          s.addEventListener('error', () => s.readyState === EventSource.CLOSED && resolve());
        });
        s.onmessage = (m) => {
          const event = JSON.parse(m.data) as XwbEvent;
          for (const l of [...listeners]) l(event);
        };
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          source?.close();
          source = undefined;
        }
      };
    },
  };
})();

const web: XwbBridge = {
  async call(method, req) {
    let res: Response;
    try {
      res = await fetch(`api/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify(req ?? {}),
      });
    } catch {
      throw new CallError('the workbench server does not answer: is `xwb serve` still running?');
    }
    const body = (await res.json().catch(() => ({ error: `HTTP ${res.status}` }))) as unknown;
    if (!res.ok) {
      const e = body as ApiErrorBody & { signIn?: boolean };
      throw new CallError(e.error ?? `HTTP ${res.status}`, e.field, res.status, e.signIn === true);
    }
    return body as Responses[typeof method];
  },
  onEvent: (listener) => webEvents.add(listener),
  eventsOpen: () => webEvents.opened(),
};

/**
 * contextBridge copies only plain data across the isolation boundary, so an error from the preload arrives as
 * `{ name, message, status, field }`: rebuild the CallError the components expect.
 */
function electronBridge(bridge: XwbBridge): XwbBridge {
  return {
    async call(method, req) {
      try {
        return await bridge.call(method, req);
      } catch (e) {
        const o = (e ?? {}) as { message?: unknown; field?: unknown; status?: unknown };
        throw new CallError(
          typeof o.message === 'string' ? o.message : String(e),
          typeof o.field === 'string' ? o.field : undefined,
          typeof o.status === 'number' ? o.status : undefined,
        );
      }
    },
    onEvent: (listener) => bridge.onEvent(listener),
  };
}

export const api: XwbBridge = typeof window !== 'undefined' && window.xwb ? electronBridge(window.xwb) : web;

async function auth(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    credentials: 'same-origin',
    body: JSON.stringify(body),
  });
  const answer = (await res.json().catch(() => ({ error: `HTTP ${res.status}` }))) as Record<string, unknown>;
  if (!res.ok) throw new CallError(String(answer.error ?? `HTTP ${res.status}`), undefined, res.status);
  return answer;
}

/** Team mode: signs in; the server sets the session cookie (HttpOnly: this page never sees it). */
export const signIn = (name: string, password: string) => auth('auth/login', { name, password });

/** Team mode: ends the session on the server and drops the cookie. */
export const signOut = () => auth('auth/logout', {});
