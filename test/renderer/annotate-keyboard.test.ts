/**
 * The keyboard-only annotation flow as plain functions: the crosshair, the two corners, the edge resize, Tab
 * through boxes, the key map's context rules, and the help rows replayed against the maps they describe.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BIG_STEP,
  confirmCorner,
  cycleRef,
  draftBox,
  type KeyboardDraft,
  moveCursor,
  resizeEdge,
  startDraft,
} from '../../renderer/src/lib/annotate/keyboard.js';
import {
  ANNOTATE_KEYMAP,
  type AnnotateAction,
  annotateKeyAction,
  type KeyContext,
} from '../../renderer/src/lib/annotate/keys.js';
import { helpKey, KEYMAPS, keyAction, SHORTCUTS } from '../../renderer/src/lib/keys.js';

const IMG = { width: 96, height: 64 };
const CTX: KeyContext = { selected: false, drawingPolygon: false, drawingBox: false };

/** Replays key names through the map and the draft functions, as the session does. */
function drive(d: KeyboardDraft, keys: string[]): KeyboardDraft {
  let cur = d;
  for (const k of keys) {
    const shift = k.startsWith('Shift+');
    const key = shift ? k.slice(6) : k;
    const a = annotateKeyAction({ key, shiftKey: shift }, { ...CTX, drawingBox: true });
    assert.equal(a?.type, 'cursor', `${k} moves the crosshair while drawing`);
    if (a?.type === 'cursor') cur = moveCursor(cur, a.key, a.shift, IMG);
  }
  return cur;
}

test('keyboard box: n, arrows, Enter, arrows, Enter gives the box between the two corners', () => {
  const d0 = startDraft(IMG);
  assert.deepEqual(d0, { cursor: { x: 48, y: 32 }, anchor: null }, 'starts at the image centre');
  assert.equal(draftBox(d0), null, 'nothing to preview before the first corner');
  const d1 = drive(d0, ['Shift+ArrowLeft', 'Shift+ArrowLeft', 'ArrowLeft', 'ArrowUp', 'ArrowUp']);
  assert.deepEqual(d1.cursor, { x: 48 - 2 * BIG_STEP - 1, y: 30 });
  const r1 = confirmCorner(d1, IMG);
  assert.ok('draft' in r1);
  assert.deepEqual(r1.draft.anchor, { x: 27, y: 30 }, 'the first Enter fixes the first corner');
  const d2 = drive(r1.draft, ['Shift+ArrowRight', 'ArrowRight', 'ArrowRight', 'Shift+ArrowDown']);
  assert.deepEqual(draftBox(d2), { x0: 27, y0: 30, x1: 39, y1: 40 }, 'the preview follows the crosshair');
  const r2 = confirmCorner(d2, IMG);
  assert.ok('box' in r2);
  assert.deepEqual(r2.box, { x0: 27, y0: 30, x1: 39, y1: 40 });
});

test('keyboard box: corners in any order, crosshair stops at the border, no empty box', () => {
  let d = startDraft(IMG, { x: 5, y: 60 });
  d = drive(d, ['Shift+ArrowLeft', 'Shift+ArrowDown']);
  assert.deepEqual(d.cursor, { x: 0, y: 64 }, 'clamped to the image edges (pixel edges 0..width)');
  const r1 = confirmCorner(d, IMG);
  assert.ok('draft' in r1);
  // Second corner up and to the right of the first: the box is normalised.
  const up = drive(r1.draft, ['Shift+ArrowUp', 'ArrowRight', 'ArrowRight', 'ArrowRight']);
  const r2 = confirmCorner(up, IMG);
  assert.ok('box' in r2);
  assert.deepEqual(r2.box, { x0: 0, y0: 54, x1: 3, y1: 64 });
  // On the first corner's row: zero height, so Enter keeps drawing instead of storing an empty box.
  const flat = drive(r1.draft, ['ArrowRight']);
  const r3 = confirmCorner(flat, IMG);
  assert.ok('draft' in r3, 'a box of no pixels is not made');
  assert.deepEqual(r3.draft, flat);
  // The start position is clamped too (a cursor left on a larger image).
  assert.deepEqual(startDraft(IMG, { x: 500, y: -3 }).cursor, { x: 96, y: 0 });
});

test('Alt+arrows resize the right and bottom edges, keep one pixel and stay inside', () => {
  const b = { x0: 10, y0: 10, x1: 20, y1: 30 };
  assert.deepEqual(resizeEdge(b, 'ArrowRight', false, IMG), { x0: 10, y0: 10, x1: 21, y1: 30 });
  assert.deepEqual(resizeEdge(b, 'ArrowUp', true, IMG), { x0: 10, y0: 10, x1: 20, y1: 20 });
  assert.deepEqual(resizeEdge(b, 'ArrowDown', true, IMG), { x0: 10, y0: 10, x1: 20, y1: 40 });
  let narrow = b;
  for (let i = 0; i < 5; i++) narrow = resizeEdge(narrow, 'ArrowLeft', true, IMG);
  assert.deepEqual(narrow, { x0: 10, y0: 10, x1: 11, y1: 30 }, 'never narrower than one pixel');
  let wide = b;
  for (let i = 0; i < 20; i++) wide = resizeEdge(wide, 'ArrowRight', true, IMG);
  assert.equal(wide.x1, IMG.width, 'never past the border');
  assert.deepEqual(resizeEdge(b, 'Enter', false, IMG), b);
  const a = annotateKeyAction({ key: 'ArrowDown', altKey: true, shiftKey: true }, { ...CTX, selected: true });
  assert.deepEqual(a, { type: 'resize', key: 'ArrowDown', shift: true });
  assert.equal(
    annotateKeyAction({ key: 'ArrowDown', altKey: true }, CTX),
    null,
    'nothing selected: not claimed',
  );
});

test('Tab cycles through the boxes, both ways, wrapping', () => {
  const refs = ['a', 'b', 'c'];
  assert.equal(cycleRef(refs, null, 1), 'a');
  assert.equal(cycleRef(refs, null, -1), 'c');
  assert.equal(cycleRef(refs, 'a', 1), 'b');
  assert.equal(cycleRef(refs, 'c', 1), 'a');
  assert.equal(cycleRef(refs, 'a', -1), 'c');
  assert.equal(cycleRef(refs, 'gone', 1), 'a', 'a deleted selection starts over');
  assert.equal(cycleRef([], 'a', 1), null);
  assert.deepEqual(annotateKeyAction({ key: 'Tab', shiftKey: true }, CTX), { type: 'cycle', direction: -1 });
});

test('the key map follows the state: drawing claims arrows and Enter, digits choose the next class', () => {
  const drawing = { ...CTX, drawingBox: true };
  assert.deepEqual(annotateKeyAction({ key: 'n' }, CTX), { type: 'newBox' });
  assert.deepEqual(annotateKeyAction({ key: 'N' }, CTX), { type: 'newBox' });
  assert.equal(annotateKeyAction({ key: 'ArrowLeft' }, CTX), null, 'idle: arrows change image');
  assert.deepEqual(annotateKeyAction({ key: 'ArrowLeft' }, drawing), {
    type: 'cursor',
    key: 'ArrowLeft',
    shift: false,
  });
  // Drawing wins over a selection: the arrows move the crosshair, not the box.
  assert.equal(annotateKeyAction({ key: 'ArrowLeft' }, { ...drawing, selected: true })?.type, 'cursor');
  assert.equal(annotateKeyAction({ key: 'ArrowLeft', altKey: true }, { ...drawing, selected: true }), null);
  assert.deepEqual(annotateKeyAction({ key: 'Enter' }, drawing), { type: 'corner' });
  assert.equal(annotateKeyAction({ key: 'Enter' }, CTX), null);
  assert.deepEqual(annotateKeyAction({ key: 'Escape' }, drawing), { type: 'cancel' });
  assert.deepEqual(
    annotateKeyAction({ key: '2' }, CTX),
    { type: 'class', index: 1 },
    'no selection: next box',
  );
  assert.deepEqual(annotateKeyAction({ key: '2' }, drawing), { type: 'class', index: 1 });
  assert.equal(annotateKeyAction({ key: 'Delete' }, CTX), null, 'nothing to delete');
  assert.equal(
    annotateKeyAction({ key: '?', shiftKey: true }, { ...CTX, selected: true }),
    null,
    '? is the help',
  );
});

test('every annotation help row is a key the map has, in the state the row names', () => {
  for (const row of ANNOTATE_KEYMAP) {
    const a: AnnotateAction | null = annotateKeyAction(row.example, { ...CTX, ...row.when });
    assert.equal(a?.type, row.does, `"${row.keys}: ${row.what}"`);
  }
  // And every action the map can produce is in the help.
  const types = new Set(ANNOTATE_KEYMAP.map((r) => r.does));
  for (const t of [
    'newBox',
    'cursor',
    'corner',
    'cancel',
    'delete',
    'class',
    'difficult',
    'brush',
    'nudge',
    'resize',
    'cycle',
    'undo',
    'tool',
  ])
    assert.ok(types.has(t as AnnotateAction['type']), `${t} is listed`);
});

test('the ? overlay lists every screen, and the view rows are the view map', () => {
  assert.deepEqual(
    KEYMAPS.map((s) => s.title),
    ['Everywhere', 'Image view', 'Image view: annotation mode', 'Review (rating)'],
  );
  for (const s of KEYMAPS) assert.ok(s.rows.length > 0, `${s.title} has keys`);
  const annotate = KEYMAPS[2].rows.map((r) => r[0]);
  for (const row of ANNOTATE_KEYMAP) assert.ok(annotate.includes(row.keys), `${row.keys} shown`);
  // Each single-key row of the view's help is bound to an action, and the bound keys are all in the help.
  for (const [label] of SHORTCUTS) {
    if (label.length === 1) assert.notEqual(keyAction({ key: label }), null, `${label} is bound`);
  }
  for (const k of ['ArrowLeft', 'ArrowRight', 'o', '[', ']', 'b', 'c', 'f', 'a']) {
    assert.notEqual(keyAction({ key: k }), null, `${k} is bound`);
  }
  assert.equal(keyAction({ key: 'a' }), 'annotate');
  assert.equal(keyAction({ key: 'x' }), null);
});

test('? toggles the help outside fields; Esc closes it only when open', () => {
  assert.equal(helpKey({ key: '?' }, false, false), 'toggle');
  assert.equal(helpKey({ key: '?' }, true, false), 'toggle');
  assert.equal(helpKey({ key: '?' }, false, true), null, 'typing ? in a field');
  assert.equal(helpKey({ key: 'Escape' }, true, false), 'close');
  assert.equal(helpKey({ key: 'Escape' }, false, false), null, 'Esc keeps its meaning when the help is shut');
  assert.equal(helpKey({ key: '?', ctrlKey: true }, false, false), null);
});
