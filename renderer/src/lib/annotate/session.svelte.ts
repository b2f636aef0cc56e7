/**
 * The annotation editor's state for the open image: who is annotating, what the core has acknowledged, the save
 * queue, the tool, the selection, the region mask and the undo history. The side panel and the layer over the
 * viewer both read this one object. The maths lives in the pure modules next to it; this file is the edge that
 * talks to the core and to localStorage.
 */
import type { AnnotationView } from '../../../../src/api/contract';
import { api, CallError } from '../api';
import { type Box, moveBox, nudgeBox, type Size } from './geometry.js';
import {
  type Cursor,
  confirmCorner,
  cycleRef,
  type KeyboardDraft,
  moveCursor,
  resizeEdge,
  startDraft,
} from './keyboard.js';
import { type AnnotateAction, type AnnotateKey, annotateKeyAction, type Tool } from './keys.js';
import {
  type BoxState,
  type Command,
  type Effect,
  type KnownBox,
  type MaskKind,
  type Op,
  redoEffect,
  type ShownBox,
  shownBoxes,
  storedRef,
  undoEffect,
} from './model.js';
import { type Conflict, SaveQueue, type WireOp } from './queue.js';
import { type Bitmap, emptyBitmap, fillPolygon, stepBrush } from './raster.js';
import { UndoStack } from './undo.js';

const NAME_KEY = 'xwb.annotator.name';

function stateOf(v: AnnotationView): BoxState {
  return { box: { x0: v.x0, y0: v.y0, x1: v.x1, y1: v.y1 }, className: v.className, difficult: v.difficult };
}

function localRef(): string {
  return `l${crypto.randomUUID()}`;
}

async function send(op: WireOp): Promise<{ id?: number; version?: number }> {
  switch (op.kind) {
    case 'add':
      return api.call('annotations.add', {
        imageId: op.imageId,
        annotator: op.annotator,
        box: op.state.box,
        className: op.state.className,
        difficult: op.state.difficult,
        // The local ref (a UUID) makes the add idempotent: resent after a lost answer, it is stored once.
        clientKey: op.ref,
      });
    case 'update':
      return api.call('annotations.update', {
        id: op.id,
        box: op.op.state.box,
        className: op.op.state.className,
        difficult: op.op.state.difficult,
        // The version the edit was made on: if someone else changed the box since, the core refuses it (409).
        version: op.version,
      });
    case 'delete':
      return api.call('annotations.delete', { id: op.id, version: op.version });
    case 'restore':
      return api.call('annotations.restore', { id: op.id, version: op.version });
    case 'mask':
      return api.call('masks.put', {
        imageId: op.imageId,
        annotator: op.annotator,
        kind: op.maskKind,
        png: op.png,
        width: op.width,
        height: op.height,
      });
  }
}

/** PNG (base64) of a binary mask through a canvas: white and opaque where on, transparent where off. */
export async function encodeMaskPng(m: Bitmap): Promise<string> {
  const canvas = document.createElement('canvas');
  canvas.width = m.width;
  canvas.height = m.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('cannot encode the mask: this browser gives no 2D canvas');
  const rgba = new Uint8ClampedArray(m.width * m.height * 4);
  for (let i = 0; i < m.data.length; i++) if (m.data[i]) rgba.fill(255, i * 4, i * 4 + 4);
  ctx.putImageData(new ImageData(rgba, m.width, m.height), 0, 0);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('cannot encode the mask as PNG');
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** A base64 PNG back to a binary mask (on where alpha > 0 and any colour channel > 0). */
async function decodeMaskPng(png: string, width: number, height: number): Promise<Bitmap> {
  const img = new Image();
  img.src = `data:image/png;base64,${png}`;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('cannot read the mask: this browser gives no 2D canvas');
  ctx.drawImage(img, 0, 0);
  const px = ctx.getImageData(0, 0, width, height).data;
  const m = emptyBitmap(width, height);
  for (let i = 0; i < m.data.length; i++) {
    m.data[i] = px[i * 4 + 3] > 0 && (px[i * 4] > 0 || px[i * 4 + 1] > 0 || px[i * 4 + 2] > 0) ? 1 : 0;
  }
  return m;
}

/** Tab cycles boxes only when no control has the focus (else it must keep moving the focus, for accessibility). */
function focusIsFree(): boolean {
  const a = document.activeElement;
  return a === null || a === document.body || a.closest('.annotate-layer, .viewer') !== null;
}

export class AnnotationSession {
  on = $state(false);
  annotator: { id: number; name: string } | null = $state(null);
  nameError = $state('');
  imageId: number | null = $state(null);
  size: Size = $state({ width: 0, height: 0 });
  classes: string[] = $state([]);
  annotators: { id: number; name: string }[] = $state([]);
  loadError = $state('');
  tool: Tool = $state('select');
  selected: string | null = $state(null);
  brushRadius = $state(6);
  maskKind: MaskKind = $state('region');
  /** Bumped whenever the mask's pixels change (the bitmap itself is mutated in place). */
  maskVersion = $state(0);
  mask: Bitmap | null = $state.raw(null);
  polygon: { x: number; y: number }[] = $state([]);
  showGroundTruth = $state(true);
  hidden: Record<number, boolean> = $state({});
  /** The last class chosen, used for the next box. */
  currentClass = $state('');
  /** A box being drawn from the keyboard (n), or null. */
  draft: KeyboardDraft | null = $state(null);
  /** Where the last keyboard box ended on this image: the next one starts there. */
  private lastCursor: Cursor | null = null;
  /** Classes typed in this session: kept when the next image's list (which only knows stored ones) arrives. */
  private typedClasses: string[] = [];
  pending: Op[] = $state.raw([]);
  status = $state({
    pending: 0,
    failing: false,
    lastError: null as string | null,
    lastStatus: null as number | null,
  });
  storageError: string | null = $state(null);
  /** Changes refused because someone else changed the box first: shown until reloaded or dismissed. */
  conflicts: Conflict[] = $state.raw([]);
  everSaved = $state(false);
  /** Masks being encoded: already changes the person made, so the label must not say "saved" yet. */
  encoding = $state(0);
  private known = $state.raw(new Map<string, KnownBox>());
  private queue: SaveQueue | null = null;
  private readonly history = new UndoStack<Command>();
  private loadSeq = 0;

  readonly shown: ShownBox[] = $derived(
    this.imageId === null
      ? []
      : shownBoxes(this.known, this.pending, this.imageId, this.queue?.canonical ?? ((r: string) => r)),
  );

  readonly visible: ShownBox[] = $derived(
    this.shown.filter((b) => (b.annotator === null ? this.showGroundTruth : !this.hidden[b.annotator])),
  );

  readonly saveLabel: 'saved' | 'saving…' | 'unsaved' | '' = $derived(
    this.status.failing
      ? 'unsaved'
      : this.status.pending > 0 || this.encoding > 0
        ? 'saving…'
        : this.everSaved
          ? 'saved'
          : '',
  );

  /** Starts the queue for this store (once): what a previous session left unsaved is retried at once. */
  async init(storePath: string): Promise<void> {
    if (this.queue) return;
    const q = new SaveQueue({ key: `xwb.annotate.queue:${storePath}`, storage: localStorage, send });
    this.queue = q;
    const sync = () => {
      this.pending = q.pending();
      const s = q.status();
      this.status = {
        pending: s.pending,
        failing: s.failing,
        lastError: s.lastError,
        lastStatus: s.lastStatus,
      };
      this.storageError = s.storageError;
    };
    q.onChange(sync);
    q.onAck((op, answer) => this.acknowledged(op, answer));
    q.onConflict((c) => {
      this.conflicts = [...this.conflicts, c];
    });
    sync();
    q.start();
    window.addEventListener('online', () => q.retryNow());
    const name = localStorage.getItem(NAME_KEY);
    if (name) await this.setName(name).catch(() => undefined);
  }

  async setName(name: string): Promise<void> {
    this.nameError = '';
    try {
      this.annotator = await api.call('annotator.set', { name });
      localStorage.setItem(NAME_KEY, this.annotator.name);
    } catch (e) {
      this.nameError = (e as Error).message;
      throw e;
    }
  }

  retryNow(): void {
    this.queue?.retryNow();
  }

  discardHead(): void {
    this.queue?.discardHead();
  }

  /** Loads the image's boxes and the annotator's mask; the undo history belongs to one image. */
  async open(imageId: number): Promise<void> {
    const my = ++this.loadSeq;
    if (this.imageId !== imageId) {
      this.history.clear();
      this.selected = null;
      this.polygon = [];
      this.draft = null;
      this.lastCursor = null;
    }
    this.imageId = imageId;
    this.loadError = '';
    try {
      const list = await api.call('annotations.list', { imageId });
      if (my !== this.loadSeq) return;
      this.size = { width: list.width, height: list.height };
      this.classes = [...list.classes, ...this.typedClasses.filter((c) => !list.classes.includes(c))];
      this.annotators = list.annotators;
      if (!this.currentClass) this.currentClass = list.classes[0] ?? 'object';
      const known = new Map<string, KnownBox>();
      for (const b of list.boxes) {
        known.set(storedRef(b.id), {
          annotator: b.annotator,
          state: stateOf(b),
          deleted: b.deleted,
          version: b.version,
        });
      }
      this.known = known;
      await this.loadMask(my);
    } catch (e) {
      if (my === this.loadSeq) this.loadError = (e as Error).message;
    }
  }

  private async loadMask(my: number): Promise<void> {
    const a = this.annotator;
    const imageId = this.imageId;
    if (!a || imageId === null) return;
    const { width, height } = this.size;
    // A mask still waiting in the queue is newer than the stored one.
    const waiting = [...this.pending]
      .reverse()
      .find(
        (op) =>
          op.kind === 'mask' &&
          op.imageId === imageId &&
          op.annotator === a.id &&
          op.maskKind === this.maskKind,
      );
    let m: Bitmap;
    if (waiting?.kind === 'mask') m = await decodeMaskPng(waiting.png, width, height);
    else {
      try {
        const got = await api.call('masks.get', { imageId, annotator: a.id, kind: this.maskKind });
        m = await decodeMaskPng(got.png, width, height);
      } catch (e) {
        if (!(e instanceof CallError && e.status === 404)) throw e;
        m = emptyBitmap(width, height);
      }
    }
    if (my !== this.loadSeq) return;
    this.mask = m;
    this.maskVersion++;
  }

  async setMaskKind(kind: MaskKind): Promise<void> {
    this.maskKind = kind;
    this.history.clear();
    await this.loadMask(++this.loadSeq).catch((e: Error) => (this.loadError = e.message));
  }

  private acknowledged(op: Op, answer: { id?: number }): void {
    this.everSaved = true;
    if (op.kind === 'mask') return;
    const v = answer as AnnotationView;
    if (v.imageId !== this.imageId) return;
    const known = new Map(this.known);
    known.set(storedRef(v.id), {
      annotator: v.annotator,
      state: stateOf(v),
      deleted: v.deleted,
      version: v.version,
    });
    this.known = known;
    if (this.selected === op.ref) this.selected = storedRef(v.id);
  }

  /**
   * The version an edit of `ref` is based on: the stored one the person sees, when no earlier change to the box is
   * waiting; otherwise undefined, and the queue uses the version the earlier change's answer brings.
   */
  private baseVersion(ref: string): number | undefined {
    const canon = this.queue?.canonical ?? ((r: string) => r);
    const c = canon(ref);
    if (this.pending.some((op) => op.kind !== 'mask' && canon(op.ref) === c)) return undefined;
    return this.known.get(c)?.version;
  }

  /** Reloads the image's boxes after a conflict, so the person sees the other person's version. */
  async reloadAfterConflict(): Promise<void> {
    const imageId = this.imageId;
    if (imageId === null) return;
    await this.open(imageId);
    if (!this.loadError)
      this.conflicts = this.conflicts.filter((c) => c.op.kind === 'mask' || c.op.imageId !== imageId);
  }

  dismissConflict(c: Conflict): void {
    this.conflicts = this.conflicts.filter((x) => x !== c);
  }

  private enqueue(op: Op): void {
    if (!this.queue) throw new Error('the annotation queue is not started');
    this.queue.enqueue(op);
  }

  /** The shown box behind a ref, whatever form (local or stored) the ref is in. */
  box(ref: string | null): ShownBox | undefined {
    if (ref === null) return undefined;
    const c = this.queue?.canonical(ref) ?? ref;
    return this.shown.find((b) => b.ref === c);
  }

  /** Only one's own boxes are editable; ground truth and other people's are shown read-only. */
  editable(b: ShownBox | undefined): b is ShownBox {
    return b !== undefined && b.annotator !== null && b.annotator === this.annotator?.id;
  }

  addBox(box: Box): void {
    const a = this.annotator;
    if (!a || this.imageId === null) return;
    const ref = localRef();
    const state: BoxState = { box, className: this.currentClass || 'object', difficult: false };
    this.enqueue({ kind: 'add', ref, imageId: this.imageId, annotator: a.id, state });
    this.history.push({ type: 'add', ref, state });
    this.selected = ref;
  }

  /** Changes the selected box (move, resize, nudge, class, difficult) as one undoable step. */
  updateSelected(change: (s: BoxState) => BoxState): void {
    const b = this.box(this.selected);
    if (!this.editable(b) || this.imageId === null) return;
    const after = change(b.state);
    if (JSON.stringify(after) === JSON.stringify(b.state)) return;
    this.enqueue({
      kind: 'update',
      ref: b.ref,
      imageId: this.imageId,
      state: after,
      version: this.baseVersion(b.ref),
    });
    this.history.push({ type: 'update', ref: b.ref, before: b.state, after });
  }

  deleteSelected(): void {
    const b = this.box(this.selected);
    if (!this.editable(b) || this.imageId === null) return;
    this.enqueue({ kind: 'delete', ref: b.ref, imageId: this.imageId, version: this.baseVersion(b.ref) });
    this.history.push({ type: 'delete', ref: b.ref, state: b.state });
    this.selected = null;
  }

  /** A finished brush stroke or polygon: one undo step, saved as the whole mask. */
  maskEdited(before: Uint8Array): void {
    const m = this.mask;
    if (!m) return;
    this.history.push({ type: 'mask', maskKind: this.maskKind, before, after: m.data.slice() });
    void this.saveMask();
  }

  private async saveMask(): Promise<void> {
    const m = this.mask;
    const a = this.annotator;
    if (!m || !a || this.imageId === null) return;
    this.encoding++;
    let png: string;
    try {
      png = await encodeMaskPng(m);
    } catch (e) {
      this.loadError = `the mask could not be encoded for saving: ${(e as Error).message}`;
      return;
    } finally {
      this.encoding--;
    }
    this.enqueue({
      kind: 'mask',
      imageId: this.imageId,
      annotator: a.id,
      maskKind: this.maskKind,
      png,
      width: m.width,
      height: m.height,
    });
  }

  private run(e: Effect): void {
    if (this.imageId === null || !this.annotator) return;
    if (e.kind === 'mask') {
      if (!this.mask || e.maskKind !== this.maskKind) return;
      this.mask.data.set(e.data);
      this.maskVersion++;
      void this.saveMask();
    } else if (e.kind === 'delete') {
      this.enqueue({ kind: 'delete', ref: e.ref, imageId: this.imageId, version: this.baseVersion(e.ref) });
      if (this.box(this.selected)?.ref === this.box(e.ref)?.ref) this.selected = null;
    } else if (e.kind === 'restore') {
      this.enqueue({
        kind: 'restore',
        ref: e.ref,
        imageId: this.imageId,
        annotator: this.annotator.id,
        state: e.state,
        version: this.baseVersion(e.ref),
      });
      this.selected = e.ref;
    } else {
      this.enqueue({
        kind: 'update',
        ref: e.ref,
        imageId: this.imageId,
        state: e.state,
        version: this.baseVersion(e.ref),
      });
      this.selected = e.ref;
    }
  }

  undo(): void {
    const c = this.history.undo();
    if (c) this.run(undoEffect(c));
  }

  redo(): void {
    const c = this.history.redo();
    if (c) this.run(redoEffect(c));
  }

  /**
   * A class typed by name becomes the class of the NEXT box; the selected box keeps its class unless the person
   * asks for the change (applyClassToSelected). Returns the name as stored (trimmed), or null when empty.
   */
  addClass(raw: string): string | null {
    const name = raw.trim();
    if (!name) return null;
    if (!this.classes.includes(name)) this.classes = [...this.classes, name];
    if (!this.typedClasses.includes(name)) this.typedClasses.push(name);
    this.currentClass = name;
    return name;
  }

  /** Gives the selected box a class: an explicit request (a class button, a digit, "apply to the selected box"). */
  applyClassToSelected(name: string): void {
    this.updateSelected((s) => ({ ...s, className: name }));
  }

  /** My editable boxes in the order they are shown (Tab's order). */
  private myRefs(): string[] {
    return this.shown.filter((b) => this.editable(b)).map((b) => b.ref);
  }

  /**
   * Handles a key in annotation mode; false leaves it to the image view (navigation, overlay, fit) or, for Tab
   * with the focus on a control, to the browser's focus order.
   */
  handleKey(e: AnnotateKey): boolean {
    if (!this.annotator) return false;
    const a = annotateKeyAction(e, {
      selected: this.editable(this.box(this.selected)),
      drawingPolygon: this.polygon.length > 0,
      drawingBox: this.draft !== null,
    });
    if (!a) return false;
    if (a.type === 'cycle' && !focusIsFree()) return false;
    this.act(a);
    return true;
  }

  private act(a: AnnotateAction): void {
    const img = this.size;
    switch (a.type) {
      case 'tool':
        this.tool = a.tool;
        this.polygon = [];
        this.draft = null;
        break;
      case 'newBox':
        if (img.width < 1 || img.height < 1) return;
        this.tool = 'select';
        this.polygon = [];
        this.selected = null;
        this.draft = startDraft(img, this.lastCursor);
        break;
      case 'cursor':
        if (this.draft) this.draft = moveCursor(this.draft, a.key, a.shift, img);
        break;
      case 'corner': {
        if (!this.draft) return;
        const r = confirmCorner(this.draft, img);
        if ('box' in r) {
          this.lastCursor = this.draft.cursor;
          this.draft = null;
          this.addBox(r.box);
        } else this.draft = r.draft;
        break;
      }
      case 'cancel':
        // Esc undoes one level at a time: the box being drawn first, then the tool and the selection.
        if (this.draft) {
          this.draft = null;
          break;
        }
        this.tool = 'select';
        this.polygon = [];
        this.selected = null;
        break;
      case 'resize':
        this.updateSelected((s) => ({ ...s, box: resizeEdge(s.box, a.key, a.shift, img) }));
        break;
      case 'cycle':
        this.selected = cycleRef(this.myRefs(), this.box(this.selected)?.ref ?? null, a.direction);
        break;
      case 'closePolygon':
        this.closePolygon();
        break;
      case 'delete':
        this.deleteSelected();
        break;
      case 'class': {
        const name = this.classes[a.index];
        if (name === undefined) return;
        this.currentClass = name;
        this.applyClassToSelected(name);
        break;
      }
      case 'difficult':
        this.updateSelected((s) => ({ ...s, difficult: !s.difficult }));
        break;
      case 'brush':
        this.brushRadius = stepBrush(this.brushRadius, a.direction);
        break;
      case 'nudge':
        this.updateSelected((s) => ({ ...s, box: nudgeBox(s.box, a.key, a.shift, img) ?? s.box }));
        break;
      case 'undo':
        this.undo();
        break;
      case 'redo':
        this.redo();
        break;
    }
  }

  /** Fills (polygon tool) or clears (eraser held with polygon points) the polygon drawn so far. */
  closePolygon(): void {
    const m = this.mask;
    if (!m || this.polygon.length < 3) {
      this.polygon = [];
      return;
    }
    const before = m.data.slice();
    if (fillPolygon(m, this.polygon, 1) > 0) {
      this.maskVersion++;
      this.maskEdited(before);
    }
    this.polygon = [];
  }

  moveSelectedTo(start: BoxState, dx: number, dy: number): BoxState {
    return { ...start, box: moveBox(start.box, dx, dy, this.size) };
  }

  /** Commits a drag (move/resize) as one undoable update from the box at the drag's start. */
  commitDrag(ref: string, before: BoxState, after: BoxState): void {
    if (this.imageId === null || JSON.stringify(before) === JSON.stringify(after)) return;
    this.enqueue({
      kind: 'update',
      ref,
      imageId: this.imageId,
      state: after,
      version: this.baseVersion(ref),
    });
    this.history.push({ type: 'update', ref, before, after });
  }
}

export const annotation = new AnnotationSession();
