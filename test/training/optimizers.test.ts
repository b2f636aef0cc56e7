import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf } from '../../src/engine/tf.js';
import { PhaseOptimizer } from '../../src/training/optimizers.js';

before(async () => {
  await tf.setBackend('cpu');
});

test('sgd: momentum 0.9 with coupled weight decay, as PyTorch (hand-computed two steps)', () => {
  const w = tf.variable(tf.tensor1d([1, -2]), true, 'opt_test_w');
  const opt = new PhaseOptimizer({ optimizer: 'sgd', lr: 0.1, weightDecay: 0.01 }, [w]);
  // g = [0.5, 0.5] both steps. Step 1: d = g + 0.01·w = [0.51, 0.48]; v = d; w = w − 0.1·v = [0.949, −2.048].
  // Step 2: d = [0.50949, 0.47952]; v = 0.9·[0.51, 0.48] + d = [0.96849, 0.91152]; w = [0.852151, −2.139152].
  opt.apply({ [w.name]: tf.tensor1d([0.5, 0.5]) });
  // After the first step the optimiser holds its momentum; from then on a step must not add tensors.
  const start = tf.memory().numTensors;
  opt.apply({ [w.name]: tf.tensor1d([0.5, 0.5]) });
  const got = w.dataSync();
  assert.ok(Math.abs(got[0] - 0.852151) < 1e-6, `w0 ${got[0]}`);
  assert.ok(Math.abs(got[1] + 2.139152) < 1e-6, `w1 ${got[1]}`);
  assert.equal(tf.memory().numTensors, start, 'the gradients and decay terms are disposed');
  opt.dispose();
  w.dispose();
});

test('a gradient for a variable the phase does not train is an error', () => {
  const w = tf.variable(tf.scalar(1), true, 'opt_test_a');
  const opt = new PhaseOptimizer({ optimizer: 'adam', lr: 0.1, weightDecay: 0 }, [w]);
  const start = tf.memory().numTensors;
  assert.throws(() => opt.apply({ other: tf.scalar(1) }), /does not train/);
  assert.equal(tf.memory().numTensors, start, 'a refused gradient is still disposed');
  opt.dispose();
  w.dispose();
  assert.throws(
    () => new PhaseOptimizer({ optimizer: 'sgd', lr: 1, weightDecay: 0 }, []),
    /at least one variable/,
  );
});
