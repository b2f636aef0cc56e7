/**
 * Team mode's sign-in: user name + password → a sign-in session in an HttpOnly, SameSite=Strict cookie (Secure
 * and `__Host-` prefixed when the browser reaches xwb over TLS), which expires on the server and in the browser;
 * sign-out ends it on the server. Failed attempts are limited per account and per client address.
 *
 * The cookie carries 32 random bytes; the store keeps only their SHA-256 (src/store/accounts.ts), so reading the
 * store file does not let anyone in. The session is looked up on every request, so removing a user, changing
 * their password or their role takes effect at their next click.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import type { Caller } from '../../api/access.js';
import { validationMessage } from '../../api/messages.js';
import type { Account, Store } from '../../store/index.js';
import { cookieValue } from '../guard.js';
import { MAX_PASSWORD_LENGTH, verifyPassword } from './password.js';
import { FailureLimiter } from './ratelimit.js';

export interface TeamAuthOptions {
  /** The browser reaches xwb over HTTPS (xwb's own TLS, or a reverse proxy's): the cookie is Secure. */
  secure: boolean;
  /** The client address is the last X-Forwarded-For entry (the proxy's), not the socket's (the proxy itself). */
  behindProxy: boolean;
  /** How long a sign-in lasts; default 12 h (a working day). */
  sessionMs?: number;
  /** Failed sign-ins allowed per account and per address in `windowMs`; defaults 5 and 20 per 15 minutes. */
  maxFailuresPerAccount?: number;
  maxFailuresPerAddress?: number;
  windowMs?: number;
  /** For tests: the clock (ms). */
  now?: () => number;
}

export interface AuthAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string | string[]>;
}

const loginSchema = z
  .object({
    name: z.string().trim().min(1).max(64),
    password: z.string().min(1).max(MAX_PASSWORD_LENGTH),
  })
  .strict();

export const DEFAULT_SESSION_MS = 12 * 3600_000;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** The caller a signed-in account acts as: its role decides everything in src/api/access.ts. */
export function callerOf(a: Account): Caller {
  const account = { id: a.id, name: a.name, raterId: a.raterId };
  return a.role === 'owner' ? { role: 'owner', account } : { role: a.role, account };
}

export class TeamAuth {
  readonly cookie: string;
  private readonly sessionMs: number;
  private readonly byAccount: FailureLimiter;
  private readonly byAddress: FailureLimiter;
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    port: number,
    private readonly opts: TeamAuthOptions,
  ) {
    // __Host-: the browser accepts it only with Secure, Path=/ and no Domain, so no other host can plant it.
    this.cookie = opts.secure ? `__Host-xwb_session_${port}` : `xwb_session_${port}`;
    this.sessionMs = opts.sessionMs ?? DEFAULT_SESSION_MS;
    this.now = opts.now ?? Date.now;
    const windowMs = opts.windowMs ?? 15 * 60_000;
    this.byAccount = new FailureLimiter({ max: opts.maxFailuresPerAccount ?? 5, windowMs }, this.now);
    this.byAddress = new FailureLimiter({ max: opts.maxFailuresPerAddress ?? 20, windowMs }, this.now);
  }

  private iso(ms: number): string {
    return new Date(ms).toISOString();
  }

  private setCookie(value: string, maxAgeSeconds: number): string {
    const secure = this.opts.secure ? '; Secure' : '';
    return `${this.cookie}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}${secure}`;
  }

  /** Who the request's cookie signs in, or null. */
  caller(headers: IncomingHttpHeaders): Caller | null {
    const secret = cookieValue(headers.cookie, this.cookie);
    if (!secret || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return null;
    const account = this.store.accounts.sessionAccount(sha256(secret), this.iso(this.now()));
    return account ? callerOf(account) : null;
  }

  /** The address failures are counted against. */
  clientAddress(headers: IncomingHttpHeaders, socketAddress: string | undefined): string {
    if (this.opts.behindProxy) {
      const forwarded = headers['x-forwarded-for'];
      const list = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? '')).split(',');
      // The proxy appends the address it saw; earlier entries are whatever the client claimed.
      const last = list
        .map((s) => s.trim())
        .filter(Boolean)
        .at(-1);
      if (last) return last.slice(0, 100);
    }
    return socketAddress ?? 'unknown';
  }

  async login(body: unknown, address: string): Promise<AuthAnswer> {
    const parsed = loginSchema.safeParse(body ?? {});
    if (!parsed.success) {
      return { status: 400, body: { error: validationMessage(parsed.error.issues) }, headers: {} };
    }
    const name = parsed.data.name.toLowerCase();
    const accountKey = `account:${name}`;
    const wait = Math.max(this.byAccount.retryAfterMs(accountKey), this.byAddress.retryAfterMs(address));
    if (wait > 0) {
      const minutes = Math.ceil(wait / 60_000);
      return {
        status: 429,
        body: {
          error:
            `too many failed sign-ins for this user or from this address; try again in ${minutes} ` +
            `minute${minutes === 1 ? '' : 's'}`,
        },
        headers: { 'retry-after': String(Math.ceil(wait / 1000)) },
      };
    }
    const creds = this.store.accounts.credentials(name);
    // Checked against a dummy hash when there is no such user, so the answer takes as long either way.
    const ok = await verifyPassword(parsed.data.password, creds?.passwordHash);
    if (!ok || !creds) {
      this.byAccount.fail(accountKey);
      this.byAddress.fail(address);
      return { status: 401, body: { error: 'wrong user name or password', signIn: true }, headers: {} };
    }
    this.byAccount.clear(accountKey);
    const secret = randomBytes(32).toString('base64url');
    const now = this.now();
    this.store.accounts.purgeExpiredSessions(this.iso(now));
    this.store.accounts.createSession(creds.account.id, sha256(secret), this.iso(now + this.sessionMs));
    return {
      status: 200,
      body: { name: creds.account.name, role: creds.account.role },
      headers: { 'set-cookie': this.setCookie(secret, Math.floor(this.sessionMs / 1000)) },
    };
  }

  logout(headers: IncomingHttpHeaders): AuthAnswer {
    const secret = cookieValue(headers.cookie, this.cookie);
    if (secret) this.store.accounts.deleteSession(sha256(secret));
    return { status: 200, body: { signedOut: true }, headers: { 'set-cookie': this.setCookie('', 0) } };
  }
}
