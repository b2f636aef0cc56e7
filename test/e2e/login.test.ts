/**
 * Team mode's sign-in in Chromium over HTTPS: the sign-in screen, a wrong password's sentence, then the
 * workbench with the user's name and Sign out, which brings the sign-in screen back. Writes team-login.png and
 * team-signed-in.png.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import {
  CHROMIUM,
  NO_BROWSER,
  prepareWorkspace,
  type Server,
  SHOTS,
  startTeamServe,
  stopServer,
} from './harness.js';

let tmp = '';
let server: Server | undefined;
let browser: BrowserContext | undefined;
let page: Page;

before(async () => {
  if (NO_BROWSER) return;
  let rendererDir: string;
  ({ tmp, rendererDir } = prepareWorkspace('xwb-e2e-login-'));
  server = await startTeamServe(tmp, join(tmp, 'store.db'), rendererDir, [
    { name: 'olga', role: 'owner', password: 'the owner of this study' },
  ]);
  browser = await chromium.launchPersistentContext(join(tmp, 'chromium-profile'), {
    executablePath: CHROMIUM,
    viewport: { width: 1200, height: 700 },
    headless: true,
    ignoreHTTPSErrors: true, // the test's own self-signed certificate
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
});

after(async () => {
  await browser?.close();
  await stopServer(server?.child);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('sign in, see the name, sign out', { skip: NO_BROWSER, timeout: 120_000 }, async () => {
  assert.ok(server);
  assert.match(server.url, /^https:/);
  await page.goto(server.launchUrl);
  const form = page.getByTestId('login');
  await form.waitFor();
  assert.equal(await page.locator('nav').count(), 0, 'no workbench tabs before signing in');
  await page.getByLabel('User name').fill('olga');
  await page.getByLabel('Password').fill('not her password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  assert.equal(await page.getByRole('alert').textContent(), 'wrong user name or password');
  await page.getByLabel('Password').fill('the owner of this study');
  await page.screenshot({ path: join(SHOTS, 'team-login.png') });
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('account').waitFor();
  assert.equal(await page.getByTestId('account').textContent(), 'olga (owner)');
  const cookies = await browser!.cookies();
  assert.equal(cookies.length, 1);
  assert.equal(cookies[0].httpOnly, true);
  assert.equal(cookies[0].secure, true);
  assert.equal(cookies[0].sameSite, 'Strict');
  await page.screenshot({ path: join(SHOTS, 'team-signed-in.png') });
  await page.getByTestId('sign-out').click();
  await page.getByTestId('login').waitFor();
  assert.equal((await browser!.cookies()).length, 0, 'the cookie is gone');
});
