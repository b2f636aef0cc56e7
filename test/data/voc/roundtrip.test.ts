import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import type { VocAnnotation } from '../../../src/data/types.js';
import { toVocBndbox } from '../../../src/data/voc/coords.js';
import { parseVoc } from '../../../src/data/voc/parse.js';
import { formatVoc } from '../../../src/data/voc/write.js';
import { childrenNamed, parseXmlTree, type XmlElement } from '../../../src/data/voc/xmltree.js';

/**
 * Annotations in the reader's canonical form: the fields formatVoc always writes (source, segmented, pose,
 * truncated, difficult) are set, optional text fields are either absent or non-empty, names have no surrounding
 * whitespace. For these, parseVoc(formatVoc(a)) must be exactly a.
 */
const annotations: VocAnnotation[] = [
  {
    folder: 'images',
    filename: 'dog.jpg',
    path: '/data/images/dog.jpg',
    source: { database: 'Unknown' },
    size: { width: 500, height: 375, depth: 3 },
    segmented: false,
    verified: true,
    objects: [
      {
        name: 'dog',
        pose: 'Unspecified',
        truncated: false,
        difficult: false,
        box: { x0: 47, y0: 239, x1: 195, y1: 371 },
      },
      {
        name: 'person',
        pose: 'Left',
        truncated: true,
        difficult: true,
        box: { x0: 0, y0: 0, x1: 500, y1: 375 },
      },
    ],
  },
  {
    folder: 'R&D <old> "set"',
    filename: 'a&b <c> "d".png',
    path: 'C:\\data\\a&b <c> "d".png',
    source: { database: 'The VOC2012 Database', annotation: 'PASCAL VOC2012', image: 'flickr' },
    size: { width: 64, height: 48, depth: 3 },
    segmented: true,
    objects: [
      {
        name: 'salt & pepper <shaker> "big"',
        pose: 'Frontal',
        truncated: false,
        difficult: false,
        occluded: true,
        box: { x0: 3, y0: 4, x1: 40, y1: 44 },
        parts: [
          { name: 'head', box: { x0: 10, y0: 5, x1: 20, y1: 15 } },
          { name: 'hand & "glove"', box: { x0: 30, y0: 30, x1: 31, y1: 31 } },
        ],
        attributes: { color: 'red & <blue>', 'quote"key': '"q"', empty: '', 'actions.jumping': '1' },
      },
      {
        name: 'café ✓',
        pose: 'Unspecified',
        truncated: true,
        difficult: false,
        occluded: false,
        box: { x0: 63, y0: 47, x1: 64, y1: 48 },
      },
    ],
  },
  {
    filename: 'empty.png',
    source: { database: 'Unknown' },
    size: { width: 32, height: 32, depth: 1 },
    segmented: false,
    objects: [],
  },
];

test('parseVoc(formatVoc(a)) gives back exactly a for integer boxes', () => {
  for (const a of annotations) {
    const { annotation, warnings } = parseVoc(formatVoc(a), `${a.filename}.xml`);
    assert.deepEqual(warnings, [], a.filename);
    assert.deepEqual(annotation, a, a.filename);
  }
});

test('the same through bytes, as the importer reads files from disk', () => {
  const a = annotations[1];
  assert.deepEqual(parseVoc(Buffer.from(formatVoc(a), 'utf8'), 'b.xml').annotation, a);
});

function names(el: XmlElement): string[] {
  return el.children.map((c) => c.name);
}

test("formatVoc writes LabelImg's element order, integer 1-based coordinates, depth and the full filename", () => {
  const root = parseXmlTree(formatVoc(annotations[1]));
  assert.equal(root.name, 'annotation');
  assert.deepEqual(names(root), [
    'folder',
    'filename',
    'path',
    'source',
    'size',
    'segmented',
    'object',
    'object',
  ]);
  assert.deepEqual(names(childrenNamed(root, 'size')[0]), ['width', 'height', 'depth']);
  assert.deepEqual(names(childrenNamed(root, 'source')[0]), ['database', 'annotation', 'image']);
  assert.equal(childrenNamed(root, 'filename')[0].text, 'a&b <c> "d".png');

  const [first, second] = childrenNamed(root, 'object');
  assert.deepEqual(names(first), [
    'name',
    'pose',
    'truncated',
    'difficult',
    'bndbox',
    'occluded',
    'part',
    'part',
    'attributes',
  ]);
  assert.deepEqual(names(second).slice(0, 5), ['name', 'pose', 'truncated', 'difficult', 'bndbox']);
  const bnd = childrenNamed(first, 'bndbox')[0];
  assert.deepEqual(names(bnd), ['xmin', 'ymin', 'xmax', 'ymax']);
  assert.deepEqual(
    bnd.children.map((c) => c.text),
    ['4', '5', '40', '44'],
  );
  // The one-pixel box in the corner: 1-based inclusive, so xmin = xmax = width.
  assert.deepEqual(
    childrenNamed(second, 'bndbox')[0].children.map((c) => c.text),
    ['64', '48', '64', '48'],
  );

  const noPath = parseXmlTree(formatVoc(annotations[2]));
  assert.deepEqual(names(noPath), ['folder', 'filename', 'source', 'size', 'segmented']);
  assert.equal(childrenNamed(childrenNamed(noPath, 'size')[0], 'depth')[0].text, '1');
});

test('formatVoc reproduces a LabelImg file byte for byte after its XML declaration', () => {
  const original = fs.readFileSync(new URL('../../fixtures/voc/labelimg.xml', import.meta.url), 'utf8');
  const written = formatVoc(parseVoc(original, 'labelimg.xml').annotation);
  const body = (s: string) => s.slice(s.indexOf('\n') + 1);
  assert.equal(body(written), body(original));
});

test('fractional boxes are written as integers rounded to the nearest pixel edge', () => {
  const a: VocAnnotation = {
    filename: 'f.png',
    size: { width: 100, height: 100, depth: 3 },
    objects: [{ name: 'c', box: { x0: 9.5, y0: 19.25, x1: 30.75, y1: 40.4 } }],
  };
  const back = parseVoc(formatVoc(a), 'f.xml').annotation;
  assert.deepEqual(back.objects[0].box, { x0: 10, y0: 19, x1: 31, y1: 40 });
});

test('a sub-pixel box is written one pixel wide, never as an empty or inverted one', () => {
  assert.deepEqual(toVocBndbox({ x0: 5.2, y0: 7.6, x1: 5.4, y1: 7.9 }), {
    xmin: 6,
    ymin: 9,
    xmax: 6,
    ymax: 9,
  });
  assert.deepEqual(toVocBndbox({ x0: 2, y0: 3, x1: 5, y1: 9 }), { xmin: 3, ymin: 4, xmax: 5, ymax: 9 });
  const a: VocAnnotation = {
    filename: 's.png',
    size: { width: 10, height: 10, depth: 3 },
    objects: [{ name: 'speck', box: { x0: 5.2, y0: 7.6, x1: 5.4, y1: 7.9 } }],
  };
  const r = parseVoc(formatVoc(a), 's.xml');
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.annotation.objects[0].box, { x0: 5, y0: 8, x1: 6, y1: 9 });
});

test('formatVoc refuses empty, inverted or non-finite boxes and an unknown size, naming the image', () => {
  const base = { filename: 'bad.png', size: { width: 10, height: 10, depth: 3 } };
  assert.throws(
    () => formatVoc({ ...base, objects: [{ name: 'z', box: { x0: 3, y0: 1, x1: 3, y1: 5 } }] }),
    /^Error: cannot write VOC XML for bad\.png: object 0 \("z"\) has an empty or invalid box/,
  );
  assert.throws(
    () =>
      formatVoc({
        ...base,
        objects: [
          {
            name: 'p',
            box: { x0: 0, y0: 0, x1: 5, y1: 5 },
            parts: [{ name: 'h', box: { x0: 1, y0: Number.NaN, x1: 2, y1: 2 } }],
          },
        ],
      }),
    /object 0 \("p"\), part 0 \("h"\) has an empty or invalid box/,
  );
  assert.throws(() => formatVoc({ filename: 'u.png', objects: [] }), /u\.png: its image size is unknown/);
});
