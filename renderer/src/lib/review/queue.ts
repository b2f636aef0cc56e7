/**
 * The ratings' save queue. A rating counts as saved only when the core has acknowledged it (its transaction
 * committed); until then it sits here, is sent in order, and on failure stays at the head and is retried with
 * backoff. Nothing is ever dropped. The queue is written to storage (localStorage in the app) on every change, so
 * a reload or a crash of the page retries what was pending, and a server that was killed mid-review gets the
 * rating again once it is back.
 *
 * A newer rating of an item replaces an older one still waiting (not the one in flight): the core keeps only the
 * latest values of an item anyway, and the rater's last word is what must arrive.
 */

export interface RatingPayload {
  itemId: number;
  correctness: number | null;
  completeness: number | null;
  compactness: number | null;
  comment: string | null;
  wrongFlag: boolean;
  /** PNG base64 of where the explanation should have looked. */
  shouldHighlight?: string;
}

export interface QueuedRating {
  /** Which session and rater the rating belongs to (the screen shows only the current ones' pending items). */
  sessionId: number;
  rater: string;
  rating: RatingPayload;
}

export type Send = (r: RatingPayload) => Promise<unknown>;

export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export interface RatingQueueStatus {
  pending: number;
  /** The head has failed at least once and waits to be retried. */
  failing: boolean;
  attempts: number;
  lastError: string | null;
  /** Storage could not be written (or read): pending ratings might not survive a reload. */
  storageError: string | null;
}

export interface RatingQueueOptions {
  send: Send;
  storage: KeyValueStorage;
  /** Storage key; include the store's path so two stores never share a queue. */
  key: string;
  /** Delay before retry number `attempt` (1-based), ms. Default 0.5 s doubling up to 15 s. */
  backoff?: (attempt: number) => number;
  /** Waits `ms` or until woken (retryNow). Injected by tests. */
  sleep?: (ms: number, wake: AbortSignal) => Promise<void>;
}

export function ratingBackoff(attempt: number): number {
  return Math.min(15_000, 500 * 2 ** Math.max(0, attempt - 1));
}

function defaultSleep(ms: number, wake: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(finish, ms);
    function finish() {
      clearTimeout(t);
      wake.removeEventListener('abort', finish);
      resolve();
    }
    wake.addEventListener('abort', finish);
  });
}

interface Persisted {
  v: 1;
  items: QueuedRating[];
}

function isQueued(x: unknown): x is QueuedRating {
  const q = x as QueuedRating;
  return (
    typeof q === 'object' &&
    q !== null &&
    Number.isInteger(q.sessionId) &&
    typeof q.rater === 'string' &&
    typeof q.rating === 'object' &&
    q.rating !== null &&
    Number.isInteger(q.rating.itemId)
  );
}

export class RatingQueue {
  private items: QueuedRating[] = [];
  private inFlight: QueuedRating | null = null;
  private running = false;
  private attempts = 0;
  private lastError: string | null = null;
  private storageError: string | null = null;
  private wake = new AbortController();
  private readonly listeners = new Set<() => void>();
  private readonly ackListeners = new Set<(q: QueuedRating, answer: unknown) => void>();
  private readonly backoff: (attempt: number) => number;
  private readonly sleep: (ms: number, wake: AbortSignal) => Promise<void>;

  constructor(private readonly opts: RatingQueueOptions) {
    this.backoff = opts.backoff ?? ratingBackoff;
    this.sleep = opts.sleep ?? defaultSleep;
    const raw = opts.storage.getItem(opts.key);
    if (raw !== null) {
      try {
        const p = JSON.parse(raw) as Persisted;
        if (p.v !== 1 || !Array.isArray(p.items) || !p.items.every(isQueued))
          throw new Error('unknown format');
        this.items = p.items;
      } catch (e) {
        // Never overwrite what may be someone's unsaved ratings: keep it aside under another key and say so.
        opts.storage.setItem(`${opts.key}.unreadable.${Date.now()}`, raw);
        this.storageError = `the saved ratings in ${opts.key} could not be read (${(e as Error).message}); they were kept aside`;
      }
    }
  }

  /** Adds a rating at the end, or replaces a waiting rating of the same item in place. Starts sending. */
  enqueue(q: QueuedRating): void {
    const i = this.items.findIndex((it) => it !== this.inFlight && it.rating.itemId === q.rating.itemId);
    if (i >= 0) this.items[i] = q;
    else this.items.push(q);
    this.changed();
    this.start();
  }

  /** Starts sending (also after construction, for what a previous page left). */
  start(): void {
    if (this.running || this.items.length === 0) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
      if (this.items.length > 0) this.start();
    });
  }

  /** Retries the head now instead of waiting out the backoff (the person clicked "retry now"). */
  retryNow(): void {
    this.wake.abort();
    this.wake = new AbortController();
    this.start();
  }

  pending(): QueuedRating[] {
    return [...this.items];
  }

  /** The waiting rating of an item (the latest), if any. */
  pendingFor(itemId: number): QueuedRating | undefined {
    return this.items.findLast((q) => q.rating.itemId === itemId);
  }

  status(): RatingQueueStatus {
    return {
      pending: this.items.length,
      failing: this.attempts > 0,
      attempts: this.attempts,
      lastError: this.lastError,
      storageError: this.storageError,
    };
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Called once per acknowledged rating, in order, with the core's answer. */
  onAck(fn: (q: QueuedRating, answer: unknown) => void): () => void {
    this.ackListeners.add(fn);
    return () => this.ackListeners.delete(fn);
  }

  /** Resolves when everything has been acknowledged. */
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

  private async loop(): Promise<void> {
    while (this.items.length > 0) {
      const head = this.items[0];
      this.inFlight = head;
      try {
        const answer = await this.opts.send(head.rating);
        this.inFlight = null;
        // The head was in flight, so enqueue did not replace it: it is still at index 0.
        this.items.shift();
        this.attempts = 0;
        this.lastError = null;
        this.changed();
        for (const fn of this.ackListeners) fn(head, answer);
      } catch (e) {
        this.inFlight = null;
        this.attempts++;
        this.lastError = (e as Error)?.message ?? String(e);
        this.changed();
        await this.sleep(this.backoff(this.attempts), this.wake.signal);
      }
    }
  }

  private changed(): void {
    try {
      this.opts.storage.setItem(
        this.opts.key,
        JSON.stringify({ v: 1, items: this.items } satisfies Persisted),
      );
      if (this.storageError?.startsWith('cannot write')) this.storageError = null;
    } catch (e) {
      this.storageError = `cannot write the unsaved ratings to storage (${(e as Error).message}); keep this page open until they are saved`;
    }
    for (const fn of this.listeners) fn();
  }
}
