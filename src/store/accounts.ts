/**
 * Team accounts (web mode with `--team`): who may sign in, with which role, their sign-in sessions, and which
 * review sessions an owner assigned to whom. Passwords arrive here already hashed (src/server/team/password.ts);
 * sign-in sessions are stored by the SHA-256 of their cookie secret, never the secret itself.
 *
 * Every account owns one rater row: the reviewer's ratings and boxes are that rater's, exactly as in the
 * single-user workbench, so analysis, export and import need to know nothing about accounts.
 */
import { nonEmptyText, positiveInt, type StoreContext } from './context.js';

export const ROLES = ['owner', 'reviewer', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export interface Account {
  id: number;
  name: string;
  role: Role;
  raterId: number;
  createdAt: string;
  updatedAt: string;
}

interface AccountRow {
  id: number;
  name: string;
  role: Role;
  password_hash: string;
  rater_id: number;
  created_at: string;
  updated_at: string;
}

/** Lower-case letters, digits, `.`, `_`, `-`; starts with a letter or digit; at most 64. */
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** The account name as stored, or an error sentence saying what a name may hold. */
export function accountName(name: string): string {
  const n = typeof name === 'string' ? name.trim().toLowerCase() : '';
  if (!NAME.test(n)) {
    throw new Error(
      `"${String(name).slice(0, 80)}" is not a valid user name: use 1 to 64 letters, digits, ".", "_" or "-", ` +
        'starting with a letter or digit',
    );
  }
  return n;
}

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

function role(v: string): Role {
  if (!isRole(v)) throw new Error(`unknown role "${v}": use one of ${ROLES.join(', ')}`);
  return v;
}

const toAccount = (r: AccountRow): Account => ({
  id: r.id,
  name: r.name,
  role: r.role,
  raterId: r.rater_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface AccountsApi {
  /** Creates an account and its rater (or adopts the rater of that name who already has ratings). */
  create(input: { name: string; role: Role; passwordHash: string }): Account;
  get(id: number): Account | undefined;
  byName(name: string): Account | undefined;
  /** The account and its stored password hash, for signing in. */
  credentials(name: string): { account: Account; passwordHash: string } | undefined;
  list(): Account[];
  /** The account whose rater this is, if any. */
  byRater(raterId: number): Account | undefined;
  count(role?: Role): number;
  setRole(name: string, role: Role): Account;
  /** Also ends every sign-in session of the account (a changed password must lock out an old cookie). */
  setPassword(name: string, passwordHash: string): Account;
  /** Removes the account and its sessions and assignments; its rater, ratings and boxes stay. */
  remove(name: string): void;

  /** Records a sign-in session by the hash of its secret. */
  createSession(accountId: number, secretHash: string, expiresAt: string): void;
  /** The account of a live session (not expired at `now`), or undefined. */
  sessionAccount(secretHash: string, now: string): Account | undefined;
  deleteSession(secretHash: string): void;
  /** Drops sessions expired at `now`; returns how many. */
  purgeExpiredSessions(now: string): number;

  assign(sessionId: number, accountId: number): void;
  unassign(sessionId: number, accountId: number): boolean;
  /** Review sessions assigned to the account, ascending. */
  assignedSessions(accountId: number): number[];
  /** Accounts assigned to a review session, by name. */
  assignees(sessionId: number): Account[];
}

export function accountsApi(ctx: StoreContext): AccountsApi {
  const get = (id: number) => {
    const r = ctx.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', id);
    return r && toAccount(r);
  };
  const row = (name: string) =>
    ctx.get<AccountRow>('SELECT * FROM accounts WHERE name = ?', accountName(name));
  const existing = (name: string, where: string): AccountRow => {
    const r = row(name);
    if (!r) throw new Error(`${where}: no user "${name}" in ${ctx.file}`);
    return r;
  };
  const count = (r?: Role) => {
    const c =
      r === undefined
        ? ctx.get<{ n: number }>('SELECT count(*) AS n FROM accounts')
        : ctx.get<{ n: number }>('SELECT count(*) AS n FROM accounts WHERE role = ?', role(r));
    return Number(c?.n ?? 0);
  };
  const hash = (h: string, where: string) => {
    if (typeof h !== 'string' || !/^[0-9a-f]{64}$/.test(h))
      throw new Error(`${where}: expected a SHA-256 hex digest`);
    return h;
  };

  return {
    create(input) {
      const name = accountName(input.name);
      const r = role(input.role);
      nonEmptyText(input.passwordHash, 'accounts.create: passwordHash');
      return ctx.tx(() => {
        if (row(name)) throw new Error(`a user named "${name}" already exists in ${ctx.file}`);
        const now = ctx.now();
        // raters.name is case-insensitive: "Ann" who rated before accounts existed becomes the account "ann".
        let rater = ctx.get<{ id: number }>('SELECT id FROM raters WHERE name = ?', name);
        if (rater === undefined) {
          rater = { id: ctx.insert('INSERT INTO raters (name, created_at) VALUES (?, ?)', name, now) };
        } else if (ctx.get('SELECT 1 FROM accounts WHERE rater_id = ?', rater.id) !== undefined) {
          throw new Error(`the rater "${name}" already belongs to another user`);
        }
        const id = ctx.insert(
          `INSERT INTO accounts (name, role, password_hash, rater_id, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
          name,
          r,
          input.passwordHash,
          rater.id,
          now,
          now,
        );
        return get(id)!;
      });
    },
    get: (id) => get(positiveInt(id, 'accounts.get')),
    byName(name) {
      let r: AccountRow | undefined;
      try {
        r = row(name);
      } catch {
        return undefined; // an invalid name names no account
      }
      return r && toAccount(r);
    },
    credentials(name) {
      let r: AccountRow | undefined;
      try {
        r = row(name);
      } catch {
        return undefined;
      }
      return r && { account: toAccount(r), passwordHash: r.password_hash };
    },
    list: () => ctx.all<AccountRow>('SELECT * FROM accounts ORDER BY name').map(toAccount),
    byRater(raterId) {
      const r = ctx.get<AccountRow>('SELECT * FROM accounts WHERE rater_id = ?', raterId);
      return r && toAccount(r);
    },
    count,
    setRole(name, newRole) {
      const r = role(newRole);
      return ctx.tx(() => {
        const a = existing(name, 'set role');
        if (a.role === 'owner' && r !== 'owner' && count('owner') === 1) {
          throw new Error(`"${a.name}" is the only owner; make another user an owner first`);
        }
        ctx.run('UPDATE accounts SET role = ?, updated_at = ? WHERE id = ?', r, ctx.now(), a.id);
        return get(a.id)!;
      });
    },
    setPassword(name, passwordHash) {
      nonEmptyText(passwordHash, 'accounts.setPassword: passwordHash');
      return ctx.tx(() => {
        const a = existing(name, 'set password');
        ctx.run(
          'UPDATE accounts SET password_hash = ?, updated_at = ? WHERE id = ?',
          passwordHash,
          ctx.now(),
          a.id,
        );
        ctx.run('DELETE FROM account_sessions WHERE account_id = ?', a.id);
        return get(a.id)!;
      });
    },
    remove(name) {
      ctx.tx(() => {
        const a = existing(name, 'remove user');
        if (a.role === 'owner' && count('owner') === 1 && count() > 1) {
          throw new Error(`"${a.name}" is the only owner; make another user an owner first`);
        }
        // Spelled out rather than left to ON DELETE CASCADE, so it holds whatever the connection's FK setting.
        ctx.run('DELETE FROM account_sessions WHERE account_id = ?', a.id);
        ctx.run('DELETE FROM review_assignments WHERE account_id = ?', a.id);
        ctx.run('DELETE FROM accounts WHERE id = ?', a.id);
      });
    },

    createSession(accountId, secretHash, expiresAt) {
      positiveInt(accountId, 'accounts.createSession: accountId');
      ctx.run(
        'INSERT INTO account_sessions (secret_hash, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)',
        hash(secretHash, 'accounts.createSession'),
        accountId,
        ctx.now(),
        nonEmptyText(expiresAt, 'accounts.createSession: expiresAt'),
      );
    },
    sessionAccount(secretHash, now) {
      if (!/^[0-9a-f]{64}$/.test(secretHash)) return undefined;
      // ISO-8601 UTC strings of one format sort as the times they name.
      const r = ctx.get<AccountRow>(
        `SELECT a.* FROM account_sessions s JOIN accounts a ON a.id = s.account_id
         WHERE s.secret_hash = ? AND s.expires_at > ?`,
        secretHash,
        now,
      );
      return r && toAccount(r);
    },
    deleteSession(secretHash) {
      ctx.run('DELETE FROM account_sessions WHERE secret_hash = ?', secretHash);
    },
    purgeExpiredSessions(now) {
      return ctx.run('DELETE FROM account_sessions WHERE expires_at <= ?', now).changes;
    },

    assign(sessionId, accountId) {
      positiveInt(sessionId, 'assign: sessionId');
      positiveInt(accountId, 'assign: accountId');
      ctx.tx(() => {
        if (ctx.get('SELECT 1 FROM review_sessions WHERE id = ?', sessionId) === undefined)
          throw new Error(`assign: no review session ${sessionId} in ${ctx.file}`);
        if (get(accountId) === undefined) throw new Error(`assign: no user with id ${accountId}`);
        if (
          ctx.get(
            'SELECT 1 FROM review_assignments WHERE session_id = ? AND account_id = ?',
            sessionId,
            accountId,
          ) === undefined
        ) {
          ctx.run(
            'INSERT INTO review_assignments (session_id, account_id, assigned_at) VALUES (?, ?, ?)',
            sessionId,
            accountId,
            ctx.now(),
          );
        }
      });
    },
    unassign(sessionId, accountId) {
      return (
        ctx.run(
          'DELETE FROM review_assignments WHERE session_id = ? AND account_id = ?',
          sessionId,
          accountId,
        ).changes > 0
      );
    },
    assignedSessions(accountId) {
      return ctx
        .all<{ session_id: number }>(
          'SELECT session_id FROM review_assignments WHERE account_id = ? ORDER BY session_id',
          accountId,
        )
        .map((r) => r.session_id);
    },
    assignees(sessionId) {
      return ctx
        .all<AccountRow>(
          `SELECT a.* FROM review_assignments r JOIN accounts a ON a.id = r.account_id
           WHERE r.session_id = ? ORDER BY a.name`,
          sessionId,
        )
        .map(toAccount);
    },
  };
}
