/**
 * Builds and imports the reproduction's datasets (skips whatever already exists):
 * - rt-plain / rt-colour: Rio-Torto et al. 2019's set at 64 px (1,000 images, triangle among 20 circles, 618
 *   positives, 75/25 split), without and with the colour cue. Radius 3–5 px instead of the authors' width/32 to
 *   width/16 (2–4 px at 64 px, where 1-px outlines blur into dots): the largest range at which 20 non-overlapping
 *   shapes still fit a 64×64 image (4–6 px and 4–5 px fail to place them).
 * - rieger-shapes: three classes (triangle / square / star), each image one target shape among 5 circles,
 *   300 images per class, class-per-folder, 75/25 split at import. Made from three all-positive generator runs
 *   whose images are copied into one folder per class.
 *
 * Run: node --import tsx bench/paper/datasets.ts
 */
import fs from 'node:fs';
import path from 'node:path';
import { ensureGenerated, ensureImported, OUT } from './common.js';

const RT_ARGS = [
  '--count',
  '1000',
  '--positives',
  '618',
  '--size',
  '64',
  '--target',
  'triangle',
  '--distractors',
  'circle',
  '--shapes',
  '20',
  '--radius',
  '3-5',
  '--val',
  '0.25',
  '--seed',
  '1',
];
export const RIEGER_CLASSES = ['triangle', 'square', 'star'] as const;
const RIEGER_PER_CLASS = 300;

async function riegerFolder(): Promise<string> {
  const dir = path.join(OUT, 'rieger-shapes');
  const done = path.join(dir, '.complete');
  if (fs.existsSync(done)) return dir;
  const staging = `${dir}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  for (const [k, shape] of RIEGER_CLASSES.entries()) {
    const src = path.join(OUT, `rg-${shape}`);
    await ensureGenerated(src, [
      '--count',
      String(RIEGER_PER_CLASS),
      '--positives',
      String(RIEGER_PER_CLASS),
      '--size',
      '64',
      '--target',
      shape,
      '--distractors',
      'circle',
      '--shapes',
      '6',
      '--radius',
      '5-8',
      '--seed',
      String(7 + k),
    ]);
    const classDir = path.join(staging, shape);
    fs.mkdirSync(classDir, { recursive: true });
    for (const f of fs.readdirSync(path.join(src, 'JPEGImages'))) {
      // Prefix with the class so file names stay unique if the folders are ever merged.
      fs.copyFileSync(path.join(src, 'JPEGImages', f), path.join(classDir, `${shape}-${f}`));
    }
  }
  fs.writeFileSync(path.join(staging, '.complete'), '');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(staging, dir);
  return dir;
}

export async function buildDatasets(): Promise<Record<string, number>> {
  await ensureGenerated(path.join(OUT, 'rt-plain'), RT_ARGS);
  await ensureGenerated(path.join(OUT, 'rt-colour'), [...RT_ARGS, '--colour-cue']);
  const ids: Record<string, number> = {};
  ids['rt-plain'] = await ensureImported(path.join(OUT, 'rt-plain'), 'rt-plain');
  ids['rt-colour'] = await ensureImported(path.join(OUT, 'rt-colour'), 'rt-colour');
  ids['rieger-shapes'] = await ensureImported(await riegerFolder(), 'rieger-shapes', ['--val', '0.25']);
  return ids;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await buildDatasets()));
}
