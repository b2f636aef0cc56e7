import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  APP_ENTRY,
  blockedRequest,
  CSP,
  externalUrl,
  isAppUrl,
  isTrustedSender,
  METHODS_ARG,
  methodsArgument,
  navigationDecision,
  permissionAllowed,
  windowOpenDecision,
  windowOptions,
} from '../../electron/security.cjs';
import { METHODS } from '../../src/api/contract.js';

const opts = () =>
  windowOptions({ preload: '/app/dist/electron/preload.cjs', methods: METHODS, devTools: false });

test('window options follow the security checklist', () => {
  const w = opts().webPreferences;
  assert.equal(w.contextIsolation, true);
  assert.equal(w.sandbox, true);
  assert.equal(w.nodeIntegration, false);
  assert.equal(w.nodeIntegrationInWorker, false);
  assert.equal(w.nodeIntegrationInSubFrames, false);
  assert.equal(w.webSecurity, true);
  assert.equal(w.allowRunningInsecureContent, false);
  assert.equal(w.experimentalFeatures, false);
  assert.equal(w.webviewTag, false);
  assert.equal(w.devTools, false);
  assert.equal(w.preload, '/app/dist/electron/preload.cjs');
  assert.deepEqual(w.additionalArguments, [`${METHODS_ARG}${METHODS.join(',')}`]);
  // No option that would weaken them is present at all (e.g. enableBlinkFeatures, disableBlinkFeatures).
  assert.equal('enableBlinkFeatures' in w, false);
  assert.equal(windowOptions({ preload: 'p', methods: [], devTools: true }).webPreferences.devTools, true);
  assert.throws(() => windowOptions({ preload: '', methods: [], devTools: false }), /preload path is empty/);
  // A fresh object each call: one window cannot alter another's options.
  assert.notEqual(opts().webPreferences, opts().webPreferences);
});

test('the methods argument refuses names that could smuggle other arguments', () => {
  assert.equal(methodsArgument(['app.info', 'predict']), '--xwb-methods=app.info,predict');
  assert.throws(() => methodsArgument(['a,b']), /cannot be passed/);
  assert.throws(() => methodsArgument(['x --no-sandbox']), /cannot be passed/);
});

test('the CSP is the one web mode sends, and locks the page to its own origin', () => {
  const http = readFileSync(new URL('../../src/server/http.ts', import.meta.url), 'utf8');
  const m = /const CSP =\s*((?:'[^']*'|"[^"]*")(?:\s*\+\s*(?:'[^']*'|"[^"]*"))*);/.exec(http);
  assert.ok(m, 'src/server/http.ts no longer defines CSP as a string constant: compare by hand');
  const web = [...m[1].matchAll(/'([^']*)'|"([^"]*)"/g)].map((p) => p[1] ?? p[2]).join('');
  assert.equal(CSP, web);
  const directives = new Map(
    CSP.split(';')
      .map((d) => d.trim().split(/\s+/))
      .map(([k, ...v]) => [k, v]),
  );
  assert.deepEqual(directives.get('default-src'), ["'self'"]);
  assert.deepEqual(directives.get('script-src'), ["'self'"]);
  assert.deepEqual(directives.get('object-src'), ["'none'"]);
  assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
  assert.ok(!CSP.includes('unsafe-eval'));
});

test('isAppUrl: the app origin only, compared by scheme and host', () => {
  assert.equal(isAppUrl(APP_ENTRY), true);
  assert.equal(isAppUrl('xwb://app'), true);
  assert.equal(isAppUrl('xwb://app/files/image/3'), true);
  // Chromium canonicalises standard-scheme URLs (lower-case host) before main sees them; anything else is refused.
  assert.equal(isAppUrl('XWB://APP/index.html'), false);
  for (const u of [
    'xwb://image/3',
    'xwb://app.evil/index.html',
    'xwb://user@app/index.html',
    'xwb://app:80/index.html',
    'https://app/index.html',
    'file:///app/index.html',
    'about:blank',
    'not a url',
    '',
  ]) {
    assert.equal(isAppUrl(u), false, u);
  }
});

test('navigation: own origin allowed; others denied, http(s) handed to the system browser', () => {
  assert.deepEqual(navigationDecision('xwb://app/index.html#/runs'), { action: 'allow' });
  assert.deepEqual(navigationDecision('https://example.org/paper.pdf'), {
    action: 'deny',
    openExternal: 'https://example.org/paper.pdf',
  });
  for (const u of [
    'file:///etc/passwd',
    'javascript:alert(1)',
    'smb://host/share',
    'xwb://other/x',
    'https://user:pw@example.org/',
    'data:text/html,hi',
  ]) {
    assert.deepEqual(navigationDecision(u), { action: 'deny', openExternal: null }, u);
  }
});

test('window.open is always denied, even for the app itself', () => {
  assert.deepEqual(windowOpenDecision('xwb://app/index.html'), { action: 'deny', openExternal: null });
  assert.deepEqual(windowOpenDecision('http://example.org/a b'), {
    action: 'deny',
    openExternal: 'http://example.org/a%20b',
  });
  assert.deepEqual(windowOpenDecision('ms-settings:'), { action: 'deny', openExternal: null });
});

test('externalUrl refuses what shell.openExternal could turn into running a program', () => {
  assert.equal(externalUrl('https://example.org/x?y=1'), 'https://example.org/x?y=1');
  for (const u of [
    'file:///bin/sh',
    'vbscript:x',
    'https://',
    'https://a:b@example.org',
    `https://e.org/${'a'.repeat(5000)}`,
  ]) {
    assert.equal(externalUrl(u), null, u.slice(0, 40));
  }
});

test('IPC sender check: only the app top-level frame', () => {
  assert.equal(isTrustedSender({ url: 'xwb://app/index.html', parent: null }), true);
  assert.equal(isTrustedSender({ url: 'https://evil.example/', parent: null }), false);
  assert.equal(isTrustedSender({ url: 'xwb://app/index.html', parent: { url: 'xwb://app/' } }), false);
  assert.equal(isTrustedSender({ url: 'file:///tmp/x.html', parent: null }), false);
  assert.equal(isTrustedSender(null), false);
  assert.equal(isTrustedSender(undefined), false);
});

test('permissions are denied unless the app asks for one it needs', () => {
  assert.equal(permissionAllowed('clipboard-sanitized-write', 'xwb://app/index.html'), true);
  assert.equal(permissionAllowed('clipboard-sanitized-write', 'https://evil.example'), false);
  assert.equal(permissionAllowed('clipboard-sanitized-write', undefined), false);
  for (const p of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read', 'unknown']) {
    assert.equal(permissionAllowed(p, 'xwb://app'), false, p);
  }
});

test('network requests from the renderer are blocked', () => {
  for (const u of [
    'https://cdn.example/x.js',
    'http://127.0.0.1:8080/',
    'ws://x/',
    'file:///etc/passwd',
    '::',
  ]) {
    assert.equal(blockedRequest(u), true, u);
  }
  assert.equal(blockedRequest('xwb://app/index.html'), false);
  assert.equal(blockedRequest('devtools://devtools/bundled/inspector.html'), false);
});
