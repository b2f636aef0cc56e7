/**
 * The annotation mode's keyboard map. The mode decides what a key means: `[`/`]` size the brush here and set the
 * overlay's opacity in view mode; arrows nudge the selected box (or move the drawing crosshair) here and change
 * image when nothing is selected. Keys this map does not claim (o, b, f, c, ?, …) keep their view-mode meaning.
 *
 * Everything works without a mouse, after LabelImg (W box, Del delete, arrows move) and CVAT (N new shape, 1–9
 * label, Tab through objects): n starts a box at a crosshair, Enter fixes each corner, Alt+arrows resize.
 */
export type Tool = 'select' | 'box' | 'brush' | 'eraser' | 'polygon';

export type AnnotateAction =
  | { type: 'tool'; tool: Tool }
  | { type: 'newBox' }
  | { type: 'cursor'; key: string; shift: boolean }
  | { type: 'corner' }
  | { type: 'cancel' }
  | { type: 'closePolygon' }
  | { type: 'delete' }
  | { type: 'class'; index: number }
  | { type: 'difficult' }
  | { type: 'brush'; direction: 1 | -1 }
  | { type: 'nudge'; key: string; shift: boolean }
  | { type: 'resize'; key: string; shift: boolean }
  | { type: 'cycle'; direction: 1 | -1 }
  | { type: 'undo' }
  | { type: 'redo' };

export interface AnnotateKey {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  shiftKey?: boolean;
}

export interface KeyContext {
  /** An editable box is selected (arrows nudge it, Alt+arrows resize it, Del deletes it, d marks it). */
  selected: boolean;
  /** A polygon is being drawn (Enter closes it). */
  drawingPolygon: boolean;
  /** A box is being drawn from the keyboard (arrows move the crosshair, Enter fixes a corner). */
  drawingBox: boolean;
}

const TOOLS: Record<string, Tool> = { w: 'box', m: 'brush', e: 'eraser', p: 'polygon' };

const isArrow = (k: string) =>
  k === 'ArrowLeft' || k === 'ArrowRight' || k === 'ArrowUp' || k === 'ArrowDown';

export function annotateKeyAction(e: AnnotateKey, ctx: KeyContext): AnnotateAction | null {
  const mod = e.ctrlKey || e.metaKey;
  const shift = e.shiftKey === true;
  const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (mod && !e.altKey) {
    if (k === 'z') return shift ? { type: 'redo' } : { type: 'undo' };
    if (k === 'y') return { type: 'redo' };
    return null;
  }
  if (e.altKey && !mod && ctx.selected && !ctx.drawingBox && isArrow(k))
    return { type: 'resize', key: k, shift };
  if (e.altKey || mod) return null;
  if (ctx.drawingBox) {
    if (isArrow(k)) return { type: 'cursor', key: k, shift };
    if (k === 'Enter') return { type: 'corner' };
  }
  if (TOOLS[k]) return { type: 'tool', tool: TOOLS[k] };
  if (k === 'n') return { type: 'newBox' };
  if (k === 'Escape') return { type: 'cancel' };
  if (k === 'Enter' && ctx.drawingPolygon) return { type: 'closePolygon' };
  if (k === '[') return { type: 'brush', direction: -1 };
  if (k === ']') return { type: 'brush', direction: 1 };
  if (k === 'Tab') return { type: 'cycle', direction: shift ? -1 : 1 };
  // With no box selected a digit chooses the class of the next box; with one, it changes that box too.
  if (/^[1-9]$/.test(k)) return { type: 'class', index: Number(k) - 1 };
  if (!ctx.selected) return null;
  if (k === 'Delete' || k === 'Backspace') return { type: 'delete' };
  if (k === 'd') return { type: 'difficult' };
  if (isArrow(k)) return { type: 'nudge', key: k, shift };
  return null;
}

/**
 * One line of the key help, with a key press and the state it applies in that must produce `does`: the unit
 * tests run every example through annotateKeyAction, so the help cannot describe a key the map does not have.
 */
export interface AnnotateShortcut {
  keys: string;
  what: string;
  example: AnnotateKey;
  when: Partial<KeyContext>;
  does: AnnotateAction['type'];
}

export const ANNOTATE_KEYMAP: readonly AnnotateShortcut[] = [
  {
    keys: 'n',
    what: 'new box at a crosshair (no mouse needed)',
    example: { key: 'n' },
    when: {},
    does: 'newBox',
  },
  {
    keys: '← ↑ → ↓',
    what: 'while drawing: move the crosshair 1 px (Shift: 10 px)',
    example: { key: 'ArrowUp', shiftKey: true },
    when: { drawingBox: true },
    does: 'cursor',
  },
  {
    keys: 'Enter',
    what: 'while drawing: fix the first corner, then the second (saves the box)',
    example: { key: 'Enter' },
    when: { drawingBox: true },
    does: 'corner',
  },
  { keys: 'w', what: 'draw a box with the mouse (drag)', example: { key: 'w' }, when: {}, does: 'tool' },
  {
    keys: 'Tab / Shift+Tab',
    what: 'select the next / previous of your boxes',
    example: { key: 'Tab', shiftKey: true },
    when: {},
    does: 'cycle',
  },
  {
    keys: '← ↑ → ↓',
    what: 'move the selected box 1 px (Shift: 10 px)',
    example: { key: 'ArrowLeft' },
    when: { selected: true },
    does: 'nudge',
  },
  {
    keys: 'Alt + ← → / ↑ ↓',
    what: 'resize it: right / bottom edge 1 px (Shift: 10 px)',
    example: { key: 'ArrowRight', altKey: true },
    when: { selected: true },
    does: 'resize',
  },
  {
    keys: '1–9',
    what: 'class of the next box; also of the selected one',
    example: { key: '4' },
    when: {},
    does: 'class',
  },
  {
    keys: 'Del / ⌫',
    what: 'delete the selected box',
    example: { key: 'Delete' },
    when: { selected: true },
    does: 'delete',
  },
  { keys: 'd', what: 'difficult on/off', example: { key: 'd' }, when: { selected: true }, does: 'difficult' },
  { keys: 'm / e', what: 'mask brush / eraser', example: { key: 'e' }, when: {}, does: 'tool' },
  { keys: '[ / ]', what: 'brush size −/+', example: { key: ']' }, when: {}, does: 'brush' },
  {
    keys: 'p',
    what: 'polygon: click points, Enter fills',
    example: { key: 'p' },
    when: {},
    does: 'tool',
  },
  {
    keys: 'Ctrl+Z / Ctrl+Y',
    what: 'undo / redo (also Ctrl+Shift+Z)',
    example: { key: 'z', ctrlKey: true },
    when: {},
    does: 'undo',
  },
  {
    keys: 'Esc',
    what: 'cancel the box being drawn, else the tool and the selection',
    example: { key: 'Escape' },
    when: { drawingBox: true },
    does: 'cancel',
  },
];

/** What the pointer does, listed with the keys (no key to check, so kept apart from the map above). */
export const ANNOTATE_POINTER: readonly [string, string][] = [
  ['click / drag', 'select / move a box; its handles resize it'],
  ['drag (w)', 'draw a box'],
  ['drag (m / e)', 'paint / erase the mask'],
];

export const ANNOTATE_SHORTCUTS: readonly [string, string][] = [
  ...ANNOTATE_KEYMAP.map((s): [string, string] => [s.keys, s.what]),
  ...ANNOTATE_POINTER,
];
