/**
 * Reading PASCAL VOC annotation XML (LabelImg, CVAT/Datumaro, the VOC devkit and the many tools in between).
 *
 * Rules (documented here once; docs copy them):
 *
 * Fatal: the file is refused with a VocParseError whose message starts with the file path (and the line, where
 * one applies) when it cannot be read as a statement about one image:
 *   - it is not well-formed XML (including a truncated or empty file), or its root element is not <annotation>;
 *   - elements are nested more than 64 deep (no annotation needs that, and the readers of the tree recurse);
 *   - it contains a DOCTYPE (any DTD, so any entity declaration) or an entity reference other than &amp; &lt;
 *     &gt; &quot; &apos; and numeric character references. Entities are never expanded and nothing is ever
 *     fetched or read, which rules out XXE and entity bombs;
 *   - it has no <filename> and the caller named no image beside it (the importer always does: the file is then
 *     read as that image's annotation, with a warning, as a file whose <filename> names another image is);
 *   - an <object> / <part> has a <name> longer than 200 characters (class names are stored once and sent with
 *     every dataset listing; a longer one is not a class name);
 *   - an <object> / <part> has no <name> or no <bndbox>, or a <bndbox> lacks one of
 *     xmin, ymin, xmax, ymax. These are fatal rather than "warn and drop" because dropping an object can turn an
 *     image with a class into an image without it, which silently changes the labels a model is trained on;
 *   - a value that must be a number (a coordinate, a size field) is not one: "12", " 12.5 ", "1e2" and "-3" are
 *     numbers; "", "abc", "12,5", "0x10", "NaN", "Infinity" and "1e999" (not finite) are not.
 *
 * Repaired with a warning (DataWarning naming the file, the object's 0-based index in document order and its
 * name; for a part also the part's index and name). Boxes are judged in xwb's convention (src/data/types.ts:
 * x0 = xmin - 1, x1 = xmax), so "size" below means max - min + 1 in the file's numbers:
 *   - swapped fields (xmax < xmin - 1, likewise y): the two values are exchanged, as the tool evidently wrote
 *     them into the wrong fields; both still name inclusive pixels, so xmin 12, xmax 10 covers pixels 10..12;
 *   - an empty box (xmin = xmax + 1, likewise y: zero width or height): the object is dropped. Note that
 *     xmin = xmax is NOT empty: in VOC's inclusive convention it is a box one pixel wide, and it is kept;
 *   - when the image size is known: a box reaching beyond the image is clamped to it; a box with nothing left
 *     inside the image is dropped. Parts are clamped to the image (not to their object) and dropped parts do not
 *     drop their object;
 *   - <size> with a zero, negative or fractional width or height, or without width/height: the size is treated
 *     as unknown (`size` undefined) and the importer takes it from the image, then calls sanitizeBoxes;
 *   - a boolean (truncated, difficult, occluded, segmented, verified) that is not 0/1/true/false/yes/no (any
 *     case): ignored, left undefined;
 *   - an attribute name given twice (see below) keeps its first value;
 *   - a second <name>, <bndbox>, ... where one is expected: the first is used;
 *   - an <object> nested inside an <object> (VOC never nests them; <part> is the nested element): read as an
 *     object of its own, numbered in document order after its parent, so its class is not lost;
 *   - a <pose> or attribute value longer than 65,536 characters: dropped;
 *   - bytes that are not valid UTF-8 (and no other encoding declared): read as Windows-1252.
 *
 * Accepted silently: integer or fractional coordinates (fractions are kept), whitespace around values, a UTF-8
 * or UTF-16 byte-order mark, a declared legacy encoding, `<size>` missing altogether, depth missing, empty or 0
 * (taken as 3), files without objects, a `filename` without extension and a `path` naming another place (both
 * kept as written: the importer decides), unknown children of the root (VOC 2007's <owner>, ...) which are
 * ignored, comments and processing instructions. Empty optional text fields (folder, path, pose) read as absent.
 * Nothing a tool wrote about an object is lost: CVAT's <attributes><attribute><name>/<value> pairs and every
 * other child of <object> go into `attributes`, a plain value under its tag (`score`), nested ones flattened
 * with dotted keys (`actions.jumping`, `point.x`, repeated names indexed as `polygon.pt[0].x`).
 */

import { MAX_CLASS_NAME, MAX_TEXT_VALUE } from '../limits.js';
import type { DataWarning, ImageSize, VocAnnotation, VocObject, VocPart } from '../types.js';
import { type BoxFix, fixBox, fixVocBndbox, type ImageExtent } from './boxrules.js';
import type { VocBndbox } from './coords.js';
import { DecodeError, decodeXmlBytes, stripBom } from './decode.js';
import { childrenNamed, parseXmlTree, type XmlElement, XmlSyntaxError } from './xmltree.js';

/** A file that cannot be read at all. The message starts with the file path and says what to fix. */
export class VocParseError extends Error {
  readonly file: string;
  /** 1-based line in the file, when the problem has one. */
  readonly line?: number;
  constructor(file: string, problem: string, line?: number) {
    super(line === undefined ? `${file}: ${problem}` : `${file}:${line}: ${problem}`);
    this.name = 'VocParseError';
    this.file = file;
    this.line = line;
  }
}

export interface VocReadResult {
  annotation: VocAnnotation;
  warnings: DataWarning[];
}

/** Depth assumed when a file does not say: VOC images and nearly every annotated photo are RGB. */
const DEFAULT_DEPTH = 3;

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const TRUE_WORDS = new Set(['1', 'true', 'yes']);
const FALSE_WORDS = new Set(['0', 'false', 'no']);
const OBJECT_FIELDS = new Set([
  'name',
  'pose',
  'truncated',
  'difficult',
  'occluded',
  'bndbox',
  'part',
  'attributes',
  'object', // nested objects are read as objects of their own (objectElements)
]);
const COORDS = ['xmin', 'ymin', 'xmax', 'ymax'] as const;

export interface ParseVocOptions {
  /**
   * The image the file sits beside (the importer pairs them by stem). A file without <filename> is then read
   * as being about this image, with a warning, instead of being refused.
   */
  imageName?: string;
}

export function parseVoc(xml: string | Buffer, file: string, opts: ParseVocOptions = {}): VocReadResult {
  if (typeof file !== 'string' || file === '') throw new TypeError('parseVoc: a file name is required');
  const warnings: DataWarning[] = [];
  let text: string;
  if (typeof xml === 'string') {
    text = stripBom(xml);
  } else if (Buffer.isBuffer(xml)) {
    try {
      const decoded = decodeXmlBytes(xml);
      text = stripBom(decoded.text);
      if (decoded.warning) warnings.push({ file, message: decoded.warning });
    } catch (err) {
      if (err instanceof DecodeError) throw new VocParseError(file, err.message);
      throw err;
    }
  } else {
    throw new TypeError(`parseVoc: the content of ${file} must be a string or a Buffer`);
  }
  const root = readTree(text, file);
  return { annotation: new Reader(file, warnings, opts.imageName).annotation(root), warnings };
}

/**
 * Applies the box rules to an annotation once the real image size is known (when the file had no usable
 * `<size>` or it disagrees with the image). Returns a new annotation whose `size` is the given one (depth from
 * `size.depth`, else the file's, else 3); warns once when the file stated a different size, so the caller need
 * not. Object indices in the warnings are positions in `ann.objects`.
 */
export function sanitizeBoxes(
  ann: VocAnnotation,
  size: { width: number; height: number; depth?: number },
  file: string,
): VocReadResult {
  const { width, height } = size;
  if (!isPositiveInteger(width) || !isPositiveInteger(height)) {
    throw new RangeError(
      `sanitizeBoxes: the image size of ${file} must be positive integers, got ${width}×${height}`,
    );
  }
  const depth = size.depth ?? ann.size?.depth ?? DEFAULT_DEPTH;
  if (!isPositiveInteger(depth))
    throw new RangeError(`sanitizeBoxes: the depth of ${file} must be a positive integer`);
  const warnings: DataWarning[] = [];
  if (ann.size && (ann.size.width !== width || ann.size.height !== height)) {
    warnings.push({
      file,
      message:
        `the file gives the image size as ${ann.size.width}×${ann.size.height} but the image is ${width}×${height}; ` +
        'boxes were checked against the real size',
    });
  }
  const extent = { width, height };
  const objects: VocObject[] = [];
  ann.objects.forEach((o, i) => {
    const kept = applyFixes(o, i, (b) => fixBox(b, extent), file, warnings);
    if (kept) objects.push(kept);
  });
  return { annotation: { ...ann, size: { width, height, depth }, objects }, warnings };
}

function readTree(text: string, file: string): XmlElement {
  if (text.trim() === '') throw new VocParseError(file, 'the file is empty; expected PASCAL VOC XML');
  let root: XmlElement;
  try {
    root = parseXmlTree(text);
  } catch (err) {
    if (!(err instanceof XmlSyntaxError)) throw err;
    if (err.unsafe) throw new VocParseError(file, `refused: ${err.reason}`, err.line);
    const unclosed = /^unclosed tag: (.+)$/.exec(err.reason);
    const problem = unclosed
      ? `the file ends inside <${unclosed[1]}>; it looks truncated (re-export or restore it)`
      : `not well-formed XML (${err.reason}, column ${err.column}); expected PASCAL VOC XML`;
    throw new VocParseError(file, problem, err.line);
  }
  if (root.name !== 'annotation') {
    throw new VocParseError(
      file,
      `the root element is <${root.name}>, expected <annotation>: this is not a PASCAL VOC annotation`,
      root.line,
    );
  }
  return root;
}

function isPositiveInteger(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0;
}

/** An object whose boxes are still of type B (the file's raw numbers, or xwb boxes awaiting a re-check). */
type Boxed<B> = Omit<VocObject, 'box' | 'parts'> & { box: B; parts?: { name: string; box: B }[] };

/** Runs the box rules on an object and its parts; returns null when the object's own box is dropped. */
function applyFixes<B>(
  o: Boxed<B>,
  index: number,
  fix: (b: B) => BoxFix,
  file: string,
  warnings: DataWarning[],
): VocObject | null {
  const { box, parts, ...rest } = o;
  const who = `object ${index} ("${o.name}")`;
  const own = fix(box);
  for (const p of own.problems) warnings.push({ file, object: index, message: `${who}: ${p}` });
  if (!own.box) return null;
  const out: VocObject = { ...rest, box: own.box };
  if (parts) {
    const kept: VocPart[] = [];
    parts.forEach((part, j) => {
      const r = fix(part.box);
      for (const p of r.problems) {
        warnings.push({ file, object: index, message: `${who}, part ${j} ("${part.name}"): ${p}` });
      }
      if (r.box) kept.push({ name: part.name, box: r.box });
    });
    // Absent and empty mean the same; absent is what a file without parts reads as.
    if (kept.length > 0) out.parts = kept;
  }
  return out;
}

/** Reads one file's tree; holds the file name and the warnings so every helper can report. */
class Reader {
  /** The object being read, so that warnings about its fields carry its index. */
  private current: number | undefined;

  constructor(
    private readonly file: string,
    private readonly warnings: DataWarning[],
    private readonly imageName: string | undefined,
  ) {}

  annotation(root: XmlElement): VocAnnotation {
    let filename = this.text(root, 'filename', 'the annotation');
    if (filename === undefined || filename === '') {
      if (this.imageName === undefined) {
        throw new VocParseError(this.file, 'there is no <filename> naming the image; add one', root.line);
      }
      this.warn(`there is no <filename>; read as the annotation of ${this.imageName}, the image beside it`);
      filename = this.imageName;
    }
    const ann: VocAnnotation = { filename, objects: [] };
    const folder = this.text(root, 'folder', 'the annotation');
    if (folder) ann.folder = folder;
    const path = this.text(root, 'path', 'the annotation');
    if (path) ann.path = path;
    const source = this.one(root, 'source', 'the annotation');
    if (source) {
      ann.source = {};
      for (const key of ['database', 'annotation', 'image'] as const) {
        const v = this.text(source, key, '<source>');
        if (v) ann.source[key] = v;
      }
    }
    const sizeEl = this.one(root, 'size', 'the annotation');
    if (sizeEl) {
      const size = this.size(sizeEl);
      if (size) ann.size = size;
    }
    const segmented = this.bool(root, 'segmented', 'the annotation');
    if (segmented !== undefined) ann.segmented = segmented;
    if (root.attributes.verified !== undefined) {
      const v = this.word(root.attributes.verified, 'the verified attribute of <annotation>');
      if (v !== undefined) ann.verified = v;
    }
    const extent = ann.size ? { width: ann.size.width, height: ann.size.height } : undefined;
    objectElements(root).forEach(({ el, parent }, i) => {
      this.current = i;
      if (parent !== undefined) {
        this.warn(
          `an <object> (line ${el.line}) is nested inside the <object> of line ${parent.line}; ` +
            `VOC objects are not nested, so it is read as object ${i} of its own`,
        );
      }
      const o = this.object(el, i, extent);
      this.current = undefined;
      if (o) ann.objects.push(o);
    });
    return ann;
  }

  private size(el: XmlElement): ImageSize | undefined {
    const width = this.number(el, 'width', '<size>', false);
    const height = this.number(el, 'height', '<size>', false);
    const depth = this.number(el, 'depth', '<size>', false);
    if (width === undefined || height === undefined) {
      this.warn(
        `<size> (line ${el.line}) has no ${width === undefined ? '<width>' : '<height>'}; ` +
          'the size will be taken from the image',
      );
      return undefined;
    }
    if (width === 0 && height === 0) {
      this.warn(
        `<size> (line ${el.line}) is 0×0, which means unknown; the size will be taken from the image`,
      );
      return undefined;
    }
    if (!isPositiveInteger(width) || !isPositiveInteger(height)) {
      this.warn(
        `<size> (line ${el.line}) gives ${width}×${height}, which is not an image size; ` +
          'the size will be taken from the image',
      );
      return undefined;
    }
    let d = DEFAULT_DEPTH;
    if (depth !== undefined && depth !== 0) {
      if (isPositiveInteger(depth)) d = depth;
      else
        this.warn(`<depth> ${depth} (line ${el.line}) is not a channel count; ${DEFAULT_DEPTH} is assumed`);
    }
    return { width, height, depth: d };
  }

  private object(el: XmlElement, index: number, extent: ImageExtent | undefined): VocObject | null {
    const name = this.text(el, 'name', `object ${index}`);
    if (name === undefined || name === '') {
      throw new VocParseError(
        this.file,
        `object ${index} has no <name>; every object needs a class name (add it or remove the object)`,
        el.line,
      );
    }
    this.checkName(name, `object ${index}`, el.line);
    const who = `object ${index} ("${name}")`;
    const o: Boxed<VocBndbox> = { name, box: this.bndbox(el, who) };
    const pose = this.text(el, 'pose', who);
    if (pose && pose.length > MAX_TEXT_VALUE) {
      this.warn(`${who}: its <pose> is ${pose.length} characters long (at most ${MAX_TEXT_VALUE}); dropped`);
    } else if (pose) o.pose = pose;
    for (const key of ['truncated', 'difficult', 'occluded'] as const) {
      const v = this.bool(el, key, who);
      if (v !== undefined) o[key] = v;
    }
    const partEls = childrenNamed(el, 'part');
    if (partEls.length > 0) {
      o.parts = partEls.map((p, j) => {
        const partName = this.text(p, 'name', `${who}, part ${j}`);
        if (partName === undefined || partName === '') {
          throw new VocParseError(
            this.file,
            `${who}, part ${j} has no <name>; add it or remove the part`,
            p.line,
          );
        }
        this.checkName(partName, `${who}, part ${j}`, p.line);
        return { name: partName, box: this.bndbox(p, `${who}, part ${j} ("${partName}")`) };
      });
    }
    const attributes = this.attributes(el, who);
    if (Object.keys(attributes).length > 0) o.attributes = attributes;

    // The box rules see the file's own numbers so a swap is done in VOC's terms, then convert.
    return applyFixes(o, index, (b) => fixVocBndbox(b, extent), this.file, this.warnings);
  }

  /** The four numbers of the `<bndbox>` of `el`, as written in the file. */
  private bndbox(el: XmlElement, who: string): VocBndbox {
    const b = this.one(el, 'bndbox', who);
    if (!b) {
      throw new VocParseError(this.file, `${who} has no <bndbox>; add the box or remove the object`, el.line);
    }
    const v: VocBndbox = { xmin: 0, ymin: 0, xmax: 0, ymax: 0 };
    for (const c of COORDS) {
      const n = this.number(b, c, `the <bndbox> of ${who}`, true);
      if (n === undefined) {
        throw new VocParseError(this.file, `the <bndbox> of ${who} has no <${c}>; add it`, b.line);
      }
      v[c] = n;
    }
    return v;
  }

  private attributes(el: XmlElement, who: string): Record<string, string> {
    const out: Record<string, string> = {};
    const put = (key: string, value: string) => {
      if (key.length + value.length > MAX_TEXT_VALUE) {
        this.warn(
          `${who}: the attribute ${quote(key)} is ${key.length + value.length} characters long ` +
            `(at most ${MAX_TEXT_VALUE}); dropped`,
        );
      } else if (key in out)
        this.warn(`${who}: the attribute ${quote(key)} is given twice; the first value is kept`);
      else out[key] = value;
    };
    for (const block of childrenNamed(el, 'attributes')) {
      for (const a of block.children) {
        if (a.name !== 'attribute') {
          flatten(a, a.name, put);
          continue;
        }
        const key = this.text(a, 'name', `an <attribute> of ${who}`);
        if (!key) {
          this.warn(`${who}: an <attribute> (line ${a.line}) has no <name>; it is ignored`);
          continue;
        }
        put(key, this.text(a, 'value', `the attribute "${key}" of ${who}`) ?? '');
      }
    }
    for (const c of el.children) {
      if (!OBJECT_FIELDS.has(c.name)) flatten(c, c.name, put);
    }
    return out;
  }

  /** Class names are stored once and sent with every dataset listing: a name is a word, not a document. */
  private checkName(name: string, who: string, line: number): void {
    if (name.length <= MAX_CLASS_NAME) return;
    throw new VocParseError(
      this.file,
      `${who} has a <name> of ${name.length} characters (${quote(name)}); class names may have at most ` +
        `${MAX_CLASS_NAME}`,
      line,
    );
  }

  /** The trimmed text of the first child `name`; warns when there are several. */
  private text(el: XmlElement, name: string, where: string): string | undefined {
    return this.one(el, name, where)?.text.trim();
  }

  private one(el: XmlElement, name: string, where: string): XmlElement | undefined {
    const all = childrenNamed(el, name);
    if (all.length > 1) {
      this.warn(`${where} has ${all.length} <${name}> elements (line ${all[1].line}); the first is used`);
    }
    return all[0];
  }

  /** A numeric child; an empty element reads as absent unless `required`, when it is not a number. */
  private number(el: XmlElement, name: string, where: string, required: boolean): number | undefined {
    const c = this.one(el, name, where);
    if (!c) return undefined;
    const t = c.text.trim();
    if (t === '' && !required) return undefined;
    if (!NUMBER.test(t)) {
      throw new VocParseError(this.file, `<${name}> of ${where} is ${quote(t)}, not a number`, c.line);
    }
    const n = Number(t);
    if (!Number.isFinite(n)) {
      throw new VocParseError(
        this.file,
        `<${name}> of ${where} is ${quote(t)}, too large to be a pixel`,
        c.line,
      );
    }
    return n;
  }

  private bool(el: XmlElement, name: string, where: string): boolean | undefined {
    const c = this.one(el, name, where);
    if (!c) return undefined;
    const t = c.text.trim();
    return t === '' ? undefined : this.word(t, `<${name}> of ${where} (line ${c.line})`);
  }

  private word(raw: string, what: string): boolean | undefined {
    const t = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(t)) return true;
    if (FALSE_WORDS.has(t)) return false;
    this.warn(`${what} is ${quote(raw)}, not 0/1/true/false/yes/no; it is ignored`);
    return undefined;
  }

  private warn(message: string): void {
    const object = this.current;
    this.warnings.push(
      object === undefined ? { file: this.file, message } : { file: this.file, object, message },
    );
  }
}

/** A value quoted for a message, cut to a readable length (a hostile file can hold a 10 MB text node). */
function quote(text: string): string {
  return text.length <= 60
    ? JSON.stringify(text)
    : `${JSON.stringify(text.slice(0, 40))}… (${text.length} characters)`;
}

/**
 * The <object> elements of the annotation in document order: the root's, and any nested inside an <object>
 * (which VOC never writes, but some converters do; reading them keeps their classes in the image's labels).
 */
function objectElements(root: XmlElement): { el: XmlElement; parent?: XmlElement }[] {
  const out: { el: XmlElement; parent?: XmlElement }[] = [];
  const visit = (el: XmlElement, parent: XmlElement | undefined) => {
    out.push(parent ? { el, parent } : { el });
    for (const c of childrenNamed(el, 'object')) visit(c, el);
  };
  for (const el of childrenNamed(root, 'object')) visit(el, undefined);
  return out;
}

/** Writes an element's value(s) under dotted keys; repeated child names get an index. */
function flatten(el: XmlElement, key: string, put: (key: string, value: string) => void): void {
  if (el.children.length === 0) {
    put(key, el.text.trim());
    return;
  }
  const counts = new Map<string, number>();
  for (const c of el.children) counts.set(c.name, (counts.get(c.name) ?? 0) + 1);
  const seen = new Map<string, number>();
  for (const c of el.children) {
    const i = seen.get(c.name) ?? 0;
    seen.set(c.name, i + 1);
    flatten(c, (counts.get(c.name) ?? 0) > 1 ? `${key}.${c.name}[${i}]` : `${key}.${c.name}`, put);
  }
}
