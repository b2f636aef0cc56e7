import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * Who may talk to web mode, as pure functions of the request headers (src/server/http.ts applies them).
 *
 * - Host must name this server: a DNS-rebinding page (evil.example resolving to 127.0.0.1) sends its own name.
 * - Origin, when present, must be this server's: browsers do not separate cookies by port, and SameSite treats
 *   every port of 127.0.0.1 as the same site, so without this a page served by any other local listener could
 *   ride on the cookie. A state-changing request signed in by cookie must carry a matching Origin (browsers
 *   always send one on POST); scripts using `Authorization: Bearer` need none (no page can set that header
 *   cross-origin without a CORS preflight, which this server never grants).
 * - Sec-Fetch-Site, when present, must be same-origin or none for the API, events and files: `same-site` is
 *   exactly the other-port case, e.g. an <img> on another local port loading /files/image/1.
 */

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The cookie's name carries the port: two servers on one host (two stores) do not overwrite each other's
 * cookie, and a cookie minted for another port is never mistaken for this server's.
 */
export function cookieName(port: number): string {
  return `xwb_token_${port}`;
}

/** The cookie a rater link sets (src/api/access.ts): per port too, and never the owner's. */
export function raterCookieName(port: number): string {
  return `xwb_rater_${port}`;
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`.toLowerCase();
}

/**
 * The Host header values that name this server. A wildcard bind (0.0.0.0, ::) answers on every interface, so
 * every interface address counts; a specific address counts alone, plus the loopback names.
 */
export function allowedHosts(bindHost: string, port: number): Set<string> {
  const names = new Set([bindHost, 'localhost', '127.0.0.1']);
  if (bindHost === '::1') names.add('::1');
  if (bindHost === '0.0.0.0' || bindHost === '::') {
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) if (bindHost === '::' || a.family === 'IPv4') names.add(a.address);
    }
  }
  return new Set([...names].filter((h) => h === 'localhost' || isIP(h) !== 0).map((h) => hostPort(h, port)));
}

export function allowedOrigins(hosts: ReadonlySet<string>, scheme: 'http' | 'https' = 'http'): Set<string> {
  return new Set([...hosts].map((h) => `${scheme}://${h}`));
}

export interface Refusal {
  status: number;
  error: string;
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Checks every request: Host, and Origin when the browser sent one. */
export function checkHostAndOrigin(
  headers: IncomingHttpHeaders,
  hosts: ReadonlySet<string>,
  origins: ReadonlySet<string>,
): Refusal | null {
  const host = (headers.host ?? '').toLowerCase();
  if (!hosts.has(host)) return { status: 421, error: `unexpected Host header "${headers.host ?? ''}"` };
  const origin = one(headers.origin);
  if (origin !== undefined && !origins.has(origin.toLowerCase())) {
    return { status: 403, error: `refused: the request comes from another origin (${origin.slice(0, 200)})` };
  }
  return null;
}

/** For the API, the events and the files: no request a page of another origin started. */
export function checkFetchSite(headers: IncomingHttpHeaders): Refusal | null {
  const site = one(headers['sec-fetch-site']);
  if (site === undefined || site === 'same-origin' || site === 'none') return null;
  return { status: 403, error: `refused: the request was started by a ${site} page` };
}

export type Credential = 'bearer' | 'cookie';

/** How the request proves it knows this launch's token, if it does. */
export function credential(headers: IncomingHttpHeaders, token: string, cookie: string): Credential | null {
  const auth = headers.authorization;
  if (auth?.startsWith('Bearer ') && sameSecret(auth.slice(7), token)) return 'bearer';
  const c = cookieValue(headers.cookie, cookie);
  return c !== undefined && sameSecret(c, token) ? 'cookie' : null;
}

/** A cookie-signed request that changes state must show where it came from (see the module comment). */
export function checkStateChange(
  method: string | undefined,
  how: Credential,
  headers: IncomingHttpHeaders,
  origins: ReadonlySet<string>,
): Refusal | null {
  if (how === 'bearer' || method === 'GET' || method === 'HEAD') return null;
  const origin = one(headers.origin);
  if (origin !== undefined && origins.has(origin.toLowerCase())) return null;
  return {
    status: 403,
    error: 'refused: a state-changing request signed in by cookie must carry its Origin',
  };
}
