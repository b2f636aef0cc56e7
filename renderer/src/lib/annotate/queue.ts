/**
 * The save queue: every annotation change goes through here, in order, one at a time, until the core
 * acknowledges it. A failed send stays at the head and is retried with backoff; nothing is ever dropped except by
 * an explicit `discardHead` (the person's decision, offered when the core refuses a change outright). The queue
 * is written to storage (localStorage in the app) on every change, so a reload or a crash retries what was
 * pending.
 *
 * Order matters and is kept: an update of a box drawn offline refers to it by its local ref, which resolves to the
 * stored id once the add before it is acknowledged.
 */
import { maskKey, type Op } from './model.js';

/** An op ready for the wire: refs resolved to stored ids. */
export type WireOp =
  | Extract<Op, { kind: 'add' }>
  | { kind: 'update'; id: number; op: Extract<Op, { kind: 'update' }> }
  | { kind: 'delete'; id: number }
  | { kind: 'restore'; id: number }
  | Extract<Op, { kind: 'mask' }>;

/** Sends one op; resolves with the core's answer (an add's answer carries the new `id`), rejects on failure. */
export type Sender = (op: WireOp) => Promise<{ id?: number }>;

export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export interface QueueStatus {
  pending: number;
  /** The head has failed at least once and is waiting to be retried. */
  failing: boolean;
  attempts: number;
  lastError: string | null;
  /** The HTTP-like status of the last failure, when there was one (400/404/409: the core refuses the change). */
  lastStatus: number | null;
  /** Storage could not be written: pending changes would not survive a reload. */
  storageError: string | null;
}

interface Item {
  seq: number;
  op: Op;
}

interface Persisted {
  v: 1;
  nextSeq: number;
  items: Item[];
  ids: Record<string, number>;
}

export interface SaveQueueOptions {
  send: Sender;
  storage: KeyValueStorage;
  /** Storage key; include the store's path so two stores never share a queue. */
  key: string;
  /** Delay before retry number `attempt` (1-based), ms. Default 0.5 s doubling up to 30 s. */
  backoff?: (attempt: number) => number;
  /** Waits `ms` or until woken (retryNow). Injected by tests. */
  sleep?: (ms: number, wake: AbortSignal) => Promise<void>;
}

export function defaultBackoff(attempt: number): number {
  return Math.min(30_000, 500 * 2 ** Math.max(0, attempt - 1));
}

function defaultSleep(ms: number, wake: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      wake.removeEventListener('abort', done);
      resolve();
    }
    wake.addEventListener('abort', done);
  });
}

/** Where an error says the core refused the change (as opposed to not answering). */
export function errorStatus(e: unknown): number | null {
  const s = (e as { status?: unknown } | null)?.status;
  return typeof s === 'number' ? s : null;
}

export class SaveQueue {
  private items: Item[] = [];
  private nextSeq = 1;
  private readonly ids = new Map<string, number>();
  private running = false;
  private attempts = 0;
  private lastError: string | null = null;
  private lastStatus: number | null = null;
  private storageError: string | null = null;
  private wake = new AbortController();
  private readonly listeners = new Set<() => void>();
  private readonly ackListeners = new Set<(op: Op, answer: { id?: number }) => void>();
  private readonly backoff: (attempt: number) => number;
  private readonly sleep: (ms: number, wake: AbortSignal) => Promise<void>;

  constructor(private readonly opts: SaveQueueOptions) {
    this.backoff = opts.backoff ?? defaultBackoff;
    this.sleep = opts.sleep ?? defaultSleep;
    const raw = opts.storage.getItem(opts.key);
    if (raw !== null) {
      try {
        const p = JSON.parse(raw) as Persisted;
        if (p.v !== 1 || !Array.isArray(p.items)) throw new Error('unknown format');
        this.items = p.items;
        this.nextSeq = p.nextSeq;
        for (const [k, v] of Object.entries(p.ids ?? {})) this.ids.set(k, v);
      } catch (e) {
        // Never overwrite what might be someone's unsaved work: set it aside under another key and say so.
        opts.storage.setItem(`${opts.key}.unreadable.${Date.now()}`, raw);
        this.storageError = `the saved queue in ${opts.key} could not be read (${(e as Error).message}); it was kept aside`;
      }
    }
  }

  /** Adds a change at the end. A mask waiting to be sent is replaced by a newer one of the same mask. */
  enqueue(op: Op): void {
    if (op.kind === 'mask') {
      const key = maskKey(op.imageId, op.annotator, op.maskKind);
      // Index 0 may be in flight: only later ones are replaced.
      const i = this.items.findIndex(
        (it, k) =>
          (k > 0 || !this.running) &&
          it.op.kind === 'mask' &&
          maskKey(it.op.imageId, it.op.annotator, it.op.maskKind) === key,
      );
      if (i >= 0) {
        this.items[i] = { seq: this.items[i].seq, op };
        this.changed();
        this.start();
        return;
      }
    }
    this.items.push({ seq: this.nextSeq++, op });
    this.changed();
    this.start();
  }

  /** Starts sending (also after construction, for what a previous session left). */
  start(): void {
    if (this.running || this.items.length === 0) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
      // Something may have arrived between the loop's last check and now.
      if (this.items.length > 0) this.start();
    });
  }

  /** Retries the head now instead of waiting for the backoff (the network came back, the person clicked). */
  retryNow(): void {
    this.wake.abort();
    this.wake = new AbortController();
    this.start();
  }

  /**
   * Drops the head change: only on the person's explicit request, when the core keeps refusing it. Dropping an add
   * also drops the later changes to that box, which could never be applied.
   */
  discardHead(): Op | undefined {
    const head = this.items.shift();
    if (head?.op.kind === 'add') {
      const ref = head.op.ref;
      this.items = this.items.filter((it) => !('ref' in it.op) || it.op.ref !== ref);
    }
    this.attempts = 0;
    this.lastError = null;
    this.lastStatus = null;
    this.changed();
    this.retryNow();
    return head?.op;
  }

  pending(): Op[] {
    return this.items.map((it) => it.op);
  }

  status(): QueueStatus {
    return {
      pending: this.items.length,
      failing: this.attempts > 0,
      attempts: this.attempts,
      lastError: this.lastError,
      lastStatus: this.lastStatus,
      storageError: this.storageError,
    };
  }

  /** The stored id behind a ref, when known. */
  idFor(ref: string): number | undefined {
    if (ref.startsWith('s')) return Number(ref.slice(1));
    return this.ids.get(ref);
  }

  /** The ref under which the rest of the app keys a box: `s<id>` once stored, else the local ref. */
  canonical = (ref: string): string => {
    const id = this.idFor(ref);
    return id === undefined ? ref : `s${id}`;
  };

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Called once per acknowledged op, in order, with the core's answer. */
  onAck(fn: (op: Op, answer: { id?: number }) => void): () => void {
    this.ackListeners.add(fn);
    return () => this.ackListeners.delete(fn);
  }

  /** Resolves when the queue is empty (for tests and for "leave only when saved"). */
  async drained(): Promise<void> {
    while (this.items.length > 0) {
      await new Promise<void>((resolve) => {
        const off = this.onChange(() => {
          off();
          resolve();
        });
      });
    }
  }

  private wire(op: Op): WireOp {
    if (op.kind === 'add' || op.kind === 'mask') return op;
    const id = this.idFor(op.ref);
    if (id === undefined) {
      throw Object.assign(new Error(`box ${op.ref} was never stored (its add was discarded)`), {
        status: 409,
      });
    }
    if (op.kind === 'update') return { kind: 'update', id, op };
    return { kind: op.kind, id };
  }

  private async loop(): Promise<void> {
    while (this.items.length > 0) {
      const head = this.items[0];
      try {
        const answer = await this.opts.send(this.wire(head.op));
        if (head.op.kind === 'add' && typeof answer.id === 'number') this.ids.set(head.op.ref, answer.id);
        // The head may have been replaced meanwhile only if it was not in flight; it was, so it is still ours.
        if (this.items[0] === head) this.items.shift();
        this.attempts = 0;
        this.lastError = null;
        this.lastStatus = null;
        this.changed();
        for (const fn of this.ackListeners) fn(head.op, answer);
      } catch (e) {
        this.attempts++;
        this.lastError = (e as Error)?.message ?? String(e);
        this.lastStatus = errorStatus(e);
        this.changed();
        await this.sleep(this.backoff(this.attempts), this.wake.signal);
      }
    }
  }

  private changed(): void {
    const used = new Set(this.items.flatMap((it) => ('ref' in it.op ? [it.op.ref] : [])));
    const ids: Record<string, number> = {};
    // Only mappings a pending op still needs: acknowledged boxes are keyed by their stored id everywhere else.
    for (const [k, v] of this.ids) if (used.has(k)) ids[k] = v;
    const p: Persisted = { v: 1, nextSeq: this.nextSeq, items: this.items, ids };
    try {
      this.opts.storage.setItem(this.opts.key, JSON.stringify(p));
      if (this.storageError?.startsWith('cannot write')) this.storageError = null;
    } catch (e) {
      this.storageError = `cannot write the pending changes to storage (${(e as Error).message}); keep this tab open until they are saved`;
    }
    for (const fn of this.listeners) fn();
  }
}
