/**
 * How long one password hash (and so one sign-in attempt) takes with the default scrypt parameters.
 * Run: nice -n 19 node --import tsx bench/password-hash.ts
 */
import { DEFAULT_PARAMS, hashPassword, verifyPassword } from '../src/server/team/password.js';

const n = 10;
const times: number[] = [];
let stored = '';
for (let i = 0; i < n; i++) {
  const t0 = performance.now();
  stored = await hashPassword(`correct horse battery ${i}`);
  times.push(performance.now() - t0);
}
const t1 = performance.now();
const ok = await verifyPassword(`correct horse battery ${n - 1}`, stored);
const verifyMs = performance.now() - t1;
times.sort((a, b) => a - b);
console.log(
  `scrypt N=2^${DEFAULT_PARAMS.logN} r=${DEFAULT_PARAMS.r} p=${DEFAULT_PARAMS.p}: hash median ${times[n >> 1].toFixed(0)} ms ` +
    `(min ${times[0].toFixed(0)}, max ${times[n - 1].toFixed(0)}), verify ${verifyMs.toFixed(0)} ms (${ok})`,
);
