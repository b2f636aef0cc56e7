import { assertStorePath, defaultStorePath, isPostgresUrl, openStore, type Store } from '../store/index.js';
import type { ParsedArgs } from './command.js';
import { UserError } from './errors.js';

/**
 * The store named by --db, else $XWB_DB, else the default file in the user's data folder: a SQLite file path or a
 * postgres:// URL (team mode). Another URL is refused here with the option's name, never taken as a relative path.
 */
export function cliStorePath(args: ParsedArgs, env: NodeJS.ProcessEnv = process.env): string {
  const fromFlag = typeof args.values.db === 'string';
  const db = fromFlag ? (args.values.db as string) : defaultStorePath();
  const source = fromFlag ? '--db' : env.XWB_DB?.trim() ? 'XWB_DB' : 'the default store path';
  try {
    assertStorePath(db, source);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  return db;
}

/** Opens the store named by --db, or the default one in the user's data folder. */
export function openCliStore(args: ParsedArgs): Store {
  const target = cliStorePath(args);
  try {
    return openStore(target);
  } catch (e) {
    // An unreachable server, a missing pg-native or a password in the URL is the user's to fix, not a bug.
    if (isPostgresUrl(target)) throw new UserError((e as Error).message);
    throw e;
  }
}

export async function withStore<T>(args: ParsedArgs, fn: (store: Store) => Promise<T> | T): Promise<T> {
  const store = openCliStore(args);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}
