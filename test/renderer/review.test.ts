import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  emptyForm,
  type FormKey,
  type FormResult,
  type FormState,
  formFrom,
  formKey,
} from '../../renderer/src/lib/review/form.js';
import {
  type KeyValueStorage,
  type QueuedRating,
  RatingQueue,
  ratingBackoff,
} from '../../renderer/src/lib/review/queue.js';

/** Presses keys in order; returns the final state and every effect. */
function press(
  s: FormState,
  ...keys: (string | FormKey)[]
): { state: FormState; effects: FormResult['effect'][] } {
  const effects: FormResult['effect'][] = [];
  for (const k of keys) {
    const r = formKey(s, typeof k === 'string' ? { key: k } : k);
    s = r.state;
    effects.push(r.effect);
  }
  return { state: s, effects };
}

test('digits score the current criterion and advance; Enter saves only when all three are scored', () => {
  let { state, effects } = press(emptyForm(), '4', '2');
  assert.deepEqual(state.values, [4, 2, null]);
  assert.equal(state.focus, 2);
  ({ state, effects } = press(state, 'Enter'));
  assert.deepEqual(effects, [null], 'incomplete: no save');
  assert.equal(state.focus, 2);
  assert.match(state.hint ?? '', /compactness/);
  ({ state, effects } = press(state, '5'));
  assert.deepEqual(state.values, [4, 2, 5]);
  assert.equal(state.focus, 2, 'stays on the last criterion');
  assert.equal(state.hint, null);
  ({ effects } = press(state, 'Enter'));
  assert.deepEqual(effects, ['save']);
  // Digits skip to the next unscored criterion.
  const back = press(
    formFrom({ correctness: null, completeness: 3, compactness: null, comment: null, wrongFlag: false }),
    '1',
  );
  assert.deepEqual(back.state.values, [1, 3, null]);
  assert.equal(back.state.focus, 2);
  // Out-of-range digits and chords are not the form's.
  assert.equal(formKey(emptyForm(), { key: '6' }).handled, false);
  assert.equal(formKey(emptyForm(), { key: '1', ctrlKey: true }).handled, false);
});

test('Tab and arrows move between criteria; Tab continues into the comment; 0 clears', () => {
  let { state } = press(emptyForm(), 'Tab', 'Tab');
  assert.equal(state.focus, 2);
  let r = formKey(state, { key: 'Tab' });
  assert.deepEqual([r.state.focus, r.effect], ['comment', 'focus-comment']);
  r = formKey(r.state, { key: 'Tab' });
  assert.deepEqual([r.state.focus, r.effect], [0, 'leave-comment']);
  ({ state } = press(r.state, 'ArrowDown', 'ArrowDown', 'ArrowDown', 'ArrowUp'));
  assert.equal(state.focus, 1);
  ({ state } = press(state, { key: 'Tab', shiftKey: true }));
  assert.equal(state.focus, 0);
  ({ state } = press(state, '3', 'ArrowUp', '0'));
  assert.deepEqual(state.values, [null, null, null]);
});

test('the comment box keeps typed keys; Escape leaves it; Enter there types, Ctrl+Enter saves', () => {
  let r = formKey(press(emptyForm(), '2', '2', '2').state, { key: 'c' });
  assert.deepEqual([r.state.focus, r.effect], ['comment', 'focus-comment']);
  for (const key of ['1', 'x', 'e', '[', 'Enter', 'Tab ']) {
    const typed = formKey(r.state, { key });
    assert.equal(typed.handled, false, `${key} belongs to the comment`);
    assert.equal(typed.state, r.state);
  }
  const saved = formKey(r.state, { key: 'Enter', ctrlKey: true });
  assert.equal(saved.effect, 'save');
  r = formKey(r.state, { key: 'Escape' });
  assert.deepEqual([r.state.focus, r.effect], [0, 'leave-comment']);
  // Ctrl+Enter with a missing score leaves the comment for that criterion.
  const partial = formKey(
    { ...emptyForm(), values: [1, null, 3], focus: 'comment' },
    { key: 'Enter', ctrlKey: true },
  );
  assert.deepEqual([partial.state.focus, partial.effect], [1, 'leave-comment']);
});

test('x flags, e/b switch eraser and brush, [ ] resize the brush within its bounds', () => {
  const { state } = press(emptyForm(4), 'x', 'e', ']', ']');
  assert.equal(state.wrongFlag, true);
  assert.equal(state.tool, 'eraser');
  assert.ok(state.brush > 4);
  const small = press(emptyForm(1), '[', '[', 'x', 'x', 'e', 'b');
  assert.equal(small.state.brush, 1, 'never below one pixel');
  assert.equal(small.state.wrongFlag, false);
  assert.equal(small.state.tool, 'brush');
  const restored = formFrom({
    correctness: 5,
    completeness: 4,
    compactness: 3,
    comment: 'hm',
    wrongFlag: true,
  });
  assert.deepEqual(
    [restored.values, restored.comment, restored.wrongFlag, restored.focus],
    [[5, 4, 3], 'hm', true, 0],
  );
});

// ---- the retry queue ----

function memoryStorage(): KeyValueStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
}

const rating = (itemId: number, v: number): QueuedRating => ({
  sessionId: 1,
  rater: 'Ann',
  rating: { itemId, correctness: v, completeness: v, compactness: v, comment: null, wrongFlag: false },
});

/** A server that fails while `down` is set, and records what it acknowledged. */
function fakeServer() {
  const s = {
    down: false,
    acked: [] as { itemId: number; correctness: number | null }[],
    calls: 0,
    async send(r: QueuedRating['rating']) {
      s.calls++;
      await Promise.resolve();
      if (s.down)
        throw Object.assign(new Error('the workbench server does not answer'), { status: undefined });
      s.acked.push({ itemId: r.itemId, correctness: r.correctness });
      return { itemId: r.itemId };
    },
  };
  return s;
}

/** A sleep the test releases by hand, so retries happen exactly when the test says. */
function manualSleep() {
  const waiting: (() => void)[] = [];
  return {
    waiting,
    sleep: (_ms: number, wake: AbortSignal) =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        wake.addEventListener('abort', () => resolve());
      }),
    release() {
      for (const r of waiting.splice(0)) r();
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

test('ratings are sent in order and reported acknowledged only after the send resolved', async () => {
  const server = fakeServer();
  const q = new RatingQueue({ send: (r) => server.send(r), storage: memoryStorage(), key: 'k' });
  const acks: number[] = [];
  q.onAck((r) => acks.push(r.rating.itemId));
  q.enqueue(rating(1, 3));
  q.enqueue(rating(2, 4));
  assert.deepEqual(acks, [], 'nothing is acknowledged synchronously');
  assert.equal(q.status().pending, 2);
  await q.drained();
  assert.deepEqual(acks, [1, 2]);
  assert.deepEqual(server.acked, [
    { itemId: 1, correctness: 3 },
    { itemId: 2, correctness: 4 },
  ]);
  assert.equal(q.status().pending, 0);
});

test('a failed save stays queued, visibly failing, and is retried until the server takes it', async () => {
  const server = fakeServer();
  server.down = true;
  const clock = manualSleep();
  const storage = memoryStorage();
  const q = new RatingQueue({ send: (r) => server.send(r), storage, key: 'k', sleep: clock.sleep });
  q.enqueue(rating(7, 2));
  await tick();
  assert.deepEqual(q.status().failing, true);
  assert.match(q.status().lastError ?? '', /does not answer/);
  assert.equal(q.pendingFor(7)?.rating.correctness, 2);
  clock.release();
  await tick();
  assert.equal(q.status().attempts, 2, 'retried after the backoff');
  assert.equal(server.acked.length, 0);
  // A newer rating of the same item, queued while the old one waits, replaces it (the rater's last word).
  q.enqueue(rating(7, 5));
  assert.equal(q.status().pending, 1);
  server.down = false;
  q.retryNow();
  await q.drained();
  assert.deepEqual(server.acked, [{ itemId: 7, correctness: 5 }]);
  assert.equal(q.status().failing, false);
  assert.equal(JSON.parse(storage.data.get('k')!).items.length, 0);
});

test('a reload retries what was pending (the queue lives in storage); unreadable storage is kept aside', async () => {
  const storage = memoryStorage();
  const down = fakeServer();
  down.down = true;
  const clock = manualSleep();
  const first = new RatingQueue({ send: (r) => down.send(r), storage, key: 'k', sleep: clock.sleep });
  first.enqueue(rating(1, 1));
  first.enqueue(rating(2, 2));
  await tick();
  // The page is gone; a new page on the same storage picks the ratings up and sends them in order.
  const server = fakeServer();
  const second = new RatingQueue({ send: (r) => server.send(r), storage, key: 'k' });
  assert.deepEqual(
    second.pending().map((p) => p.rating.itemId),
    [1, 2],
  );
  second.start();
  await second.drained();
  assert.deepEqual(
    server.acked.map((a) => a.itemId),
    [1, 2],
  );

  const bad = memoryStorage();
  bad.setItem('k', '{not json');
  const q = new RatingQueue({ send: (r) => server.send(r), storage: bad, key: 'k' });
  assert.match(q.status().storageError ?? '', /could not be read/);
  assert.ok(
    [...bad.data.keys()].some((k) => k.startsWith('k.unreadable.')),
    'the unreadable queue is kept',
  );
});

test('a rating in flight is not replaced; the newer one follows it', async () => {
  let release!: () => void;
  const sent: number[] = [];
  const q = new RatingQueue({
    send: (r) => {
      sent.push(r.correctness ?? 0);
      return sent.length === 1 ? new Promise<void>((res) => (release = res)) : Promise.resolve();
    },
    storage: memoryStorage(),
    key: 'k',
  });
  q.enqueue(rating(3, 1));
  await tick();
  q.enqueue(rating(3, 4));
  assert.equal(q.status().pending, 2);
  release();
  await q.drained();
  assert.deepEqual(sent, [1, 4]);
  assert.deepEqual([ratingBackoff(1), ratingBackoff(2), ratingBackoff(20)], [500, 1000, 15_000]);
});

test('the analysis prints intervals only when they exist', async () => {
  const { ciText, SCORE_KEYS } = await import('../../renderer/src/lib/review/summary.js');
  assert.equal(ciText([1.23456, 4.5]), '[1.235, 4.5]');
  assert.equal(ciText([null, null]), '');
  assert.equal(ciText([2, null]), '');
  assert.deepEqual(SCORE_KEYS, ['correctness', 'completeness', 'compactness', 'mean']);
});
