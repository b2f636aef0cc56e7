import { defaultStorePath, openStore, type Store } from '../store/index.js';
import type { ParsedArgs } from './command.js';

/** Opens the store named by --db, or the default one in the user's data folder. */
export function openCliStore(args: ParsedArgs): Store {
  const db = typeof args.values.db === 'string' ? args.values.db : defaultStorePath();
  return openStore(db);
}

export async function withStore<T>(args: ParsedArgs, fn: (store: Store) => Promise<T> | T): Promise<T> {
  const store = openCliStore(args);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}
