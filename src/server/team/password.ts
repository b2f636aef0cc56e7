/**
 * Password hashing for team accounts: scrypt from node:crypto (memory-hard, maintained with Node, no native
 * package to build). The stored string carries everything needed to check it later, so the cost can be raised
 * without invalidating old hashes: `scrypt$<log2 N>$<r>$<p>$<salt base64url>$<hash base64url>`.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  logN: number;
  r: number;
  p: number;
}

/**
 * N = 2^15, r = 8, p = 3: one of the equivalent minimum settings of OWASP's Password Storage Cheat Sheet
 * (32 MiB per hash; the time is measured by bench/password-hash.ts).
 */
export const DEFAULT_PARAMS: ScryptParams = { logN: 15, r: 8, p: 3 };
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** Longer passwords only cost hashing time; nobody types more. */
export const MAX_PASSWORD_LENGTH = 1024;
export const MIN_PASSWORD_LENGTH = 10;

function scrypt(password: string, salt: Buffer, p: ScryptParams): Promise<Buffer> {
  const N = 2 ** p.logN;
  return new Promise((ok, fail) =>
    scryptCb(
      password.normalize('NFC'),
      salt,
      KEY_BYTES,
      // maxmem must exceed 128·N·r, or Node refuses the parameters.
      { N, r: p.r, p: p.p, maxmem: 256 * N * p.r },
      (err, key) => (err ? fail(err) : ok(key)),
    ),
  );
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, params);
  return [
    'scrypt',
    params.logN,
    params.r,
    params.p,
    salt.toString('base64url'),
    key.toString('base64url'),
  ].join('$');
}

function parse(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } | null {
  const m = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{16,})$/.exec(
    stored,
  );
  if (!m) return null;
  const params = { logN: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (params.logN < 10 || params.logN > 20 || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16)
    return null;
  return { params, salt: Buffer.from(m[4], 'base64url'), key: Buffer.from(m[5], 'base64url') };
}

/** A hash of a random password, checked against when the user does not exist, so both cases cost the same. */
let dummy: Promise<string> | undefined;

/** Whether `password` matches `stored` (constant-time comparison); an unknown user is checked against a dummy. */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  if (typeof password !== 'string' || password.length > MAX_PASSWORD_LENGTH) return false;
  dummy ??= hashPassword(randomBytes(18).toString('base64url'));
  const target = stored !== undefined ? parse(stored) : null;
  const against = target ?? parse(await dummy)!;
  const key = await scrypt(password, against.salt, against.params);
  const same = key.length === against.key.length && timingSafeEqual(key, against.key);
  return target !== null && same;
}

/** Passwords that pass the length rule and are still the first guesses of every password list. */
const COMMON = new Set([
  'password12',
  'password123',
  'password1234',
  '1234567890',
  '12345678910',
  '0123456789',
  'qwertyuiop',
  'qwertyuiop1',
  'qwerty1234',
  '1q2w3e4r5t',
  'iloveyou12',
  'letmein123',
  'welcome123',
  'administrator',
  'changeme123',
  'abcdefghij',
  'abcd123456',
  'passw0rd12',
]);

/**
 * Why `password` is too weak for an account named `name`, as a sentence, or null when it is acceptable. The rules
 * are the ones NIST SP 800-63B asks for: a minimum length, no known-common passwords, not the user's own name;
 * no composition rules (they make passwords worse, not stronger).
 */
export function passwordProblem(password: string, name: string): string | null {
  if (typeof password !== 'string' || password.length === 0) return 'the password is empty';
  if (password.length > MAX_PASSWORD_LENGTH)
    return `the password is longer than ${MAX_PASSWORD_LENGTH} characters`;
  if ([...password].length < MIN_PASSWORD_LENGTH)
    return `the password has ${[...password].length} characters; use at least ${MIN_PASSWORD_LENGTH}`;
  const lower = password.toLowerCase();
  if (new Set(lower).size < 4) return 'the password repeats too few different characters; use a passphrase';
  if (COMMON.has(lower)) return 'the password is one of the most common passwords; choose another';
  if (name && lower.includes(name.toLowerCase()))
    return 'the password contains the user name; choose another';
  return null;
}
