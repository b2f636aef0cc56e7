/**
 * The hostile-input corpus of the import fuzz run: seeded, so a seed and a case number always give the same
 * bytes. Each case is a small flat dataset folder (an image and its .xml, sometimes with a healthy companion
 * pair) in which one file is hostile: a mutated VOC file (truncation, byte flips, duplicated or deleted tags,
 * huge and non-finite numbers, entity expansion, external DTDs, non-UTF-8, 10 MB text nodes, …) or a broken
 * image (decompression bombs, truncated JPEG/PNG, 0-byte, text named .jpg, CMYK JPEG, 16-bit PNG, EXIF-rotated
 * JPEG, …, made with sharp). Used by bench/fuzz-import.ts (10,000 cases) and test/data/import/fuzz.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { formatVoc } from '../../src/data/voc/write.js';
import { Random } from '../../src/util/random.js';
import { encodeBmp24, pixels } from '../data/import/fixtures.js';

export interface FuzzFile {
  rel: string;
  data: Buffer;
}

export interface FuzzCase {
  index: number;
  /** 'xml:<mutators>' or 'image:<kind>'. */
  kind: string;
  files: FuzzFile[];
  /** The hostile files (relative paths): each must end up in the store or be named with its problem. */
  subjects: string[];
  /** For image cases: what a correct importer does with the subject image. */
  expect: 'accept' | 'refuse' | 'either';
}

/** Encoded images every case draws from, made once with sharp (deterministic for one sharp version). */
export interface Assets {
  png: Buffer[];
  jpeg: Buffer[];
  bombPng: Buffer;
  cmykJpeg: Buffer;
  png16: Buffer;
  exifJpeg: Buffer;
  greyAlphaPng: Buffer;
  palettePng: Buffer;
  interlacedPng: Buffer;
  progressiveJpeg: Buffer;
  tiff: Buffer;
  gif: Buffer;
  webp: Buffer;
  bmp: Buffer;
  /** VOC files written by other tools (the reader's own fixtures) to mutate. */
  xml: Buffer[];
}

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'voc');
const IMAGE_W = 40;
const IMAGE_H = 30;

async function photo(seed: number, w = IMAGE_W, h = IMAGE_H) {
  return sharp(pixels(w, h, 3, seed), { raw: { width: w, height: h, channels: 3 } });
}

export async function makeAssets(): Promise<Assets> {
  const png: Buffer[] = [];
  const jpeg: Buffer[] = [];
  for (let s = 1; s <= 6; s++) {
    png.push(await (await photo(s)).png().toBuffer());
    jpeg.push(await (await photo(100 + s)).jpeg({ quality: 85 }).toBuffer());
  }
  const rgba = Buffer.alloc(IMAGE_W * IMAGE_H * 2);
  for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 37) & 0xff;
  const xml = fs
    .readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.xml'))
    .sort()
    .map((f) => fs.readFileSync(path.join(FIXTURES, f)));
  for (let s = 0; s < 4; s++) xml.push(Buffer.from(generatedVoc(new Random(`xml-${s}`))));
  return {
    png,
    jpeg,
    // 16000×16000 white: 0.8 MB on disk, 768 MB decoded.
    bombPng: await sharp({ create: { width: 16000, height: 16000, channels: 3, background: '#fff' } })
      .png()
      .toBuffer(),
    cmykJpeg: await (await photo(7)).toColourspace('cmyk').jpeg().toBuffer(),
    png16: await (await photo(8)).toColourspace('rgb16').png().toBuffer(),
    exifJpeg: await (await photo(9, 40, 20)).jpeg().withMetadata({ orientation: 6 }).toBuffer(),
    greyAlphaPng: await sharp(rgba, { raw: { width: IMAGE_W, height: IMAGE_H, channels: 2 } })
      .toColourspace('b-w')
      .png()
      .toBuffer(),
    palettePng: await (await photo(10)).png({ palette: true, colours: 16 }).toBuffer(),
    interlacedPng: await (await photo(11)).png({ progressive: true }).toBuffer(),
    progressiveJpeg: await (await photo(12)).jpeg({ progressive: true }).toBuffer(),
    tiff: await (await photo(13)).tiff().toBuffer(),
    gif: await (await photo(14)).gif().toBuffer(),
    webp: await (await photo(15)).webp().toBuffer(),
    bmp: encodeBmp24(IMAGE_W, IMAGE_H, pixels(IMAGE_W, IMAGE_H, 3, 16)),
    xml,
  };
}

function generatedVoc(rng: Random): string {
  const objects = Array.from({ length: rng.int(0, 6) }, (_, i) => {
    const x0 = rng.int(0, IMAGE_W - 2);
    const y0 = rng.int(0, IMAGE_H - 2);
    return {
      name: rng.pick(['cat', 'dog', 'person', 'car', 'pottedplant']),
      box: { x0, y0, x1: rng.int(x0 + 1, IMAGE_W), y1: rng.int(y0 + 1, IMAGE_H) },
      ...(i % 2 ? { difficult: true, pose: 'Left' } : {}),
      ...(i === 2 ? { parts: [{ name: 'head', box: { x0, y0, x1: x0 + 1, y1: y0 + 1 } }] } : {}),
    };
  });
  return formatVoc({ filename: 'a.png', size: { width: IMAGE_W, height: IMAGE_H, depth: 3 }, objects });
}

// ---- XML mutators: each takes the document's bytes and returns new bytes --------------------------------------

type Mutator = (b: Buffer, rng: Random) => Buffer;

/** Bytes a repeating mutation may add: past the importer's 32 MiB refusal there is nothing more to learn. */
const MAX_GROWTH = 40_000_000;

const TAGS = [
  'annotation',
  'filename',
  'size',
  'width',
  'height',
  'depth',
  'object',
  'name',
  'bndbox',
  'xmin',
  'ymin',
  'xmax',
  'ymax',
  'part',
  'pose',
  'difficult',
  'attributes',
];

/** Spans [start, end) of `<tag>…</tag>` elements (the first closing tag after each opening one). */
function spans(text: string, tag: string): [number, number][] {
  const out: [number, number][] = [];
  const open = new RegExp(`<${tag}[\\s>]`, 'g');
  for (let m = open.exec(text); m; m = open.exec(text)) {
    const close = text.indexOf(`</${tag}>`, m.index);
    if (close >= 0) out.push([m.index, close + tag.length + 3]);
  }
  return out;
}

function someSpan(text: string, rng: Random): [number, number] | undefined {
  const all = TAGS.flatMap((t) => spans(text, t));
  return all.length ? rng.pick(all) : undefined;
}

const HOSTILE_NUMBERS = [
  '1e308',
  '1e999',
  '-1e400',
  '1.7976931348623157e309',
  '99999999999999999999999',
  '-0',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x1F',
  '1,5',
  '',
  ' ',
  '4294967296',
  '-2147483649',
  '1e-400',
  '.',
  '+',
  '00000000000000000012',
  '9'.repeat(400),
  '1'.repeat(50_000),
];

const BILLION_LAUGHS =
  '<?xml version="1.0"?>\n<!DOCTYPE annotation [\n <!ENTITY lol "lol">\n' +
  Array.from(
    { length: 9 },
    (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">\n`,
  ).join('') +
  ']>\n';

const EXTERNAL_DTDS = [
  '<!DOCTYPE annotation SYSTEM "file:///etc/passwd">\n',
  '<!DOCTYPE annotation PUBLIC "-//X//DTD X//EN" "http://127.0.0.1:9/x.dtd">\n',
  '<!DOCTYPE annotation [<!ENTITY xxe SYSTEM "file:///etc/shadow">]>\n',
  '<!DOCTYPE annotation [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>\n',
];

function insertAt(b: Buffer, at: number, s: string | Buffer): Buffer {
  return Buffer.concat([b.subarray(0, at), Buffer.isBuffer(s) ? s : Buffer.from(s), b.subarray(at)]);
}

/** After the XML declaration, if there is one (a DOCTYPE must follow it). */
function afterDecl(text: string): number {
  const m = /^\uFEFF?\s*<\?xml[^>]*\?>/.exec(text);
  return m ? Buffer.byteLength(m[0]) : 0;
}

/** The offset just after the opening tag of the first `<tag>` (the start of its content). */
function contentOf(text: string, tag: string, rng: Random): number | undefined {
  const all = spans(text, tag);
  if (all.length === 0) return undefined;
  const [start] = rng.pick(all);
  const gt = text.indexOf('>', start);
  return gt < 0 ? undefined : Buffer.byteLength(text.slice(0, gt + 1));
}

const XML_MUTATORS: Record<string, Mutator> = {
  truncate: (b, rng) => b.subarray(0, rng.int(0, Math.max(0, b.length - 1))),
  flip: (b, rng) => {
    const out = Buffer.from(b);
    for (let k = rng.int(1, 8); k > 0 && out.length > 0; k--)
      out[rng.int(0, out.length - 1)] ^= rng.int(1, 255);
    return out;
  },
  duplicate: (b, rng) => {
    const text = b.toString('latin1');
    const s = someSpan(text, rng);
    if (!s) return b;
    // Many copies of a small element; a 10 MB one is copied once (a document beyond 32 MiB is refused unread).
    const wanted = rng.bool(0.1) ? rng.int(2, 200) : 1;
    const copies = Math.max(1, Math.min(wanted, Math.floor(MAX_GROWTH / (s[1] - s[0]))));
    return Buffer.from(
      text.slice(0, s[1]) + text.slice(s[0], s[1]).repeat(copies) + text.slice(s[1]),
      'latin1',
    );
  },
  delete: (b, rng) => {
    const text = b.toString('latin1');
    const s = someSpan(text, rng);
    return s ? Buffer.from(text.slice(0, s[0]) + text.slice(s[1]), 'latin1') : b;
  },
  number: (b, rng) => {
    const text = b.toString('latin1');
    const numbers = [...text.matchAll(/>(\s*-?\d+(?:\.\d+)?\s*)</g)];
    if (numbers.length === 0) return b;
    const m = rng.pick(numbers);
    const at = m.index! + 1;
    return Buffer.from(
      text.slice(0, at) + rng.pick(HOSTILE_NUMBERS) + text.slice(at + m[1].length),
      'latin1',
    );
  },
  entities: (b, rng) => {
    const text = b.toString('latin1');
    const bombed = insertAt(
      b,
      afterDecl(text),
      BILLION_LAUGHS.replace(/^<\?xml[^>]*\?>\n/, afterDecl(text) ? '' : '$&'),
    );
    const t2 = bombed.toString('latin1');
    const at = contentOf(t2, rng.pick(['name', 'filename', 'pose']), rng);
    return at === undefined ? bombed : insertAt(bombed, at, '&lol9;');
  },
  externalDtd: (b, rng) => {
    const text = b.toString('latin1');
    const withDtd = insertAt(b, afterDecl(text), rng.pick(EXTERNAL_DTDS));
    const at = contentOf(withDtd.toString('latin1'), 'name', rng);
    return at === undefined || rng.bool() ? withDtd : insertAt(withDtd, at, '&xxe;');
  },
  nonUtf8: (b, rng) => {
    const text = b.toString('latin1');
    switch (rng.int(0, 4)) {
      case 0: {
        const at = contentOf(text, 'name', rng) ?? rng.int(0, b.length);
        return insertAt(b, at, Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xe9, 0x80]));
      }
      case 1: // UTF-16LE with a BOM, sometimes cut to an odd length
        return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]).subarray(
          0,
          rng.bool() ? undefined : -1,
        );
      case 2: // a declared encoding nobody has
        return Buffer.from(
          `<?xml version="1.0" encoding="${rng.pick(['EBCDIC-XYZ', 'x-unknown', 'UTF-7', 'ISO-8859-1', 'Shift_JIS'])}"?>\n${text.replace(/^\s*<\?xml[^>]*\?>/, '')}`,
          'latin1',
        );
      case 3: // a UTF-8 BOM followed by Latin-1 bytes
        return Buffer.concat([
          Buffer.from([0xef, 0xbb, 0xbf]),
          Buffer.from(text.replace(/cat|dog|person/g, 'Müller'), 'latin1'),
        ]);
      default: // overlong encodings and lone surrogates
        return insertAt(b, rng.int(0, b.length), Buffer.from([0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xf8, 0x88]));
    }
  },
  hugeText: (b, rng) => {
    const text = b.toString('latin1');
    const tag = rng.pick(['name', 'pose', 'folder', 'note', 'filename']);
    const at = contentOf(text, tag === 'note' ? 'object' : tag, rng) ?? contentOf(text, 'annotation', rng);
    if (at === undefined) return b;
    const big = 'A'.repeat(10 * 1024 * 1024);
    return insertAt(b, at, tag === 'note' ? `<note>${big}</note>` : big);
  },
  nestObject: (b, rng) => {
    const text = b.toString('latin1');
    const objects = spans(text, 'object');
    if (objects.length === 0) return b;
    const [s, e] = rng.pick(objects);
    const inner = text.slice(s, e);
    const closeAt = e - '</object>'.length;
    return Buffer.from(text.slice(0, closeAt) + inner + text.slice(closeAt), 'latin1');
  },
  deepNest: (b, rng) => {
    const depth = rng.pick([63, 65, 1000, 100_000]);
    const at = contentOf(b.toString('latin1'), 'annotation', rng);
    return at === undefined ? b : insertAt(b, at, `${'<x>'.repeat(depth)}${'</x>'.repeat(depth)}`);
  },
  junk: (b, rng) => {
    let out = b;
    for (let k = rng.int(1, 4); k > 0; k--) {
      out = insertAt(
        out,
        rng.int(0, out.length),
        rng.pick([
          '<',
          '>',
          '&',
          ']]>',
          '<?',
          '<!--',
          '<![CDATA[',
          '&#0;',
          '&#xFFFE;',
          '\u0000',
          '</annotation>',
          '<annotation>',
          '"',
          '&amp',
          '&#99999999;',
        ]),
      );
    }
    return out;
  },
  manyObjects: (b, rng) => {
    const text = b.toString('latin1');
    const objects = spans(text, 'object');
    if (objects.length === 0) return b;
    const [s, e] = rng.pick(objects);
    const copies = Math.max(1, Math.min(rng.int(1000, 5000), Math.floor(MAX_GROWTH / (e - s))));
    return Buffer.from(text.slice(0, e) + text.slice(s, e).repeat(copies) + text.slice(e), 'latin1');
  },
  empty: (_b, rng) => Buffer.from(rng.pick(['', ' ', '\n\n', '\uFEFF', '<?xml version="1.0"?>'])),
  swapRoot: (b, rng) =>
    Buffer.from(
      b
        .toString('latin1')
        .replace(/annotation/g, rng.pick(['annotations', 'svg', 'Annotation', 'a:annotation'])),
      'latin1',
    ),
};

/** How often each mutator is drawn (relative): the 10 MB ones and the 5,000-object one are rarer. */
const XML_WEIGHTS: [string, number][] = [
  ['truncate', 10],
  ['flip', 14],
  ['duplicate', 10],
  ['delete', 10],
  ['number', 12],
  ['entities', 4],
  ['externalDtd', 4],
  ['nonUtf8', 8],
  ['hugeText', 1],
  ['nestObject', 5],
  ['deepNest', 2],
  ['junk', 8],
  ['manyObjects', 1],
  ['empty', 2],
  ['swapRoot', 2],
];

function weighted(rng: Random, table: readonly [string, number][]): string {
  const total = table.reduce((s, [, w]) => s + w, 0);
  let u = rng.next() * total;
  for (const [name, w] of table) {
    u -= w;
    if (u < 0) return name;
  }
  return table[table.length - 1][0];
}

// ---- Image kinds ----------------------------------------------------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A PNG whose IHDR (CRC fixed up) claims another size than its pixel data holds. */
function pngClaiming(png: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(png);
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

/** A JPEG whose SOF marker claims another size. */
function jpegClaiming(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  for (let i = 2; i + 9 < out.length; ) {
    if (out[i] !== 0xff) break;
    const marker = out[i + 1];
    const len = out.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xc2) {
      out.writeUInt16BE(height, i + 5);
      out.writeUInt16BE(width, i + 7);
      return out;
    }
    i += 2 + len;
  }
  return out;
}

function truncated(buf: Buffer, rng: Random): Buffer {
  return buf.subarray(0, rng.int(8, Math.floor(buf.length * 0.9)));
}

function flipped(buf: Buffer, rng: Random): Buffer {
  const out = Buffer.from(buf);
  for (let k = rng.int(1, 6); k > 0; k--) out[rng.int(0, out.length - 1)] ^= rng.int(1, 255);
  return out;
}

type ImageKind = (a: Assets, rng: Random) => { ext: string; data: Buffer; expect: FuzzCase['expect'] };

const IMAGE_KINDS: Record<string, ImageKind> = {
  'bomb-png': (a) => ({ ext: 'png', data: a.bombPng, expect: 'refuse' }),
  'bomb-png-header': (a, rng) => ({
    ext: 'png',
    data: pngClaiming(rng.pick(a.png), 100_000, 100_000),
    expect: 'refuse',
  }),
  'bomb-jpeg-header': (a, rng) => ({
    ext: 'jpg',
    data: jpegClaiming(rng.pick(a.jpeg), 65_000, 65_000),
    expect: 'refuse',
  }),
  'lying-png-header': (a, rng) => ({
    ext: 'png',
    data: pngClaiming(rng.pick(a.png), 400, 300),
    expect: 'refuse',
  }),
  'bomb-bmp-header': (a) => {
    const b = Buffer.from(a.bmp.subarray(0, 54));
    b.writeInt32LE(60_000, 18);
    b.writeInt32LE(60_000, 22);
    return { ext: 'bmp', data: b, expect: 'refuse' };
  },
  'rle-bmp': (a) => {
    const b = Buffer.from(a.bmp);
    b.writeUInt32LE(1, 30);
    return { ext: 'bmp', data: b, expect: 'refuse' };
  },
  'truncated-bmp': (a, rng) => ({ ext: 'bmp', data: truncated(a.bmp, rng), expect: 'refuse' }),
  'truncated-jpeg': (a, rng) => ({ ext: 'jpg', data: truncated(rng.pick(a.jpeg), rng), expect: 'refuse' }),
  'truncated-png': (a, rng) => ({ ext: 'png', data: truncated(rng.pick(a.png), rng), expect: 'refuse' }),
  'flipped-jpeg': (a, rng) => ({ ext: 'jpg', data: flipped(rng.pick(a.jpeg), rng), expect: 'either' }),
  'flipped-png': (a, rng) => ({ ext: 'png', data: flipped(rng.pick(a.png), rng), expect: 'either' }),
  'zero-byte': (_a, rng) => ({
    ext: rng.pick(['jpg', 'png', 'bmp']),
    data: Buffer.alloc(0),
    expect: 'refuse',
  }),
  'text-as-jpg': (_a, rng) => ({
    ext: 'jpg',
    data: Buffer.from(rng.pick(['hello', '<html></html>', 'GIF8', '\x89PNG\r\n', 'BM'])),
    expect: 'refuse',
  }),
  'png-as-jpg': (a, rng) => ({ ext: 'jpg', data: rng.pick(a.png), expect: 'accept' }),
  'cmyk-jpeg': (a) => ({ ext: 'jpg', data: a.cmykJpeg, expect: 'accept' }),
  'png-16bit': (a) => ({ ext: 'png', data: a.png16, expect: 'accept' }),
  'exif-rotated-jpeg': (a) => ({ ext: 'jpg', data: a.exifJpeg, expect: 'accept' }),
  'grey-alpha-png': (a) => ({ ext: 'png', data: a.greyAlphaPng, expect: 'accept' }),
  'palette-png': (a) => ({ ext: 'png', data: a.palettePng, expect: 'accept' }),
  'interlaced-png': (a) => ({ ext: 'png', data: a.interlacedPng, expect: 'accept' }),
  'progressive-jpeg': (a) => ({ ext: 'jpg', data: a.progressiveJpeg, expect: 'accept' }),
  tiff: (a) => ({ ext: 'tif', data: a.tiff, expect: 'accept' }),
  gif: (a) => ({ ext: 'gif', data: a.gif, expect: 'accept' }),
  webp: (a) => ({ ext: 'webp', data: a.webp, expect: 'accept' }),
  bmp: (a) => ({ ext: 'bmp', data: a.bmp, expect: 'accept' }),
};

/** A valid annotation for the image cases (so only the image is hostile). */
function validXml(): Buffer {
  return Buffer.from(
    formatVoc({
      filename: 'a.png',
      size: { width: IMAGE_W, height: IMAGE_H, depth: 3 },
      objects: [{ name: 'cat', box: { x0: 2, y0: 3, x1: 20, y1: 15 } }],
    }),
  );
}

/** Kinds that must be drawn at least once in any run of `count` ≥ their number (cases 0.. cover them in turn). */
export const XML_MUTATOR_NAMES = Object.keys(XML_MUTATORS);
export const IMAGE_KIND_NAMES = Object.keys(IMAGE_KINDS);

/**
 * Case `index` of the run seeded `seed`. Three in four cases mutate a VOC file, one in four breaks an image;
 * the first cases walk through every mutator and image kind once, so even a short run covers them all. Half
 * of the cases carry a healthy companion pair, so both the "some files skipped" and the "nothing could be
 * read" paths of the importer are taken.
 */
export function makeCase(seed: number, index: number, assets: Assets): FuzzCase {
  const rng = new Random(`${seed}/${index}`);
  const files: FuzzFile[] = [];
  if (rng.bool()) {
    files.push({ rel: 'good.png', data: assets.png[0] });
    files.push({ rel: 'good.xml', data: validXml() });
  }
  const intro = XML_MUTATOR_NAMES.length + IMAGE_KIND_NAMES.length;
  const imageCase = index < intro ? index >= XML_MUTATOR_NAMES.length : rng.bool(0.25);
  if (imageCase) {
    const name =
      index < intro ? IMAGE_KIND_NAMES[index - XML_MUTATOR_NAMES.length] : rng.pick(IMAGE_KIND_NAMES);
    const made = IMAGE_KINDS[name](assets, rng);
    files.push({ rel: `a.${made.ext}`, data: made.data });
    files.push({ rel: 'a.xml', data: validXml() });
    return { index, kind: `image:${name}`, files, subjects: [`a.${made.ext}`], expect: made.expect };
  }
  const names: string[] = [];
  if (index < XML_MUTATOR_NAMES.length) names.push(XML_MUTATOR_NAMES[index]);
  else for (let k = rng.int(1, 3); k > 0; k--) names.push(weighted(rng, XML_WEIGHTS));
  // The 10 MB and 5,000-object mutations once per document at most: two would only repeat the same test slower.
  const unique = names.filter((m, i) => !(['hugeText', 'manyObjects'].includes(m) && names.indexOf(m) !== i));
  let doc = rng.pick(assets.xml);
  for (const m of unique) doc = XML_MUTATORS[m](doc, rng);
  files.push({ rel: 'a.png', data: rng.pick(assets.png) });
  files.push({ rel: 'a.xml', data: doc });
  return { index, kind: `xml:${unique.join('+')}`, files, subjects: ['a.xml'], expect: 'either' };
}
