import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initEngine } from '../../src/engine/select.js';
import { tf } from '../../src/engine/tf.js';
import type { EngineLogLevel } from '../../src/engine/types.js';

function recorder(): { log: (level: EngineLogLevel, message: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { log: (level, message) => lines.push(`${level}: ${message}`), lines };
}

test('forced cpu starts the cpu backend and reports it', async () => {
  const info = await initEngine({ prefer: 'cpu', logger: () => {}, env: {} });
  assert.equal(info.name, 'cpu');
  assert.equal(info.backend, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal(info.tfVersion, tf.version.tfjs);
  assert.deepEqual(info.attempts, [{ name: 'cpu', ok: true }]);
});

test('XWB_ENGINE forces an engine; an unknown value is an error naming the variable', async () => {
  const info = await initEngine({ logger: () => {}, env: { XWB_ENGINE: 'cpu' } });
  assert.equal(info.name, 'cpu');
  await assert.rejects(initEngine({ env: { XWB_ENGINE: 'tpu' } }), /XWB_ENGINE='tpu'.*gpu, node, wasm, cpu/);
});

test('forced wasm runs on wasm with SIMD and xwb kernels', async () => {
  const info = await initEngine({ prefer: 'wasm', logger: () => {}, env: {} });
  assert.equal(info.name, 'wasm');
  assert.equal(info.backend, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.match(info.device, /^wasm (SIMD|without SIMD), 1 thread$/);
});

test('default order: gpu and node are absent here, so wasm is chosen with the reasons recorded', async () => {
  const { log, lines } = recorder();
  const info = await initEngine({ logger: log, env: {} });
  assert.equal(info.name, 'wasm');
  assert.equal(info.backend, 'wasm');
  assert.deepEqual(
    info.attempts.map((a) => [a.name, a.ok]),
    [
      ['gpu', false],
      ['node', false],
      ['wasm', true],
    ],
  );
  assert.match(info.attempts[0].reason ?? '', /@tensorflow\/tfjs-node-gpu could not be loaded/);
  assert.match(info.attempts[1].reason ?? '', /@tensorflow\/tfjs-node could not be loaded/);
  assert.ok(
    lines.some((l) => l.startsWith('info: engine gpu skipped')),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) => l.startsWith('info: engine wasm:')),
    lines.join('\n'),
  );
});

test('a second call with the same request is cheap and returns the same engine', async () => {
  let imports = 0;
  const importModule = (s: string) => {
    imports++;
    return import(s);
  };
  const a = await initEngine({ logger: () => {}, env: {}, importModule });
  const b = await initEngine({ logger: () => {}, env: {}, importModule });
  assert.deepEqual(b, a);
  assert.equal(imports, 0, 'the engine was already running: nothing should be loaded again');
});

test('forced node when it is not installed is a clear error, not a silent fallback', async () => {
  await assert.rejects(
    initEngine({ prefer: 'node', logger: () => {}, env: {} }),
    /engine 'node' \(requested\) could not start: @tensorflow\/tfjs-node could not be loaded.*install @tensorflow\/tfjs-node/,
  );
  await assert.rejects(
    initEngine({ logger: () => {}, env: { XWB_ENGINE: 'gpu' } }),
    /engine 'gpu' \(forced by XWB_ENGINE\) could not start/,
  );
  assert.equal(tf.getBackend(), 'wasm', 'a failed forced start leaves the running engine alone');
});

test('a native package that loads but registers no backend is skipped with that reason', async () => {
  await initEngine({ prefer: 'cpu', logger: () => {}, env: {} });
  const fake = async (s: string) => (s.startsWith('@tensorflow/tfjs-node') ? {} : import(s));
  const info = await initEngine({ logger: () => {}, env: {}, importModule: fake });
  assert.equal(info.name, 'wasm');
  assert.match(info.attempts[0].reason ?? '', /registered no 'tensorflow' backend/);
});
