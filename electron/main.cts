/**
 * Electron main process: only wiring. The policy lives in security.cts, the protocol in protocol.cts, the IPC
 * entry in ipc.cts, the core's construction in core.cts. The main process does IPC and the protocol and nothing
 * heavy: training runs in the service's worker thread, so the window never waits on a training step.
 *
 * Compiled to dist/electron/main.cjs (tsconfig.electron.json); `xwb start` spawns it directly from a built tree
 * and through electron/main.cjs from a source checkout.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  app,
  BrowserWindow,
  type BrowserWindowConstructorOptions,
  dialog,
  ipcMain,
  protocol,
  session,
  shell,
  type WebContents,
} from 'electron';
import { type Core, parseShellArgs, rendererRoot, startCore, startupFailureMessage } from './core.cjs';
import { createCallHandler } from './ipc.cjs';
import { createProtocolHandler } from './protocol.cjs';
import {
  APP_ENTRY,
  blockedRequest,
  CALL_CHANNEL,
  EVENT_CHANNEL,
  externalLinkPrompt,
  isAppUrl,
  navigationDecision,
  OPEN_EXTERNAL_BUTTON,
  permissionAllowed,
  SCHEME,
  windowOpenDecision,
  windowOptions,
} from './security.cjs';

/** dist/electron → the application root (the repository, or app.asar when packaged). */
const appRoot = join(__dirname, '..', '..');

// Both must happen before 'ready': a privileged scheme gets an origin, CSP and fetch; the sandbox applies to
// every renderer, including any a bug might create.
protocol.registerSchemesAsPrivileged([
  { scheme: SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
]);
app.enableSandbox();

let core: Core | undefined;

function fail(message: string): void {
  console.error(message);
  dialog.showErrorBox('xwb', message);
  app.exit(1);
}

// One question at a time: a page that fires links in a loop gets one dialog, not a stack of them.
let asking = false;

/** Opens an http(s) link in the system browser only if the user says so (security.cts, externalLinkPrompt). */
async function openExternally(url: string | null, contents: WebContents): Promise<void> {
  if (!url || asking) return;
  asking = true;
  try {
    const prompt = externalLinkPrompt(url);
    const win = BrowserWindow.fromWebContents(contents);
    const { response } = await (win ? dialog.showMessageBox(win, prompt) : dialog.showMessageBox(prompt));
    if (response === OPEN_EXTERNAL_BUTTON) await shell.openExternal(url);
  } catch (e) {
    console.warn(`could not open ${url}: ${String(e)}`);
  } finally {
    asking = false;
  }
}

// Every web contents, present and future: no navigation away from the app, no new windows, no <webview>;
// an http(s) link is offered to the system browser, and opens there only when the user agrees.
app.on('web-contents-created', (_event, contents) => {
  contents.on('will-navigate', (event) => {
    const d = navigationDecision(event.url);
    if (d.action === 'deny') {
      event.preventDefault();
      void openExternally(d.openExternal, contents);
    }
  });
  contents.on('will-redirect', (event) => {
    if (!isAppUrl(event.url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    void openExternally(windowOpenDecision(url).openExternal, contents);
    return { action: 'deny' };
  });
});

function windowIcon(): string | undefined {
  const icon = join(appRoot, 'resources', 'icon.png');
  return existsSync(icon) ? icon : undefined;
}

function createWindow(c: Core): void {
  const options: BrowserWindowConstructorOptions = windowOptions({
    preload: join(__dirname, 'preload.cjs'),
    methods: c.contract.METHODS,
    devTools: !app.isPackaged,
    icon: windowIcon(),
  });
  const win = new BrowserWindow(options);
  win.once('ready-to-show', () => win.show());
  win.loadURL(APP_ENTRY).catch((e: unknown) => fail(`could not load ${APP_ENTRY}: ${String(e)}`));
}

function broadcast(payload: unknown): void {
  for (const win of BrowserWindow.getAllWindows()) {
    const wc = win.webContents;
    if (!wc.isDestroyed() && isAppUrl(wc.getURL())) wc.send(EVENT_CHANNEL, payload);
  }
}

async function start(): Promise<void> {
  const args = parseShellArgs(process.argv);
  await app.whenReady();

  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_wc, permission, callback, details) =>
    callback(permissionAllowed(permission, details.requestingUrl)),
  );
  ses.setPermissionCheckHandler((_wc, permission, requestingOrigin) =>
    permissionAllowed(permission, requestingOrigin),
  );
  ses.webRequest.onBeforeRequest(
    { urls: ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*', 'file://*/*'] },
    (details, callback) => callback({ cancel: blockedRequest(details.url) }),
  );

  const c = await startCore(args);
  core = c;
  protocol.handle(SCHEME, createProtocolHandler({ files: c.service, rendererRoot: rendererRoot(appRoot) }));
  const handleCall = createCallHandler({ contract: c.contract, service: c.service, warn: console.warn });
  ipcMain.handle(CALL_CHANNEL, (event, method: unknown, req: unknown) =>
    handleCall(event.senderFrame, method, req),
  );
  c.service.events.on('event', broadcast);

  createWindow(c);
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow(c);
  });
}

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

app.on('will-quit', () => {
  ipcMain.removeHandler(CALL_CHANNEL);
  core?.close();
  core = undefined;
});

start().catch((e: unknown) => {
  const show = () => fail(startupFailureMessage(e, appRoot));
  if (app.isReady()) show();
  else app.whenReady().then(show, show);
});
