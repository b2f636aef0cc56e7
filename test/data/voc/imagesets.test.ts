import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatClassImageSet, formatImageSet, parseImageSet } from '../../../src/data/voc/imagesets.js';

test('the plain form: one id a line, blank lines skipped', () => {
  assert.deepEqual(parseImageSet('000005\n000007\n\n000009\n', 'train.txt'), [
    { id: '000005' },
    { id: '000007' },
    { id: '000009' },
  ]);
});

test('the class form: id and flag, whatever the padding (the devkit right-aligns the flag)', () => {
  const text = '000005 -1\n000007  1\n000009\t0\n   000012    1   \n';
  assert.deepEqual(parseImageSet(text, 'dog_train.txt'), [
    { id: '000005', flag: -1 },
    { id: '000007', flag: 1 },
    { id: '000009', flag: 0 },
    { id: '000012', flag: 1 },
  ]);
});

test('a byte-order mark and CRLF line ends are accepted', () => {
  assert.deepEqual(parseImageSet('\uFEFF2008_000008\r\n2008_000015\r\n', 'val.txt'), [
    { id: '2008_000008' },
    { id: '2008_000015' },
  ]);
  assert.deepEqual(parseImageSet('\uFEFFa  1\r\nb -1\r\n', 'cat_val.txt'), [
    { id: 'a', flag: 1 },
    { id: 'b', flag: -1 },
  ]);
});

test('what the formatters write parses back to the same entries', () => {
  const ids = ['000005', '2008_000008'];
  assert.deepEqual(
    parseImageSet(formatImageSet(ids), 't.txt').map((l) => l.id),
    ids,
  );
  const entries = [
    { id: 'a', flag: 1 as const },
    { id: 'b', flag: -1 as const },
    { id: 'c', flag: 0 as const },
  ];
  assert.equal(formatClassImageSet(entries), 'a  1\nb -1\nc  0\n');
  assert.deepEqual(parseImageSet(formatClassImageSet(entries), 'x_t.txt'), entries);
});

test('a malformed line is an error naming the file, the 1-based line and the text', () => {
  assert.throws(
    () => parseImageSet('000005  1\n000007 2\n', 'dog_train.txt'),
    new Error('dog_train.txt:2: expected "<id>" or "<id> <1|-1|0>", found "000007 2"'),
  );
  assert.throws(
    () => parseImageSet('\uFEFFa\r\n\r\nb c d\r\n', 'train.txt'),
    new Error('train.txt:3: expected "<id>" or "<id> <1|-1|0>", found "b c d"'),
  );
});
