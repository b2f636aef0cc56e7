import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import { defaultStorePath } from '../../src/store/index.js';

test('linux: XDG_DATA_HOME when absolute, else ~/.local/share', () => {
  const home = '/home/ana';
  assert.equal(defaultStorePath({ platform: 'linux', env: {}, home }), '/home/ana/.local/share/xwb/xwb.db');
  assert.equal(
    defaultStorePath({ platform: 'linux', env: { XDG_DATA_HOME: '/srv/data' }, home }),
    '/srv/data/xwb/xwb.db',
  );
  // The XDG spec: a relative value is invalid and ignored.
  assert.equal(
    defaultStorePath({ platform: 'linux', env: { XDG_DATA_HOME: 'rel/data' }, home }),
    '/home/ana/.local/share/xwb/xwb.db',
  );
  assert.equal(
    defaultStorePath({ platform: 'linux', env: { XDG_DATA_HOME: '' }, home }),
    '/home/ana/.local/share/xwb/xwb.db',
  );
});

test('win32: %APPDATA%\\xwb\\xwb.db, falling back to the roaming folder under home', () => {
  const home = 'C:\\Users\\Ana';
  assert.equal(
    defaultStorePath({ platform: 'win32', env: { APPDATA: 'C:\\Users\\Ana\\AppData\\Roaming' }, home }),
    'C:\\Users\\Ana\\AppData\\Roaming\\xwb\\xwb.db',
  );
  assert.equal(
    defaultStorePath({ platform: 'win32', env: {}, home }),
    'C:\\Users\\Ana\\AppData\\Roaming\\xwb\\xwb.db',
  );
});

test('darwin: ~/Library/Application Support/xwb/xwb.db', () => {
  assert.equal(
    defaultStorePath({ platform: 'darwin', env: { XDG_DATA_HOME: '/ignored' }, home: '/Users/ana' }),
    '/Users/ana/Library/Application Support/xwb/xwb.db',
  );
});

test('XWB_DB wins on every platform; an empty one is ignored', () => {
  for (const platform of ['linux', 'win32', 'darwin'] as const) {
    assert.equal(
      defaultStorePath({ platform, env: { XWB_DB: '/tmp/x.db', APPDATA: 'C:\\A' }, home: '/h' }),
      '/tmp/x.db',
    );
  }
  assert.equal(
    defaultStorePath({ platform: 'darwin', env: { XWB_DB: '  ' }, home: '/h' }),
    '/h/Library/Application Support/xwb/xwb.db',
  );
});

test('without arguments it answers for this process: its platform, environment and home', () => {
  const saved = process.env.XWB_DB;
  try {
    // Reads the live environment (not a copy taken at import): setting XWB_DB changes the answer.
    process.env.XWB_DB = '/tmp/xwb-paths-test/own.db';
    assert.equal(defaultStorePath(), '/tmp/xwb-paths-test/own.db');
    delete process.env.XWB_DB;
    const expected = defaultStorePath({ platform: process.platform, env: process.env, home: os.homedir() });
    assert.equal(defaultStorePath(), expected);
    assert.ok(
      expected.startsWith(os.homedir()) || process.env.XDG_DATA_HOME || process.env.APPDATA,
      expected,
    );
  } finally {
    if (saved === undefined) delete process.env.XWB_DB;
    else process.env.XWB_DB = saved;
  }
});
