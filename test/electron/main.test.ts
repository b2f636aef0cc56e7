import assert from 'node:assert/strict';
import fs from 'node:fs';
import Module, { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { CALL_CHANNEL, CSP, METHODS_ARG, SCHEME } from '../../electron/security.cjs';

// Runs electron/main.cts under Node against a recording stand-in for the `electron` module, to check the wiring
// that the pure modules cannot: what is registered before/after ready, and that the hooks use the policy.
type Fn = (...args: never[]) => unknown;
interface Recorded {
  privileged: unknown[];
  sandboxEnabled: boolean;
  protocolHandlers: Map<string, (r: Request) => Promise<Response>>;
  ipcHandlers: Map<string, Fn>;
  appEvents: Map<string, Fn>;
  windows: { options: { webPreferences: Record<string, unknown> }; loaded: string[] }[];
  permissionRequest?: Fn;
  permissionCheck?: Fn;
  beforeRequest?: { filter: { urls: string[] }; listener: Fn };
  openedExternally: string[];
  /** The link confirmations shown, and how the (fake) user answers the next ones. */
  prompts: { message: string; detail: string; buttons: string[]; defaultId: number; cancelId: number }[];
  answers: number[];
  errors: string[];
}

const rec: Recorded = {
  privileged: [],
  sandboxEnabled: false,
  protocolHandlers: new Map(),
  ipcHandlers: new Map(),
  appEvents: new Map(),
  windows: [],
  openedExternally: [],
  prompts: [],
  answers: [],
  errors: [],
};

const fakeElectron = {
  app: {
    isPackaged: false,
    enableSandbox: () => {
      rec.sandboxEnabled = true;
    },
    whenReady: () => Promise.resolve(),
    isReady: () => true,
    on: (name: string, fn: Fn) => rec.appEvents.set(name, fn),
    quit: () => {},
    exit: () => {},
  },
  protocol: {
    registerSchemesAsPrivileged: (s: unknown[]) => rec.privileged.push(...s),
    handle: (scheme: string, fn: (r: Request) => Promise<Response>) => rec.protocolHandlers.set(scheme, fn),
  },
  ipcMain: {
    handle: (channel: string, fn: Fn) => rec.ipcHandlers.set(channel, fn),
    removeHandler: (channel: string) => rec.ipcHandlers.delete(channel),
  },
  session: {
    defaultSession: {
      setPermissionRequestHandler: (fn: Fn) => {
        rec.permissionRequest = fn;
      },
      setPermissionCheckHandler: (fn: Fn) => {
        rec.permissionCheck = fn;
      },
      webRequest: {
        onBeforeRequest: (filter: { urls: string[] }, listener: Fn) => {
          rec.beforeRequest = { filter, listener };
        },
      },
    },
  },
  shell: {
    openExternal: async (url: string) => {
      rec.openedExternally.push(url);
    },
  },
  dialog: {
    showErrorBox: (_t: string, m: string) => rec.errors.push(m),
    showMessageBox: async (...args: unknown[]) => {
      rec.prompts.push(args[args.length - 1] as Recorded['prompts'][number]);
      // Answered on a later turn, as a real dialog would be.
      await new Promise((r) => setTimeout(r, 5));
      return { response: rec.answers.shift() ?? 0 };
    },
  },
  BrowserWindow: class {
    static all: unknown[] = [];
    static getAllWindows = () => fakeElectron.BrowserWindow.all;
    static fromWebContents = () => null;
    webContents = { isDestroyed: () => false, getURL: () => 'xwb://app/index.html', send: () => {} };
    constructor(options: { webPreferences: Record<string, unknown> }) {
      const w = { options, loaded: [] as string[] };
      rec.windows.push(w);
      fakeElectron.BrowserWindow.all.push(this);
      this.loadURL = async (u: string) => {
        w.loaded.push(u);
      };
    }
    loadURL: (u: string) => Promise<void>;
    once() {}
    show() {}
  },
};

let dir: string;
const resolveFilename = (Module as unknown as { _resolveFilename: Fn })._resolveFilename;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-'));
  const fake = path.join(dir, 'electron-fake.cjs');
  fs.writeFileSync(fake, 'module.exports = globalThis.__xwbFakeElectron;');
  (globalThis as Record<string, unknown>).__xwbFakeElectron = fakeElectron;
  (Module as unknown as { _resolveFilename: Fn })._resolveFilename = function (
    this: unknown,
    ...args: never[]
  ) {
    if ((args[0] as string) === 'electron') return fake;
    return (resolveFilename as (...a: unknown[]) => unknown).apply(this, args);
  } as Fn;
  process.env.XWB_DB = path.join(dir, 'xwb.db');
  process.env.XWB_RENDERER_DIR = path.join(dir, 'renderer');
  fs.mkdirSync(process.env.XWB_RENDERER_DIR);
  fs.writeFileSync(
    path.join(process.env.XWB_RENDERER_DIR, 'index.html'),
    '<!doctype html><title>xwb</title>',
  );
  createRequire(import.meta.url)('../../electron/main.cts');
  // start() runs on import; wait until it has created the window.
  for (let i = 0; i < 200 && rec.windows.length === 0 && rec.errors.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
});

after(() => {
  rec.appEvents.get('will-quit')?.();
  (Module as unknown as { _resolveFilename: Fn })._resolveFilename = resolveFilename;
  delete process.env.XWB_DB;
  delete process.env.XWB_RENDERER_DIR;
  fs.rmSync(dir, { recursive: true, force: true });
});

test('before ready: the scheme is privileged and the sandbox enforced', () => {
  assert.deepEqual(rec.errors, []);
  assert.deepEqual(rec.privileged, [
    { scheme: SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
  ]);
  assert.equal(rec.sandboxEnabled, true);
});

test('the window is the secure one, loads xwb://app/index.html, and gets the methods', () => {
  assert.equal(rec.windows.length, 1);
  const w = rec.windows[0];
  assert.deepEqual(w.loaded, ['xwb://app/index.html']);
  assert.equal(w.options.webPreferences.sandbox, true);
  assert.equal(w.options.webPreferences.contextIsolation, true);
  assert.match(String(w.options.webPreferences.preload), /preload\.cjs$/);
  const args = w.options.webPreferences.additionalArguments as string[];
  assert.ok(args[0].startsWith(METHODS_ARG) && args[0].includes('datasets.list'));
});

test('the protocol serves the renderer; IPC answers the app and refuses others', async () => {
  const serve = rec.protocolHandlers.get(SCHEME);
  assert.ok(serve);
  const page = await serve(new Request('xwb://app/index.html'));
  assert.equal(page.headers.get('content-security-policy'), CSP);
  const call = rec.ipcHandlers.get(CALL_CHANNEL) as (e: unknown, m: unknown, r: unknown) => Promise<unknown>;
  assert.deepEqual(
    await call({ senderFrame: { url: 'xwb://app/index.html', parent: null } }, 'datasets.list', {}),
    {
      ok: true,
      value: [],
    },
  );
  const refused = (await call(
    { senderFrame: { url: 'https://evil.example/', parent: null } },
    'datasets.list',
    {},
  )) as {
    ok: boolean;
  };
  assert.equal(refused.ok, false);
});

test('web contents hooks deny navigation and new windows; permissions and network are refused', () => {
  const handlers = new Map<string, Fn>();
  let openHandler: Fn | undefined;
  const contents = {
    on: (name: string, fn: Fn) => handlers.set(name, fn),
    setWindowOpenHandler: (fn: Fn) => {
      openHandler = fn;
    },
  };
  (rec.appEvents.get('web-contents-created') as (e: unknown, c: unknown) => void)({}, contents);
  const navigate = (url: string) => {
    let prevented = false;
    (handlers.get('will-navigate') as (e: unknown) => void)({
      url,
      preventDefault: () => (prevented = true),
    });
    return prevented;
  };
  assert.equal(navigate('xwb://app/index.html#/runs'), false);
  assert.equal(navigate('file:///etc/passwd'), true);
  assert.deepEqual(rec.prompts, [], 'a file: URL is not even offered');
  assert.deepEqual((openHandler as (d: { url: string }) => unknown)({ url: 'xwb://app/index.html' }), {
    action: 'deny',
  });
  assert.deepEqual(rec.prompts, [], 'the app itself opens no new window');
  let attached = true;
  (handlers.get('will-attach-webview') as (e: unknown) => void)({ preventDefault: () => (attached = false) });
  assert.equal(attached, false);

  let granted: boolean | undefined;
  (rec.permissionRequest as (...a: unknown[]) => void)({}, 'media', (g: boolean) => (granted = g), {
    requestingUrl: 'xwb://app/index.html',
  });
  assert.equal(granted, false);
  assert.equal((rec.permissionCheck as (...a: unknown[]) => boolean)({}, 'geolocation', 'xwb://app'), false);
  let cancelled: boolean | undefined;
  assert.ok(rec.beforeRequest);
  (rec.beforeRequest.listener as (d: unknown, cb: (r: { cancel: boolean }) => void) => void)(
    { url: 'https://cdn.example/x.js' },
    (r) => (cancelled = r.cancel),
  );
  assert.equal(cancelled, true);
});

test('an http(s) link leaves for the system browser only when the user agrees; one question at a time', async () => {
  const handlers = new Map<string, Fn>();
  let openHandler: Fn | undefined;
  const contents = {
    on: (name: string, fn: Fn) => handlers.set(name, fn),
    setWindowOpenHandler: (fn: Fn) => {
      openHandler = fn;
    },
  };
  (rec.appEvents.get('web-contents-created') as (e: unknown, c: unknown) => void)({}, contents);
  const navigate = (url: string) =>
    (handlers.get('will-navigate') as (e: unknown) => void)({ url, preventDefault: () => {} });
  const settle = () => new Promise((r) => setTimeout(r, 30));
  rec.prompts.length = 0;
  rec.openedExternally.length = 0;

  // Cancelled (the default answer): nothing opens.
  rec.answers.push(0);
  navigate('https://example.org/?leak=secret');
  // A second link while the first question is open is dropped, not queued behind it.
  navigate('https://example.org/again');
  await settle();
  assert.equal(rec.prompts.length, 1);
  assert.deepEqual(rec.openedExternally, []);
  const p = rec.prompts[0];
  assert.equal(p.detail, 'https://example.org/?leak=secret', 'the full address is shown');
  assert.match(p.message, /example\.org/);
  assert.equal(p.buttons[p.defaultId], 'Cancel');
  assert.equal(p.cancelId, p.defaultId);

  // Agreed: opens, through window.open as well; a look-alike host is shown in punycode.
  rec.answers.push(1);
  assert.deepEqual((openHandler as (d: { url: string }) => unknown)({ url: 'https://exаmple.org/doc' }), {
    action: 'deny',
  });
  await settle();
  assert.equal(rec.prompts.length, 2);
  assert.match(rec.prompts[1].message, /xn--exmple-/);
  assert.deepEqual(rec.openedExternally, ['https://xn--exmple-4nf.org/doc']);
});
