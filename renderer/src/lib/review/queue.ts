/**
 * The ratings' save queue. A rating counts as saved only when the core has acknowledged it (its transaction
 * committed); until then it sits here and is sent in order, retried on failure, written to storage on every change
 * (the machinery is PersistentQueue's), so a reload or a crash of the page retries what was pending, and a server
 * that was killed mid-review gets the rating again once it is back. Nothing is ever dropped.
 *
 * A newer rating of an item replaces an older one still waiting (not the one in flight): the core keeps only the
 * latest values of an item anyway, and the rater's last word is what must arrive.
 */
import { doublingBackoff, type KeyValueStorage, PersistentQueue, type Sleep } from '../savequeue.js';

export type { KeyValueStorage } from '../savequeue.js';

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
  sleep?: Sleep;
}

export function ratingBackoff(attempt: number): number {
  return doublingBackoff(attempt, 15_000);
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
  private readonly queue: PersistentQueue<QueuedRating>;

  constructor(opts: RatingQueueOptions) {
    this.queue = new PersistentQueue<QueuedRating>({
      storage: opts.storage,
      key: opts.key,
      backoff: opts.backoff ?? ratingBackoff,
      sleep: opts.sleep,
      isItem: isQueued,
      send: (q) => opts.send(q.rating),
      replace: (waiting, next) => (waiting.rating.itemId === next.rating.itemId ? next : null),
      messages: {
        unreadable: (key, reason) =>
          `the saved ratings in ${key} could not be read (${reason}); they were kept aside`,
        unwritable: (reason) =>
          `cannot write the unsaved ratings to storage (${reason}); keep this page open until they are saved`,
      },
    });
  }

  /** Adds a rating at the end, or replaces a waiting rating of the same item in place. Starts sending. */
  enqueue(q: QueuedRating): void {
    this.queue.enqueue(q);
  }

  /** Starts sending (also after construction, for what a previous page left). */
  start(): void {
    this.queue.start();
  }

  /** Retries the head now instead of waiting out the backoff (the person clicked "retry now"). */
  retryNow(): void {
    this.queue.retryNow();
  }

  pending(): QueuedRating[] {
    return this.queue.pending();
  }

  /** The waiting rating of an item (the latest), if any. */
  pendingFor(itemId: number): QueuedRating | undefined {
    return this.queue.pending().findLast((q) => q.rating.itemId === itemId);
  }

  status(): RatingQueueStatus {
    const { pending, failing, attempts, lastError, storageError } = this.queue.status();
    return { pending, failing, attempts, lastError, storageError };
  }

  onChange(fn: () => void): () => void {
    return this.queue.onChange(fn);
  }

  /** Called once per acknowledged rating, in order, with the core's answer. */
  onAck(fn: (q: QueuedRating, answer: unknown) => void): () => void {
    return this.queue.onAck(fn);
  }

  /** Resolves when everything has been acknowledged. */
  drained(): Promise<void> {
    return this.queue.drained();
  }
}
