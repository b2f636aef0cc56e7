import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PageCache, pagesFor } from '../../renderer/src/lib/pagecache.js';
import {
  clampScale,
  fitView,
  imageToScreen,
  panBy,
  screenToImage,
  wheelFactor,
  zoomAt,
} from '../../renderer/src/lib/viewport.js';
import { gridLayout, scrollToShow, visibleWindow } from '../../renderer/src/lib/virtualgrid.js';

test('screen ↔ image round-trips and zooming around a point keeps that point fixed', () => {
  const v = { scale: 2.5, tx: 13, ty: -7 };
  const p = { x: 40.25, y: 17 };
  const s = imageToScreen(v, p);
  assert.deepEqual(s, { x: 13 + 2.5 * 40.25, y: -7 + 2.5 * 17 });
  assert.deepEqual(screenToImage(v, s), p);
  const at = { x: 321, y: 123 };
  const before = screenToImage(v, at);
  for (const f of [1.7, 0.3, 10]) {
    const z = zoomAt(v, at, f);
    const after = screenToImage(z, at);
    assert.ok(Math.abs(after.x - before.x) < 1e-9 && Math.abs(after.y - before.y) < 1e-9, `factor ${f}`);
  }
  assert.equal(zoomAt(v, at, 1e6).scale, 64, 'clamped at the maximum');
  assert.deepEqual(panBy(v, 5, -5), { scale: 2.5, tx: 18, ty: -12 });
  assert.equal(clampScale(Number.NaN), 1);
  assert.ok(wheelFactor(-100) > 1 && wheelFactor(100) < 1);
  assert.ok(Math.abs(wheelFactor(100) * wheelFactor(-100) - 1) < 1e-12, 'in and out cancel');
});

test('fit centres the whole image with a margin', () => {
  const v = fitView(200, 100, 600, 400, 10);
  assert.equal(v.scale, 2.9);
  assert.deepEqual(imageToScreen(v, { x: 0, y: 0 }), { x: 10, y: 55 });
  assert.deepEqual(imageToScreen(v, { x: 200, y: 100 }), { x: 590, y: 345 });
});

test('virtual grid at 100,000 items: only the rows on screen, right indices, bounded DOM', () => {
  const g = gridLayout(100_000, 1000, 132, 6); // pitch 138: 7 columns (7 × 138 − 6 = 960 ≤ 1000)
  assert.equal(g.columns, 7);
  assert.equal(g.rows, Math.ceil(100_000 / 7));
  assert.equal(g.totalHeight, g.rows * 138 - 6);
  const w = visibleWindow(g, 500_000, 800, 2);
  // Row under scrollTop: floor(500000 / 138) = 3623; end of the visible rows: ceil(500800 / 138) = 3629
  // (exclusive); two rows of overscan either side.
  assert.deepEqual(w, { firstRow: 3621, endRow: 3631, firstIndex: 3621 * 7, endIndex: 3631 * 7 });
  assert.ok(w.endIndex - w.firstIndex <= 7 * 11, 'a bounded number of cells');
  const end = visibleWindow(g, g.totalHeight - 800, 800, 2);
  assert.equal(end.endIndex, 100_000, 'the last item is reachable');
  assert.equal(end.endRow, g.rows);
  assert.deepEqual(visibleWindow(gridLayout(0, 1000, 132, 6), 0, 800), {
    firstRow: 0,
    endRow: 0,
    firstIndex: 0,
    endIndex: 0,
  });
  assert.equal(gridLayout(5, 50, 132, 6).columns, 1, 'a narrow viewport still shows one column');
  assert.equal(scrollToShow(g, 70, 0, 800), 11 * 138 - 800, 'scrolls down just enough');
  assert.equal(scrollToShow(g, 0, 5000, 800), 0);
  assert.equal(scrollToShow(g, 14, 0, 800), 0, 'already visible: unchanged');
});

test('page cache is bounded and evicts the least recently used page', () => {
  const c = new PageCache<number>(100, 3);
  for (const p of [0, 1, 2])
    c.set(
      p,
      Array.from({ length: 100 }, (_, i) => p * 100 + i),
    );
  c.page(0); // touch 0: page 1 is now the oldest
  c.set(3, [300]);
  assert.equal(c.size, 3);
  assert.ok(c.has(0) && !c.has(1) && c.has(2) && c.has(3));
  assert.equal(c.item(250), 250);
  assert.equal(c.item(150), undefined);
  assert.deepEqual(pagesFor(150, 420, 100), [1, 2, 3, 4]);
  assert.deepEqual(pagesFor(5, 5, 100), []);
  assert.throws(() => new PageCache(0, 1), /pageSize/);
});
