/**
 * The annotation save queue: every annotation change goes through here, in order, one at a time, until the core
 * acknowledges it (the machinery, retries and storage are PersistentQueue's). Nothing is ever dropped except by
 * an explicit `discardHead` (the person's decision, offered when the core refuses a change outright).
 *
 * Order matters and is kept: an update of a box drawn offline refers to it by its local ref, which resolves to the
 * stored id once the add before it is acknowledged. The ref→id map is stored with the queue, in the format
 * `{v: 1, nextSeq, items, ids}` that queues already in people's localStorage use, plus `versions` (ref → the version
 * the box's last acknowledged change made) when an edit waiting needs one.
 */
import {
  doublingBackoff,
  type KeyValueStorage,
  PersistentQueue,
  type QueueStatus,
  type Sleep,
} from '../savequeue.js';
import { maskKey, type Op } from './model.js';

export { errorStatus, type KeyValueStorage, type QueueStatus } from '../savequeue.js';

/**
 * An op ready for the wire: refs resolved to stored ids, and each edit's `version`: the box's stored version the
 * edit was made on (undefined only for changes queued before versions were sent: those are unconditional).
 */
export type WireOp =
  | Extract<Op, { kind: 'add' }>
  | { kind: 'update'; id: number; version?: number; op: Extract<Op, { kind: 'update' }> }
  | { kind: 'delete'; id: number; version?: number }
  | { kind: 'restore'; id: number; version?: number }
  | Extract<Op, { kind: 'mask' }>;

/** The core's answer: a box's answer carries its `id` and new `version`. */
type Answer = { id?: number; version?: number };

/** Sends one op; resolves with the core's answer, rejects on failure. */
export type Sender = (op: WireOp) => Promise<Answer>;

/** A change the core refused because someone else changed the box first; it and the changes after it were set aside. */
export interface Conflict {
  op: Op;
  /** The box's stored id. */
  id: number | undefined;
  message: string;
  /** Later changes to the same box, set aside with it (they built on it). */
  dependents: Op[];
}

export interface SaveQueueOptions {
  send: Sender;
  storage: KeyValueStorage;
  /** Storage key; include the store's path so two stores never share a queue. */
  key: string;
  /** Delay before retry number `attempt` (1-based), ms. Default 0.5 s doubling up to 30 s. */
  backoff?: (attempt: number) => number;
  /** Waits `ms` or until woken (retryNow). Injected by tests. */
  sleep?: Sleep;
}

/** The stored form of a queued op; `seq` numbers them in the order they were made. */
interface Item {
  seq: number;
  op: Op;
}

export function defaultBackoff(attempt: number): number {
  return doublingBackoff(attempt, 30_000);
}

function isItem(x: unknown): x is Item {
  const it = x as Item | null;
  return (
    typeof it === 'object' &&
    it !== null &&
    typeof it.op === 'object' &&
    it.op !== null &&
    typeof it.op.kind === 'string'
  );
}

function refOf(op: Op): string | undefined {
  return 'ref' in op ? op.ref : undefined;
}

/** The core refused an edit because its version is stale (409 on `version`): resending can never cure it. */
export function isStaleVersion(e: unknown): boolean {
  const x = e as { status?: unknown; field?: unknown } | null;
  return x?.status === 409 && x.field === 'version';
}

/** A newer mask replaces a waiting one of the same image, annotator and kind; nothing else is replaced. */
function replaceMask(waiting: Item, next: Item): Item | null {
  const [a, b] = [waiting.op, next.op];
  if (a.kind !== 'mask' || b.kind !== 'mask') return null;
  return maskKey(a.imageId, a.annotator, a.maskKind) === maskKey(b.imageId, b.annotator, b.maskKind)
    ? { seq: waiting.seq, op: b }
    : null;
}

export class SaveQueue {
  private nextSeq = 1;
  private readonly ids = new Map<string, number>();
  /** The version each box got from its latest acknowledged change, by canonical ref (`s<id>`). */
  private readonly versions = new Map<string, number>();
  private readonly queue: PersistentQueue<Item, Answer>;

  constructor(opts: SaveQueueOptions) {
    this.queue = new PersistentQueue<Item, Answer>({
      storage: opts.storage,
      key: opts.key,
      backoff: opts.backoff ?? defaultBackoff,
      sleep: opts.sleep,
      isItem,
      // Refs are resolved at send time, not enqueue time: the add a ref waits for may be acknowledged meanwhile.
      send: (it) => opts.send(this.wire(it.op)),
      replace: replaceMask,
      acknowledged: (it, answer) => {
        if (it.op.kind === 'add' && typeof answer.id === 'number') this.ids.set(it.op.ref, answer.id);
        const ref = refOf(it.op);
        if (ref !== undefined && typeof answer.version === 'number')
          this.versions.set(this.canonical(ref), answer.version);
      },
      // Someone else changed the box: this change and the ones built on it can never apply. They are set aside and
      // reported (the person reloads the box), and the changes to other boxes behind them go on being sent.
      setAside: (_it, e) => isStaleVersion(e),
      dependsOn: (head, it) => {
        const [a, b] = [refOf(head.op), refOf(it.op)];
        return a !== undefined && b !== undefined && this.canonical(a) === this.canonical(b);
      },
      saveExtra: (items) => {
        const used = new Set(items.flatMap((it) => refOf(it.op) ?? []));
        const ids: Record<string, number> = {};
        // Only mappings a pending op still needs: acknowledged boxes are keyed by their stored id everywhere else.
        for (const [k, v] of this.ids) if (used.has(k)) ids[k] = v;
        const canon = new Set([...used].map(this.canonical));
        const versions: Record<string, number> = {};
        for (const [k, v] of this.versions) if (canon.has(k)) versions[k] = v;
        // Written only when there are some, so a queue without versioned edits keeps the earlier format.
        return Object.keys(versions).length > 0
          ? { nextSeq: this.nextSeq, ids, versions }
          : { nextSeq: this.nextSeq, ids };
      },
      loadExtra: (stored, items) => {
        this.nextSeq = Number.isInteger(stored.nextSeq)
          ? (stored.nextSeq as number)
          : Math.max(0, ...items.map((it) => it.seq)) + 1;
        const ids = stored.ids ?? {};
        if (typeof ids !== 'object' || ids === null) throw new Error('unknown format');
        for (const [k, v] of Object.entries(ids)) {
          if (!Number.isInteger(v)) throw new Error(`box ${k} has no valid stored id`);
          this.ids.set(k, v as number);
        }
        // Queues stored before versions were sent have none: their edits go out unconditional, as they were made.
        const versions = stored.versions ?? {};
        if (typeof versions !== 'object' || versions === null) throw new Error('unknown format');
        for (const [k, v] of Object.entries(versions)) {
          if (!Number.isInteger(v)) throw new Error(`box ${k} has no valid version`);
          this.versions.set(k, v as number);
        }
      },
    });
  }

  /** Adds a change at the end. A mask waiting to be sent is replaced by a newer one of the same mask. */
  enqueue(op: Op): void {
    // A replacing mask keeps the seq of the one it replaces, so a number may go unused: seqs only order.
    this.queue.enqueue({ seq: this.nextSeq++, op });
  }

  /** Starts sending (also after construction, for what a previous session left). */
  start(): void {
    this.queue.start();
  }

  /** Retries the head now instead of waiting for the backoff (the network came back, the person clicked). */
  retryNow(): void {
    this.queue.retryNow();
  }

  /**
   * Drops the head change: only on the person's explicit request, when the core keeps refusing it. Dropping an add
   * also drops the later changes to that box, which could never be applied.
   */
  discardHead(): Op | undefined {
    return this.queue.discardHead((head, it) => head.op.kind === 'add' && refOf(it.op) === head.op.ref)?.op;
  }

  pending(): Op[] {
    return this.queue.pending().map((it) => it.op);
  }

  status(): QueueStatus {
    return this.queue.status();
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
    return this.queue.onChange(fn);
  }

  /** Called when the core refused a change because someone else changed the box first (see Conflict). */
  onConflict(fn: (c: Conflict) => void): () => void {
    return this.queue.onSetAside((it, e, dependents) => {
      const ref = refOf(it.op);
      fn({
        op: it.op,
        id: ref === undefined ? undefined : this.idFor(ref),
        message: (e as { message?: unknown } | null)?.message?.toString() ?? String(e),
        dependents: dependents.map((d) => d.op),
      });
    });
  }

  /** Called once per acknowledged op, in order, with the core's answer. */
  onAck(fn: (op: Op, answer: Answer) => void): () => void {
    return this.queue.onAck((it, answer) => fn(it.op, answer));
  }

  /** Resolves when the queue is empty (for tests and for "leave only when saved"). */
  drained(): Promise<void> {
    return this.queue.drained();
  }

  private wire(op: Op): WireOp {
    if (op.kind === 'add' || op.kind === 'mask') return op;
    const id = this.idFor(op.ref);
    if (id === undefined) {
      throw Object.assign(new Error(`box ${op.ref} was never stored (its add was discarded)`), {
        status: 409,
      });
    }
    // Made on the version the person saw (captured when queued), or on the one the change before it produced.
    const version = op.version ?? this.versions.get(`s${id}`);
    if (op.kind === 'update') return { kind: 'update', id, version, op };
    return { kind: op.kind, id, version };
  }
}
