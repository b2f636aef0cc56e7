import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  boxFromDrag,
  cursorFor,
  handlePoint,
  hitTest,
  moveBox,
  nudgeBox,
  resizeBox,
} from '../../renderer/src/lib/annotate/geometry.js';
import { annotateKeyAction } from '../../renderer/src/lib/annotate/keys.js';
import {
  type Command,
  type KnownBox,
  type Op,
  redoEffect,
  shownBoxes,
  undoEffect,
} from '../../renderer/src/lib/annotate/model.js';
import { type KeyValueStorage, SaveQueue, type WireOp } from '../../renderer/src/lib/annotate/queue.js';
import {
  bitmapFromPixels,
  bitmapToRgba,
  countOn,
  emptyBitmap,
  fillPolygon,
  paintDisc,
  paintStroke,
  stepBrush,
} from '../../renderer/src/lib/annotate/raster.js';
import { UndoStack } from '../../renderer/src/lib/annotate/undo.js';

const IMG = { width: 100, height: 80 };

test('drag, resize, move and nudge land on whole pixel edges inside the image', () => {
  assert.deepEqual(boxFromDrag({ x: 30.4, y: 50.6 }, { x: 10.6, y: 20.2 }, IMG), {
    x0: 11,
    y0: 20,
    x1: 30,
    y1: 51,
  });
  assert.deepEqual(boxFromDrag({ x: -5, y: 70 }, { x: 20, y: 99 }, IMG), { x0: 0, y0: 70, x1: 20, y1: 80 });
  assert.equal(boxFromDrag({ x: 10.2, y: 10 }, { x: 10.4, y: 30 }, IMG), null, 'under one pixel wide');

  const b = { x0: 10, y0: 20, x1: 30, y1: 40 };
  assert.deepEqual(handlePoint(b, 'nw'), { x: 10, y: 20 });
  assert.deepEqual(handlePoint(b, 's'), { x: 20, y: 40 });
  assert.deepEqual(handlePoint(b, 'e'), { x: 30, y: 30 });
  // Corner: both edges follow; side: one edge; the others stay.
  assert.deepEqual(resizeBox(b, 'se', { x: 35.4, y: 44.6 }, IMG), { x0: 10, y0: 20, x1: 35, y1: 45 });
  assert.deepEqual(resizeBox(b, 'n', { x: 99, y: 5.2 }, IMG), { x0: 10, y0: 5, x1: 30, y1: 40 });
  assert.deepEqual(resizeBox(b, 'w', { x: -20, y: 0 }, IMG), { x0: 0, y0: 20, x1: 30, y1: 40 });
  // Past the opposite edge: the box flips; onto it: one pixel is kept.
  assert.deepEqual(resizeBox(b, 'e', { x: 4, y: 0 }, IMG), { x0: 4, y0: 20, x1: 10, y1: 40 });
  assert.deepEqual(resizeBox(b, 'e', { x: 10.2, y: 0 }, IMG), { x0: 10, y0: 20, x1: 11, y1: 40 });
  assert.deepEqual(resizeBox({ x0: 90, y0: 0, x1: 100, y1: 5 }, 'w', { x: 120, y: 0 }, IMG), {
    x0: 99,
    y0: 0,
    x1: 100,
    y1: 5,
  });

  assert.deepEqual(moveBox(b, 5.4, -3.6, IMG), { x0: 15, y0: 16, x1: 35, y1: 36 });
  assert.deepEqual(
    moveBox(b, 500, -500, IMG),
    { x0: 80, y0: 0, x1: 100, y1: 20 },
    'stops at the border, size kept',
  );
  assert.deepEqual(nudgeBox(b, 'ArrowLeft', false, IMG), { x0: 9, y0: 20, x1: 29, y1: 40 });
  assert.deepEqual(nudgeBox(b, 'ArrowDown', true, IMG), { x0: 10, y0: 30, x1: 30, y1: 50 });
  assert.deepEqual(nudgeBox({ x0: 0, y0: 0, x1: 5, y1: 5 }, 'ArrowUp', true, IMG), {
    x0: 0,
    y0: 0,
    x1: 5,
    y1: 5,
  });
  assert.equal(nudgeBox(b, 'Enter', false, IMG), null);
});

test('hit testing: handles of the selected box first, then the smallest box under the point', () => {
  const boxes = [
    { key: 'big', box: { x0: 0, y0: 0, x1: 50, y1: 50 } },
    { key: 'small', box: { x0: 10, y0: 10, x1: 20, y1: 20 } },
  ];
  assert.deepEqual(hitTest(boxes, { x: 15, y: 15 }, 1), { key: 'small', part: 'body' });
  assert.deepEqual(hitTest(boxes, { x: 30, y: 30 }, 1), { key: 'big', part: 'body' });
  assert.equal(hitTest(boxes, { x: 60, y: 30 }, 1), null);
  // Half-open: x1 is outside the box.
  assert.deepEqual(hitTest(boxes, { x: 20, y: 15 }, 1), { key: 'big', part: 'body' });
  // The big box's east-edge midpoint, within tolerance, once it is selected.
  assert.deepEqual(hitTest(boxes, { x: 50.8, y: 25.5 }, 1, 'big'), { key: 'big', part: 'e' });
  assert.equal(hitTest(boxes, { x: 50.8, y: 25.5 }, 1, null), null);
  // Nearest handle wins when two are within tolerance (a tiny box at low zoom).
  const tiny = [{ key: 't', box: { x0: 0, y0: 0, x1: 2, y1: 2 } }];
  assert.deepEqual(hitTest(tiny, { x: 2.1, y: 1.9 }, 3, 't'), { key: 't', part: 'se' });
  assert.equal(cursorFor('ne'), 'ne-resize');
  assert.equal(cursorFor('body'), 'move');
});

test('brush: a disc of radius r covers exactly the pixels whose centres are within r', () => {
  // Hand-computed: r = 1 at the corner shared by pixels (4,4), (5,4), (4,5), (5,5): their centres are
  // √0.5 ≈ 0.71 away, the next ring (e.g. (6,4)'s centre at (6.5,4.5)) is √2.5 ≈ 1.58 away.
  const m = emptyBitmap(10, 10);
  assert.equal(paintDisc(m, { x: 5, y: 5 }, 1, 1), 4);
  const on = [...m.data.keys()].filter((i) => m.data[i]).map((i) => [i % 10, Math.floor(i / 10)]);
  assert.deepEqual(on, [
    [4, 4],
    [5, 4],
    [4, 5],
    [5, 5],
  ]);
  // Centred on a pixel centre with r = 1: the pixel and its 4 neighbours (diagonals are √2 away).
  const c = emptyBitmap(10, 10);
  assert.equal(paintDisc(c, { x: 3.5, y: 3.5 }, 1, 1), 5);
  // Brute force over many centres and radii, including discs cut by the border.
  for (const [cx, cy, r] of [
    [7.3, 2.9, 3.7],
    [0.2, 0.1, 2.5],
    [19.9, 15, 6],
    [10, 8, 0.5],
  ]) {
    const b = emptyBitmap(20, 16);
    paintDisc(b, { x: cx, y: cy }, r, 1);
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 20; x++) {
        const inside = (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r;
        assert.equal(b.data[y * 20 + x], inside ? 1 : 0, `pixel ${x},${y} for disc ${cx},${cy} r ${r}`);
      }
  }
  // A stroke is the union of discs along it; the eraser clears.
  const s = emptyBitmap(20, 10);
  paintStroke(s, { x: 2, y: 5 }, { x: 18, y: 5 }, 1, 1);
  // Rows 4 and 5 (centres 0.5 from the line); columns whose centre is within √0.75 of [2, 18]: 1..18.
  assert.equal(countOn(s), 36);
  assert.equal(paintStroke(s, { x: 10, y: 5 }, { x: 10, y: 5 }, 1, 0), 4);
  assert.equal(countOn(s), 32);
  assert.equal(stepBrush(8, 1), 10);
  assert.equal(stepBrush(1, -1), 1);
  assert.equal(stepBrush(2, 1), 3);
  assert.equal(stepBrush(256, 1), 256);
});

test('polygon fill: even-odd on pixel centres, against hand-made masks', () => {
  const pic = (m: ReturnType<typeof emptyBitmap>) =>
    Array.from({ length: m.height }, (_, y) =>
      Array.from(m.data.subarray(y * m.width, (y + 1) * m.width))
        .map((v) => (v ? '#' : '.'))
        .join(''),
    );
  // A right triangle: legs along the top and left edges, hypotenuse from (6,0) to (0,6).
  const t = emptyBitmap(6, 6);
  fillPolygon(
    t,
    [
      { x: 0, y: 0 },
      { x: 6, y: 0 },
      { x: 0, y: 6 },
    ],
    1,
  );
  assert.deepEqual(pic(t), ['#####.', '####..', '###...', '##....', '#.....', '......']);
  // An axis-aligned rectangle on pixel edges fills exactly its pixels (the half-open box convention).
  const r = emptyBitmap(6, 4);
  fillPolygon(
    r,
    [
      { x: 1, y: 1 },
      { x: 4, y: 1 },
      { x: 4, y: 3 },
      { x: 1, y: 3 },
    ],
    1,
  );
  assert.deepEqual(pic(r), ['......', '.###..', '.###..', '......']);
  // A pentagram drawn in one stroke: even-odd leaves its centre pentagon empty.
  const star = emptyBitmap(21, 21);
  const pts = [0, 2, 4, 1, 3].map((k) => {
    const a = -Math.PI / 2 + (k * 2 * Math.PI) / 5;
    return { x: 10.5 + 10 * Math.cos(a), y: 10.5 + 10 * Math.sin(a) };
  });
  fillPolygon(star, pts, 1);
  assert.equal(star.data[10 * 21 + 10], 0, 'centre empty under even-odd');
  assert.equal(star.data[3 * 21 + 10], 1, 'a point of the star is filled');
  // Erasing with a polygon; fewer than three points do nothing.
  assert.equal(
    fillPolygon(
      r,
      [
        { x: 0, y: 0 },
        { x: 6, y: 4 },
      ],
      0,
    ),
    0,
  );
  fillPolygon(
    r,
    [
      { x: 0, y: 0 },
      { x: 3, y: 0 },
      { x: 3, y: 4 },
      { x: 0, y: 4 },
    ],
    0,
  );
  assert.deepEqual(pic(r), ['......', '...#..', '...#..', '......']);
  // RGBA round trip (what the canvas encodes and the server decodes: alpha > 0 is on).
  const rgba = bitmapToRgba(r, [255, 0, 0], 128);
  assert.deepEqual(bitmapFromPixels(rgba, 6, 4, 4).data, r.data);
  assert.throws(() => bitmapFromPixels(rgba, 5, 4, 4), /do not make a 5×4 mask/);
});

test('undo/redo: linear history, new edits drop the redo branch, limit drops the oldest', () => {
  const u = new UndoStack<number>(3);
  assert.equal(u.undo(), undefined);
  for (const n of [1, 2, 3, 4]) u.push(n);
  assert.equal(u.undo(), 4);
  assert.equal(u.undo(), 3);
  assert.equal(u.redo(), 3);
  assert.equal(u.canRedo, true);
  u.push(5);
  assert.equal(u.canRedo, false, 'a new edit after undo drops the redo branch');
  assert.equal(u.undo(), 5);
  assert.equal(u.undo(), 3);
  assert.equal(u.undo(), 2);
  assert.equal(u.undo(), undefined, '1 fell off beyond the limit of 3');
  assert.throws(() => new UndoStack(0), /positive integer/);

  const s = (x0: number) => ({ box: { x0, y0: 0, x1: x0 + 1, y1: 1 }, className: 'cat', difficult: false });
  const add: Command = { type: 'add', ref: 'l1', state: s(1) };
  const del: Command = { type: 'delete', ref: 's7', state: s(2) };
  const upd: Command = { type: 'update', ref: 's8', before: s(3), after: s(4) };
  assert.deepEqual(undoEffect(add), { kind: 'delete', ref: 'l1' });
  assert.deepEqual(redoEffect(add), { kind: 'restore', ref: 'l1', state: s(1) }, 'redo keeps the stored id');
  assert.deepEqual(undoEffect(del), { kind: 'restore', ref: 's7', state: s(2) });
  assert.deepEqual(redoEffect(del), { kind: 'delete', ref: 's7' });
  assert.deepEqual(undoEffect(upd), { kind: 'update', ref: 's8', state: s(3) });
  assert.deepEqual(redoEffect(upd), { kind: 'update', ref: 's8', state: s(4) });
  const mask: Command = {
    type: 'mask',
    maskKind: 'region',
    before: new Uint8Array([0]),
    after: new Uint8Array([1]),
  };
  assert.deepEqual(undoEffect(mask), { kind: 'mask', maskKind: 'region', data: new Uint8Array([0]) });
});

test('shown boxes = acknowledged state with pending ops on top, unsaved ones marked', () => {
  const st = (x0: number, className = 'cat') => ({
    box: { x0, y0: 0, x1: x0 + 2, y1: 2 },
    className,
    difficult: false,
  });
  const known = new Map<string, KnownBox>([
    ['s1', { annotator: null, state: st(0, 'gt'), deleted: false }],
    ['s2', { annotator: 5, state: st(10), deleted: false }],
    ['s3', { annotator: 5, state: st(20), deleted: false }],
    ['s4', { annotator: 5, state: st(30), deleted: true }],
  ]);
  const pending: Op[] = [
    { kind: 'update', ref: 's2', imageId: 1, state: st(11) },
    { kind: 'delete', ref: 's3', imageId: 1 },
    { kind: 'add', ref: 'lA', imageId: 1, annotator: 5, state: st(40) },
    { kind: 'update', ref: 'lA', imageId: 1, state: st(41) },
    { kind: 'restore', ref: 's4', imageId: 1, annotator: 5, state: st(30) },
    // Another image's changes do not show here.
    { kind: 'restore', ref: 's77', imageId: 2, annotator: 5, state: st(50) },
    { kind: 'add', ref: 'lZ', imageId: 2, annotator: 5, state: st(60) },
  ];
  const shown = shownBoxes(known, pending, 1);
  assert.deepEqual(
    shown.map((b) => [b.ref, b.state.box.x0, b.unsaved]),
    [
      ['s1', 0, false],
      ['s2', 11, true],
      ['s4', 30, true],
      ['lA', 41, true],
    ],
  );
  // Once lA's add is acknowledged as id 9, the rest of its ops fold onto s9.
  const known2 = new Map(known);
  known2.set('s9', { annotator: 5, state: st(40), deleted: false });
  const shown2 = shownBoxes(known2, [{ kind: 'update', ref: 'lA', imageId: 1, state: st(42) }], 1, (r) =>
    r === 'lA' ? 's9' : r,
  );
  assert.deepEqual(
    shown2.filter((b) => b.unsaved).map((b) => [b.ref, b.state.box.x0]),
    [['s9', 42]],
  );
});

/** A storage like localStorage, in memory; `fail` makes writes throw (a full quota). */
function memoryStorage(): KeyValueStorage & { data: Map<string, string>; fail: boolean } {
  const data = new Map<string, string>();
  return {
    data,
    fail: false,
    getItem: (k) => data.get(k) ?? null,
    setItem(k, v) {
      if (this.fail) throw new Error('QuotaExceededError');
      data.set(k, v);
    },
  };
}

const noWait = () => Promise.resolve();
const st = (x0: number) => ({ box: { x0, y0: 0, x1: x0 + 1, y1: 1 }, className: 'cat', difficult: false });

test('save queue: a send that fails N times is retried with backoff; nothing lost, order kept', async () => {
  const storage = memoryStorage();
  const sent: string[] = [];
  let failures = 3;
  let nextId = 100;
  const delays: number[] = [];
  const q = new SaveQueue({
    key: 'q',
    storage,
    backoff: (a) => {
      delays.push(a);
      return 10 * a;
    },
    sleep: noWait,
    send: async (op: WireOp) => {
      if (failures > 0) {
        failures--;
        throw Object.assign(new Error('the workbench server does not answer'), { status: undefined });
      }
      sent.push(
        op.kind === 'add' ? `add ${op.ref}` : op.kind === 'mask' ? `mask ${op.png}` : `${op.kind} ${op.id}`,
      );
      return op.kind === 'add' ? { id: nextId++ } : {};
    },
  });
  const acks: string[] = [];
  q.onAck((op) => acks.push(op.kind));
  let sawFailing = false;
  q.onChange(() => {
    if (q.status().failing) sawFailing = true;
  });
  q.enqueue({ kind: 'add', ref: 'lA', imageId: 1, annotator: 2, state: st(1) });
  q.enqueue({ kind: 'update', ref: 'lA', imageId: 1, state: st(2) });
  q.enqueue({ kind: 'delete', ref: 's7', imageId: 1 });
  q.enqueue({ kind: 'restore', ref: 'lA', imageId: 1, annotator: 2, state: st(2) });
  await q.drained();
  assert.deepEqual(sent, ['add lA', 'update 100', 'delete 7', 'restore 100']);
  assert.deepEqual(acks, ['add', 'update', 'delete', 'restore']);
  assert.deepEqual(delays, [1, 2, 3], 'backoff grows per attempt on the same head');
  assert.ok(sawFailing, 'the failure was visible while it lasted');
  assert.equal(q.status().pending, 0);
  assert.equal(q.status().failing, false);
  assert.equal(q.canonical('lA'), 's100');
  assert.deepEqual(JSON.parse(storage.data.get('q') ?? '{}').items, []);
});

test('save queue: pending changes survive a reload and are sent by the next session', async () => {
  const storage = memoryStorage();
  let up = false;
  const sent: string[] = [];
  const send = async (op: WireOp) => {
    if (!up) throw Object.assign(new Error('HTTP 502'), { status: 502 });
    sent.push(op.kind === 'update' ? `update ${op.id} x0=${op.op.state.box.x0}` : op.kind);
    return op.kind === 'add' ? { id: 41 } : {};
  };
  let release!: () => void;
  const blocked = new Promise<void>((r) => {
    release = r;
  });
  const first = new SaveQueue({ key: 'k', storage, send, sleep: () => blocked });
  first.enqueue({ kind: 'add', ref: 'lB', imageId: 1, annotator: 2, state: st(5) });
  first.enqueue({ kind: 'update', ref: 'lB', imageId: 1, state: st(6) });
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(first.status().failing, true);
  assert.equal(first.status().lastStatus, 502);
  // The tab is closed here (the first queue never runs again); a new one reads the same storage.
  up = true;
  const second = new SaveQueue({ key: 'k', storage, send, sleep: noWait });
  assert.equal(second.pending().length, 2);
  second.start();
  await second.drained();
  assert.deepEqual(sent, ['add', 'update 41 x0=6']);
  release();
});

test('save queue: masks waiting are replaced by the newer one; unreadable storage is kept aside', async () => {
  const storage = memoryStorage();
  const sent: string[] = [];
  let gate!: () => void;
  const q = new SaveQueue({
    key: 'm',
    storage,
    sleep: noWait,
    send: async (op) => {
      if (op.kind === 'mask') sent.push(op.png);
      if (op.kind === 'delete') await new Promise<void>((r) => (gate = r));
      return {};
    },
  });
  const mask = (png: string) =>
    ({ kind: 'mask', imageId: 1, annotator: 2, maskKind: 'region', png, width: 1, height: 1 }) as const;
  q.enqueue({ kind: 'delete', ref: 's1', imageId: 1 }); // in flight, held open
  q.enqueue(mask('one'));
  q.enqueue(mask('two'));
  q.enqueue({ ...mask('other kind'), maskKind: 'should-highlight' });
  assert.equal(q.pending().length, 3, 'the second region mask replaced the first');
  await new Promise((r) => setTimeout(r, 1));
  gate();
  await q.drained();
  assert.deepEqual(sent, ['two', 'other kind']);

  storage.data.set('bad', '{not json');
  const q2 = new SaveQueue({ key: 'bad', storage, send: async () => ({}), sleep: noWait });
  assert.match(q2.status().storageError ?? '', /could not be read/);
  const aside = [...storage.data.keys()].find((k) => k.startsWith('bad.unreadable.'));
  assert.ok(
    aside && storage.data.get(aside) === '{not json',
    'the unreadable queue is kept, not overwritten',
  );

  storage.fail = true;
  const q3 = new SaveQueue({ key: 'full', storage, send: () => new Promise(() => {}), sleep: noWait });
  q3.enqueue({ kind: 'delete', ref: 's2', imageId: 1 });
  assert.match(q3.status().storageError ?? '', /cannot write/);
  assert.equal(q3.pending().length, 1, 'kept in memory even when storage is full');
});

test('save queue: only an explicit discard drops a refused change, with the later changes to its box', async () => {
  const storage = memoryStorage();
  let refuse = true;
  const sent: string[] = [];
  let wakeUps = 0;
  const q = new SaveQueue({
    key: 'r',
    storage,
    sleep: (_ms, wake) =>
      new Promise<void>((r) => {
        wake.addEventListener('abort', () => {
          wakeUps++;
          r();
        });
      }),
    send: async (op) => {
      if (refuse && op.kind === 'add') throw Object.assign(new Error('no image 9'), { status: 404 });
      sent.push(op.kind);
      return {};
    },
  });
  q.enqueue({ kind: 'add', ref: 'lC', imageId: 9, annotator: 2, state: st(1) });
  q.enqueue({ kind: 'update', ref: 'lC', imageId: 9, state: st(2) });
  q.enqueue({ kind: 'delete', ref: 's3', imageId: 1 });
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(q.status().lastStatus, 404);
  assert.equal(q.pending().length, 3, 'a refused change stays until the person discards it');
  const dropped = q.discardHead();
  assert.equal(dropped?.kind, 'add');
  await q.drained();
  assert.deepEqual(sent, ['delete']);
  assert.ok(wakeUps >= 1);
  refuse = false;
});

test('save queue: edits carry the version they were made on; a stale one is set aside with the changes built on it, the rest goes on', async () => {
  const storage = memoryStorage();
  // A core with versioned boxes: box 7 was changed by someone else (now version 5), box 8 is at version 2.
  const stored = new Map<number, number>([
    [7, 5],
    [8, 2],
  ]);
  const sent: string[] = [];
  let nextId = 100;
  const q = new SaveQueue({
    key: 'v',
    storage,
    sleep: noWait,
    send: async (op) => {
      if (op.kind === 'add') {
        stored.set(nextId, 1);
        sent.push('add');
        return { id: nextId++, version: 1 };
      }
      if (op.kind === 'mask') return {};
      sent.push(`${op.kind} ${op.id} v${op.version}`);
      const v = stored.get(op.id)!;
      if (op.version !== undefined && op.version !== v) {
        throw Object.assign(new Error(`annotation ${op.id} was changed by someone else`), {
          status: 409,
          field: 'version',
        });
      }
      stored.set(op.id, v + 1);
      return { id: op.id, version: v + 1 };
    },
  });
  const conflicts: { id: number | undefined; kind: string; dependents: number; message: string }[] = [];
  q.onConflict((c) =>
    conflicts.push({ id: c.id, kind: c.op.kind, dependents: c.dependents.length, message: c.message }),
  );
  // A box drawn here, then edited twice before any answer: each edit builds on the version the one before made.
  q.enqueue({ kind: 'add', ref: 'lA', imageId: 1, annotator: 2, state: st(1) });
  q.enqueue({ kind: 'update', ref: 'lA', imageId: 1, state: st(2) });
  q.enqueue({ kind: 'update', ref: 'lA', imageId: 1, state: st(3) });
  // Box 7 loaded at version 4, moved twice; box 8 deleted as loaded (version 2).
  q.enqueue({ kind: 'update', ref: 's7', imageId: 1, state: st(4), version: 4 });
  q.enqueue({ kind: 'update', ref: 's7', imageId: 1, state: st(5) });
  q.enqueue({ kind: 'delete', ref: 's8', imageId: 1, version: 2 });
  await q.drained();
  assert.deepEqual(sent, ['add', 'update 100 v1', 'update 100 v2', 'update 7 v4', 'delete 8 v2']);
  assert.deepEqual(conflicts, [
    { id: 7, kind: 'update', dependents: 1, message: 'annotation 7 was changed by someone else' },
  ]);
  assert.equal(stored.get(7), 5, "the other person's version stays");
  assert.equal(stored.get(100), 3);
  assert.equal(stored.get(8), 3, 'the change behind the conflict went through');
  assert.equal(q.status().failing, false, 'a conflict does not block the queue');
  // Any other refusal still waits for the person (a 409 on another field is not a version conflict).
  q.enqueue({ kind: 'delete', ref: 's9', imageId: 1, version: 1 });
  assert.equal(q.pending().length, 1);
});

test('save queue: a version learnt from an answer survives a reload with the change that needs it', async () => {
  const storage = memoryStorage();
  let up = true;
  const sent: string[] = [];
  const send = async (op: WireOp) => {
    if (op.kind === 'mask') return {};
    if (op.kind === 'add') return { id: 41, version: 1 };
    if (!up) throw Object.assign(new Error('HTTP 502'), { status: 502 });
    sent.push(`${op.kind} ${op.id} v${op.version}`);
    return { id: op.id, version: (op.version ?? 0) + 1 };
  };
  const first = new SaveQueue({ key: 'k', storage, send, sleep: () => new Promise(() => {}) });
  up = false;
  first.enqueue({ kind: 'add', ref: 'lB', imageId: 1, annotator: 2, state: st(5) });
  first.enqueue({ kind: 'update', ref: 'lB', imageId: 1, state: st(6) });
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(first.status().lastStatus, 502);
  up = true;
  const second = new SaveQueue({ key: 'k', storage, send, sleep: noWait });
  second.start();
  await second.drained();
  assert.deepEqual(sent, ['update 41 v1']);
});

test('annotation keys: the mode decides; unclaimed keys fall through to the view', () => {
  const none = { selected: false, drawingPolygon: false, drawingBox: false };
  const sel = { selected: true, drawingPolygon: false, drawingBox: false };
  assert.deepEqual(annotateKeyAction({ key: 'w' }, none), { type: 'tool', tool: 'box' });
  assert.deepEqual(annotateKeyAction({ key: 'M' }, none), { type: 'tool', tool: 'brush' });
  assert.deepEqual(annotateKeyAction({ key: ']' }, none), { type: 'brush', direction: 1 });
  assert.deepEqual(annotateKeyAction({ key: 'z', ctrlKey: true }, none), { type: 'undo' });
  assert.deepEqual(annotateKeyAction({ key: 'Z', ctrlKey: true, shiftKey: true }, none), { type: 'redo' });
  assert.deepEqual(annotateKeyAction({ key: 'y', metaKey: true }, none), { type: 'redo' });
  assert.equal(annotateKeyAction({ key: 'c', ctrlKey: true }, sel), null, 'Ctrl+C still copies');
  assert.equal(annotateKeyAction({ key: 'ArrowRight' }, none), null, 'no selection: arrows change image');
  assert.deepEqual(annotateKeyAction({ key: 'ArrowRight', shiftKey: true }, sel), {
    type: 'nudge',
    key: 'ArrowRight',
    shift: true,
  });
  assert.deepEqual(annotateKeyAction({ key: '3' }, sel), { type: 'class', index: 2 });
  assert.equal(annotateKeyAction({ key: '0' }, sel), null);
  assert.deepEqual(annotateKeyAction({ key: 'Backspace' }, sel), { type: 'delete' });
  assert.equal(annotateKeyAction({ key: 'Enter' }, none), null);
  assert.deepEqual(
    annotateKeyAction({ key: 'Enter' }, { selected: false, drawingPolygon: true, drawingBox: false }),
    {
      type: 'closePolygon',
    },
  );
  assert.equal(annotateKeyAction({ key: 'o' }, sel), null, 'overlay toggle stays with the view');
});
