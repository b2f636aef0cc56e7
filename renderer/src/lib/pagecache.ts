/**
 * A bounded cache of list pages (the gallery pages through `images.list` with offset/limit), least recently
 * used first out, so scrolling through 100,000 images keeps memory flat.
 */
export class PageCache<T> {
  private readonly pages = new Map<number, T[]>();

  constructor(
    readonly pageSize: number,
    readonly maxPages: number,
  ) {
    if (!(pageSize >= 1 && maxPages >= 1)) throw new Error('page cache: pageSize and maxPages must be ≥ 1');
  }

  get size(): number {
    return this.pages.size;
  }

  has(page: number): boolean {
    return this.pages.has(page);
  }

  /** The page, marked as recently used. */
  page(page: number): T[] | undefined {
    const p = this.pages.get(page);
    if (p) {
      this.pages.delete(page);
      this.pages.set(page, p); // Map keeps insertion order: re-inserting makes it the newest
    }
    return p;
  }

  set(page: number, items: T[]): void {
    this.pages.delete(page);
    this.pages.set(page, items);
    while (this.pages.size > this.maxPages) {
      const oldest = this.pages.keys().next().value as number;
      this.pages.delete(oldest);
    }
  }

  /** The item at a global index, when its page is loaded (does not touch recency: used while rendering). */
  item(index: number): T | undefined {
    return this.pages.get(Math.floor(index / this.pageSize))?.[index % this.pageSize];
  }

  clear(): void {
    this.pages.clear();
  }
}

/** The pages that hold items [first, end). */
export function pagesFor(first: number, end: number, pageSize: number): number[] {
  if (end <= first) return [];
  const out: number[] = [];
  for (let p = Math.floor(first / pageSize); p <= Math.floor((end - 1) / pageSize); p++) out.push(p);
  return out;
}
