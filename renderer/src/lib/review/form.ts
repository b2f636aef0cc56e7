/**
 * The rating form's keyboard model, kept out of the component so it can be tested in Node. A rater works through
 * a queue of explanations without the mouse: focus sits on one criterion at a time, a digit 1–5 scores it and
 * moves on, Enter saves and opens the next explanation. Keys typed in the comment box belong to the comment;
 * Escape hands the keyboard back to the criteria.
 */
import { stepBrush } from '../annotate/raster.js';

export const CRITERIA = ['correctness', 'completeness', 'compactness'] as const;
export type Criterion = (typeof CRITERIA)[number];
export type Score = 1 | 2 | 3 | 4 | 5 | null;
/** A criterion's index, or the comment box. */
export type Focus = 0 | 1 | 2 | 'comment';
export type PaintTool = 'brush' | 'eraser';

export interface FormState {
  values: [Score, Score, Score];
  focus: Focus;
  comment: string;
  wrongFlag: boolean;
  tool: PaintTool;
  /** Brush radius in image pixels. */
  brush: number;
  /** Why the last Enter did not save (shown next to the form), or null. */
  hint: string | null;
}

export interface FormKey {
  key: string;
  shiftKey?: boolean;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
}

/**
 * What the component does besides showing the new state: save the rating, or move the DOM focus into or out of
 * the comment box.
 */
export type FormEffect = 'save' | 'focus-comment' | 'leave-comment' | null;

export interface FormResult {
  state: FormState;
  effect: FormEffect;
  /** False: the key is not the form's (the browser or the comment box keeps it; no preventDefault). */
  handled: boolean;
}

export function emptyForm(brush = 6): FormState {
  return {
    values: [null, null, null],
    focus: 0,
    comment: '',
    wrongFlag: false,
    tool: 'brush',
    brush,
    hint: null,
  };
}

/** The form as the rater left an item, so coming back to it shows (and keeps) what they gave. */
export function formFrom(
  saved: {
    correctness: Score;
    completeness: Score;
    compactness: Score;
    comment: string | null;
    wrongFlag: boolean;
  } | null,
  brush = 6,
): FormState {
  const f = emptyForm(brush);
  if (!saved) return f;
  f.values = [saved.correctness, saved.completeness, saved.compactness];
  f.comment = saved.comment ?? '';
  f.wrongFlag = saved.wrongFlag;
  f.focus = firstMissing(f.values) ?? 0;
  return f;
}

export function firstMissing(values: readonly Score[]): 0 | 1 | 2 | null {
  const i = values.indexOf(null);
  return i < 0 ? null : (i as 0 | 1 | 2);
}

export function isComplete(s: FormState): boolean {
  return firstMissing(s.values) === null;
}

const unchanged = (state: FormState): FormResult => ({ state, effect: null, handled: false });
const done = (state: FormState, effect: FormEffect = null): FormResult => ({ state, effect, handled: true });

/** The next criterion to score after `i`: the next unscored one, else the following one, else the last. */
function advance(values: readonly Score[], i: 0 | 1 | 2): 0 | 1 | 2 {
  for (let k = i + 1; k < 3; k++) if (values[k] === null) return k as 0 | 1 | 2;
  return Math.min(2, i + 1) as 0 | 1 | 2;
}

/** Applies one key press to the form. Pure: returns a new state. */
export function formKey(s: FormState, e: FormKey): FormResult {
  const inComment = s.focus === 'comment';
  if (inComment) {
    if (e.key === 'Escape') return done({ ...s, focus: firstMissing(s.values) ?? 0 }, 'leave-comment');
    // Enter types a new line in the comment; Ctrl/Cmd+Enter saves from there.
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) return save(s);
    if (e.key === 'Tab') {
      return done({ ...s, focus: e.shiftKey ? 2 : 0 }, 'leave-comment');
    }
    return unchanged(s);
  }
  // Chords belong to the browser (Ctrl+R must still reload).
  if (e.ctrlKey || e.metaKey || e.altKey) return unchanged(s);
  const focus = s.focus as 0 | 1 | 2;
  switch (e.key) {
    case '1':
    case '2':
    case '3':
    case '4':
    case '5': {
      const values = [...s.values] as FormState['values'];
      values[focus] = Number(e.key) as Score;
      return done({ ...s, values, focus: advance(values, focus), hint: null });
    }
    case '0':
    case 'Backspace':
    case 'Delete': {
      const values = [...s.values] as FormState['values'];
      values[focus] = null;
      return done({ ...s, values });
    }
    case 'Tab':
      if (e.shiftKey)
        return done(
          { ...s, focus: focus === 0 ? 'comment' : ((focus - 1) as 0 | 1) },
          focus === 0 ? 'focus-comment' : null,
        );
      return focus === 2
        ? done({ ...s, focus: 'comment' }, 'focus-comment')
        : done({ ...s, focus: (focus + 1) as 1 | 2 });
    case 'ArrowDown':
    case 'ArrowRight':
      return done({ ...s, focus: Math.min(2, focus + 1) as 0 | 1 | 2 });
    case 'ArrowUp':
    case 'ArrowLeft':
      return done({ ...s, focus: Math.max(0, focus - 1) as 0 | 1 | 2 });
    case 'c':
      return done({ ...s, focus: 'comment' }, 'focus-comment');
    case 'x':
      return done({ ...s, wrongFlag: !s.wrongFlag });
    case 'e':
      return done({ ...s, tool: s.tool === 'eraser' ? 'brush' : 'eraser' });
    case 'b':
      return done({ ...s, tool: 'brush' });
    case '[':
      return done({ ...s, brush: stepBrush(s.brush, -1) });
    case ']':
      return done({ ...s, brush: stepBrush(s.brush, 1) });
    case 'Enter':
      return save(s);
    default:
      return unchanged(s);
  }
}

function save(s: FormState): FormResult {
  const missing = firstMissing(s.values);
  if (missing !== null) {
    return done(
      { ...s, focus: missing, hint: `Score ${CRITERIA[missing]} first (keys 1–5), then press Enter.` },
      s.focus === 'comment' ? 'leave-comment' : null,
    );
  }
  return done({ ...s, hint: null }, 'save');
}

/** The keys, as the form shows them. */
export const REVIEW_SHORTCUTS: readonly [string, string][] = [
  ['1–5', 'score the current criterion and move on'],
  ['Tab / ↑ ↓', 'move between criteria (Tab goes on to the comment)'],
  ['0 / ⌫', 'clear the current score'],
  ['c', 'write a comment (Esc leaves it)'],
  ['x', 'flag: points at the wrong thing'],
  ['drag', 'paint where it should have looked'],
  ['e / b', 'eraser / brush'],
  ['[ / ]', 'smaller / larger brush'],
  ['o', 'explanation overlay on/off'],
  ['Enter', 'save and go to the next'],
];
