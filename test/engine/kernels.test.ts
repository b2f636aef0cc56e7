import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { scratchLimits } from '../../src/engine/kernels/geometry.js';
import { isXwbKernel } from '../../src/engine/kernels/register.js';
import { initEngine } from '../../src/engine/select.js';
import { tf } from '../../src/engine/tf.js';
import { assertWasmMatchesCpu, seeded } from './helpers.js';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

interface Case {
  batch: number;
  h: number;
  w: number;
  inC: number;
  outC: number;
  k: number;
  stride: number;
  pad: Pad;
}

before(async () => {
  const info = await initEngine({ prefer: 'wasm', logger: () => {} });
  assert.equal(info.backend, 'wasm');
  await tf.setBackend('cpu');
});

/** Every combination the brief names, with sizes drawn from a seeded generator. */
function cases(): Case[] {
  const r = seeded(200, 42);
  let i = 0;
  const pick = (options: number[]) => options[Math.floor(((r[i++ % r.length] + 1) / 2) * options.length)];
  const out: Case[] = [];
  for (const stride of [1, 2])
    for (const pad of ['same', 'valid'] as const)
      for (const k of [1, 2, 3]) {
        out.push({
          batch: pick([1, 2, 3]),
          h: pick([5, 6, 7, 8, 9]),
          w: pick([5, 6, 7, 8, 11]),
          inC: pick([1, 3, 4, 8]),
          outC: pick([1, 2, 5, 16]),
          k,
          stride,
          pad,
        });
      }
  return out;
}

function outShape(c: Case): number[] {
  return tf.tidy(
    () =>
      tf.conv2d(
        tf.zeros([c.batch, c.h, c.w, c.inC]) as tf.Tensor4D,
        tf.zeros([c.k, c.k, c.inC, c.outC]) as tf.Tensor4D,
        c.stride,
        c.pad,
      ).shape,
  );
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

async function checkFilterGrad(c: Case, dataFormat: 'NHWC' | 'NCHW' = 'NHWC'): Promise<void> {
  const yShape = outShape(c);
  const x = seeded(c.batch * c.h * c.w * c.inC, 1);
  const dy = seeded(size(yShape), 2);
  const toNCHW = (t: tf.Tensor) => (dataFormat === 'NCHW' ? tf.transpose(t, [0, 3, 1, 2]) : t);
  await assertWasmMatchesCpu(
    `filter grad ${dataFormat} ${JSON.stringify(c)}`,
    () =>
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropFilter',
          { x: toNCHW(tf.tensor(x, [c.batch, c.h, c.w, c.inC])), dy: toNCHW(tf.tensor(dy, yShape)) },
          { strides: c.stride, pad: c.pad, dataFormat, filterShape: [c.k, c.k, c.inC, c.outC] },
        ) as tf.Tensor,
  );
}

async function checkInputGrad(c: Case): Promise<void> {
  const yShape = outShape(c);
  const w = seeded(c.k * c.k * c.inC * c.outC, 3);
  const dy = seeded(size(yShape), 4);
  await assertWasmMatchesCpu(
    `input grad ${JSON.stringify(c)}`,
    () =>
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropInput',
          { dy: tf.tensor(dy, yShape), filter: tf.tensor(w, [c.k, c.k, c.inC, c.outC]) },
          { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', inputShape: [c.batch, c.h, c.w, c.inC] },
        ) as tf.Tensor,
  );
}

test('xwb kernels are the ones registered for wasm', () => {
  assert.ok(isXwbKernel('Conv2DBackpropFilter'));
  assert.ok(isXwbKernel('Conv2DBackpropInput'));
  assert.ok(isXwbKernel('MaxPoolGrad'));
});

test('Conv2DBackpropFilter on wasm matches cpu: strides 1/2, same/valid, 1×1/2×2/3×3', async () => {
  for (const c of cases()) await checkFilterGrad(c);
});

test('Conv2DBackpropInput on wasm matches cpu: strides 1/2, same/valid, 1×1/2×2/3×3', async () => {
  for (const c of cases()) await checkInputGrad(c);
});

test('explicit pads, stride 3, non-square images and NCHW match cpu', async () => {
  const explicit: Case = {
    batch: 2,
    h: 7,
    w: 6,
    inC: 3,
    outC: 4,
    k: 3,
    stride: 1,
    pad: [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
  };
  await checkFilterGrad(explicit);
  await checkInputGrad(explicit);
  const strided: Case = { ...explicit, stride: 2 };
  await checkFilterGrad(strided);
  await checkInputGrad(strided);
  const three: Case = { batch: 2, h: 10, w: 11, inC: 2, outC: 3, k: 3, stride: 3, pad: 'valid' };
  await checkFilterGrad(three);
  await checkInputGrad(three);
  await checkFilterGrad({ batch: 2, h: 6, w: 5, inC: 3, outC: 2, k: 3, stride: 1, pad: 'same' }, 'NCHW');
});

test('the chunked path (scratch larger than the budget) gives the same gradients', async () => {
  const saved = scratchLimits.floats;
  scratchLimits.floats = 1; // one image per chunk
  try {
    await checkFilterGrad({ batch: 3, h: 6, w: 7, inC: 3, outC: 4, k: 3, stride: 1, pad: 'same' });
    await checkFilterGrad({ batch: 3, h: 8, w: 7, inC: 2, outC: 3, k: 3, stride: 2, pad: 'valid' });
    await checkInputGrad({ batch: 3, h: 8, w: 8, inC: 2, outC: 3, k: 3, stride: 2, pad: 'same' });
  } finally {
    scratchLimits.floats = saved;
  }
});

test('MaxPoolGrad on wasm routes like cpu, including all-negative windows and padded/overlapping ones', async () => {
  const x = seeded(2 * 7 * 8 * 3, 12).map((v) => v - 0.6); // mostly negative windows
  for (const [size, stride, pad] of [
    [2, 2, 'valid'],
    [3, 2, 'same'],
    [3, 1, 'same'],
  ] as const) {
    await assertWasmMatchesCpu(`maxPool ${size}/${stride}/${pad}`, () => {
      const input = tf.tensor(x, [2, 7, 8, 3]) as tf.Tensor4D;
      const y = tf.maxPool(input, size, stride, pad);
      const r = tf.tensor(seeded(y.size, 13), y.shape);
      return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, size, stride, pad), r)))(
        input,
      );
    });
  }
});

/** A tiny encoder/decoder: conv s1 same (fused bias+relu) → conv s2 valid → transposed conv s2 → loss. */
function tinyStackGrads(): tf.Tensor[] {
  const x = tf.tensor(seeded(2 * 9 * 9 * 3, 5), [2, 9, 9, 3]) as tf.Tensor4D;
  const w1 = tf.tensor(seeded(3 * 3 * 3 * 4, 6), [3, 3, 3, 4]) as tf.Tensor4D;
  const b1 = tf.tensor(seeded(4, 7), [4]) as tf.Tensor1D;
  const w2 = tf.tensor(seeded(2 * 2 * 4 * 5, 8), [2, 2, 4, 5]) as tf.Tensor4D;
  const w3 = tf.tensor(seeded(3 * 3 * 2 * 5, 9), [3, 3, 2, 5]) as tf.Tensor4D;
  const loss = (xi: tf.Tensor, a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => {
    const h1 = tf.fused.conv2d({
      x: xi as tf.Tensor4D,
      filter: a as tf.Tensor4D,
      strides: 1,
      pad: 'same',
      bias: b,
      activation: 'relu',
    });
    const h2 = tf.tanh(tf.conv2d(h1, c as tf.Tensor4D, 2, 'valid'));
    const h3 = tf.conv2dTranspose(h2, d as tf.Tensor4D, [2, 8, 8, 2], 2, 'same');
    return tf.sum(tf.square(h3));
  };
  return tf.grads(loss)([x, w1, b1, w2, w3]);
}

test('tf.grads of a tiny conv stack: every gradient on wasm matches cpu', async () => {
  await assertWasmMatchesCpu('tiny stack', tinyStackGrads);
});

test('repeated gradient steps on wasm leak neither tensors, backend data nor wasm heap', async () => {
  await tf.setBackend('wasm');
  const backend = tf.backend();
  const step = () => tf.dispose(tf.tidy(tinyStackGrads));
  const big = () =>
    tf.tidy(() => {
      const x = tf.randomUniform([2, 16, 16, 8]) as tf.Tensor4D;
      const w = tf.randomUniform([3, 3, 8, 8]) as tf.Tensor4D;
      return tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')),
      )([x, w]);
    });
  for (let i = 0; i < 3; i++) {
    step();
    tf.dispose(big());
  }
  const tensors = tf.memory().numTensors;
  const dataIds = backend.numDataIds();
  const heap = (backend as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
  for (let i = 0; i < 30; i++) {
    step();
    tf.dispose(big());
  }
  assert.equal(tf.memory().numTensors, tensors, 'tensors leaked');
  assert.equal(
    backend.numDataIds(),
    dataIds,
    'backend data leaked (an intermediate TensorInfo was not disposed)',
  );
  assert.equal(
    (backend as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length,
    heap,
    'wasm heap grew',
  );
});
