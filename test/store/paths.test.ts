import assert from 'node:assert/strict';
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

test('without arguments it answers for this process', () => {
  const p = defaultStorePath();
  assert.ok(p.endsWith('xwb.db') || process.env.XWB_DB === p);
});
