import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createReviewSession, nextItem } from '../../src/review/session.js';
import { openStore } from '../../src/store/index.js';
import { reviewFixture } from './helpers.js';

const script = fileURLToPath(new URL('./fixtures/rate-session-until-killed.ts', import.meta.url));

test('a rater process killed with SIGKILL mid-session loses no acknowledged rating, and resumes after them', async () => {
  const f = reviewFixture({ images: 40, methods: ['gradcam', 'explainer'] });
  try {
    const s = createReviewSession(f.store, {
      name: 'crash',
      runIds: f.runIds,
      methods: f.methods,
      imageIds: f.imageIds,
      raters: ['Ana'],
      seed: 9,
    });
    const raterId = s.raters[0].id;
    f.store.close();

    const child = spawn(
      process.execPath,
      ['--import', 'tsx', script, f.file, String(s.session.id), String(raterId)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_c, signal) => resolve(signal)),
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`no rating acknowledged within 30 s; stderr:\n${err}`));
      }, 30_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if ((out.match(/^ack /gm) ?? []).length >= 5) {
          child.kill('SIGKILL'); // the child is by now in the middle of its next rating
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    assert.equal(await exited, 'SIGKILL', `killed, not finished; stdout:\n${out}\nstderr:\n${err}`);
    const acks = out
      .split('\n')
      .filter((l) => l.startsWith('ack '))
      .map((l) => l.split(' ').map(Number))
      .map(([, itemId, correctness]) => ({ itemId, correctness }));
    assert.ok(acks.length >= 5);

    const store = openStore(f.file);
    try {
      const ratings = new Map(
        store.ratings.list({ sessionId: s.session.id }).map((r) => [r.reviewItemId, r]),
      );
      for (const a of acks) {
        const r = ratings.get(a.itemId);
        assert.ok(r !== undefined, `acknowledged rating of item ${a.itemId} survived`);
        assert.equal(r.correctness, a.correctness);
        assert.equal(r.comment, `item ${a.itemId}`);
      }
      const items = store.ratings.items(s.session.id, raterId);
      const next = nextItem(store, s.session.id, raterId);
      assert.ok(
        next.done >= acks.length && next.done <= acks.length + 1,
        'at most the unacknowledged one more',
      );
      assert.equal(next.item?.id, items[next.done].id, 'resumes right after the last saved item');
    } finally {
      store.close();
    }
  } finally {
    f.done();
  }
});
