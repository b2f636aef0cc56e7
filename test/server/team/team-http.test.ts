/**
 * Team mode over real HTTPS on a real store: sign-in (wrong password, cookie flags, limits, sign-out), and every
 * role through the API — a reviewer reaches only their assigned sessions and their own queue (no analysis, no
 * other reviewer's ratings, no workbench: 403), a viewer reads and cannot rate, an owner assigns; a stale box edit
 * answers 409 and overwrites nothing; and the single-user launch token works as before beside it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { registerAnnotationHandlers } from '../../../src/api/annotation-handlers.js';
import type { Responses } from '../../../src/api/contract.js';
import { registerReviewHandlers } from '../../../src/api/review-handlers.js';
import { XwbService } from '../../../src/api/service.js';
import { startWebServer, type WebServer } from '../../../src/server/http.js';
import { hashPassword } from '../../../src/server/team/password.js';
import { type EvalFixture, evalFixture, wasmEngine } from '../../evaluate/fixture.js';
import { raw } from '../http-client.js';

const FAST = { logN: 10, r: 8, p: 1 };
const PASSWORD: Record<string, string> = {
  olga: 'olga owns this study',
  ann: 'ann reviews carefully',
  bob: 'bob reviews quickly',
  vic: 'vic only looks around',
  cy: 'cy forgets passwords',
};

let f: EvalFixture;
let service: XwbService;
let web: WebServer;
let cert: Buffer;
let port = 0;
let shared = 0; // ann and bob
let annOnly = 0;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
}

function https(
  path: string,
  opts: { method?: string; body?: unknown; cookie?: string; origin?: string | null } = {},
): Promise<Answer> {
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string> = { host: `127.0.0.1:${port}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (opts.origin !== null) headers.origin = opts.origin ?? `https://127.0.0.1:${port}`;
  if (opts.cookie) headers.cookie = opts.cookie;
  return new Promise((ok, fail) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'POST', headers, ca: cert, agent: false },
      (res) => {
        // An event stream that was let in never ends: its status is the answer.
        if (res.headers['content-type'] === 'text/event-stream') {
          res.destroy();
          return ok({ status: res.statusCode ?? 0, headers: res.headers, json: {} });
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            json = { text };
          }
          ok({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

const cookies: Record<string, string> = {};

async function signIn(name: string, password = PASSWORD[name]): Promise<Answer> {
  const r = await https('/auth/login', { body: { name, password } });
  const set = r.headers['set-cookie']?.[0];
  if (r.status === 200 && set) cookies[name] = set.split(';')[0];
  return r;
}

const api = (who: string, method: string, body: unknown = {}) =>
  https(`/api/${method}`, { body, cookie: cookies[who] });

async function expectStatus(who: string, method: string, body: unknown, status: number, re?: RegExp) {
  const r = await api(who, method, body);
  assert.equal(r.status, status, `${who} ${method}: ${JSON.stringify(r.json)}`);
  if (re) assert.match(String(r.json.error), re);
  return r.json;
}

before(async () => {
  await wasmEngine();
  f = await evalFixture(8);
  const runId = await f.makeRun();
  const tls = join(f.dir, 'tls');
  mkdirSync(tls);
  const made = spawnSync(
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
    ].concat([
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(tls, 'key.pem'),
      '-out',
      join(tls, 'cert.pem'),
    ]),
    { encoding: 'utf8' },
  );
  assert.equal(made.status, 0, made.stderr);
  cert = readFileSync(join(tls, 'cert.pem'));
  for (const [name, role] of [
    ['olga', 'owner'],
    ['ann', 'reviewer'],
    ['bob', 'reviewer'],
    ['vic', 'viewer'],
    ['cy', 'reviewer'],
  ] as const) {
    f.store.accounts.create({ name, role, passwordHash: await hashPassword(PASSWORD[name], FAST) });
  }
  service = new XwbService({
    store: f.store,
    transport: 'web',
    version: 'test',
    urls: { image: (id) => `/files/image/${id}`, explanation: (id) => `/files/explanation/${id}` },
  });
  registerReviewHandlers(service);
  registerAnnotationHandlers(service);
  const create = (name: string, raters: string[]) =>
    service.call(
      'review.create',
      {
        name,
        runIds: [runId],
        methods: ['gradient'],
        sample: { split: 'val', n: 2, seed: 1 },
        raters,
        blinded: true,
        pairwise: false,
      },
      undefined,
    ) as Promise<Responses['review.create']>;
  shared = (await create('shared', ['ann', 'bob'])).session.id;
  annOnly = (await create('ann only', ['ann'])).session.id;
  web = await startWebServer({
    service,
    staticDir: join(f.dir, 'no-renderer'),
    team: { tls: { cert, key: readFileSync(join(tls, 'key.pem')) } },
  });
  port = Number(new URL(web.url).port);
});

after(async () => {
  await web?.close();
  await service?.close();
  f?.done();
});

test('sign-in: a wrong password or unknown user is refused alike; the cookie is HttpOnly, Strict, Secure, __Host-', async () => {
  assert.match(web.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
  assert.equal(web.launchUrl, web.url, 'no token in the address');
  const wrong = await signIn('ann', 'ann reviews carelessly');
  assert.equal(wrong.status, 401);
  assert.equal(wrong.json.error, 'wrong user name or password');
  assert.equal(wrong.headers['set-cookie'], undefined);
  const nobody = await signIn('zed', 'whatever it is here');
  assert.equal(nobody.status, 401);
  assert.equal(nobody.json.error, 'wrong user name or password');
  // Signing in is a state change: without this server's Origin it is refused (login CSRF).
  const noOrigin = await https('/auth/login', {
    body: { name: 'ann', password: PASSWORD.ann },
    origin: null,
  });
  assert.equal(noOrigin.status, 403);
  const foreign = await https('/auth/login', {
    body: { name: 'ann', password: PASSWORD.ann },
    origin: 'https://evil.example',
  });
  assert.equal(foreign.status, 403);

  for (const name of ['olga', 'ann', 'bob', 'vic']) {
    const r = await signIn(name);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.name, name);
  }
  const set = (await signIn('ann')).headers['set-cookie'] as string[];
  assert.equal(set.length, 1);
  const parts = set[0].split(';').map((s) => s.trim());
  assert.match(parts[0], new RegExp(`^__Host-xwb_session_${port}=[A-Za-z0-9_-]{43}$`));
  assert.deepEqual(parts.slice(1).sort(), [
    'HttpOnly',
    'Max-Age=43200',
    'Path=/',
    'SameSite=Strict',
    'Secure',
  ]);
  cookies.ann = parts[0];
  assert.equal((await https('/api/app.info', { body: {} })).status, 401, 'no cookie: not signed in');
  const info = await expectStatus('ann', 'app.info', {}, 200);
  assert.deepEqual(info.account, { name: 'ann', role: 'reviewer' });
  assert.equal(info.storePath, '', 'a reviewer is not told where the store lives');
  const any = await api('ann', 'app.info');
  assert.equal(any.headers['strict-transport-security'], 'max-age=31536000');
  // The single-user ways in do not work in team mode.
  const token = await https(`/?token=${web.token}`, { method: 'GET' });
  assert.equal(token.status, 403);
  const bearer = await raw(port, { path: '/' }).catch((e: Error) => e);
  assert.ok(bearer instanceof Error, 'plain HTTP is not served on the TLS port');
});

test('five wrong passwords lock the account for the window, even against the right one (429)', async () => {
  for (let i = 0; i < 5; i++) assert.equal((await signIn('cy', `not the password ${i}`)).status, 401);
  const locked = await signIn('cy');
  assert.equal(locked.status, 429);
  assert.match(String(locked.json.error), /too many failed sign-ins .* try again in 15 minutes/);
  assert.ok(Number(locked.headers['retry-after']) > 800);
  assert.equal(cookies.cy, undefined);
  assert.equal((await signIn('bob')).status, 200, 'another account is not locked');
});

test('a reviewer reaches only the sessions assigned to them, only their own queue, and never the analysis (403)', async () => {
  const annSessions = (await expectStatus('ann', 'review.sessions', {}, 200)) as unknown as {
    id: number;
    raters: { rater: string }[];
  }[];
  assert.deepEqual(annSessions.map((s) => s.id).sort(), [shared, annOnly].sort());
  for (const s of annSessions)
    assert.deepEqual(
      s.raters.map((r) => r.rater),
      ['ann'],
      'only her own progress',
    );
  const bobSessions = (await expectStatus('bob', 'review.sessions', {}, 200)) as unknown as { id: number }[];
  assert.deepEqual(
    bobSessions.map((s) => s.id),
    [shared],
  );

  await expectStatus('ann', 'review.summary', { sessionId: shared }, 403, /analysis .* belongs to the owner/);
  await expectStatus('ann', 'review.evaluate', { sessionId: shared }, 403);
  await expectStatus('ann', 'review.next', { sessionId: shared, rater: 'bob' }, 403, /not your ratings/);
  await expectStatus('bob', 'review.next', { sessionId: annOnly, rater: 'bob' }, 403, /not assigned to you/);
  await expectStatus(
    'ann',
    'review.create',
    { name: 'x', runIds: [1], methods: ['gradient'], sample: { split: 'val', n: 1 }, raters: ['ann'] },
    403,
  );
  await expectStatus('ann', 'datasets.list', {}, 403, /workbench/);
  await expectStatus('ann', 'runs.list', {}, 403);
  assert.equal((await https('/events', { method: 'GET', cookie: cookies.ann })).status, 403);

  const mine = (await expectStatus(
    'ann',
    'review.next',
    { sessionId: shared, rater: 'ann' },
    200,
  )) as unknown as Responses['review.next'];
  assert.ok(mine.item);
  assert.equal(mine.item.unblinded, undefined, 'blinded: no method name');
  assert.doesNotMatch(JSON.stringify(mine), /gradient/);
  const rated = await expectStatus(
    'ann',
    'review.rate',
    { itemId: mine.item.itemId, correctness: 4, completeness: 3, compactness: 5 },
    200,
  );
  assert.equal(rated.correctness, 4);
  const annRater = f.store.accounts.byName('ann')!.raterId;
  assert.equal(f.store.ratings.list({ sessionId: shared, raterId: annRater })[0].correctness, 4);

  // Bob cannot rate (or overwrite) Ann's item, nor see her rating through his queue.
  await expectStatus(
    'bob',
    'review.rate',
    { itemId: mine.item.itemId, correctness: 1, completeness: 1, compactness: 1 },
    403,
    /not in your queue/,
  );
  assert.equal(f.store.ratings.list({ sessionId: shared, raterId: annRater })[0].correctness, 4, 'unchanged');
  const bobNext = (await expectStatus(
    'bob',
    'review.next',
    { sessionId: shared, rater: 'bob' },
    200,
  )) as unknown as Responses['review.next'];
  assert.equal(bobNext.item?.rating, null, "Bob's queue shows no rating of Ann's");

  // Files: the item's image and map, not an image outside the queue.
  const file = await https(mine.item.explanation.url, { method: 'GET', cookie: cookies.ann });
  assert.equal(file.status, 200);
  const inQueue = new Set(
    f.store.ratings
      .items(shared, annRater)
      .map((i) => f.store.explanations.getMeta(i.explanationId)!.imageId),
  );
  const outside = f.store.images.list(f.datasetId).find((im) => !inQueue.has(im.id))!;
  assert.equal(
    (await https(`/files/image/${outside.id}`, { method: 'GET', cookie: cookies.ann })).status,
    403,
  );
});

test('a viewer reads the workbench and cannot rate, annotate or manage (403)', async () => {
  const sets = (await expectStatus('vic', 'datasets.list', {}, 200)) as unknown as unknown[];
  assert.equal(sets.length, 1);
  await expectStatus('vic', 'runs.list', {}, 200);
  await expectStatus(
    'vic',
    'review.next',
    { sessionId: shared, rater: 'vic' },
    403,
    /rating belongs to reviewers/,
  );
  const item = f.store.ratings.items(shared)[0];
  await expectStatus(
    'vic',
    'review.rate',
    { itemId: item.id, correctness: 2, completeness: 2, compactness: 2 },
    403,
    /viewer/,
  );
  await expectStatus('vic', 'review.summary', { sessionId: shared }, 403);
  await expectStatus('vic', 'datasets.demo', {}, 403, /changing the workbench belongs to owners/);
  await expectStatus(
    'vic',
    'annotations.add',
    { imageId: 1, annotator: 1, box: { x0: 0, y0: 0, x1: 4, y1: 4 }, className: 'x' },
    403,
  );
  assert.deepEqual(
    await expectStatus('vic', 'review.sessions', {}, 200),
    [] as unknown as Record<string, unknown>,
  );
  assert.equal((await https('/events', { method: 'GET', cookie: cookies.vic })).status, 200);
});

test('an owner sees the analysis and assigns: a reviewer added later gets items, taken off loses the session', async () => {
  const summary = await expectStatus('olga', 'review.summary', { sessionId: shared }, 200);
  assert.equal(summary.ratings, 1);
  await expectStatus(
    'olga',
    'review.assign',
    { sessionId: annOnly, user: 'vic' },
    409,
    /viewer, who cannot rate/,
  );
  const assigned = await expectStatus('olga', 'review.assign', { sessionId: annOnly, user: 'bob' }, 200);
  const bobRater = f.store.accounts.byName('bob')!.raterId;
  const annRater = f.store.accounts.byName('ann')!.raterId;
  const annItems = f.store.ratings.items(annOnly, annRater);
  const bobItems = f.store.ratings.items(annOnly, bobRater);
  assert.deepEqual(assigned.assigned, [
    { user: 'ann', role: 'reviewer', items: annItems.length },
    { user: 'bob', role: 'reviewer', items: annItems.length },
  ]);
  assert.deepEqual(
    bobItems.map((i) => i.explanationId).sort(),
    annItems.map((i) => i.explanationId).sort(),
    'the same explanations to rate',
  );
  await expectStatus('bob', 'review.next', { sessionId: annOnly, rater: 'bob' }, 200);
  await expectStatus('olga', 'review.assign', { sessionId: annOnly, user: 'bob', assigned: false }, 200);
  await expectStatus('bob', 'review.next', { sessionId: annOnly, rater: 'bob' }, 403);
  await expectStatus(
    'olga',
    'review.assign',
    { sessionId: annOnly, user: 'nobody' },
    404,
    /no user "nobody"/,
  );
  const users = await expectStatus('olga', 'team.users', {}, 200);
  assert.deepEqual(
    Object.values(users).map((u) => (u as { name: string }).name),
    ['ann', 'bob', 'cy', 'olga', 'vic'],
  );
});

test('accounts and assignments are the owner’s: a reviewer and a viewer are refused (403); names and roles only', async () => {
  for (const who of ['ann', 'vic']) {
    await expectStatus(who, 'team.users', {}, 403);
    await expectStatus(who, 'review.assignees', { sessionId: shared }, 403);
    await expectStatus(who, 'review.assign', { sessionId: annOnly, user: 'cy' }, 403);
    await expectStatus(who, 'review.assign', { sessionId: shared, user: 'bob', assigned: false }, 403);
  }
  assert.match(
    String((await api('ann', 'team.users')).json.error),
    /refused: .*a reviewer reaches only the review sessions assigned to them/,
  );
  const cyRater = f.store.accounts.byName('cy')!.raterId;
  assert.equal(f.store.ratings.items(annOnly, cyRater).length, 0, 'the refused assignment added nothing');
  const shared0 = await expectStatus('olga', 'review.assignees', { sessionId: shared }, 200);
  assert.deepEqual(
    (shared0.assigned as { user: string }[]).map((a) => a.user),
    ['ann', 'bob'],
    'the refused removal took nothing away',
  );
  // What the owner's list holds: each account's name and role, nothing of its password or sign-in sessions.
  const users = (await expectStatus('olga', 'team.users', {}, 200)) as unknown as Record<string, unknown>[];
  for (const u of users) assert.deepEqual(Object.keys(u).sort(), ['name', 'role']);
  assert.deepEqual(
    users.find((u) => u.name === 'vic'),
    { name: 'vic', role: 'viewer' },
  );
  assert.doesNotMatch(JSON.stringify(users), /scrypt|\$/);
  await expectStatus('olga', 'review.assignees', { sessionId: 999 }, 404, /999/);
});

test('boxes: a reviewer draws as themselves on their images; a stale edit is 409 and overwrites nothing', async () => {
  const ann = f.store.accounts.byName('ann')!;
  const bob = f.store.accounts.byName('bob')!;
  const imageId = f.store.explanations.getMeta(
    f.store.ratings.items(shared, ann.raterId)[0].explanationId,
  )!.imageId;
  const box = { x0: 2, y0: 2, x1: 10, y1: 10 };
  await expectStatus(
    'ann',
    'annotations.add',
    { imageId, annotator: bob.raterId, box, className: 'triangle' },
    403,
    /draw as yourself/,
  );
  const added = await expectStatus(
    'ann',
    'annotations.add',
    { imageId, annotator: ann.raterId, box, className: 'triangle' },
    200,
  );
  assert.equal(added.version, 1);
  const bobs = await expectStatus(
    'bob',
    'annotations.add',
    { imageId, annotator: bob.raterId, box, className: 'circle' },
    200,
  );
  await expectStatus(
    'ann',
    'annotations.update',
    { id: bobs.id, box, className: 'x' },
    403,
    /not one of your boxes/,
  );
  const list = await expectStatus('ann', 'annotations.list', { imageId }, 200);
  const annotators = (list.boxes as { annotator: number | null }[])
    .map((b) => b.annotator)
    .filter((a) => a !== null);
  assert.deepEqual(annotators, [ann.raterId], "Ann sees the ground truth and her own box, not Bob's");

  // Two tabs of Ann's loaded version 1; the first edit wins.
  const first = await expectStatus(
    'ann',
    'annotations.update',
    { id: added.id, box: { ...box, x1: 12 }, className: 'triangle', version: 1 },
    200,
  );
  assert.equal(first.version, 2);
  const stale = await expectStatus(
    'ann',
    'annotations.update',
    { id: added.id, box: { ...box, x1: 20 }, className: 'circle', version: 1 },
    409,
    /changed by someone else .*nothing was overwritten/,
  );
  assert.equal(stale.field, 'version');
  const stored = f.store.objects.get(added.id as number)!;
  assert.equal(stored.object.name, 'triangle');
  assert.equal(stored.object.box.x1, 12);
  await expectStatus('ann', 'annotations.delete', { id: added.id, version: 1 }, 409);
  assert.equal(f.store.objects.get(added.id as number)!.deletedAt, null);
  await expectStatus('ann', 'annotations.delete', { id: added.id, version: 2 }, 200);
});

test('sign-out ends the session on the server: the old cookie no longer works', async () => {
  const before = cookies.bob;
  await expectStatus('bob', 'app.info', {}, 200);
  const out = await https('/auth/logout', { body: {}, cookie: before });
  assert.equal(out.status, 200);
  assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
  const after = await https('/api/app.info', { body: {}, cookie: before });
  assert.equal(after.status, 401);
  assert.equal(after.json.signIn, true);
});

test('the single-user launch token model is unchanged beside it (no accounts, no /auth)', async () => {
  const single = await startWebServer({
    service,
    staticDir: join(f.dir, 'no-renderer'),
    token: 'launch-token-for-the-test',
  });
  try {
    const p = Number(new URL(single.url).port);
    assert.equal(single.launchUrl, `${single.url}?token=launch-token-for-the-test`);
    const trade = await raw(p, { path: '/?token=launch-token-for-the-test' });
    assert.equal(trade.status, 303);
    assert.match(
      String(trade.headers['set-cookie']),
      new RegExp(`xwb_token_${p}=launch-token-for-the-test; HttpOnly; SameSite=Strict; Path=/`),
    );
    const call = (path: string, auth?: string) =>
      raw(p, {
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
        body: '{}',
      });
    const info = await call('/api/app.info', 'launch-token-for-the-test');
    assert.equal(info.status, 200);
    assert.equal(info.json().role, 'owner');
    assert.equal(info.json().account, undefined);
    assert.equal((await call('/api/app.info')).status, 401);
    assert.equal((await call('/api/app.info', 'wrong')).status, 401);
    const login = await raw(p, {
      method: 'POST',
      path: '/auth/login',
      headers: { 'content-type': 'application/json', origin: `http://127.0.0.1:${p}` },
      body: JSON.stringify({ name: 'olga', password: PASSWORD.olga }),
    });
    assert.equal(login.status, 405, 'no sign-in route without --team');
    assert.equal(login.headers['set-cookie'], undefined);
  } finally {
    await single.close();
  }
});
