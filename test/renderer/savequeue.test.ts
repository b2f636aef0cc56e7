import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SaveQueue, type WireOp } from '../../renderer/src/lib/annotate/queue.js';
import {
  doublingBackoff,
  type KeyValueStorage,
  PersistentQueue,
  type PersistentQueueOptions,
  wakeableSleep,
} from '../../renderer/src/lib/savequeue.js';

interface Job {
  key: string;
  n: number;
}

/** localStorage stand-in that counts writes and can be made to refuse them (a full quota). */
class FakeStorage implements KeyValueStorage {
  readonly data = new Map<string, string>();
  writes = 0;
  fail = false;
  getItem(key: string): string | null {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    if (this.fail) throw new Error('QuotaExceededError');
    this.writes++;
    this.data.set(key, value);
  }
}

const isJob = (x: unknown): x is Job =>
  typeof x === 'object' && x !== null && typeof (x as Job).key === 'string' && Number.isInteger((x as Job).n);

const tick = () => new Promise((r) => setTimeout(r, 0));
const noWait = () => Promise.resolve();

function queue(
  over: Partial<PersistentQueueOptions<Job, string>> & Pick<PersistentQueueOptions<Job, string>, 'send'>,
) {
  return new PersistentQueue<Job, string>({ storage: new FakeStorage(), key: 'q', isItem: isJob, ...over });
}

/** A send the test settles by hand, one call at a time. */
function manualSend() {
  const calls: { job: Job; ok: (a: string) => void; fail: (e: unknown) => void }[] = [];
  return {
    calls,
    send: (job: Job) => new Promise<string>((ok, fail) => calls.push({ job, ok, fail })),
  };
}

test('items are sent one at a time, in order; acknowledged only once the send resolved', async () => {
  const s = manualSend();
  const seen: string[] = [];
  const q = queue({
    send: s.send,
    acknowledged: (job, answer) => seen.push(`hook ${job.key} ${answer}`),
  });
  q.onAck((job, answer) => seen.push(`ack ${job.key} ${answer}`));
  q.enqueue({ key: 'a', n: 1 });
  q.enqueue({ key: 'b', n: 2 });
  await tick();
  assert.equal(s.calls.length, 1, 'the second waits for the first');
  assert.deepEqual(seen, []);
  s.calls[0].ok('A');
  await tick();
  assert.deepEqual(seen, ['hook a A', 'ack a A'], 'the hook runs before the listeners');
  assert.equal(s.calls.length, 2);
  assert.deepEqual(s.calls[1].job, { key: 'b', n: 2 });
  s.calls[1].ok('B');
  await q.drained();
  assert.deepEqual(seen, ['hook a A', 'ack a A', 'hook b B', 'ack b B']);
  assert.equal(q.status().pending, 0);
});

test('a failing head is retried with growing backoff, visibly, until it goes through; retryNow wakes it', async () => {
  let failures = 3;
  const delays: number[] = [];
  const statuses: (number | null)[] = [];
  const q = queue({
    send: async (job) => {
      if (failures-- > 0) throw Object.assign(new Error(`down for ${job.key}`), { status: 503 });
      return 'ok';
    },
    backoff: (a) => {
      delays.push(a);
      return 1;
    },
    sleep: noWait,
  });
  q.onChange(() => statuses.push(q.status().lastStatus));
  q.enqueue({ key: 'a', n: 1 });
  await q.drained();
  assert.deepEqual(delays, [1, 2, 3]);
  assert.deepEqual(statuses, [null, 503, 503, 503, null]);
  assert.deepEqual(q.status(), {
    pending: 0,
    failing: false,
    attempts: 0,
    lastError: null,
    lastStatus: null,
    storageError: null,
  });

  // The real sleep: a long backoff is cut short by retryNow.
  let down = true;
  const q2 = queue({
    send: async () => {
      if (down) throw new Error('not answering');
      return 'ok';
    },
    backoff: () => 60_000,
  });
  q2.enqueue({ key: 'b', n: 1 });
  await tick();
  assert.equal(q2.status().failing, true);
  assert.equal(q2.status().lastError, 'not answering');
  down = false;
  const t0 = Date.now();
  q2.retryNow();
  await q2.drained();
  assert.ok(Date.now() - t0 < 1000, 'woken, not slept out');
  assert.deepEqual(
    [doublingBackoff(1, 30_000), doublingBackoff(3, 30_000), doublingBackoff(9, 30_000)],
    [500, 2000, 30_000],
  );
});

test('the replacement rule: a waiting item may be replaced, the one in flight never', async () => {
  const s = manualSend();
  const q = queue({
    send: s.send,
    replace: (waiting, next) =>
      waiting.key === next.key ? { key: next.key, n: waiting.n * 10 + next.n } : null,
  });
  q.enqueue({ key: 'a', n: 1 });
  await tick(); // a1 in flight
  q.enqueue({ key: 'a', n: 2 });
  q.enqueue({ key: 'b', n: 1 });
  q.enqueue({ key: 'a', n: 3 });
  assert.deepEqual(
    q.pending(),
    [
      { key: 'a', n: 1 },
      { key: 'a', n: 23 },
      { key: 'b', n: 1 },
    ],
    'the in-flight a stays; the waiting a takes the newer one in its place',
  );
  // A failed head is no longer in flight while it waits: a newer one replaces it.
  s.calls[0].fail(new Error('x'));
  await tick();
  q.enqueue({ key: 'a', n: 4 });
  assert.deepEqual(q.pending()[0], { key: 'a', n: 14 });
  q.retryNow();
  // Each answer lets the next send start: a14 (in place of the failed head), then a23, then b1.
  for (let i = 1; i <= 3; i++) {
    await tick();
    s.calls[i].ok('');
  }
  await q.drained();
  assert.deepEqual(
    s.calls.map((c) => c.job.n),
    [1, 14, 23, 1],
  );
});

test('storage: the queue is written on every change with its extra state and read back by the next page', async () => {
  const storage = new FakeStorage();
  let extra = 7;
  let loaded: unknown;
  const opts = {
    storage,
    key: 'k',
    isItem: isJob,
    saveExtra: (items: readonly Job[]) => ({ extra, count: items.length }),
    loadExtra: (stored: Record<string, unknown>) => {
      loaded = stored.extra;
    },
  };
  const first = new PersistentQueue<Job, string>({ ...opts, send: () => new Promise(() => {}) });
  first.enqueue({ key: 'a', n: 1 });
  extra = 8;
  first.enqueue({ key: 'b', n: 2 });
  assert.equal(storage.writes, 2, 'one write per change');
  assert.deepEqual(JSON.parse(storage.data.get('k')!), {
    v: 1,
    extra: 8,
    count: 2,
    items: [
      { key: 'a', n: 1 },
      { key: 'b', n: 2 },
    ],
  });
  const sent: string[] = [];
  const second = new PersistentQueue<Job, string>({
    ...opts,
    send: async (j) => {
      sent.push(j.key);
      return '';
    },
  });
  assert.equal(loaded, 8);
  assert.equal(second.pending().length, 2, 'nothing is sent before start');
  second.start();
  await second.drained();
  assert.deepEqual(sent, ['a', 'b']);
  assert.deepEqual(JSON.parse(storage.data.get('k')!).items, []);
});

test('storage that cannot be written is reported, the items stay in memory, and a later write clears it', async () => {
  const storage = new FakeStorage();
  const s = manualSend();
  const q = new PersistentQueue<Job, string>({
    storage,
    key: 'full',
    isItem: isJob,
    send: s.send,
    messages: { unwritable: (reason) => `cannot write the jobs (${reason})` },
  });
  storage.fail = true;
  q.enqueue({ key: 'a', n: 1 });
  assert.equal(q.status().storageError, 'cannot write the jobs (QuotaExceededError)');
  assert.equal(q.pending().length, 1);
  await tick();
  storage.fail = false;
  s.calls[0].ok('');
  await q.drained();
  assert.equal(q.status().storageError, null);
  assert.deepEqual(JSON.parse(storage.data.get('full')!).items, []);
});

test('an unreadable stored queue is set aside under another key, never overwritten, and reported', () => {
  const cases: [string, string, RegExp][] = [
    ['{not json', 'not JSON', /JSON|Unexpected|Expected/],
    [JSON.stringify({ v: 2, items: [] }), 'unknown version', /unknown format/],
    [JSON.stringify({ v: 1, items: [{ key: 'a' }] }), 'an item that is not one', /unknown format/],
    [JSON.stringify({ v: 1, items: [], bad: true }), 'extra state refused', /bad extra/],
    ['null', 'null', /unknown format/],
  ];
  for (const [raw, what, reason] of cases) {
    const storage = new FakeStorage();
    storage.data.set('k', raw);
    const q = new PersistentQueue<Job, string>({
      storage,
      key: 'k',
      isItem: isJob,
      send: async () => '',
      loadExtra: (stored) => {
        if (stored.bad) throw new Error('bad extra');
      },
    });
    const st = q.status().storageError ?? '';
    assert.match(st, /the saved queue in k could not be read/, what);
    assert.match(st, reason, what);
    assert.equal(q.pending().length, 0, what);
    const aside = [...storage.data.keys()].filter((k) => k.startsWith('k.unreadable.'));
    assert.equal(aside.length, 1, what);
    assert.equal(storage.data.get(aside[0]), raw, `${what}: kept as it was`);
    // A new item is written under the queue's key; what was set aside stays.
    q.enqueue({ key: 'b', n: 1 });
    assert.equal(storage.data.get(aside[0]), raw);
    assert.match(q.status().storageError ?? '', /could not be read/, `${what}: stays reported`);
  }
  assert.throws(
    () =>
      new PersistentQueue<Job, string>({
        storage: new FakeStorage(),
        key: '',
        isItem: isJob,
        send: async () => '',
      }),
    /storage key is empty/,
  );
});

test('drained waits for every item; discardHead drops the head and what depends on it, and wakes the loop', async () => {
  let refuse = true;
  const sent: string[] = [];
  const q = queue({
    send: async (j) => {
      if (refuse && j.key === 'bad') throw Object.assign(new Error('refused'), { status: 409 });
      sent.push(`${j.key}${j.n}`);
      return '';
    },
    sleep: wakeableSleep,
    backoff: () => 60_000,
  });
  let drained = false;
  q.enqueue({ key: 'bad', n: 1 });
  q.enqueue({ key: 'bad', n: 2 });
  q.enqueue({ key: 'ok', n: 1 });
  void q.drained().then(() => {
    drained = true;
  });
  await tick();
  assert.equal(q.status().lastStatus, 409);
  assert.equal(drained, false);
  const head = q.discardHead((h, it) => it.key === h.key);
  assert.deepEqual(head, { key: 'bad', n: 1 });
  assert.equal(q.status().failing, false, 'the failure left with the head');
  await q.drained();
  await tick();
  assert.ok(drained);
  assert.deepEqual(sent, ['ok1']);
  refuse = false;
  assert.equal(q.discardHead(), undefined, 'nothing to discard');
});

test('a head discarded while in flight is not taken for the next item when its answer arrives', async () => {
  const s = manualSend();
  const q = queue({ send: s.send });
  q.enqueue({ key: 'a', n: 1 });
  q.enqueue({ key: 'b', n: 1 });
  await tick();
  q.discardHead();
  s.calls[0].ok('late');
  await tick();
  assert.deepEqual(q.pending(), [{ key: 'b', n: 1 }], 'b is still waiting for its own send');
  s.calls[1].ok('');
  await q.drained();
});

test('an annotation queue stored by the earlier SaveQueue ({v:1, nextSeq, items, ids}) still loads', async () => {
  const storage = new FakeStorage();
  const state = { box: { x0: 1, y0: 2, x1: 3, y1: 4 }, className: 'cat', difficult: false };
  storage.data.set(
    'xwb.annotate.queue:/store.db',
    JSON.stringify({
      v: 1,
      nextSeq: 9,
      items: [
        { seq: 7, op: { kind: 'update', ref: 'lX', imageId: 1, state } },
        { seq: 8, op: { kind: 'add', ref: 'lY', imageId: 1, annotator: 2, state } },
      ],
      ids: { lX: 42 },
    }),
  );
  const sent: WireOp[] = [];
  const q = new SaveQueue({
    key: 'xwb.annotate.queue:/store.db',
    storage,
    sleep: noWait,
    send: async (op) => {
      sent.push(op);
      return op.kind === 'add' ? { id: 43 } : {};
    },
  });
  assert.equal(q.status().storageError, null);
  assert.equal(q.canonical('lX'), 's42');
  q.enqueue({ kind: 'delete', ref: 'lY', imageId: 1 });
  const stored = JSON.parse(storage.data.get('xwb.annotate.queue:/store.db')!);
  assert.equal(stored.nextSeq, 10);
  assert.deepEqual(
    stored.items.map((it: { seq: number }) => it.seq),
    [7, 8, 9],
  );
  assert.deepEqual(stored.ids, { lX: 42 });
  q.start();
  await q.drained();
  assert.deepEqual(
    sent.map((op) => [op.kind, 'id' in op ? op.id : undefined]),
    [
      ['update', 42],
      ['add', undefined],
      ['delete', 43],
    ],
  );
  assert.deepEqual(JSON.parse(storage.data.get('xwb.annotate.queue:/store.db')!), {
    v: 1,
    nextSeq: 10,
    ids: {},
    items: [],
  });
});
