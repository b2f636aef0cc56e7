/**
 * The annotation mode's keyboard map. The mode decides what a key means: `[`/`]` size the brush here and set the
 * overlay's opacity in view mode; arrows nudge the selected box here and change image when nothing is selected.
 * Keys this map does not claim (o, b, f, c, …) keep their view-mode meaning.
 */
export type Tool = 'select' | 'box' | 'brush' | 'eraser' | 'polygon';

export type AnnotateAction =
  | { type: 'tool'; tool: Tool }
  | { type: 'cancel' }
  | { type: 'closePolygon' }
  | { type: 'delete' }
  | { type: 'class'; index: number }
  | { type: 'difficult' }
  | { type: 'brush'; direction: 1 | -1 }
  | { type: 'nudge'; key: string; shift: boolean }
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
  /** A box is selected (arrows nudge it, Del deletes it, digits and d change it). */
  selected: boolean;
  /** A polygon is being drawn (Enter closes it). */
  drawingPolygon: boolean;
}

const TOOLS: Record<string, Tool> = { w: 'box', m: 'brush', e: 'eraser', p: 'polygon' };

export function annotateKeyAction(e: AnnotateKey, ctx: KeyContext): AnnotateAction | null {
  const mod = e.ctrlKey || e.metaKey;
  const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (mod && !e.altKey) {
    if (k === 'z') return e.shiftKey ? { type: 'redo' } : { type: 'undo' };
    if (k === 'y') return { type: 'redo' };
    return null;
  }
  if (e.altKey || mod) return null;
  if (TOOLS[k]) return { type: 'tool', tool: TOOLS[k] };
  if (k === 'Escape') return { type: 'cancel' };
  if (k === 'Enter' && ctx.drawingPolygon) return { type: 'closePolygon' };
  if (k === '[') return { type: 'brush', direction: -1 };
  if (k === ']') return { type: 'brush', direction: 1 };
  if (!ctx.selected) return null;
  if (k === 'Delete' || k === 'Backspace') return { type: 'delete' };
  if (k === 'd') return { type: 'difficult' };
  if (/^[1-9]$/.test(k)) return { type: 'class', index: Number(k) - 1 };
  if (k.startsWith('Arrow')) return { type: 'nudge', key: k, shift: e.shiftKey === true };
  return null;
}

export const ANNOTATE_SHORTCUTS: readonly [string, string][] = [
  ['w', 'draw a box (drag)'],
  ['click / drag', 'select / move; handles resize'],
  ['← ↑ → ↓', 'nudge 1 px (Shift: 10 px)'],
  ['Del', 'delete the box'],
  ['1–9', 'set its class'],
  ['d', 'difficult on/off'],
  ['m / e', 'mask brush / eraser'],
  ['[ / ]', 'brush size −/+'],
  ['p', 'polygon: click points, Enter fills'],
  ['Ctrl+Z / Ctrl+Y', 'undo / redo'],
  ['Esc', 'cancel, back to select'],
];
