import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/store/index.js';
import { engineTest, seedExplanations, tempStore } from './helpers.js';

const script = fileURLToPath(new URL('./fixtures/rate-until-killed.ts', import.meta.url));

engineTest(
  'a rating acknowledged by a process killed with SIGKILL right after is in the store',
  async (engine) => {
    const t = tempStore(engine);
    const file = t.file;
    try {
      const explanationId = seedExplanations(t.store, 1).explanationIds[0];
      t.store.close();

      const child = spawn(process.execPath, ['--import', 'tsx', script, file, String(explanationId)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on('exit', (_code, signal) => resolve(signal)),
      );
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`the child acknowledged no rating within 30 s; stderr:\n${err}`));
        }, 30_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          // Kill as soon as a few acks are in: the child is then in the middle of its next write.
          if ((out.match(/^ack /gm) ?? []).length >= 3) {
            child.kill('SIGKILL');
            clearTimeout(timer);
            resolve();
          }
        });
        child.on('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      assert.equal(await exited, 'SIGKILL', `the child was killed, not finished; stderr:\n${err}`);

      const acks = out
        .split('\n')
        .filter((l) => l.startsWith('ack '))
        .map((l) => l.split(' ').map(Number))
        .map(([, id, correctness]) => ({ id, correctness }));
      assert.ok(acks.length >= 3);

      // The child never closed its connection: its commits are only in the write-ahead log, recovered on open. On
      // PostgreSQL the server saw its connection drop and kept every committed transaction.
      if (engine === 'sqlite')
        assert.ok(fs.existsSync(`${file}-wal`), 'unclean shutdown left the WAL behind');
      const store = openStore(file);
      try {
        for (const a of acks) {
          const r = store.ratings.get(a.id);
          assert.ok(r !== undefined, `acknowledged rating ${a.id} survived`);
          assert.equal(r.correctness, a.correctness);
          assert.equal(r.explanationId, explanationId);
        }
        assert.ok(store.ratings.list().length >= acks.length);
      } finally {
        store.close();
      }
    } finally {
      t.done();
    }
  },
);
