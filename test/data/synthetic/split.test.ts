import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  apportion,
  choosePositives,
  stratifiedSizes,
  stratifiedSplit,
} from '../../../src/data/synthetic/split.js';
import { Random } from '../../../src/util/random.js';

const fr = { train: 0.75, val: 0.25, test: 0 };

test('choosePositives sets exactly the requested number of flags, differently per seed', () => {
  for (const k of [0, 1, 7, 20]) {
    assert.equal(choosePositives(20, k, new Random(1)).filter(Boolean).length, k);
  }
  assert.notDeepEqual(choosePositives(50, 25, new Random(1)), choosePositives(50, 25, new Random(2)));
  assert.throws(() => choosePositives(5, 6, new Random(1)), /positives <= 5/);
});

test('apportion sums exactly, stays within one of each share and never fills a zero part', () => {
  assert.deepEqual(apportion(1000, fr), { train: 750, val: 250, test: 0 });
  assert.deepEqual(apportion(7, fr), { train: 5, val: 2, test: 0 });
  assert.deepEqual(apportion(10, { train: 0.7, val: 0.2, test: 0.1 }), { train: 7, val: 2, test: 1 });
  assert.deepEqual(apportion(1, { train: 0.5, val: 0.5, test: 0 }), { train: 1, val: 0, test: 0 });
  for (let n = 0; n < 60; n++) {
    const f = { train: 0.6, val: 0.3, test: 0.1 };
    const s = apportion(n, f);
    assert.equal(s.train + s.val + s.test, n);
    for (const p of ['train', 'val', 'test'] as const) assert.ok(Math.abs(s[p] - n * f[p]) < 1);
  }
});

test("stratified sizes keep the totals exact: the paper's 618/382 gives 750/250 overall", () => {
  const { pos, neg } = stratifiedSizes(618, 382, fr);
  assert.deepEqual(pos, { train: 464, val: 154, test: 0 });
  assert.deepEqual(neg, { train: 286, val: 96, test: 0 });
  for (let p = 0; p <= 30; p++) {
    const n = 30 - p;
    const f = { train: 0.5, val: 0.3, test: 0.2 };
    const s = stratifiedSizes(p, n, f);
    assert.deepEqual(
      { train: s.pos.train + s.neg.train, val: s.pos.val + s.neg.val, test: s.pos.test + s.neg.test },
      apportion(30, f),
    );
    assert.equal(s.neg.train + s.neg.val + s.neg.test, n);
    for (const part of ['train', 'val', 'test'] as const) {
      assert.ok(s.pos[part] >= 0 && s.neg[part] >= 0);
      assert.ok(Math.abs(s.pos[part] - p * f[part]) < 1, `pos ${part} ${p}`);
      assert.ok(Math.abs(s.neg[part] - n * f[part]) < 2, `neg ${part} ${n}`);
    }
  }
});

test('stratifiedSplit assigns every image once with the stratified sizes', () => {
  const positive = choosePositives(40, 13, new Random(3));
  const parts = stratifiedSplit(positive, fr, new Random(4));
  assert.equal(parts.length, 40);
  const count = (part: string, pos: boolean) =>
    parts.filter((p, i) => p === part && positive[i] === pos).length;
  const sizes = stratifiedSizes(13, 27, fr);
  assert.equal(count('train', true), sizes.pos.train);
  assert.equal(count('val', true), sizes.pos.val);
  assert.equal(count('train', false), sizes.neg.train);
  assert.equal(count('val', false), sizes.neg.val);
  assert.equal(count('test', true) + count('test', false), 0);
  assert.deepEqual(parts, stratifiedSplit(positive, fr, new Random(4)));
});
