/**
 * A linear undo/redo history. Doing something new after an undo drops the redo branch (as every editor does);
 * the oldest entries fall off beyond `limit` so a long session does not grow without bound.
 */
export class UndoStack<C> {
  private done: C[] = [];
  private undone: C[] = [];

  constructor(private readonly limit = 500) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`undo limit must be a positive integer, got ${limit}`);
  }

  push(c: C): void {
    this.done.push(c);
    if (this.done.length > this.limit) this.done.splice(0, this.done.length - this.limit);
    this.undone = [];
  }

  /** The command to undo (moved to the redo side), or undefined when there is nothing to undo. */
  undo(): C | undefined {
    const c = this.done.pop();
    if (c !== undefined) this.undone.push(c);
    return c;
  }

  redo(): C | undefined {
    const c = this.undone.pop();
    if (c !== undefined) this.done.push(c);
    return c;
  }

  get canUndo(): boolean {
    return this.done.length > 0;
  }

  get canRedo(): boolean {
    return this.undone.length > 0;
  }

  clear(): void {
    this.done = [];
    this.undone = [];
  }
}
