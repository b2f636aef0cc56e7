/**
 * Team mode in Chromium over HTTPS: the owner assigns reviewers from the Review screen's Reviewers panel. The
 * owner adds a reviewer (by keyboard), who signs in and rates the session's items; the owner removes them, and the
 * reviewer no longer reaches the session while their rating stays; added again, they resume where they left off.
 * A refusal from the server (an account demoted to viewer meanwhile) is shown in the panel with what failed. The
 * single-user workbench on the same store shows no panel. Writes review-reviewers.png,
 * review-reviewers-removed.png and review-reviewers-error.png.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import {
  CHROMIUM,
  NO_BROWSER,
  openScreen,
  pageCall,
  pageCallOk,
  prepareWorkspace,
  type Server,
  SHOTS,
  startTeamServe,
  startXwbServe,
  stopServer,
  type TeamAccount,
  trainTinyRun,
  xwbCli,
} from './harness.js';

const ACCOUNTS: TeamAccount[] = [
  { name: 'olga', role: 'owner', password: 'the owner of this study' },
  { name: 'ann', role: 'reviewer', password: 'she reviews carefully' },
  { name: 'bob', role: 'reviewer', password: 'he reviews quickly' },
  { name: 'vic', role: 'viewer', password: 'only looks around here' },
];
const SESSION = 'Pilot';
const ITEMS = 4;

let tmp = '';
let db = '';
let rendererDir = '';
let server: Server | undefined;
let browser: Browser | undefined;
let owner: Page;
let reviewer: Page;
let sessionId = 0;
const reviewerErrors: string[] = [];

before(async () => {
  if (NO_BROWSER) return;
  ({ tmp, rendererDir } = prepareWorkspace('xwb-e2e-review-assign-'));
  db = join(tmp, 'store.db');
  server = await startTeamServe(tmp, db, rendererDir, ACCOUNTS);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
  // Two people, two cookie jars.
  const context = () =>
    browser!.newContext({ viewport: { width: 1200, height: 760 }, ignoreHTTPSErrors: true });
  owner = await (await context()).newPage();
  reviewer = await (await context()).newPage();
  reviewer.on('pageerror', (e) => reviewerErrors.push(e.message));
  reviewer.on('console', (m) => {
    if (m.type() === 'error') reviewerErrors.push(m.text());
  });
});

after(async () => {
  await browser?.close();
  await stopServer(server?.child);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function signIn(page: Page, name: string) {
  await page.goto(server!.launchUrl);
  await page.getByTestId('login').waitFor();
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(ACCOUNTS.find((a) => a.name === name)!.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('account').filter({ hasText: name }).waitFor();
}

const panel = () => owner.getByTestId('reviewers');
const row = (user: string) => panel().locator(`tr[data-user="${user}"]`);

/** The Reviewers tab of the Review screen, opened from a fresh load. */
async function openReviewers() {
  await owner.reload();
  await openScreen(owner, 'review');
  await owner
    .getByRole('combobox', { name: 'Review session' })
    .selectOption({ label: `${SESSION} (blinded)` });
  await owner.getByRole('tab', { name: 'Reviewers' }).click();
  await panel()
    .getByRole('heading', { name: `Reviewers of “${SESSION}”` })
    .waitFor();
  await panel().getByRole('table').waitFor();
}

test('the owner signs in and makes a session over a tiny trained run', {
  skip: NO_BROWSER,
  timeout: 300_000,
}, async () => {
  await signIn(owner, 'olga');
  const call = <T>(method: string, body: unknown) => pageCallOk<T>(owner, method, body);
  await call('datasets.generate', {
    name: 'assign shapes',
    options: { images: 24, size: 32, valFraction: 0.3, seed: 4 },
  });
  const runId = await trainTinyRun(owner, { datasetId: 1, size: 32, timeoutMs: 240_000 });
  const created = await call<{ session: { id: number }; items: number }>('review.create', {
    name: SESSION,
    runIds: [runId],
    methods: ['gradient'],
    sample: { split: 'val', n: ITEMS, seed: 1 },
    raters: ['olga'],
  });
  sessionId = created.session.id;
  assert.equal(created.items, ITEMS);
});

test('the panel lists who is assigned and offers reviewers and owners only; assigning by keyboard', {
  skip: NO_BROWSER,
  timeout: 120_000,
}, async () => {
  await openReviewers();
  assert.equal(await panel().locator('tbody tr').count(), 1);
  assert.deepEqual(await row('olga').locator('td').allTextContents(), [
    'olga',
    'owner',
    `${ITEMS} items`,
    'Remove',
  ]);
  const picker = panel().getByRole('combobox', { name: 'Account to add' });
  assert.deepEqual(await picker.locator('option').allTextContents(), ['ann (reviewer)', 'bob (reviewer)']);
  assert.match((await panel().getByTestId('reviewers-viewers').textContent()) ?? '', /vic — viewers cannot/);
  assert.match(
    (await panel().getByTestId('reviewers-note').textContent()) ?? '',
    /ratings they already gave stay/,
  );

  // Keyboard only: the picker has ann first; Tab reaches Assign, Enter presses it.
  await picker.focus();
  assert.equal(await picker.inputValue(), 'ann');
  await owner.keyboard.press('Tab');
  assert.equal(await owner.evaluate('document.activeElement?.textContent'), 'Assign');
  await owner.keyboard.press('Enter');
  await row('ann').waitFor();
  assert.deepEqual(await row('ann').locator('td').allTextContents(), [
    'ann',
    'reviewer',
    `${ITEMS} items`,
    'Remove',
  ]);
  assert.equal(
    await panel().getByRole('status').textContent(),
    `ann can now rate “${SESSION}” (${ITEMS} items).`,
  );
  assert.deepEqual(
    await picker.locator('option').allTextContents(),
    ['bob (reviewer)'],
    'ann is not offered twice',
  );
  await owner.screenshot({ path: join(SHOTS, 'review-reviewers.png') });
});

test('the reviewer signs in and gets the session’s items', {
  skip: NO_BROWSER,
  timeout: 120_000,
}, async () => {
  await signIn(reviewer, 'ann');
  // The sign-in screen itself came from a 401 to app.info; what counts is what the signed-in page asks for.
  reviewerErrors.length = 0;
  await reviewer.reload();
  await reviewer.getByTestId('rater-only').filter({ hasText: 'Rating as ann' }).waitFor();
  await reviewer.getByTestId('item-label').waitFor();
  await reviewer
    .getByTestId('progress')
    .filter({ hasText: `0 / ${ITEMS} rated` })
    .waitFor();
  await reviewer.locator('body').click({ position: { x: 5, y: 5 } });
  for (const k of ['3', '4', '5', 'Enter']) await reviewer.keyboard.press(k);
  await reviewer.locator('.history li[data-saved=true]').first().waitFor();
  await reviewer
    .getByTestId('progress')
    .filter({ hasText: `1 / ${ITEMS} rated` })
    .waitFor();
  assert.deepEqual(reviewerErrors, [], 'nothing the reviewer’s page asked for was refused');
});

test('removed, the reviewer no longer reaches the session; the rating stays; added again, they resume', {
  skip: NO_BROWSER,
  timeout: 120_000,
}, async () => {
  const remove = panel().getByRole('button', { name: `Remove ann from “${SESSION}”` });
  await remove.focus();
  await owner.keyboard.press('Enter');
  await row('ann').waitFor({ state: 'detached' });
  assert.equal(
    await panel().getByRole('status').textContent(),
    `ann no longer reaches “${SESSION}”; the ratings they gave stay.`,
  );
  assert.equal(
    await owner.evaluate("document.activeElement?.getAttribute('aria-label')"),
    'Account to add',
    'the keyboard stays in the panel',
  );
  await owner.screenshot({ path: join(SHOTS, 'review-reviewers-removed.png') });
  const summary = await pageCallOk<{ ratings: number }>(owner, 'review.summary', { sessionId });
  assert.equal(summary.ratings, 1, 'the rating ann gave stays');

  const refused = await pageCall(reviewer, 'review.next', { sessionId, rater: 'ann' });
  assert.equal(refused.status, 403, JSON.stringify(refused.json));
  assert.match(String((refused.json as { error: string }).error), /not assigned to you/);
  await reviewer.reload();
  await reviewer
    .getByRole('alert')
    .filter({ hasText: 'No review session is assigned to ann yet.' })
    .waitFor();
  assert.equal(await reviewer.getByTestId('item-label').count(), 0);

  // Added again: the same queue, with the rating given before.
  await panel().getByRole('combobox', { name: 'Account to add' }).selectOption('ann');
  await panel().getByRole('button', { name: 'Assign' }).click();
  await row('ann').waitFor();
  await reviewer.reload();
  await reviewer
    .getByTestId('progress')
    .filter({ hasText: `1 / ${ITEMS} rated` })
    .waitFor();
});

test('a refusal from the server is shown in the panel with what failed', {
  skip: NO_BROWSER,
  timeout: 60_000,
}, async () => {
  // The panel still offers bob; meanwhile someone makes him a viewer from the command line.
  xwbCli(['user', 'role', 'bob', '--role', 'viewer', '--db', db]);
  await panel().getByRole('combobox', { name: 'Account to add' }).selectOption('bob');
  await panel().getByRole('button', { name: 'Assign' }).click();
  const alert = panel().getByRole('alert');
  await alert.waitFor();
  assert.equal(
    await alert.textContent(),
    `Could not add bob to “${SESSION}”: "bob" is a viewer, who cannot rate; make them a reviewer first (xwb user role bob --role reviewer)`,
  );
  assert.equal(await row('bob').count(), 0);
  // The panel read the accounts again: bob is no longer offered, and the error stays in view.
  await panel().getByTestId('reviewers-viewers').filter({ hasText: 'bob, vic' }).waitFor();
  await owner.screenshot({ path: join(SHOTS, 'review-reviewers-error.png') });
  // A fresh look says the same.
  await openReviewers();
  assert.equal(await panel().getByRole('combobox', { name: 'Account to add' }).count(), 0);
  await panel().getByTestId('reviewers-all').waitFor();
  assert.match((await panel().getByTestId('reviewers-viewers').textContent()) ?? '', /bob, vic/);
});

test('the single-user workbench (launch token, no sign-in) has no Reviewers panel', {
  skip: NO_BROWSER,
  timeout: 60_000,
}, async () => {
  await stopServer(server?.child);
  server = await startXwbServe(db, rendererDir);
  const page = await (await browser!.newContext({ viewport: { width: 1200, height: 760 } })).newPage();
  await page.goto(server.launchUrl);
  await openScreen(page, 'review');
  await page.getByRole('tab', { name: 'Analysis' }).waitFor();
  assert.equal(await page.getByTestId('account').count(), 0, 'nobody is signed in');
  assert.equal(await page.getByRole('tab', { name: 'Reviewers' }).count(), 0);
  assert.equal(await page.getByTestId('reviewers').count(), 0);
});
