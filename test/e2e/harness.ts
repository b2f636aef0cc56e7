/**
 * What every browser test needs: the renderer built from the current source into a temp folder, a workbench
 * server started as a child process (it prints one JSON line with its URLs), Debian's Chromium with one set of
 * flags, and calls to the contract from inside the page (same cookie as the UI).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = new URL('../..', import.meta.url).pathname;
/**
 * Where screenshots go: docs/screenshots when asked (`XWB_SCREENSHOTS=1 npm test -- test/e2e`, to refresh the
 * ones the docs show), otherwise a temporary folder, so a plain `npm test` leaves the checkout untouched.
 */
export const SHOTS = process.env.XWB_SCREENSHOTS
  ? join(ROOT, 'docs', 'screenshots')
  : join(tmpdir(), `xwb-e2e-screenshots-${process.pid}`);
/** The skip reason when there is no browser, else false (node:test's `skip` takes either). */
export const NO_BROWSER: string | false = existsSync(CHROMIUM)
  ? false
  : `Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) to run the browser tests`;

export interface Workspace {
  tmp: string;
  /** The renderer built from the current source (serve it with XWB_RENDERER_DIR). */
  rendererDir: string;
}

/** A fresh temp folder with the renderer built into it, and the screenshots folder made. */
export function prepareWorkspace(prefix: string): Workspace {
  const tmp = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(SHOTS, { recursive: true });
  const rendererDir = join(tmp, 'renderer');
  const build = spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/vite/bin/vite.js'),
      'build',
      '--config',
      'renderer/vite.config.ts',
      '--outDir',
      rendererDir,
      '--logLevel',
      'warn',
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  assert.equal(build.status, 0, `vite build failed: ${build.stderr}`);
  return { tmp, rendererDir };
}

export interface Server {
  child: ChildProcess;
  url: string;
  launchUrl: string;
  port: number;
}

/**
 * Runs `node <args>` in the repository and waits for the first JSON line on its stdout ({url, launchUrl}). `name`
 * says which server failed; its stderr is in the error.
 */
export function startJsonServer(
  name: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<Server> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${timeoutMs / 1000} s: ${err}`));
    }, timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.trim().startsWith('{'));
      if (!line) return;
      clearTimeout(timer);
      const s = JSON.parse(line) as { url: string; launchUrl: string };
      resolve({ child, url: s.url, launchUrl: s.launchUrl, port: Number(new URL(s.url).port) });
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}: ${err}`));
    });
  });
}

/** `xwb serve --json` on `db`, serving the renderer in `rendererDir`; port 0 picks a free one. */
export function startXwbServe(
  db: string,
  rendererDir: string,
  port = 0,
  timeoutMs = 30_000,
): Promise<Server> {
  return startJsonServer(
    'xwb serve',
    ['--import', 'tsx', join(ROOT, 'src/cli/run.ts'), 'serve', '--db', db, '--port', String(port), '--json'],
    { XWB_RENDERER_DIR: rendererDir },
    timeoutMs,
  );
}

export interface TeamAccount {
  name: string;
  role: 'owner' | 'reviewer' | 'viewer';
  password: string;
}

/** Runs `xwb <args>` on the repository's CLI (stdin from `input`) and fails the test on a non-zero exit. */
export function xwbCli(args: string[], input = ''): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/run.ts'), ...args], {
    cwd: ROOT,
    input,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `xwb ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/**
 * Team mode as people run it: the accounts made with `xwb user add` (password on stdin), a self-signed
 * certificate for 127.0.0.1 in `tmp`, and `xwb serve --team` over HTTPS on `db`. Browsers must ignore the
 * certificate's issuer (`ignoreHTTPSErrors`).
 */
export function startTeamServe(
  tmp: string,
  db: string,
  rendererDir: string,
  accounts: readonly TeamAccount[],
): Promise<Server> {
  for (const a of accounts) xwbCli(['user', 'add', a.name, '--role', a.role, '--db', db], `${a.password}\n`);
  const tls = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(tmp, 'key.pem'),
      '-out',
      join(tmp, 'cert.pem'),
    ],
    { encoding: 'utf8' },
  );
  assert.equal(tls.status, 0, tls.stderr);
  return startJsonServer(
    'xwb serve --team',
    [
      '--import',
      'tsx',
      join(ROOT, 'src/cli/run.ts'),
      'serve',
      '--team',
      '--db',
      db,
      '--port',
      '0',
      '--json',
      '--tls-cert',
      join(tmp, 'cert.pem'),
      '--tls-key',
      join(tmp, 'key.pem'),
    ],
    { XWB_RENDERER_DIR: rendererDir },
  );
}

/** Stops a server and waits until it is gone (SIGKILL: the crash the tests provoke on purpose). */
export async function stopServer(
  child: ChildProcess | undefined,
  signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await gone;
}

/** Headless Chromium with a fresh profile under `tmp`, and its first page. */
export async function launchChromium(tmp: string): Promise<{ browser: BrowserContext; page: Page }> {
  // Playwright takes the profile as the persistent context's folder, not as a flag.
  const browser = await chromium.launchPersistentContext(join(tmp, 'chromium-profile'), {
    executablePath: CHROMIUM,
    viewport: { width: 1400, height: 860 },
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  return { browser, page };
}

/** Calls the contract from inside the page (same cookie as the UI); any status is returned, not judged. */
export function pageCall(
  page: Page,
  method: string,
  body: unknown,
): Promise<{ status: number; json: unknown }> {
  return page.evaluate(
    async ([m, b]) => {
      const r = await fetch(`/api/${m}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(b),
      });
      return { status: r.status, json: await r.json() };
    },
    [method, body] as const,
  );
}

/** Like pageCall, for calls that must succeed: anything but 200 fails the test with the server's answer. */
export async function pageCallOk<T>(page: Page, method: string, body: unknown): Promise<T> {
  const r = await pageCall(page, method, body);
  assert.equal(r.status, 200, `${method}: ${JSON.stringify(r.json)}`);
  return r.json as T;
}

/**
 * Opens a screen after a (re)load of a workbench that has datasets. Once its datasets are loaded the app shows the
 * screen the address names (the gallery for a bare address), which overrides a screen chosen before that (a race
 * the machine's load decides), so the end of loading is waited for first.
 */
/**
 * Starts the tiny three-phase training run the e2e tests explain and review, and waits until it is done: any
 * status other than the in-progress ones, or the deadline, fails the test with the run's state.
 */
export async function trainTinyRun(
  page: Page,
  opts: { datasetId: number; size: number; timeoutMs: number },
): Promise<number> {
  const { runId } = await pageCallOk<{ runId: number }>(page, 'train.start', {
    datasetId: opts.datasetId,
    size: opts.size,
    base: 4,
    epochs: [1, 1, 1],
    alpha: [1, 0, 0.5],
    batchSize: 4,
  });
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const r = await pageCallOk<{ status: string }>(page, 'runs.get', { runId });
    if (r.status === 'done') return runId;
    assert.ok(
      ['running', 'queued', 'pending', 'created'].includes(r.status),
      `run ended as ${JSON.stringify(r)}`,
    );
    assert.ok(Date.now() < deadline, `the tiny run did not finish within ${opts.timeoutMs / 60_000} minutes`);
    await new Promise((res) => setTimeout(res, 1000));
  }
}

export async function openScreen(
  page: Page,
  screen: 'image' | 'training' | 'jobs' | 'review',
): Promise<void> {
  await page.locator('nav button.active').waitFor();
  await page.locator('main > p.center', { hasText: 'Loading…' }).waitFor({ state: 'detached' });
  await page.locator(`button[data-screen=${screen}]`).click();
  await page.locator(`button[data-screen=${screen}].active`).waitFor();
}

/** What an overlay canvas shows: shares of its pixels that are drawn, and drawn strongly on either kind of scale. */
export interface CanvasStats {
  pixels: number;
  /** alpha > 0 (not cut by the threshold). */
  visible: number;
  /** Upper half of viridis (its green channel passes 145 at the middle of the bar). */
  strongSequential: number;
  /** The outer quarters of blue-white-red (|red − blue| ≥ 128): strong evidence of either sign. */
  strongDiverging: number;
}

/** Reads every canvas matching `selector` back from the page (getImageData), in document order. */
export function canvasStats(page: Page, selector: string): Promise<CanvasStats[]> {
  return page.evaluate(
    `[...document.querySelectorAll(${JSON.stringify(selector)})].map((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let visible = 0, seq = 0, div = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] === 0) continue;
        visible++;
        if (d[i + 1] >= 145) seq++;
        if (Math.abs(d[i] - d[i + 2]) >= 128) div++;
      }
      const n = d.length / 4;
      return { pixels: n, visible: visible / n, strongSequential: seq / n, strongDiverging: div / n };
    })`,
  ) as Promise<CanvasStats[]>;
}

/** The share of strongly drawn pixels, on the kind of scale the legend says ('sequential' | 'diverging'). */
export function strongShare(s: CanvasStats, kind: string | null): number {
  return kind === 'diverging' ? s.strongDiverging : s.strongSequential;
}
