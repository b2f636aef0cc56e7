import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import ts from 'typescript';
import { CALL_CHANNEL, EVENT_CHANNEL, methodsArgument } from '../../electron/security.cjs';
import { METHODS } from '../../src/api/contract.js';

// The preload as Electron runs it: compiled to CommonJS, then called by the sandbox's wrapper with a `require`
// that knows only 'electron'. Here that wrapper is rebuilt with fakes for contextBridge and ipcRenderer.
const source = readFileSync(new URL('../../electron/preload.cts', import.meta.url), 'utf8');
const compiled = ts.transpileModule(source, {
  compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, strict: true },
  fileName: 'preload.cts',
}).outputText;

type Listener = (event: unknown, payload: unknown) => void;
interface Bridge {
  call(method: unknown, req?: unknown): Promise<unknown>;
  onEvent(listener: unknown): () => void;
}

function loadPreload(argv: string[], answer: (channel: string, ...args: unknown[]) => Promise<unknown>) {
  const exposed: { key: string; api: Bridge }[] = [];
  const invoked: unknown[][] = [];
  const listeners = new Map<string, Set<Listener>>();
  const required: string[] = [];
  const electron = {
    contextBridge: {
      exposeInMainWorld: (key: string, api: Bridge) => exposed.push({ key, api }),
    },
    ipcRenderer: {
      invoke: (channel: string, ...args: unknown[]) => {
        invoked.push([channel, ...args]);
        return answer(channel, ...args);
      },
      on: (channel: string, l: Listener) => {
        if (!listeners.has(channel)) listeners.set(channel, new Set());
        listeners.get(channel)?.add(l);
      },
      removeListener: (channel: string, l: Listener) => listeners.get(channel)?.delete(l),
    },
  };
  const fakeRequire = (id: string) => {
    required.push(id);
    if (id === 'electron') return electron;
    throw new Error(`module not found: ${id} (a sandboxed preload can require only electron)`);
  };
  const exports = {};
  const run = new Function('require', 'process', 'exports', 'module', compiled);
  run(fakeRequire, { argv }, exports, { exports });
  const emit = (channel: string, payload: unknown) => {
    for (const l of listeners.get(channel) ?? []) l({ sender: electron.ipcRenderer }, payload);
  };
  return { exposed, invoked, listeners, required, emit };
}

const argv = ['/usr/lib/electron', '--type=renderer', methodsArgument(METHODS)];
const ok = (value: unknown) => async () => ({ ok: true, value });

test('exposes exactly window.xwb = { call, onEvent } and requires only electron', () => {
  const p = loadPreload(argv, ok(null));
  assert.equal(p.exposed.length, 1);
  assert.equal(p.exposed[0].key, 'xwb');
  assert.deepEqual(Object.keys(p.exposed[0].api).sort(), ['call', 'onEvent']);
  for (const v of Object.values(p.exposed[0].api)) assert.equal(typeof v, 'function');
  assert.deepEqual(p.required, ['electron']);
});

test('call forwards contract methods over xwb:call and unwraps the answer', async () => {
  const p = loadPreload(argv, ok([{ id: 1 }]));
  const api = p.exposed[0].api;
  assert.deepEqual(await api.call('datasets.list', {}), [{ id: 1 }]);
  assert.deepEqual(await api.call('app.info'), [{ id: 1 }]);
  assert.deepEqual(p.invoked, [
    [CALL_CHANNEL, 'datasets.list', {}],
    [CALL_CHANNEL, 'app.info', {}],
  ]);
});

test('unknown methods are refused before any IPC', async () => {
  const p = loadPreload(argv, ok(null));
  const api = p.exposed[0].api;
  for (const m of ['fs.readFile', 'xwb:event', '__proto__', 'constructor', 42, undefined]) {
    await assert.rejects(api.call(m, {}), (e: { name: string; status: number; message: string }) => {
      assert.equal(e.name, 'CallError');
      assert.equal(e.status, 404);
      assert.match(e.message, /unknown method/);
      return true;
    });
  }
  assert.equal(p.invoked.length, 0);
});

test('without the methods argument nothing is callable (fail closed)', async () => {
  const p = loadPreload(['/usr/lib/electron'], ok(null));
  await assert.rejects(p.exposed[0].api.call('app.info', {}), { message: /unknown method/ });
  assert.equal(p.invoked.length, 0);
});

test('errors keep message, status and field as plain data (contextBridge drops Error properties)', async () => {
  const p = loadPreload(argv, async () => ({
    ok: false,
    error: { error: 'a dataset named "x" already exists', status: 409, field: 'name' },
  }));
  const err = await p.exposed[0].api.call('datasets.generate', {}).catch((e: unknown) => e);
  assert.deepEqual(err, {
    name: 'CallError',
    message: 'a dataset named "x" already exists',
    status: 409,
    field: 'name',
  });
  const broken = loadPreload(argv, async () => 'not an envelope');
  await assert.rejects(broken.exposed[0].api.call('app.info', {}), { message: /malformed answer/ });
  const crashed = loadPreload(argv, async () => {
    throw new Error('Error invoking remote method: boom');
  });
  await assert.rejects(
    crashed.exposed[0].api.call('app.info', {}),
    (e: { status: number; message: string }) => {
      assert.equal(e.status, 500);
      assert.match(e.message, /^app\.info: .*boom/);
      return true;
    },
  );
});

test('onEvent relays payloads only (never the IPC event) and unsubscribes', () => {
  const p = loadPreload(argv, ok(null));
  const api = p.exposed[0].api;
  const got: unknown[][] = [];
  const off = api.onEvent((...args: unknown[]) => got.push(args));
  p.emit(EVENT_CHANNEL, { type: 'train.started', runId: 4 });
  assert.deepEqual(got, [[{ type: 'train.started', runId: 4 }]]);
  off();
  p.emit(EVENT_CHANNEL, { type: 'train.started', runId: 5 });
  assert.equal(got.length, 1);
  assert.equal(p.listeners.get(EVENT_CHANNEL)?.size, 0);
  assert.throws(() => api.onEvent('not a function'), /needs a function/);
});

test('the channel names and argument prefix repeated in the preload match security.cts', () => {
  assert.ok(source.includes(`const CALL_CHANNEL = '${CALL_CHANNEL}';`));
  assert.ok(source.includes(`const EVENT_CHANNEL = '${EVENT_CHANNEL}';`));
  assert.ok(source.includes(`const METHODS_ARG = '${methodsArgument([])}';`));
});
