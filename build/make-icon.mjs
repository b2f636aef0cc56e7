#!/usr/bin/env node
// Renders the app icon resources/icon.png (512×512 RGBA) from its source resources/icon.svg with sharp.
// electron-builder derives the Windows .ico and the macOS .icns from this PNG (≥ 256 px for NSIS, ≥ 512 px for
// macOS), so only the PNG is kept. Run after editing the SVG: node build/make-icon.mjs
import { renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

export const ICON_SIZE = 512;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The PNG bytes for the SVG at `svgPath`, as the build writes them (the test renders it the same way). */
export async function renderIcon(svgPath) {
  return sharp(svgPath, { density: 72 })
    .resize(ICON_SIZE, ICON_SIZE)
    .ensureAlpha()
    .png({ compressionLevel: 9 })
    .toBuffer();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = join(root, 'resources', 'icon.png');
  const tmp = `${out}.${process.pid}.tmp`;
  await sharp(await renderIcon(join(root, 'resources', 'icon.svg'))).toFile(tmp);
  renameSync(tmp, out);
  console.log(`wrote ${out}`);
}
