import { randomBytes } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve } from 'node:path';
import { authorise, type Caller, OWNER, verifyRaterToken } from '../api/access.js';
import { ApiError, isMethod, validateRequest, type XwbEvent } from '../api/contract.js';
import type { XwbService } from '../api/service.js';
import { isJsonContentType, readJsonBody } from './body.js';
import { sendFile, staticFile } from './files.js';
import {
  allowedHosts as allowedHostsFor,
  allowedOrigins as allowedOriginsFor,
  checkFetchSite,
  checkHostAndOrigin,
  checkStateChange,
  cookieName,
  cookieValue,
  credential,
  raterCookieName,
  sameSecret,
} from './guard.js';
import { TeamAuth, type TeamAuthOptions } from './team/auth.js';
import { isThumbSize, THUMB_SIZES, ThumbnailCache, thumbsFolder } from './thumbs.js';

/**
 * Web mode: the renderer and the contract over HTTP on loopback. Security model (the checks are in guard.ts):
 * - a random token per launch (a restart invalidates every copy of the old one); the printed address carries it
 *   once (`/?token=…`), the server trades it for an HttpOnly, SameSite=Strict session cookie named after the
 *   port and redirects to `/`, so the token does not linger in the address bar; scripts may send
 *   `Authorization: Bearer <token>` instead;
 * - the Host header must name this server (blocks DNS-rebinding pages from reaching it), a foreign Origin is
 *   refused, and a cookie-signed POST must carry this server's Origin (browsers share cookies across ports);
 * - POST bodies must be UTF-8 JSON (a cross-site form cannot send that without a preflight), at most 1 MiB;
 * - files are served only through ids the store knows, and image paths are checked to lie inside their dataset;
 * - a rater link (`/?rater=<capability>`, minted by the owner with review.raterLinks) signs a browser in as one
 *   rater of one session instead: every call is then authorised by src/api/access.ts, which lets it reach only
 *   that rater's own queue (no analysis, no other session, no workbench, no events);
 * - bounded: at most `maxEventStreams` SSE clients and `maxConnections` sockets, and a socket that does not
 *   finish its request headers in time is closed, so idle connections cannot use up the file descriptors.
 */
export interface WebServer {
  url: string;
  /** The address with the launch token, to print or open (team mode: the address people open and sign in at). */
  launchUrl: string;
  token: string;
  server: Server | TlsServer;
  close(): Promise<void>;
}

/**
 * Team mode (`xwb serve --team`): people sign in with accounts (src/server/team/auth.ts) instead of the launch
 * token, and every call is authorised by their role. The launch token and rater links do not work in it.
 */
export interface TeamOptions {
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: Buffer; key: Buffer };
  /** TLS ends at a reverse proxy in front of xwb: cookies are Secure, the client is the last X-Forwarded-For. */
  behindProxy?: boolean;
  /** The address people open (e.g. https://xwb.example.org): its Host and Origin are accepted. */
  publicOrigin?: string;
  auth?: Omit<TeamAuthOptions, 'secure' | 'behindProxy'>;
}

export interface WebServerLimits {
  /** Open event streams (each browser tab holds one). */
  maxEventStreams: number;
  /** Open sockets; past this, new connections are closed at once. */
  maxConnections: number;
  /** Time for a client to send its request headers (also how long a silent socket may stay open). */
  headersTimeoutMs: number;
  /** Time for a client to send its whole request. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive socket stays open between requests. */
  keepAliveTimeoutMs: number;
}

export const DEFAULT_LIMITS: WebServerLimits = {
  maxEventStreams: 32,
  maxConnections: 256,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
};

export interface WebServerOptions {
  service: XwbService;
  host?: string;
  port?: number;
  /** Folder of the built renderer (index.html + assets). */
  staticDir: string;
  /** Only for tests: the launch token (otherwise a fresh random one). */
  token?: string;
  limits?: Partial<WebServerLimits>;
  /** Where thumbnails are cached; default `thumbs/` beside the store. */
  thumbsDir?: string;
  /** Told about server-level errors that are survived (e.g. failed accepts); default: stderr. */
  warn?: (message: string) => void;
  /** Accounts and roles instead of the launch token (see TeamOptions). */
  team?: TeamOptions;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};
const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  jpg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  bmp: 'image/bmp',
  tiff: 'image/tiff',
};
// The renderer loads only its own scripts; images and heatmaps come from this origin (blob: for canvases).
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra: Record<string, string> = {},
): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...extra,
  });
  res.end(data);
}

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? randomBytes(32).toString('base64url');
  const limits: WebServerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`xwb serve: ${m}\n`));
  const staticRoot = resolve(opts.staticDir);
  const { service } = opts;
  const clients = new Set<ServerResponse>();
  const thumbs = new ThumbnailCache(opts.thumbsDir ?? thumbsFolder(service.store.path));
  const onEvent = (e: XwbEvent) => {
    const frame = `data: ${JSON.stringify(e)}\n\n`;
    for (const c of clients) c.write(frame);
  };
  service.events.on('event', onEvent);
  // Known once the port is: the Host/Origin names and the cookie name include it.
  let hosts: Set<string> = new Set();
  let origins: Set<string> = new Set();
  let cookie = '';
  let raterCookie = '';
  const team = opts.team;
  const secure = team !== undefined && (team.tls !== undefined || team.behindProxy === true);
  let auth: TeamAuth | null = null;

  const staticHeaders = (target: string) => ({
    'content-type': TYPES[extname(target)] ?? 'application/octet-stream',
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': target.endsWith('index.html') ? 'no-store' : 'max-age=3600',
  });

  const serveStatic = async (req: IncomingMessage, res: ServerResponse, pathname: string) => {
    const file = await staticFile(staticRoot, pathname);
    const index = join(staticRoot, 'index.html');
    // App routes without a file extension get index.html (client-side routing).
    const target = file ?? (extname(pathname) === '' ? index : null);
    // Browsers ask for /favicon.ico on their own; the app has none, and a 404 would be a console error.
    if (target === null && pathname === '/favicon.ico') {
      res.writeHead(204, { 'cache-control': 'max-age=3600' });
      return res.end();
    }
    // A missing asset is a 404, not index.html that the browser would then refuse as a script (as xwb:// does).
    if (target === null) return sendJson(res, 404, { error: `not found: ${pathname.slice(0, 200)}` });
    try {
      await sendFile(res, target, staticHeaders(target), 'renderer', req.method);
    } catch (e) {
      if (target !== index || !(e instanceof ApiError) || e.status !== 404) throw e;
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`The renderer is not built (${staticRoot} has no index.html). Run: npm run build`);
    }
  };

  const openEvents = (req: IncomingMessage, res: ServerResponse) => {
    if (clients.size >= limits.maxEventStreams) {
      return sendJson(
        res,
        503,
        { error: `too many open event streams (${limits.maxEventStreams}); close other workbench tabs` },
        { 'retry-after': '10' },
      );
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write(': connected\n\n');
    clients.add(res);
    req.on('close', () => clients.delete(res));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const refused = checkHostAndOrigin(req.headers, hosts, origins);
    if (refused) return sendJson(res, refused.status, { error: refused.error });
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return sendJson(res, 400, { error: `malformed request target "${(req.url ?? '').slice(0, 200)}"` });
    }
    const path = url.pathname;
    if (auth) {
      if (path === '/auth/login' || path === '/auth/logout') return authRoute(auth, req, res, path);
      if (req.method === 'GET' && (url.searchParams.has('token') || url.searchParams.has('rater')))
        return sendJson(res, 403, {
          error: 'this workbench runs in team mode: sign in with your user name and password at /',
        });
    }
    // The launch address: trade the token for a cookie, then drop it from the address bar.
    if (req.method === 'GET' && url.searchParams.has('token')) {
      if (!sameSecret(url.searchParams.get('token') ?? '', token))
        return sendJson(res, 403, {
          error: 'wrong token: it changes at every launch; open the address xwb serve printed this time',
        });
      res.writeHead(303, {
        location: path,
        // One identity per browser and port: the owner's sign-in ends a rater's, and the other way round.
        'set-cookie': [
          `${cookie}=${token}; HttpOnly; SameSite=Strict; Path=/`,
          `${raterCookie}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`,
        ],
        'cache-control': 'no-store',
      });
      return res.end();
    }
    if (req.method === 'GET' && url.searchParams.has('rater')) {
      const capability = url.searchParams.get('rater') ?? '';
      if (!verifyRaterToken(service.capabilitySecret, capability))
        return sendJson(res, 403, {
          error:
            'this rater link is not valid (any more): links change when xwb restarts; ask the study owner for a new one',
        });
      res.writeHead(303, {
        location: path,
        'set-cookie': [
          `${raterCookie}=${capability}; HttpOnly; SameSite=Strict; Path=/`,
          `${cookie}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`,
        ],
        'cache-control': 'no-store',
      });
      return res.end();
    }
    if (!(path.startsWith('/api/') || path === '/events' || path.startsWith('/files/'))) {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return sendJson(res, 405, { error: 'method not allowed' });
      return serveStatic(req, res, path);
    }
    const site = checkFetchSite(req.headers);
    if (site) return sendJson(res, site.status, { error: site.error });
    let how = auth ? null : credential(req.headers, token, cookie);
    let caller: Caller = OWNER;
    if (auth) {
      const signedIn = auth.caller(req.headers);
      if (!signedIn)
        return sendJson(res, 401, {
          error: 'not signed in: sign in with your user name and password',
          signIn: true,
        });
      caller = signedIn;
      how = 'cookie';
    } else if (!how) {
      const auth = req.headers.authorization;
      const bearer = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
      const fromCookie = cookieValue(req.headers.cookie, raterCookie);
      const rater = verifyRaterToken(service.capabilitySecret, bearer ?? fromCookie ?? '');
      if (rater) {
        caller = rater;
        how = bearer !== undefined ? 'bearer' : 'cookie';
      }
    }
    if (!how) {
      return sendJson(res, 401, {
        error:
          'not signed in: open the address xwb serve printed at this launch (it carries a token that changes ' +
          'every launch)',
      });
    }
    const change = checkStateChange(req.method, how, req.headers, origins);
    if (change) return sendJson(res, change.status, { error: change.error });
    if (path.startsWith('/api/')) {
      if (req.method !== 'POST') return sendJson(res, 405, { error: 'use POST' });
      if (!isJsonContentType(req.headers['content-type'])) {
        return sendJson(res, 415, { error: 'content-type must be application/json (UTF-8)' });
      }
      const method = path.slice(5);
      if (!isMethod(method)) return sendJson(res, 404, { error: `unknown method "${method}"` });
      const body = await readJsonBody(req);
      const valid = validateRequest(method, body);
      return sendJson(res, 200, await service.call(method, valid, caller));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'use GET' });
    if (path === '/events') {
      // Events name methods and runs (training, evaluation): for those who may read the workbench.
      authorise(service.store, caller, { kind: 'workbench', write: false });
      return openEvents(req, res);
    }
    const m = /^\/files\/(image|explanation|thumb)\/([1-9][0-9]{0,14})$/.exec(path);
    if (!m) return sendJson(res, 404, { error: 'not found' });
    const idNum = Number(m[2]);
    authorise(
      service.store,
      caller,
      m[1] === 'explanation'
        ? { kind: 'file.explanation', explanationId: idNum }
        : { kind: 'file.image', imageId: idNum },
    );
    if (m[1] === 'thumb') {
      const size = Number(url.searchParams.get('size') ?? '128');
      if (!isThumbSize(size))
        return sendJson(res, 400, { error: `thumbnail size must be one of ${THUMB_SIZES.join(', ')} px` });
      // Same checks as the original: an id the store knows, a file inside its dataset folder.
      const { file } = await thumbs.get(service.thumbnailSource(idNum), size);
      const headers = {
        'content-type': 'image/webp',
        // Keyed by content, so a browser may keep it; an image changed on disk gets a new import and hash.
        'cache-control': 'private, max-age=86400',
        'x-content-type-options': 'nosniff',
      };
      return sendFile(res, file, headers, `thumbnail of image ${idNum}`, req.method);
    }
    if (m[1] === 'image') {
      const { file, format } = service.imageFile(idNum);
      const headers = {
        'content-type': IMAGE_TYPES[format] ?? 'application/octet-stream',
        'cache-control': 'private, max-age=3600',
        'x-content-type-options': 'nosniff',
      };
      return sendFile(res, file, headers, `image ${idNum}`, req.method);
    }
    const data = service.explanationData(idNum);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'cache-control': 'private, max-age=3600',
      'x-content-type-options': 'nosniff',
    });
    res.end(data);
  };

  /** Sign-in and sign-out: POST, JSON, and (like every cookie-signed change) with this server's Origin. */
  const authRoute = async (a: TeamAuth, req: IncomingMessage, res: ServerResponse, path: string) => {
    const site = checkFetchSite(req.headers);
    if (site) return sendJson(res, site.status, { error: site.error });
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'use POST' });
    const change = checkStateChange(req.method, 'cookie', req.headers, origins);
    if (change) return sendJson(res, change.status, { error: change.error });
    if (!isJsonContentType(req.headers['content-type']))
      return sendJson(res, 415, { error: 'content-type must be application/json (UTF-8)' });
    const body = await readJsonBody(req, 16 * 1024);
    const answer =
      path === '/auth/login'
        ? await a.login(body, a.clientAddress(req.headers, req.socket.remoteAddress))
        : a.logout(req.headers);
    return sendJson(res, answer.status, answer.body, answer.headers as Record<string, string>);
  };

  const serverOptions: ServerOptions = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // How often Node looks for sockets past the two timeouts above.
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, limits.headersTimeoutMs / 4)),
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    // Over xwb's own TLS the browser is told to keep to HTTPS (a proxy in front sets its own).
    if (team?.tls) res.setHeader('strict-transport-security', 'max-age=31536000');
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) return res.destroy();
      // A client still sending a body we refused gets the answer, then the connection is closed.
      const close: Record<string, string> = req.complete ? {} : { connection: 'close' };
      if (e instanceof ApiError) {
        return sendJson(res, e.status, { error: e.message, field: e.field }, close);
      }
      const err = e as Error;
      // Core errors name the file and the problem; they are shown to the user as they are.
      sendJson(res, 500, { error: err?.message ?? String(e) }, close);
    });
  };
  const server: Server | TlsServer = team?.tls
    ? createTlsServer({ ...serverOptions, cert: team.tls.cert, key: team.tls.key }, onRequest)
    : createServer(serverOptions, onRequest);
  server.maxConnections = limits.maxConnections;
  const heartbeat = setInterval(() => {
    for (const c of clients) c.write(': ping\n\n');
  }, 15_000);
  heartbeat.unref();

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', fail);
      ok();
    });
  });
  // After listening, errors are per connection (EMFILE on accept when descriptors run out): say so and serve
  // on; an unhandled 'error' would end the process.
  let lastWarning = 0;
  server.on('error', (e) => {
    if (Date.now() - lastWarning < 5_000) return;
    lastWarning = Date.now();
    warn(`${(e as Error).message} (still serving)`);
  });
  const port = (server.address() as AddressInfo).port;
  hosts = allowedHostsFor(host, port);
  const scheme = team?.tls ? 'https' : 'http';
  origins = allowedOriginsFor(hosts, scheme);
  if (team?.publicOrigin) {
    const pub = new URL(team.publicOrigin);
    hosts.add(pub.host.toLowerCase());
    origins.add(pub.origin.toLowerCase());
  }
  cookie = cookieName(port);
  raterCookie = raterCookieName(port);
  if (team)
    auth = new TeamAuth(service.store, port, {
      ...team.auth,
      secure,
      behindProxy: team.behindProxy === true,
    });
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  const url = `${scheme}://${hostForUrl}:${port}/`;
  return {
    url,
    launchUrl: team
      ? team.publicOrigin
        ? `${new URL(team.publicOrigin).origin}/`
        : url
      : `${url}?token=${token}`,
    token,
    server,
    close: async () => {
      clearInterval(heartbeat);
      service.events.off('event', onEvent);
      for (const c of clients) c.end();
      const closing = new Promise<void>((ok) => server.close(() => ok()));
      server.closeIdleConnections();
      // Keep-alive sockets of clients that ended their event stream are not idle yet: give requests in flight
      // a moment, then close what is left.
      const force = setTimeout(() => server.closeAllConnections(), 1_000);
      force.unref();
      await closing;
      clearTimeout(force);
    },
  };
}
