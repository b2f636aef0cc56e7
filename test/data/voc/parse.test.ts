import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DataWarning } from '../../../src/data/types.js';
import { parseVoc, sanitizeBoxes, VocParseError } from '../../../src/data/voc/parse.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/voc/', import.meta.url));

/** Reads a fixture as bytes, as the importer does, and names it by its relative path. */
function read(name: string) {
  const file = `voc/${name}`;
  return parseVoc(fs.readFileSync(path.join(FIXTURES, name)), file);
}

function fatal(name: string, pattern: RegExp, line?: number): VocParseError {
  const file = `voc/${name}`;
  let caught: unknown;
  try {
    parseVoc(fs.readFileSync(path.join(FIXTURES, name)), file);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof VocParseError, `${name} should be refused with a VocParseError`);
  assert.equal(caught.file, file);
  assert.ok(caught.message.startsWith(`${file}`), `message should start with the file: ${caught.message}`);
  assert.match(caught.message, pattern);
  if (line !== undefined) {
    assert.equal(caught.line, line);
    assert.ok(caught.message.startsWith(`${file}:${line}: `), caught.message);
  }
  return caught;
}

function messages(warnings: DataWarning[]): string[] {
  return warnings.map((w) => w.message);
}

test('LabelImg output is read field by field, coordinates converted to 0-based half-open', () => {
  const { annotation, warnings } = read('labelimg.xml');
  assert.deepEqual(warnings, []);
  assert.deepEqual(annotation, {
    folder: 'images',
    filename: 'dog.jpg',
    path: 'C:\\Users\\ana\\Pictures\\images\\dog.jpg',
    source: { database: 'Unknown' },
    size: { width: 500, height: 375, depth: 3 },
    segmented: false,
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
        pose: 'Unspecified',
        truncated: true,
        difficult: true,
        box: { x0: 7, y0: 11, x1: 352, y1: 375 },
      },
    ],
  });
});

test('verified="yes" on the root, and verified="no"', () => {
  assert.equal(read('labelimg-verified.xml').annotation.verified, true);
  assert.equal(read('booleans.xml').annotation.verified, false);
  assert.equal(read('labelimg.xml').annotation.verified, undefined);
});

test('CVAT output: float coordinates, occluded, attributes, empty folder and depth', () => {
  const { annotation, warnings } = read('cvat.xml');
  assert.equal(annotation.folder, undefined);
  assert.deepEqual(annotation.source, { database: 'Unknown', annotation: 'Unknown', image: 'Unknown' });
  assert.deepEqual(annotation.size, { width: 1920, height: 1080, depth: 3 });
  assert.deepEqual(annotation.objects[0], {
    name: 'car',
    truncated: false,
    occluded: true,
    difficult: false,
    box: { x0: 611.43, y0: 400.9, x1: 877.1, y1: 590.25 },
    attributes: { color: 'red', parked: 'false', plate: '' },
  });
  assert.deepEqual(annotation.objects[1].attributes, { track_id: '4' });
  // CVAT counts from 0, so a box on the left edge is outside VOC's 1-based image by one pixel.
  assert.deepEqual(annotation.objects[1].box, { x0: 0, y0: 379.5, x1: 55.75, y1: 702 });
  assert.deepEqual(warnings, [
    {
      file: 'voc/cvat.xml',
      object: 1,
      message:
        'object 1 ("pedestrian"): extends beyond the 1920×1080 image (xmin 0 < 1): clamped to the image',
    },
  ]);
});

test('float coordinates keep their fractions; every number syntax a tool may write is accepted', () => {
  const { annotation, warnings } = read('float-coords.xml');
  assert.deepEqual(warnings, []);
  assert.deepEqual(
    annotation.objects.map((o) => o.box),
    [
      { x0: 9.5, y0: 19.25, x1: 30.75, y1: 40 },
      { x0: 9, y0: 4, x1: 50, y1: 6 },
    ],
  );
});

test('whitespace and newlines around values and names are ignored', () => {
  const { annotation, warnings } = read('whitespace.xml');
  assert.deepEqual(warnings, []);
  assert.equal(annotation.filename, 'spaced.jpg');
  assert.deepEqual(annotation.size, { width: 64, height: 48, depth: 3 });
  assert.deepEqual(annotation.objects, [{ name: 'triangle', box: { x0: 4, y0: 5, x1: 20, y1: 30 } }]);
});

test('missing <size>: size undefined, boxes kept unclamped until sanitizeBoxes knows the image', () => {
  const { annotation, warnings } = read('missing-size.xml');
  assert.deepEqual(warnings, []);
  assert.equal(annotation.size, undefined);
  assert.deepEqual(annotation.objects[0].box, { x0: -5, y0: 4, x1: 900, y1: 60 });

  const fixed = sanitizeBoxes(annotation, { width: 640, height: 480 }, 'voc/missing-size.xml');
  assert.deepEqual(fixed.annotation.size, { width: 640, height: 480, depth: 3 });
  assert.deepEqual(fixed.annotation.objects[0].box, { x0: 0, y0: 4, x1: 640, y1: 60 });
  assert.deepEqual(fixed.warnings, [
    {
      file: 'voc/missing-size.xml',
      object: 0,
      message:
        'object 0 ("triangle"): extends beyond the 640×480 image (xmin -4 < 1, xmax 900 > 640): clamped to the image',
    },
  ]);
  // Pure: the input is untouched.
  assert.equal(annotation.size, undefined);
  assert.deepEqual(annotation.objects[0].box, { x0: -5, y0: 4, x1: 900, y1: 60 });
});

test('depth 1 is kept; depth missing or empty reads as 3', () => {
  assert.deepEqual(read('depth1.xml').annotation.size, { width: 256, height: 256, depth: 1 });
  const missing = read('depth-missing.xml');
  assert.deepEqual(missing.annotation.size, { width: 640, height: 480, depth: 3 });
  assert.deepEqual(missing.warnings, []);
  assert.deepEqual(missing.annotation.objects, []);
});

test('a 0×0 <size> means unknown: warned, size undefined, sanitizeBoxes clamps later', () => {
  const { annotation, warnings } = read('size-zero.xml');
  assert.equal(annotation.size, undefined);
  assert.deepEqual(warnings, [
    {
      file: 'voc/size-zero.xml',
      message: '<size> (line 3) is 0×0, which means unknown; the size will be taken from the image',
    },
  ]);
  const fixed = sanitizeBoxes(annotation, { width: 300, height: 200, depth: 1 }, 'voc/size-zero.xml');
  assert.deepEqual(fixed.annotation.size, { width: 300, height: 200, depth: 1 });
  assert.deepEqual(fixed.annotation.objects[0].box, { x0: 9, y0: 9, x1: 300, y1: 20 });
  assert.equal(fixed.warnings.length, 1);
});

test('<part> children of objects (VOC person layout), with fractional part boxes', () => {
  const { annotation, warnings } = read('parts.xml');
  assert.deepEqual(warnings, []);
  assert.equal(annotation.objects.length, 1);
  assert.deepEqual(annotation.objects[0], {
    name: 'person',
    pose: 'Unspecified',
    truncated: true,
    occluded: false,
    difficult: false,
    box: { x0: 157, y0: 43, x1: 289, y1: 167 },
    parts: [
      { name: 'head', box: { x0: 168, y0: 49, x1: 199, y1: 86 } },
      { name: 'hand', box: { x0: 269.5, y0: 119, x1: 289, y1: 141 } },
    ],
  });
});

test('VOC2007 devkit file: <owner> and extra <source> fields are ignored without noise', () => {
  const { annotation, warnings } = read('voc2007.xml');
  assert.deepEqual(warnings, []);
  assert.deepEqual(annotation.source, {
    database: 'The VOC2007 Database',
    annotation: 'PASCAL VOC2007',
    image: 'flickr',
  });
  assert.deepEqual(
    annotation.objects.map((o) => [o.name, o.pose, o.truncated, o.difficult]),
    [
      ['chair', 'Rear', false, false],
      ['chair', 'Unspecified', true, true],
    ],
  );
});

test('VOC2012 action file: nested and unknown children of <object> are kept as flattened attributes', () => {
  const { annotation, warnings } = read('voc2012-action.xml');
  assert.deepEqual(warnings, []);
  assert.deepEqual(annotation.size, { width: 500, height: 375, depth: 3 });
  assert.deepEqual(annotation.objects[0].attributes, {
    'actions.jumping': '0',
    'actions.phoning': '1',
    'actions.other': '0',
    'point.x': '248',
    'point.y': '146',
    score: '0.87',
    'polygon.pt[0].x': '1',
    'polygon.pt[0].y': '2',
    'polygon.pt[1].x': '3',
    'polygon.pt[1].y': '4',
  });
  assert.equal(annotation.objects[0].pose, 'Frontal');
});

test('booleans written as 0/1/true/false/yes/no in any case; anything else is warned and ignored', () => {
  const { annotation, warnings } = read('booleans.xml');
  assert.equal(annotation.segmented, true);
  const flags = annotation.objects.map((o) => [o.truncated, o.difficult, o.occluded]);
  assert.deepEqual(flags, [
    [true, false, true],
    [false, true, false],
    [undefined, undefined, true],
  ]);
  assert.deepEqual(warnings, [
    {
      file: 'voc/booleans.xml',
      object: 2,
      message: '<truncated> of object 2 ("c") (line 20) is "2", not 0/1/true/false/yes/no; it is ignored',
    },
  ]);
});

test('a UTF-8 byte-order mark is skipped, as bytes and as a string', () => {
  const bytes = fs.readFileSync(path.join(FIXTURES, 'bom.xml'));
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  const expected = [{ name: 'café', box: { x0: 0, y0: 1, x1: 3, y1: 4 } }];
  assert.deepEqual(read('bom.xml').annotation.objects, expected);
  assert.deepEqual(parseVoc(bytes.toString('utf8'), 'voc/bom.xml').annotation.objects, expected);
});

test('UTF-16 with a BOM and a declared Latin-1 file decode; undeclared Latin-1 is read with a warning', () => {
  assert.equal(read('utf16.xml').annotation.objects[0].name, 'café');
  const declared = read('latin1-declared.xml');
  assert.equal(declared.annotation.objects[0].name, 'café');
  assert.deepEqual(declared.warnings, []);
  const guessed = read('latin1-undeclared.xml');
  assert.equal(guessed.annotation.objects[0].name, 'café');
  assert.deepEqual(messages(guessed.warnings), [
    'the file is not valid UTF-8; it was read as Windows-1252, check non-ASCII names',
  ]);
});

test('predefined entities, numeric character references and CDATA are decoded', () => {
  const { annotation } = read('entities.xml');
  assert.equal(annotation.filename, 'café & bar.jpg');
  assert.equal(annotation.objects[0].name, `<salt & pepper> "shaker" 'x' ✓`);
  assert.equal(annotation.objects[1].name, 'a < b');
});

test('files with no objects, a filename without extension and a path elsewhere are kept as written', () => {
  const none = read('no-objects.xml');
  assert.deepEqual(none.warnings, []);
  assert.deepEqual(none.annotation.objects, []);
  assert.equal(none.annotation.filename, 'empty_field.jpg');

  const noExt = read('filename-no-ext.xml');
  assert.equal(noExt.annotation.filename, '000123');
  assert.equal(noExt.annotation.folder, 'JPEGImages');

  const elsewhere = read('path-elsewhere.xml');
  assert.equal(elsewhere.annotation.filename, 'IMG_4411.JPG');
  assert.equal(elsewhere.annotation.path, 'D:\\old_laptop\\Desktop\\IMG_4411.JPG');
  assert.equal(elsewhere.annotation.folder, 'Desktop');
});

test('swapped fields are exchanged in VOC terms and warned', () => {
  const { annotation, warnings } = read('swapped.xml');
  // xmin 120, xmax 100 covers pixels 100..120 (1-based inclusive) = x0 99, x1 120.
  assert.deepEqual(annotation.objects[0].box, { x0: 99, y0: 29, x1: 120, y1: 60 });
  assert.deepEqual(annotation.objects[1].box, { x0: 4, y0: 69, x1: 15, y1: 90 });
  assert.deepEqual(warnings, [
    { file: 'voc/swapped.xml', object: 0, message: 'object 0 ("bird"): xmin 120 > xmax 100: swapped' },
    { file: 'voc/swapped.xml', object: 1, message: 'object 1 ("kite"): ymin 90 > ymax 70: swapped' },
  ]);
});

test('empty boxes are dropped with a warning; xmin = xmax is a one-pixel box and kept', () => {
  const { annotation, warnings } = read('zero-area.xml');
  assert.deepEqual(annotation.objects, [{ name: 'dot', box: { x0: 6, y0: 8, x1: 7, y1: 9 } }]);
  assert.deepEqual(warnings, [
    {
      file: 'voc/zero-area.xml',
      object: 0,
      message:
        'object 0 ("line"): zero width (xmin 51, xmax 50): the box is empty in VOC\'s inclusive convention ' +
        '(size = max - min + 1); dropped',
    },
    {
      file: 'voc/zero-area.xml',
      object: 1,
      message:
        'object 1 ("flat"): zero height (ymin 21, ymax 20): the box is empty in VOC\'s inclusive convention ' +
        '(size = max - min + 1); dropped',
    },
  ]);
});

test('boxes outside the image are clamped, or dropped when nothing is left; parts likewise', () => {
  const { annotation, warnings } = read('outside.xml');
  assert.deepEqual(annotation.objects, [
    { name: 'boat', box: { x0: 0, y0: 0, x1: 200, y1: 60 } },
    {
      name: 'person',
      box: { x0: 19, y0: 19, x1: 80, y1: 100 },
      parts: [{ name: 'head', box: { x0: 39, y0: 19, x1: 60, y1: 40 } }],
    },
  ]);
  assert.deepEqual(warnings, [
    {
      file: 'voc/outside.xml',
      object: 0,
      message:
        'object 0 ("boat"): extends beyond the 200×100 image (xmin 0 < 1, ymin -5 < 1, xmax 250 > 200): ' +
        'clamped to the image',
    },
    {
      file: 'voc/outside.xml',
      object: 1,
      message:
        'object 1 ("ghost"): lies entirely outside the 200×100 image (xmin 201, ymin 10, xmax 260, ymax 50); dropped',
    },
    {
      file: 'voc/outside.xml',
      object: 2,
      message:
        'object 2 ("person"), part 0 ("foot"): lies entirely outside the 200×100 image ' +
        '(xmin 30, ymin 101, xmax 40, ymax 110); dropped',
    },
  ]);
});

test('sanitizeBoxes warns when the stated size disagrees, drops what falls outside, validates its input', () => {
  const { annotation } = read('labelimg.xml');
  const r = sanitizeBoxes(annotation, { width: 200, height: 300 }, 'voc/labelimg.xml');
  assert.deepEqual(r.annotation.size, { width: 200, height: 300, depth: 3 });
  assert.deepEqual(messages(r.warnings), [
    'the file gives the image size as 500×375 but the image is 200×300; boxes were checked against the real size',
    'object 0 ("dog"): extends beyond the 200×300 image (ymax 371 > 300): clamped to the image',
    'object 1 ("person"): extends beyond the 200×300 image (xmax 352 > 200, ymax 375 > 300): clamped to the image',
  ]);
  const tiny = sanitizeBoxes(annotation, { width: 10, height: 15 }, 'voc/labelimg.xml');
  assert.deepEqual(tiny.annotation.objects, [
    { ...annotation.objects[1], box: { x0: 7, y0: 11, x1: 10, y1: 15 } },
  ]);
  assert.deepEqual(
    tiny.warnings.map((w) => w.object),
    [undefined, 0, 1],
  );
  assert.match(tiny.warnings[1].message, /^object 0 \("dog"\): lies entirely outside the 10×15 image/);
  assert.throws(
    () => sanitizeBoxes(annotation, { width: 0, height: 10 }, 'voc/labelimg.xml'),
    /voc\/labelimg\.xml must be positive integers, got 0×10/,
  );
});

test('fatal: not XML, empty, wrong root, truncated', () => {
  fatal(
    'not-xml.xml',
    /not well-formed XML \(text data outside of root node, column \d+\); expected PASCAL VOC XML/,
  );
  fatal('empty.xml', /^voc\/empty\.xml: the file is empty; expected PASCAL VOC XML$/);
  fatal(
    'wrong-root.xml',
    /the root element is <annotations>, expected <annotation>: this is not a PASCAL VOC/,
    2,
  );
  fatal('truncated.xml', /the file ends inside <ymin>; it looks truncated/, 12);
});

test('fatal: a coordinate that is not a number, naming the field, the object and the line', () => {
  const e = fatal(
    'nan-coordinate.xml',
    /<ymin> of the <bndbox> of object 0 \("cat"\) is "NaN", not a number$/,
    8,
  );
  assert.equal(e.name, 'VocParseError');
  fatal('comma-decimal.xml', /<xmin> of the <bndbox> of object 0 \("cat"\) is "10,5", not a number$/, 5);
});

test('fatal: missing filename, object name, bndbox, coordinate or part name', () => {
  fatal('no-filename.xml', /there is no <filename> naming the image; add one$/);
  fatal('no-name.xml', /object 1 has no <name>; every object needs a class name/, 7);
  fatal('no-bndbox.xml', /object 0 \("dog"\) has no <bndbox>; add the box or remove the object$/, 3);
  fatal('missing-coordinate.xml', /the <bndbox> of object 0 \("dog"\) has no <xmax>; add it$/, 5);
  fatal('part-no-name.xml', /object 0 \("person"\), part 0 has no <name>; add it or remove the part$/, 6);
});

test('XXE and billion laughs are refused quickly, without reading any file', () => {
  // parseVoc does no I/O of its own; make sure nothing under it opens a file either.
  const spied = ['openSync', 'readFileSync', 'open', 'readFile', 'createReadStream'] as const;
  const fsObj = fs as unknown as Record<string, unknown>;
  const saved = spied.map((k) => fsObj[k]);
  const opened: string[] = [];
  const payloads = ['xxe.xml', 'billion-laughs.xml', 'undefined-entity.xml'].map((n) => ({
    n,
    bytes: fs.readFileSync(path.join(FIXTURES, n)),
  }));
  for (const k of spied) {
    fsObj[k] = (...args: unknown[]) => {
      opened.push(String(args[0]));
      throw new Error('no file may be read while parsing');
    };
  }
  const errors: Record<string, string> = {};
  const t0 = performance.now();
  try {
    for (const { n, bytes } of payloads) {
      try {
        parseVoc(bytes, `voc/${n}`);
      } catch (err) {
        errors[n] = err instanceof VocParseError ? err.message : `not a VocParseError: ${String(err)}`;
      }
    }
  } finally {
    spied.forEach((k, i) => {
      fsObj[k] = saved[i];
    });
  }
  const ms = performance.now() - t0;
  assert.deepEqual(opened, []);
  assert.ok(ms < 200, `refusing the payloads took ${ms.toFixed(1)} ms`);
  const doctype =
    'refused: the file contains a DOCTYPE declaration; DTDs and entity declarations are refused because they ' +
    'can read local files (XXE) or expand without bound. Remove the <!DOCTYPE ...> block';
  assert.equal(errors['xxe.xml'], `voc/xxe.xml:4: ${doctype}`);
  assert.equal(errors['billion-laughs.xml'], `voc/billion-laughs.xml:13: ${doctype}`);
  assert.equal(
    errors['undefined-entity.xml'],
    'voc/undefined-entity.xml:4: refused: undefined entity reference; only &amp; &lt; &gt; &quot; &apos; and ' +
      'numeric references such as &#38; are allowed (entities are never expanded)',
  );
  for (const m of Object.values(errors)) assert.doesNotMatch(m, /root:|lollol/);
});

test('an entity reference without a DOCTYPE is refused too (no expansion path exists)', () => {
  const xml = '<annotation><filename>a.jpg</filename><folder>&lol9;</folder></annotation>';
  assert.throws(
    () => parseVoc(xml, 'x.xml'),
    /^VocParseError: x\.xml:1: refused: undefined entity reference/,
  );
  const external = '<annotation><filename>&xxe;</filename></annotation>';
  assert.throws(() => parseVoc(external, 'y.xml'), /^VocParseError: y\.xml:1: refused/);
});

test('duplicated fields: the first is used and the duplication is warned', () => {
  const xml = `<annotation><filename>a.jpg</filename><filename>b.jpg</filename>
  <object><name>cat</name><name>dog</name>
    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox>
    <attributes><attribute><name>k</name><value>1</value></attribute>
      <attribute><name>k</name><value>2</value></attribute><attribute><value>x</value></attribute></attributes>
  </object></annotation>`;
  const { annotation, warnings } = parseVoc(xml, 'dup.xml');
  assert.equal(annotation.filename, 'a.jpg');
  assert.equal(annotation.objects[0].name, 'cat');
  assert.deepEqual(annotation.objects[0].attributes, { k: '1' });
  assert.deepEqual(warnings, [
    { file: 'dup.xml', message: 'the annotation has 2 <filename> elements (line 1); the first is used' },
    { file: 'dup.xml', object: 0, message: 'object 0 has 2 <name> elements (line 2); the first is used' },
    {
      file: 'dup.xml',
      object: 0,
      message: 'object 0 ("cat"): the attribute "k" is given twice; the first value is kept',
    },
    {
      file: 'dup.xml',
      object: 0,
      message: 'object 0 ("cat"): an <attribute> (line 5) has no <name>; it is ignored',
    },
  ]);
});

test('odd sizes are unknown with a warning; unusable input types are rejected', () => {
  const xml = (w: string, h: string) =>
    `<annotation><filename>a.jpg</filename><size><width>${w}</width><height>${h}</height></size></annotation>`;
  const frac = parseVoc(xml('10.5', '20'), 's.xml');
  assert.equal(frac.annotation.size, undefined);
  assert.deepEqual(messages(frac.warnings), [
    '<size> (line 1) gives 10.5×20, which is not an image size; the size will be taken from the image',
  ]);
  const noHeight = parseVoc(xml('10', ''), 's.xml');
  assert.equal(noHeight.annotation.size, undefined);
  assert.match(noHeight.warnings[0].message, /has no <height>/);
  assert.deepEqual(parseVoc(xml('10.0', '20'), 's.xml').annotation.size, { width: 10, height: 20, depth: 3 });
  assert.throws(
    () => parseVoc(xml('ten', '20'), 's.xml'),
    /^VocParseError: s\.xml:1: <width> of <size> is "ten"/,
  );
  assert.throws(
    () => parseVoc(42 as unknown as string, 'n.xml'),
    /the content of n\.xml must be a string or a Buffer/,
  );
});
