/**
 * Where the store lives by default. A pure function of platform, environment and home folder so every platform's
 * answer can be tested on any machine.
 */

import os from 'node:os';
import path from 'node:path';

export interface StorePathContext {
  platform: NodeJS.Platform;
  env: Readonly<Record<string, string | undefined>>;
  home: string;
}

const FILE = 'xwb.db';

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== '' ? v : undefined;
}

export function defaultStorePath(
  ctx: StorePathContext = { platform: process.platform, env: process.env, home: os.homedir() },
): string {
  const explicit = nonEmpty(ctx.env.XWB_DB);
  if (explicit !== undefined) return explicit;
  if (ctx.platform === 'win32') {
    const appData = nonEmpty(ctx.env.APPDATA) ?? path.win32.join(ctx.home, 'AppData', 'Roaming');
    return path.win32.join(appData, 'xwb', FILE);
  }
  if (ctx.platform === 'darwin') {
    return path.posix.join(ctx.home, 'Library', 'Application Support', 'xwb', FILE);
  }
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = nonEmpty(ctx.env.XDG_DATA_HOME);
  const dataHome =
    xdg !== undefined && path.posix.isAbsolute(xdg) ? xdg : path.posix.join(ctx.home, '.local', 'share');
  return path.posix.join(dataHome, 'xwb', FILE);
}

/**
 * A store location given as a URL other than `postgres://` (`file:///x.db`, `mysql://…`) is refused rather than
 * taken as a relative path: it would otherwise create a folder named `file:` and a SQLite file in it, and the user
 * would believe the data went elsewhere. `postgres://` and `postgresql://` name a PostgreSQL store (team mode).
 * `source` names where the value came from (`--db`, XWB_DB).
 */
export function assertStorePath(value: string, source: string): void {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value)?.[1];
  if (scheme === undefined || /^postgres(ql)?$/i.test(scheme)) return;
  throw new Error(
    `${source} ${value}: "${scheme}://" addresses are not store locations; give a SQLite file path or a ` +
      'postgres://user@host/database URL',
  );
}
