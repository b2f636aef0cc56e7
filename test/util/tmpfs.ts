/**
 * A small real file system for the disk-full tests: a tmpfs of a given size mounted on a fresh folder (needs root
 * or CAP_SYS_ADMIN), and a filler file that leaves only so many bytes free. Where mounting is not allowed the
 * tests skip with the reason `mountTmpfs` gives.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Mounts a tmpfs of `bytes` on `dir` (created); returns null when mounted, else why it could not be. */
export function mountTmpfs(dir: string, bytes: number): string | null {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'tmpfs', dir], {
    encoding: 'utf8',
  });
  if (r.error) return `cannot run mount (${r.error.message}); the disk-full tests need a small tmpfs`;
  if (r.status !== 0) {
    return `mount -t tmpfs failed (${(r.stderr || r.stdout).trim()}); the disk-full tests need root to mount a small tmpfs`;
  }
  return null;
}

export function unmount(dir: string): void {
  const r = spawnSync('umount', [dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`umount ${dir} failed: ${r.stderr.trim()}`);
  rmSync(dir, { recursive: true, force: true });
}

/** Bytes free on the file system holding `dir`. */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** Writes `dir/filler` until only about `leave` bytes are free. */
export function fillUntil(dir: string, leave: number): void {
  const fd = openSync(join(dir, 'filler'), 'w');
  try {
    const block = Buffer.alloc(4096, 1);
    while (freeBytes(dir) > leave) writeSync(fd, block);
  } finally {
    closeSync(fd);
  }
}
