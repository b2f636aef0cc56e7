/**
 * Per-pixel masks of an image: VOC class segmentations, region masks, and "should highlight" masks people paint
 * to say where an explanation ought to look. One mask per (image, kind, source); putting again replaces it.
 * Small masks live in the database as PNG; large ones can stay as files next to the dataset (relPath).
 */
import { nonEmptyText, positiveInt, type StoreContext } from './context.js';
import { type Source, sourceFromRow, sourceParams } from './source.js';

export type MaskKind = 'class' | 'region' | 'should-highlight';
export const MASK_KINDS: readonly MaskKind[] = ['class', 'region', 'should-highlight'];

export type MaskContent = { png: Buffer } | { relPath: string };

export interface MaskInput {
  imageId: number;
  source: Source;
  kind: MaskKind;
  content: MaskContent;
  width: number;
  height: number;
}

export interface MaskRecord {
  id: number;
  imageId: number;
  source: Source;
  kind: MaskKind;
  content: MaskContent;
  width: number;
  height: number;
  createdAt: string;
  updatedAt: string;
}

interface Row {
  id: number;
  image_id: number;
  source_kind: string;
  annotator_id: number | null;
  kind: MaskKind;
  png: Buffer | null;
  rel_path: string | null;
  width: number;
  height: number;
  created_at: string;
  updated_at: string;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function toMask(r: Row): MaskRecord {
  return {
    id: r.id,
    imageId: r.image_id,
    source: sourceFromRow(r.source_kind, r.annotator_id),
    kind: r.kind,
    content: r.png !== null ? { png: r.png } : { relPath: r.rel_path! },
    width: r.width,
    height: r.height,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface MasksApi {
  put(input: MaskInput): MaskRecord;
  get(imageId: number, kind: MaskKind, source: Source): MaskRecord | undefined;
  /** Every mask of an image, all kinds and sources. */
  list(imageId: number): MaskRecord[];
  delete(id: number): void;
}

export function masksApi(ctx: StoreContext): MasksApi {
  const get = (imageId: number, kind: MaskKind, source: Source) => {
    const [sk, annotator] = sourceParams(source, 'masks.get');
    const r = ctx.get<Row>(
      'SELECT * FROM masks WHERE image_id = ? AND kind = ? AND source_kind = ? AND annotator_id IS NOT DISTINCT FROM ?',
      imageId,
      kind,
      sk,
      annotator,
    );
    return r && toMask(r);
  };
  return {
    put(input) {
      const where = `mask of image ${input.imageId}`;
      positiveInt(input.imageId, `${where}: imageId`);
      if (!MASK_KINDS.includes(input.kind))
        throw new Error(`${where}: kind must be one of ${MASK_KINDS.join(', ')}`);
      const [sk, annotator] = sourceParams(input.source, where);
      positiveInt(input.width, `${where}: width`);
      positiveInt(input.height, `${where}: height`);
      if (input.content === null || typeof input.content !== 'object') {
        throw new Error(`${where}: content must be { png: Buffer } or { relPath: string }`);
      }
      let png: Buffer | null = null;
      let relPath: string | null = null;
      if ('png' in input.content) {
        png = input.content.png;
        if (!Buffer.isBuffer(png) || !png.subarray(0, 8).equals(PNG_SIGNATURE)) {
          throw new Error(`${where}: content.png is not a PNG file (its signature is missing)`);
        }
      } else {
        relPath = nonEmptyText(input.content.relPath, `${where}: content.relPath`);
      }
      return ctx.tx(() => {
        if (ctx.get('SELECT 1 FROM images WHERE id = ?', input.imageId) === undefined) {
          throw new Error(`${where}: no image with id ${input.imageId} in ${ctx.file}`);
        }
        const now = ctx.now();
        const old = get(input.imageId, input.kind, input.source);
        if (old === undefined) {
          ctx.insert(
            `INSERT INTO masks (image_id, source_kind, annotator_id, kind, png, rel_path, width, height, created_at,
               updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            input.imageId,
            sk,
            annotator,
            input.kind,
            png,
            relPath,
            input.width,
            input.height,
            now,
            now,
          );
        } else {
          ctx.run(
            'UPDATE masks SET png = ?, rel_path = ?, width = ?, height = ?, updated_at = ? WHERE id = ?',
            png,
            relPath,
            input.width,
            input.height,
            now,
            old.id,
          );
        }
        return get(input.imageId, input.kind, input.source)!;
      });
    },
    get,
    list(imageId) {
      return ctx.all<Row>('SELECT * FROM masks WHERE image_id = ? ORDER BY kind, id', imageId).map(toMask);
    },
    delete(id) {
      ctx.tx(() => ctx.run('DELETE FROM masks WHERE id = ?', id));
    },
  };
}
