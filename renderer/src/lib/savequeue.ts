/**
 * A save queue that survives the page: items are sent in order, one at a time, and an item counts as saved only
 * once the core has acknowledged it. A failed send stays at the head and is retried with backoff (a sleep that
 * `retryNow` cuts short); nothing is dropped except by an explicit `discardHead`. The queue is written to storage
 * (localStorage in the app) on every change, so a reload or a crash of the page retries what was pending.
 *
 * What differs between queues (how an item is sent, which waiting item a newer one replaces, what an
 * acknowledgement teaches, extra state stored next to the items) comes in as options; the annotation and the
 * rating queues are thin layers over this one.
 */

export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** Waits `ms` or until `wake` aborts, whichever comes first. */
export type Sleep = (ms: number, wake: AbortSignal) => Promise<void>;

export interface QueueStatus {
  pending: number;
  /** The head has failed at least once and is waiting to be retried. */
  failing: boolean;
  attempts: number;
  lastError: string | null;
  /** The HTTP-like status of the last failure, when there was one (400/404/409: the core refuses the change). */
  lastStatus: number | null;
  /** Storage could not be written (or read): pending items might not survive a reload. */
  storageError: string | null;
}

export interface PersistentQueueOptions<T, A> {
  storage: KeyValueStorage;
  /** Storage key; include the store's path so two stores never share a queue. */
  key: string;
  /** Sends one item; resolves with the core's answer, rejects (or throws) on failure. */
  send: (item: T) => Promise<A>;
  /** Tells a stored item from garbage when a previous page's queue is read back. */
  isItem: (x: unknown) => x is T;
  /** Delay before retry number `attempt` (1-based), ms. Default: 0.5 s doubling up to 30 s. */
  backoff?: (attempt: number) => number;
  /** Injected by tests. */
  sleep?: Sleep;
  /**
   * What takes the place of a waiting item when `next` is enqueued, or null when `next` does not replace it. Only
   * asked about items not in flight: the one being sent may already be stored, so its successor must follow it.
   */
  replace?: (waiting: T, next: T) => T | null;
  /** Runs once per acknowledged item, before it leaves the queue (and before the onAck listeners). */
  acknowledged?: (item: T, answer: A) => void;
  /**
   * A refusal that resending can never cure and that the person need not decide about (an edit based on a version
   * someone else replaced): true sets the item aside at once, with the waiting items `dependsOn` names, and tells
   * the onSetAside listeners, so the items behind it go on being sent. Anything else stays at the head.
   */
  setAside?: (item: T, error: unknown) => boolean;
  /** The waiting items that build on `head` and go with it when it is discarded or set aside. */
  dependsOn?: (head: T, item: T) => boolean;
  /** Extra fields stored next to the items (never `v` or `items`). */
  saveExtra?: (items: readonly T[]) => Record<string, unknown>;
  /** Reads the extra fields back; throws when they make no sense (the stored queue is then set aside). */
  loadExtra?: (stored: Record<string, unknown>, items: readonly T[]) => void;
  /** The words shown when storage fails, so each screen can name what it keeps. */
  messages?: Partial<StorageMessages>;
}

export interface StorageMessages {
  unreadable: (key: string, reason: string) => string;
  unwritable: (reason: string) => string;
}

const defaultMessages: StorageMessages = {
  unreadable: (key, reason) => `the saved queue in ${key} could not be read (${reason}); it was kept aside`,
  unwritable: (reason) =>
    `cannot write the pending changes to storage (${reason}); keep this tab open until they are saved`,
};

/** 0.5 s doubling per attempt, capped at `capMs`. */
export function doublingBackoff(attempt: number, capMs: number): number {
  return Math.min(capMs, 500 * 2 ** Math.max(0, attempt - 1));
}

export function wakeableSleep(ms: number, wake: AbortSignal): Promise<void> {
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

function errorMessage(e: unknown): string {
  const m = (e as { message?: unknown } | null)?.message;
  return typeof m === 'string' ? m : String(e);
}

export class PersistentQueue<T, A = unknown> {
  private items: T[] = [];
  /** The item whose send has not settled yet; identity, not equality. */
  private inFlight: T | null = null;
  private running = false;
  private attempts = 0;
  private lastError: string | null = null;
  private lastStatus: number | null = null;
  /** A stored queue that could not be read: stays reported, since what was set aside still needs a person. */
  private readError: string | null = null;
  /** Cleared by the next successful write. */
  private writeError: string | null = null;
  private wake = new AbortController();
  private readonly listeners = new Set<() => void>();
  private readonly ackListeners = new Set<(item: T, answer: A) => void>();
  private readonly asideListeners = new Set<(item: T, error: unknown, dependents: T[]) => void>();
  private readonly backoff: (attempt: number) => number;
  private readonly sleep: Sleep;
  private readonly messages: StorageMessages;

  constructor(private readonly opts: PersistentQueueOptions<T, A>) {
    if (opts.key === '') throw new Error('PersistentQueue: the storage key is empty; name the store in it');
    this.backoff = opts.backoff ?? ((a) => doublingBackoff(a, 30_000));
    this.sleep = opts.sleep ?? wakeableSleep;
    this.messages = { ...defaultMessages, ...opts.messages };
    this.load();
  }

  /** Adds an item at the end, or in place of a waiting one it replaces. Starts sending. */
  enqueue(item: T): void {
    const replace = this.opts.replace;
    let done = false;
    if (replace) {
      for (let i = 0; i < this.items.length && !done; i++) {
        if (this.items[i] === this.inFlight) continue;
        const merged = replace(this.items[i], item);
        if (merged !== null) {
          this.items[i] = merged;
          done = true;
        }
      }
    }
    if (!done) this.items.push(item);
    this.changed();
    this.start();
  }

  /** Starts sending (also after construction, for what a previous page left). */
  start(): void {
    if (this.running || this.items.length === 0) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
      // Something may have arrived between the loop's last check and now.
      if (this.items.length > 0) this.start();
    });
  }

  /** Retries the head now instead of waiting out the backoff (the network came back, the person clicked). */
  retryNow(): void {
    this.wake.abort();
    this.wake = new AbortController();
    this.start();
  }

  /**
   * Drops the head: only on the person's explicit request, when the core keeps refusing it. `alsoDrop` names the
   * waiting items that depend on the head and could never be applied without it.
   */
  discardHead(alsoDrop?: (head: T, item: T) => boolean): T | undefined {
    const head = this.items.shift();
    if (head !== undefined && alsoDrop) this.items = this.items.filter((it) => !alsoDrop(head, it));
    this.attempts = 0;
    this.lastError = null;
    this.lastStatus = null;
    this.changed();
    this.retryNow();
    return head;
  }

  pending(): T[] {
    return [...this.items];
  }

  status(): QueueStatus {
    return {
      pending: this.items.length,
      failing: this.attempts > 0,
      attempts: this.attempts,
      lastError: this.lastError,
      lastStatus: this.lastStatus,
      storageError: this.writeError ?? this.readError,
    };
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Called once per acknowledged item, in order, with the core's answer. */
  onAck(fn: (item: T, answer: A) => void): () => void {
    this.ackListeners.add(fn);
    return () => this.ackListeners.delete(fn);
  }

  /** Called when an item is set aside (see `setAside`), with the refusal and the items that went with it. */
  onSetAside(fn: (item: T, error: unknown, dependents: T[]) => void): () => void {
    this.asideListeners.add(fn);
    return () => this.asideListeners.delete(fn);
  }

  /** Resolves when everything has been acknowledged (for tests and for "leave only when saved"). */
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

  private load(): void {
    const { storage, key } = this.opts;
    const raw = storage.getItem(key);
    if (raw === null) return;
    try {
      const p = JSON.parse(raw) as Record<string, unknown> | null;
      if (p === null || typeof p !== 'object' || p.v !== 1 || !Array.isArray(p.items))
        throw new Error('unknown format');
      const items: unknown[] = p.items;
      if (!items.every(this.opts.isItem)) throw new Error('unknown format');
      this.opts.loadExtra?.(p, items);
      this.items = items;
    } catch (e) {
      // Never overwrite what may be someone's unsaved work: set it aside under another key and say so.
      storage.setItem(`${key}.unreadable.${Date.now()}`, raw);
      this.readError = this.messages.unreadable(key, errorMessage(e));
    }
  }

  private async loop(): Promise<void> {
    while (this.items.length > 0) {
      const head = this.items[0];
      this.inFlight = head;
      try {
        const answer = await this.opts.send(head);
        this.inFlight = null;
        this.opts.acknowledged?.(head, answer);
        // In flight, the head could not be replaced, only discarded by the person: then it is gone already.
        if (this.items[0] === head) this.items.shift();
        this.attempts = 0;
        this.lastError = null;
        this.lastStatus = null;
        this.changed();
        for (const fn of this.ackListeners) fn(head, answer);
      } catch (e) {
        this.inFlight = null;
        if (this.opts.setAside?.(head, e)) {
          if (this.items[0] === head) this.items.shift();
          const dependsOn = this.opts.dependsOn;
          const dependents = dependsOn ? this.items.filter((it) => dependsOn(head, it)) : [];
          this.items = this.items.filter((it) => !dependents.includes(it));
          this.attempts = 0;
          this.lastError = null;
          this.lastStatus = null;
          this.changed();
          for (const fn of this.asideListeners) fn(head, e, dependents);
          continue;
        }
        this.attempts++;
        this.lastError = errorMessage(e);
        this.lastStatus = errorStatus(e);
        this.changed();
        await this.sleep(this.backoff(this.attempts), this.wake.signal);
      }
    }
  }

  private changed(): void {
    const stored = { v: 1, ...this.opts.saveExtra?.(this.items), items: this.items };
    try {
      this.opts.storage.setItem(this.opts.key, JSON.stringify(stored));
      this.writeError = null;
    } catch (e) {
      this.writeError = this.messages.unwritable(errorMessage(e));
    }
    for (const fn of this.listeners) fn();
  }
}
