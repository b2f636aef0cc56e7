/**
 * The annotation editor's data: box states, the changes sent to the core (ops), undoable commands and the view
 * the person sees. What is shown is always "what the core acknowledged, with the pending changes applied on top",
 * so an unsaved change is visible (and marked) until the core has it, and a reload shows the same thing.
 *
 * Boxes are keyed by a `ref`: `s<id>` for a box the core has stored, `l<random>` for one drawn here whose add is
 * not acknowledged yet. Once acknowledged, a local ref resolves to its stored id (SaveQueue.canonical).
 */
import type { Box } from './geometry.js';

export interface BoxState {
  box: Box;
  className: string;
  difficult: boolean;
}

export type MaskKind = 'region' | 'should-highlight';

export type Op =
  | { kind: 'add'; ref: string; imageId: number; annotator: number; state: BoxState }
  /**
   * `version` (edits): the box's stored version the person saw when making the change; absent when an earlier
   * change to the same box is still waiting (its answer's version is used) or the box is not stored yet.
   */
  | { kind: 'update'; ref: string; imageId: number; state: BoxState; version?: number }
  | { kind: 'delete'; ref: string; imageId: number; version?: number }
  /** Carries annotator and state so a pending restore can be shown even after a reload. */
  | { kind: 'restore'; ref: string; imageId: number; annotator: number; state: BoxState; version?: number }
  | {
      kind: 'mask';
      imageId: number;
      annotator: number;
      maskKind: MaskKind;
      /** base64 PNG. */
      png: string;
      width: number;
      height: number;
    };

export function storedRef(id: number): string {
  return `s${id}`;
}

export function maskKey(imageId: number, annotator: number, kind: MaskKind): string {
  return `${imageId}:${annotator}:${kind}`;
}

/** Undoable edits. A mask edit keeps the bitmap before and after, so undo is "put the old mask back". */
export type Command =
  | { type: 'add'; ref: string; state: BoxState }
  | { type: 'update'; ref: string; before: BoxState; after: BoxState }
  | { type: 'delete'; ref: string; state: BoxState }
  | { type: 'mask'; maskKind: MaskKind; before: Uint8Array; after: Uint8Array };

/** What undoing or redoing a command does. */
export type Effect =
  | { kind: 'delete'; ref: string }
  | { kind: 'restore'; ref: string; state: BoxState }
  | { kind: 'update'; ref: string; state: BoxState }
  | { kind: 'mask'; maskKind: MaskKind; data: Uint8Array };

/**
 * Undo of an add deletes the box (soft), of a delete restores it, of an update puts the old state back. Redo of an
 * add is a restore, so the box keeps the id it was first stored under.
 */
export function undoEffect(c: Command): Effect {
  switch (c.type) {
    case 'add':
      return { kind: 'delete', ref: c.ref };
    case 'delete':
      return { kind: 'restore', ref: c.ref, state: c.state };
    case 'update':
      return { kind: 'update', ref: c.ref, state: c.before };
    case 'mask':
      return { kind: 'mask', maskKind: c.maskKind, data: c.before };
  }
}

export function redoEffect(c: Command): Effect {
  switch (c.type) {
    case 'add':
      return { kind: 'restore', ref: c.ref, state: c.state };
    case 'delete':
      return { kind: 'delete', ref: c.ref };
    case 'update':
      return { kind: 'update', ref: c.ref, state: c.after };
    case 'mask':
      return { kind: 'mask', maskKind: c.maskKind, data: c.after };
  }
}

/** A box as the core last acknowledged it. */
export interface KnownBox {
  annotator: number | null;
  state: BoxState;
  deleted: boolean;
  /** The stored version (raised by every change): what an edit of it is based on. */
  version?: number;
}

export interface ShownBox {
  ref: string;
  annotator: number | null;
  state: BoxState;
  /** A change to it is not acknowledged yet. */
  unsaved: boolean;
}

/**
 * The boxes to draw: acknowledged ones with the pending ops applied in order. `canonical` maps a ref to the key
 * `known` uses (a local ref whose add is acknowledged becomes `s<id>`). Ground truth comes first, then the
 * annotators' boxes in the order they were first seen.
 */
export function shownBoxes(
  known: ReadonlyMap<string, KnownBox>,
  pending: readonly Op[],
  imageId: number,
  canonical: (ref: string) => string = (r) => r,
): ShownBox[] {
  const state = new Map<
    string,
    { annotator: number | null; state: BoxState; deleted: boolean; unsaved: boolean }
  >();
  for (const [ref, k] of known) state.set(ref, { ...k, unsaved: false });
  for (const op of pending) {
    // The queue holds every image's changes; only this image's apply here.
    if (op.kind === 'mask' || op.imageId !== imageId) continue;
    const ref = canonical(op.ref);
    const cur = state.get(ref);
    if (op.kind === 'add') {
      state.set(ref, { annotator: op.annotator, state: op.state, deleted: false, unsaved: true });
    } else if (cur) {
      if (op.kind === 'update') state.set(ref, { ...cur, state: op.state, unsaved: true });
      else if (op.kind === 'delete') state.set(ref, { ...cur, deleted: true, unsaved: true });
      else state.set(ref, { ...cur, state: op.state, deleted: false, unsaved: true });
    } else if (op.kind === 'restore') {
      // Restoring a box this session never saw live (e.g. after a reload): its state travels with the op.
      state.set(ref, { annotator: op.annotator, state: op.state, deleted: false, unsaved: true });
    }
  }
  const out: ShownBox[] = [];
  for (const [ref, s] of state) {
    if (!s.deleted) out.push({ ref, annotator: s.annotator, state: s.state, unsaved: s.unsaved });
  }
  return [...out.filter((b) => b.annotator === null), ...out.filter((b) => b.annotator !== null)];
}
