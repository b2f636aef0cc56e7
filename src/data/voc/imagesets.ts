/**
 * VOC devkit `ImageSets/Main` files: `<split>.txt` lists image ids one a line; `<class>_<split>.txt` lists
 * `<id> <flag>` with flag 1 (present), -1 (absent) or 0 (present but only as difficult).
 */

export type PresenceFlag = 1 | -1 | 0;

export function formatImageSet(ids: readonly string[]): string {
  return ids.map((id) => `${id}\n`).join('');
}

export function formatClassImageSet(entries: readonly { id: string; flag: PresenceFlag }[]): string {
  // The devkit pads ids to a column and right-aligns the flag; readers split on whitespace.
  return entries.map((e) => `${e.id} ${e.flag === -1 ? '-1' : ` ${e.flag}`}\n`).join('');
}

export interface ImageSetLine {
  id: string;
  flag?: PresenceFlag;
}

/** Parses either form; blank lines are skipped, a malformed line is an error naming the file and line. */
export function parseImageSet(text: string, file: string): ImageSetLine[] {
  const out: ImageSetLine[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const parts = line.split(/\s+/);
    if (parts.length === 1) {
      out.push({ id: parts[0] });
    } else if (parts.length === 2 && (parts[1] === '1' || parts[1] === '-1' || parts[1] === '0')) {
      out.push({ id: parts[0], flag: Number(parts[1]) as PresenceFlag });
    } else {
      throw new Error(`${file}:${i + 1}: expected "<id>" or "<id> <1|-1|0>", found "${line}"`);
    }
  });
  return out;
}
