import type { Box, VocAnnotation, VocObject } from '../types.js';
import { toVocBndbox } from './coords.js';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function el(indent: number, name: string, value: string | number): string {
  return `${'\t'.repeat(indent)}<${name}>${esc(String(value))}</${name}>\n`;
}

function bndbox(indent: number, obj: Pick<VocObject, 'box'>): string {
  const b = toVocBndbox(obj.box);
  const t = '\t'.repeat(indent);
  return (
    `${t}<bndbox>\n` +
    el(indent + 1, 'xmin', b.xmin) +
    el(indent + 1, 'ymin', b.ymin) +
    el(indent + 1, 'xmax', b.xmax) +
    el(indent + 1, 'ymax', b.ymax) +
    `${t}</bndbox>\n`
  );
}

/** An empty or inverted box would be written as one that readers swap or drop: refuse it here, at the source. */
function checkBox(filename: string, who: string, b: Box): void {
  if (![b.x0, b.y0, b.x1, b.y1].every(Number.isFinite) || b.x1 <= b.x0 || b.y1 <= b.y0) {
    throw new Error(
      `cannot write VOC XML for ${filename}: ${who} has an empty or invalid box ` +
        `(x0 ${b.x0}, y0 ${b.y0}, x1 ${b.x1}, y1 ${b.y1})`,
    );
  }
}

/**
 * Formats an annotation as PASCAL VOC XML in LabelImg's element order (folder, filename, path, source, size,
 * segmented, objects with name, pose, truncated, difficult, bndbox), integer 1-based coordinates, `depth` always
 * written. Optional extras (occluded, parts, attributes) follow the bndbox so LabelImg-style readers still find
 * what they expect first.
 */
export function formatVoc(ann: VocAnnotation): string {
  if (!ann.size) throw new Error(`cannot write VOC XML for ${ann.filename}: its image size is unknown`);
  ann.objects.forEach((o, i) => {
    checkBox(ann.filename, `object ${i} ("${o.name}")`, o.box);
    o.parts?.forEach((p, j) => {
      checkBox(ann.filename, `object ${i} ("${o.name}"), part ${j} ("${p.name}")`, p.box);
    });
  });
  let s = '<?xml version="1.0" encoding="utf-8"?>\n';
  s += ann.verified ? '<annotation verified="yes">\n' : '<annotation>\n';
  s += el(1, 'folder', ann.folder ?? '');
  s += el(1, 'filename', ann.filename);
  if (ann.path !== undefined) s += el(1, 'path', ann.path);
  s += '\t<source>\n';
  s += el(2, 'database', ann.source?.database ?? 'Unknown');
  if (ann.source?.annotation !== undefined) s += el(2, 'annotation', ann.source.annotation);
  if (ann.source?.image !== undefined) s += el(2, 'image', ann.source.image);
  s += '\t</source>\n';
  s += '\t<size>\n';
  s += el(2, 'width', ann.size.width);
  s += el(2, 'height', ann.size.height);
  s += el(2, 'depth', ann.size.depth);
  s += '\t</size>\n';
  s += el(1, 'segmented', ann.segmented ? 1 : 0);
  for (const o of ann.objects) {
    s += '\t<object>\n';
    s += el(2, 'name', o.name);
    s += el(2, 'pose', o.pose ?? 'Unspecified');
    s += el(2, 'truncated', o.truncated ? 1 : 0);
    s += el(2, 'difficult', o.difficult ? 1 : 0);
    s += bndbox(2, o);
    if (o.occluded !== undefined) s += el(2, 'occluded', o.occluded ? 1 : 0);
    for (const p of o.parts ?? []) {
      s += '\t\t<part>\n';
      s += el(3, 'name', p.name);
      s += bndbox(3, p);
      s += '\t\t</part>\n';
    }
    const attrs = Object.entries(o.attributes ?? {});
    if (attrs.length > 0) {
      s += '\t\t<attributes>\n';
      for (const [k, v] of attrs) {
        s += '\t\t\t<attribute>\n';
        s += el(4, 'name', k);
        s += el(4, 'value', v);
        s += '\t\t\t</attribute>\n';
      }
      s += '\t\t</attributes>\n';
    }
    s += '\t</object>\n';
  }
  s += '</annotation>\n';
  return s;
}
