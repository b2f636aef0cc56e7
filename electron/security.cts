/**
 * The desktop shell's security policy as pure functions, so that every decision can be tested under plain Node
 * (no Electron binary). main.cts only wires these into Electron's hooks.
 *
 * Trust model: the only trusted content is the built renderer served from `xwb://app/`. It gets no Node, no
 * Electron objects and no raw IPC: just `window.xwb` (preload.cts). Everything it asks for is re-checked here
 * and in ipc.cts, because a renderer compromised by a hostile file name or XML field must not gain more than
 * the contract already grants.
 *
 * No `electron` import here (types included): the tests and the main tsconfig load this file where the
 * `electron` package may be absent. main.cts checks `windowOptions()` against `BrowserWindowConstructorOptions`.
 */

/** The custom scheme. Registered as standard + secure so it gets a real origin, CSP and `fetch`. */
export const SCHEME = 'xwb';
/** The renderer's host: `xwb://app/index.html`. One origin for the page, its assets, images and heatmaps. */
export const APP_HOST = 'app';
export const APP_ORIGIN = `${SCHEME}://${APP_HOST}`;
export const APP_ENTRY = `${APP_ORIGIN}/index.html`;

/** The IPC channels; the method name travels as an argument and is checked against the contract. */
export const CALL_CHANNEL = 'xwb:call';
export const EVENT_CHANNEL = 'xwb:event';
/** How main tells the sandboxed preload which methods exist (it cannot `require` the contract itself). */
export const METHODS_ARG = '--xwb-methods=';

/**
 * Same policy as web mode (src/server/http.ts): only the renderer's own scripts; images and heatmaps from the
 * same origin (blob:/data: for canvases); no plugins, no framing, no forms posting anywhere.
 */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/** Permissions the app itself may use; everything else (camera, geolocation, notifications…) is refused. */
const ALLOWED_PERMISSIONS: ReadonlySet<string> = new Set(['clipboard-sanitized-write']);

function parseUrl(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/**
 * True for URLs (or origins: `xwb://app`) of the app itself. Compares scheme and host rather than `URL.origin`,
 * which WHATWG defines as "null" for non-special schemes like xwb:.
 */
export function isAppUrl(url: string): boolean {
  const u = parseUrl(url);
  return (
    u !== null &&
    u.protocol === `${SCHEME}:` &&
    u.host === APP_HOST &&
    u.username === '' &&
    u.password === '' &&
    u.port === ''
  );
}

/**
 * A link the user may open in the system browser: plain http(s) with a host and no embedded credentials.
 * Returns the normalised URL, or null for anything else (file:, javascript:, custom schemes, smb://…), because
 * `shell.openExternal` on those can run programs.
 */
export function externalUrl(url: string): string | null {
  if (url.length > 4096) return null;
  const u = parseUrl(url);
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) return null;
  if (u.hostname === '' || u.username !== '' || u.password !== '') return null;
  return u.href;
}

/** The button of the confirmation that opens the link; the other one (the default) cancels. */
export const OPEN_EXTERNAL_BUTTON = 1;

/**
 * What the user is asked before a link leaves the app for the system browser. Nothing opens unasked: a page
 * compromised through a hostile file name or XML field could otherwise use `shell.openExternal` as a channel
 * out past the CSP (the address itself carries the data). The renderer has no external links of its own, so
 * there is no allow-list; the address is shown in full, with its host in ASCII (punycode), so a look-alike
 * host cannot pass for another. Cancel is the default and the Escape answer.
 */
export function externalLinkPrompt(url: string): {
  type: 'question';
  buttons: string[];
  defaultId: number;
  cancelId: number;
  noLink: true;
  title: string;
  message: string;
  detail: string;
} {
  const u = new URL(url);
  return {
    type: 'question',
    buttons: ['Cancel', 'Open in browser'],
    defaultId: 0,
    cancelId: 0,
    noLink: true,
    title: 'xwb',
    message: `Open a page of ${u.hostname} in your web browser?`,
    detail: u.href,
  };
}

export type NavigationDecision = { action: 'allow' } | { action: 'deny'; openExternal: string | null };

/** In-window navigation: only within the app; an http(s) link may go to the system browser (after asking). */
export function navigationDecision(url: string): NavigationDecision {
  if (isAppUrl(url)) return { action: 'allow' };
  return { action: 'deny', openExternal: externalUrl(url) };
}

/** `window.open` and target=_blank: never a new Electron window; http(s) may go to the system browser. */
export function windowOpenDecision(url: string): { action: 'deny'; openExternal: string | null } {
  return { action: 'deny', openExternal: externalUrl(url) };
}

/** The part of Electron's `WebFrameMain` the sender check reads. */
export interface FrameLike {
  readonly url: string;
  readonly parent: unknown;
}

/**
 * An IPC message is trusted only from the app's top-level frame. A destroyed frame (null), a sub-frame, or a
 * frame that navigated elsewhere is refused.
 */
export function isTrustedSender(frame: FrameLike | null | undefined): boolean {
  if (!frame) return false;
  if (frame.parent !== null && frame.parent !== undefined) return false;
  return typeof frame.url === 'string' && isAppUrl(frame.url);
}

/** Permission requests and checks: denied unless the app itself asks for one of the few it needs. */
export function permissionAllowed(permission: string, requestingUrl: string | undefined): boolean {
  return ALLOWED_PERMISSIONS.has(permission) && requestingUrl !== undefined && isAppUrl(requestingUrl);
}

/**
 * Requests to the network from the renderer are cancelled: the app has no remote content. (The CSP already
 * forbids them; this also covers what CSP does not, such as a navigation that slipped through.)
 */
export function blockedRequest(url: string): boolean {
  const u = parseUrl(url);
  if (!u) return true;
  return ['http:', 'https:', 'ws:', 'wss:', 'ftp:', 'file:'].includes(u.protocol);
}

export function methodsArgument(methods: readonly string[]): string {
  for (const m of methods) {
    if (!/^[a-z][a-zA-Z.]*$/.test(m)) throw new Error(`method name "${m}" cannot be passed to the preload`);
  }
  return `${METHODS_ARG}${methods.join(',')}`;
}

export interface WindowOptionsInput {
  /** Absolute path of the compiled preload (dist/electron/preload.cjs). */
  preload: string;
  /** The contract's method names, handed to the preload through its argv. */
  methods: readonly string[];
  /** DevTools only in development builds. */
  devTools: boolean;
  /** Window icon (Linux/Windows in development; packaged builds embed theirs). */
  icon?: string;
}

/**
 * The BrowserWindow options, following Electron's security checklist: isolated, sandboxed, no Node, web security
 * on, no insecure content, no experimental features, no <webview>. Returned as a fresh object each call.
 */
export function windowOptions(input: WindowOptionsInput) {
  if (!input.preload) throw new Error('windowOptions: the preload path is empty');
  return {
    width: 1280,
    height: 860,
    minWidth: 880,
    minHeight: 560,
    show: false,
    title: 'xwb',
    backgroundColor: '#11151c',
    ...(input.icon ? { icon: input.icon } : {}),
    webPreferences: {
      preload: input.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
      devTools: input.devTools,
      additionalArguments: [methodsArgument(input.methods)],
    },
  };
}
