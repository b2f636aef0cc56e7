/** Who made an annotation: the dataset's ground truth, or a person (a row of `raters`) drawing in xwb. */
export type Source = { kind: 'gt' } | { kind: 'annotator'; annotatorId: number };

export const GROUND_TRUTH: Source = { kind: 'gt' };

export function sourceParams(s: Source, where: string): [string, number | null] {
  if (s.kind === 'gt') return ['gt', null];
  if (s.kind === 'annotator' && Number.isInteger(s.annotatorId) && s.annotatorId > 0) {
    return ['annotator', s.annotatorId];
  }
  throw new Error(
    `${where}: source must be { kind: 'gt' } or { kind: 'annotator', annotatorId: <rater id> }`,
  );
}

export function sourceFromRow(kind: string, annotatorId: number | null): Source {
  return kind === 'gt' || annotatorId === null ? GROUND_TRUTH : { kind: 'annotator', annotatorId };
}
