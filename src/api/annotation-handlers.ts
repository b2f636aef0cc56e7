/**
 * The annotation methods of the contract (issue 6 §1): people draw boxes and paint region masks in the
 * workbench, and those marks later supervise the explainer. Each mutating method is exactly one store transaction
 * (the store's own `tx`), and its answer is the record as stored: the renderer counts a change as saved only when
 * that answer arrives.
 *
 * Ground truth is read-only here (it is replaced by re-importing the dataset); annotators' boxes are soft-deleted
 * so undo is a restore.
 */
import sharp, { type OutputInfo } from 'sharp';
import type { Box, VocObject } from '../data/types.js';
import { encodeGreyPng } from '../review/png.js';
import { type ImageRecord, type MaskRecord, StaleWriteError, type StoredObject } from '../store/index.js';
import {
  type AnnotationMaskKind,
  type AnnotationsListView,
  type AnnotationView,
  ApiError,
  type MaskMetaView,
} from './contract.js';
import type { XwbService } from './service.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Clamps a box to the image and checks what is left is not empty. Clamping (rather than refusing) lets a drag that
 * overshoots the border still save what the person sees; an empty remainder is a mistake worth naming.
 */
export function clampBoxToImage(box: Box, width: number, height: number, field = 'box'): Box {
  const cx = (v: number) => Math.min(width, Math.max(0, v));
  const cy = (v: number) => Math.min(height, Math.max(0, v));
  if (box.x1 < box.x0 || box.y1 < box.y0) {
    throw new ApiError(
      `${field}: {x0: ${box.x0}, y0: ${box.y0}, x1: ${box.x1}, y1: ${box.y1}} has x1 < x0 or y1 < y0; ` +
        'boxes are pixel-edge coordinates with x0 < x1 and y0 < y1',
      400,
      field,
    );
  }
  const out = { x0: cx(box.x0), y0: cy(box.y0), x1: cx(box.x1), y1: cy(box.y1) };
  if (!(out.x1 > out.x0 && out.y1 > out.y0)) {
    throw new ApiError(
      `${field}: {x0: ${box.x0}, y0: ${box.y0}, x1: ${box.x1}, y1: ${box.y1}} is empty once clamped to the ` +
        `${width}×${height} image; draw it inside the image`,
      400,
      field,
    );
  }
  return out;
}

export function annotationView(s: StoredObject): AnnotationView {
  const b = s.object.box;
  return {
    id: s.id,
    imageId: s.imageId,
    annotator: s.source.kind === 'annotator' ? s.source.annotatorId : null,
    className: s.object.name,
    x0: b.x0,
    y0: b.y0,
    x1: b.x1,
    y1: b.y1,
    difficult: s.object.difficult ?? false,
    deleted: s.deletedAt !== null,
    updatedAt: s.updatedAt,
    version: s.version,
  };
}

function maskMeta(m: MaskRecord): MaskMetaView {
  return {
    id: m.id,
    imageId: m.imageId,
    annotator: m.source.kind === 'annotator' ? m.source.annotatorId : null,
    kind: m.kind,
    width: m.width,
    height: m.height,
    updatedAt: m.updatedAt,
  };
}

/**
 * Width and height from a PNG's IHDR chunk, which the format requires first, right after the signature:
 * bytes 8..11 length (13), 12..15 "IHDR", 16..19 width, 20..23 height, big-endian.
 */
export function pngSize(png: Buffer, field = 'png'): { width: number; height: number } {
  if (png.length < 24 || png.readUInt32BE(8) !== 13 || png.toString('latin1', 12, 16) !== 'IHDR') {
    throw new ApiError(`${field}: the PNG has no IHDR header chunk (truncated or not a PNG)`, 400, field);
  }
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  if (width === 0 || height === 0) {
    throw new ApiError(`${field}: the PNG header says ${width}×${height} pixels`, 400, field);
  }
  return { width, height };
}

/**
 * A PNG → one bit per pixel (1 = on). Accepted: one grey channel (on where > 0, so 0/1 and 0/255 masks both work)
 * or an alpha channel (grey+alpha or RGBA: on where alpha > 0, what a canvas painted with any colour gives).
 */
export async function decodeBinaryMask(
  png: Buffer,
  field = 'png',
  expected?: { width: number; height: number; what: string },
): Promise<{ bits: Uint8Array; width: number; height: number }> {
  if (!png.subarray(0, 8).equals(PNG_SIGNATURE)) {
    throw new ApiError(
      `${field}: not a PNG file (its signature is missing); send base64 of a PNG`,
      400,
      field,
    );
  }
  // The size comes from the header, before any pixel is decoded: a few hundred KiB of PNG can inflate to
  // gigabytes, so a mask that does not match its image is refused without decompressing it.
  const header = pngSize(png, field);
  if (expected && (header.width !== expected.width || header.height !== expected.height)) {
    throw new ApiError(
      `${field}: the PNG is ${header.width}×${header.height} but ${expected.what} is ` +
        `${expected.width}×${expected.height}; paint it at the image size`,
      400,
      field,
    );
  }
  // Also a cap for callers without an expected size (masks read back from the store): sharp refuses to
  // decode more pixels than the header promised.
  const limitInputPixels = Math.max(1, header.width * header.height);
  let decoded: { data: Buffer; info: OutputInfo };
  let stored: { channels?: number; hasAlpha?: boolean };
  try {
    stored = await sharp(png, { limitInputPixels }).metadata();
    decoded = await sharp(png, { limitInputPixels }).raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new ApiError(`${field}: the PNG cannot be decoded (${(e as Error).message})`, 400, field);
  }
  // sharp decodes grey as sRGB (3 equal bands): what the file stores decides which band is the mask.
  if (!stored.hasAlpha && stored.channels !== 1) {
    throw new ApiError(
      `${field}: a mask must have one grey channel or an alpha channel; this PNG has ${stored.channels} channels ` +
        '(colour without alpha is ambiguous)',
      400,
      field,
    );
  }
  const { data, info } = decoded;
  const c = info.channels;
  const n = info.width * info.height;
  const bits = new Uint8Array(n);
  const at = stored.hasAlpha ? c - 1 : 0;
  for (let i = 0; i < n; i++) bits[i] = data[i * c + at] > 0 ? 1 : 0;
  return { bits, width: info.width, height: info.height };
}

/** A change based on a version someone else replaced: 409, and the store wrote nothing. */
function optimistic(write: () => StoredObject): AnnotationView {
  try {
    return annotationView(write());
  } catch (e) {
    if (e instanceof StaleWriteError) throw new ApiError(e.message, 409, 'version');
    throw e;
  }
}

function countOn(bits: Uint8Array): number {
  let k = 0;
  for (const v of bits) k += v;
  return k;
}

export function registerAnnotationHandlers(service: XwbService): void {
  const store = service.store;

  const image = (imageId: number): ImageRecord => {
    const im = store.images.get(imageId);
    if (!im) throw new ApiError(`no image ${imageId} in ${store.path}`, 404, 'imageId');
    return im;
  };
  const annotator = (raterId: number) => {
    const r = store.ratings.getRater(raterId);
    if (!r) {
      throw new ApiError(
        `no annotator ${raterId} in ${store.path}; call annotator.set with your name first`,
        404,
        'annotator',
      );
    }
    return r;
  };
  /** An annotator's box, live unless `allowDeleted`; ground truth is refused with what to do instead. */
  const editable = (id: number, allowDeleted: boolean): StoredObject => {
    const o = store.objects.get(id);
    if (!o) throw new ApiError(`no annotation ${id} in ${store.path}`, 404, 'id');
    if (o.source.kind === 'gt') {
      throw new ApiError(
        `annotation ${id} is the dataset's ground truth, which is read-only here; re-import the dataset to change it`,
        409,
        'id',
      );
    }
    if (!allowDeleted && o.deletedAt !== null) {
      throw new ApiError(`annotation ${id} is deleted; restore it first`, 409, 'id');
    }
    return o;
  };

  service.register('annotator.set', async (req) => {
    const r = store.ratings.ensureRater(req.name);
    return { id: r.id, name: r.name };
  });

  service.register('annotations.list', async (req, { caller }): Promise<AnnotationsListView> => {
    const im = image(req.imageId);
    const dataset = store.datasets.getById(im.datasetId);
    // A reviewer works alone: the ground truth and their own marks, not another reviewer's (which would bias them).
    const own = caller.role === 'reviewer' ? caller.account.raterId : null;
    const visible = (annotator: number | null) => own === null || annotator === null || annotator === own;
    const objects = store.objects
      .list(im.id)
      .filter((o) => visible(o.source.kind === 'annotator' ? o.source.annotatorId : null));
    // Ground truth first, as the viewer draws it underneath.
    const boxes = [
      ...objects.filter((o) => o.source.kind === 'gt'),
      ...objects.filter((o) => o.source.kind !== 'gt'),
    ].map(annotationView);
    const masks = store.masks
      .list(im.id)
      .map(maskMeta)
      .filter((m) => visible(m.annotator));
    // A binary "contains X" dataset's classes are image labels (`no-X`, `X`); a box is only ever an X.
    const target = dataset?.targetClass ?? null;
    const classes = target ? [target] : [...(dataset?.classes ?? [])];
    for (const b of boxes) if (!classes.includes(b.className)) classes.push(b.className);
    const ids = new Set<number>();
    for (const x of [...boxes, ...masks]) if (x.annotator !== null) ids.add(x.annotator);
    const annotators = [...ids]
      .sort((a, b) => a - b)
      .map((i) => ({ id: i, name: store.ratings.getRater(i)?.name ?? `annotator ${i}` }));
    return { imageId: im.id, width: im.width, height: im.height, classes, annotators, boxes, masks };
  });

  service.register('annotations.add', async (req) => {
    const im = image(req.imageId);
    annotator(req.annotator);
    const object: VocObject = {
      name: req.className,
      box: clampBoxToImage(req.box, im.width, im.height),
      difficult: req.difficult,
    };
    return annotationView(store.objects.addAnnotation(im.id, req.annotator, object, req.clientKey));
  });

  service.register('annotations.update', async (req) => {
    const old = editable(req.id, false);
    const im = image(old.imageId);
    // Keep what this form does not edit (pose, parts, attributes a tool wrote).
    const object: VocObject = {
      ...old.object,
      name: req.className,
      box: clampBoxToImage(req.box, im.width, im.height),
      difficult: req.difficult,
    };
    return optimistic(() => store.objects.updateAnnotation(old.id, object, req.version));
  });

  service.register('annotations.delete', async (req) => {
    editable(req.id, true);
    return optimistic(() => store.objects.deleteAnnotation(req.id, req.version));
  });

  service.register('annotations.restore', async (req) => {
    editable(req.id, true);
    return optimistic(() => store.objects.restoreAnnotation(req.id, req.version));
  });

  service.register('masks.put', async (req) => {
    const im = image(req.imageId);
    annotator(req.annotator);
    if (req.width !== im.width || req.height !== im.height) {
      throw new ApiError(
        `width/height: the mask is ${req.width}×${req.height} but image ${im.id} is ${im.width}×${im.height}; ` +
          'paint masks at the image size',
        400,
        'width',
      );
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(req.png)) {
      throw new ApiError(
        'png: not base64 (send the PNG bytes base64-encoded, without a data: prefix)',
        400,
        'png',
      );
    }
    const decoded = await decodeBinaryMask(Buffer.from(req.png, 'base64'), 'png', {
      width: im.width,
      height: im.height,
      what: `image ${im.id}`,
    });
    if (decoded.width !== im.width || decoded.height !== im.height) {
      throw new ApiError(
        `png: the PNG is ${decoded.width}×${decoded.height} but image ${im.id} is ${im.width}×${im.height}`,
        400,
        'png',
      );
    }
    // Stored as 8-bit grey 0/255 whatever came in, so every reader (training's > 127 test) sees the same mask.
    const grey = new Uint8Array(decoded.bits.length);
    for (let i = 0; i < grey.length; i++) grey[i] = decoded.bits[i] * 255;
    const rec = store.masks.put({
      imageId: im.id,
      source: { kind: 'annotator', annotatorId: req.annotator },
      kind: req.kind,
      content: { png: encodeGreyPng(grey, im.width, im.height) },
      width: im.width,
      height: im.height,
    });
    return { ...maskMeta(rec), count: countOn(decoded.bits) };
  });

  service.register('masks.get', async (req) => {
    image(req.imageId);
    const kind: AnnotationMaskKind = req.kind;
    const rec = store.masks.get(req.imageId, kind, { kind: 'annotator', annotatorId: req.annotator });
    if (!rec) {
      throw new ApiError(
        `no ${kind} mask of annotator ${req.annotator} on image ${req.imageId}`,
        404,
        'kind',
      );
    }
    if (!('png' in rec.content)) {
      throw new ApiError(
        `the ${kind} mask of image ${req.imageId} is a file (${rec.content.relPath}), not stored in the database`,
        409,
        'kind',
      );
    }
    const decoded = await decodeBinaryMask(rec.content.png);
    return { ...maskMeta(rec), png: rec.content.png.toString('base64'), count: countOn(decoded.bits) };
  });
}
