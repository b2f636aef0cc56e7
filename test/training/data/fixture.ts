/** A real generated dataset imported into a real store file, shared by the data-pipeline tests. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importDataset } from '../../../src/data/import/import.js';
import { generateDataset } from '../../../src/data/synthetic/index.js';
import type { Box } from '../../../src/data/types.js';
import { type Dataset, openStore, type Store } from '../../../src/store/index.js';

export interface Fixture {
  dir: string;
  root: string;
  store: Store;
  dataset: Dataset;
  done(): void;
}

export const GREEN: [number, number, number] = [0, 160, 0];

/** 24 native 64 px images, green triangle (colour cue) among black circles, 18 train / 6 val. */
export async function syntheticFixture(): Promise<Fixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-'));
  const root = path.join(dir, 'shapes');
  await generateDataset(root, {
    images: 24,
    width: 64,
    height: 64,
    colourCue: true,
    targetColour: GREEN,
    shapesPerImage: 6,
    seed: 3,
  });
  const store = openStore(path.join(dir, 'xwb.db'));
  const { dataset } = await importDataset(store, root);
  return {
    dir,
    root,
    store,
    dataset,
    done() {
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The boxes of an image as its VOC file states them, converted by hand (x0 = xmin − 1, x1 = xmax). */
export function xmlBoxes(root: string, relPath: string): { name: string; box: Box }[] {
  const id = path.basename(relPath).replace(/\.[^.]+$/, '');
  const xml = fs.readFileSync(path.join(root, 'Annotations', `${id}.xml`), 'utf8');
  const out: { name: string; box: Box }[] = [];
  for (const m of xml.matchAll(/<object>([\s\S]*?)<\/object>/g)) {
    const field = (k: string) => Number(new RegExp(`<${k}>\\s*([^<]+?)\\s*</${k}>`).exec(m[1])![1]);
    const name = /<name>\s*([^<]+?)\s*<\/name>/.exec(m[1])![1];
    out.push({
      name,
      box: { x0: field('xmin') - 1, y0: field('ymin') - 1, x1: field('xmax'), y1: field('ymax') },
    });
  }
  return out;
}
