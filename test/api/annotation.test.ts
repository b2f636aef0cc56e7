/**
 * The annotation methods against a real store file, through the same boundary the transports use (validate, then
 * call), and once over HTTP to check `xwb serve` registers them.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { registerAnnotationHandlers } from '../../src/api/annotation-handlers.js';
import { ApiError, type Method, type Request, validateRequest } from '../../src/api/contract.js';
import { XwbService } from '../../src/api/service.js';
import { encodeGreyPng } from '../../src/review/png.js';
import { serveWorkbench } from '../../src/server/launch.js';
import { openStore, type Store } from '../../src/store/index.js';
import { seedDataset, tempStore } from '../store/helpers.js';

let env: ReturnType<typeof tempStore>;
let service: XwbService;
let imageId: number;
let otherImage: number;
let me: number;

/** Validates like a transport does, then calls the service. */
async function call<M extends Method>(method: M, req: Request<M>) {
  return service.call(method, validateRequest(method, req));
}

async function rejects(p: () => Promise<unknown>, status: number, field: string | undefined, re: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ApiError, `expected an ApiError, got ${String(e)}`);
    assert.equal(e.status, status, e.message);
    assert.equal(e.field, field, e.message);
    assert.match(e.message, re);
    return true;
  });
}

before(() => {
  env = tempStore();
  const { imageIds } = seedDataset(env.store, 2);
  [imageId, otherImage] = imageIds;
  env.store.objects.replaceGroundTruth(imageId, [{ name: 'cat', box: { x0: 1, y0: 2, x1: 30, y1: 40 } }]);
  service = new XwbService({
    store: env.store,
    transport: 'web',
    version: 'test',
    urls: { image: (i) => `/files/image/${i}`, explanation: (i) => `/files/explanation/${i}` },
  });
  registerAnnotationHandlers(service);
});

after(() => env.done());

test('annotator.set is idempotent by name and trims it', async () => {
  const a = await call('annotator.set', { name: '  Ada ' });
  const b = await call('annotator.set', { name: 'Ada' });
  assert.equal(a.name, 'Ada');
  assert.equal(a.id, b.id);
  me = a.id;
  await rejects(() => call('annotator.set', { name: '   ' }), 400, 'name', /name/);
});

test('add, update, delete, restore: each stored at once, ground truth read-only', async () => {
  const added = await call('annotations.add', {
    imageId,
    annotator: me,
    box: { x0: -5, y0: 3, x1: 20, y1: 99 },
    className: 'dog',
  });
  // Clamped to the 64×48 image.
  assert.deepEqual([added.x0, added.y0, added.x1, added.y1], [0, 3, 20, 48]);
  assert.equal(added.annotator, me);
  assert.equal(added.difficult, false);
  assert.equal(env.store.objects.get(added.id)?.object.name, 'dog');

  const upd = await call('annotations.update', {
    id: added.id,
    box: { x0: 4, y0: 5, x1: 14, y1: 15 },
    className: 'a new class',
    difficult: true,
  });
  assert.deepEqual(
    [upd.x0, upd.y0, upd.x1, upd.y1, upd.className, upd.difficult],
    [4, 5, 14, 15, 'a new class', true],
  );

  const del = await call('annotations.delete', { id: added.id });
  assert.equal(del.deleted, true);
  // Soft: the row is still there, only hidden from the live list.
  assert.equal(env.store.objects.list(imageId, { includeDeleted: true }).length, 2);
  let list = await call('annotations.list', { imageId });
  assert.deepEqual(
    list.boxes.map((b) => b.annotator),
    [null],
  );
  await rejects(
    () => call('annotations.update', { id: added.id, box: { x0: 1, y0: 1, x1: 2, y1: 2 }, className: 'x' }),
    409,
    'id',
    /deleted; restore it first/,
  );
  const back = await call('annotations.restore', { id: added.id });
  assert.equal(back.deleted, false);
  assert.deepEqual([back.x0, back.y0, back.x1, back.y1], [4, 5, 14, 15]);

  list = await call('annotations.list', { imageId });
  assert.equal(list.width, 64);
  assert.equal(list.height, 48);
  assert.deepEqual(
    list.boxes.map((b) => [b.annotator, b.className]),
    [
      [null, 'cat'],
      [me, 'a new class'],
    ],
  );
  // Dataset classes first in their order, then other names used on the image.
  assert.deepEqual(list.classes, ['cat', 'dog', 'a new class']);
  assert.deepEqual(list.annotators, [{ id: me, name: 'Ada' }]);

  const gtId = list.boxes[0].id;
  await rejects(() => call('annotations.delete', { id: gtId }), 409, 'id', /ground truth.*read-only/);
  await rejects(
    () => call('annotations.update', { id: gtId, box: { x0: 1, y0: 1, x1: 2, y1: 2 }, className: 'x' }),
    409,
    'id',
    /ground truth/,
  );
});

test('validation errors name the field', async () => {
  const box = { x0: 1, y0: 1, x1: 5, y1: 5 };
  await rejects(
    () => call('annotations.add', { imageId: 999, annotator: me, box, className: 'cat' }),
    404,
    'imageId',
    /no image 999/,
  );
  await rejects(
    () => call('annotations.add', { imageId, annotator: 999, box, className: 'cat' }),
    404,
    'annotator',
    /annotator\.set/,
  );
  await rejects(
    () => call('annotations.add', { imageId, annotator: me, box, className: ' ' }),
    400,
    'className',
    /className/,
  );
  await rejects(
    () =>
      call('annotations.add', {
        imageId,
        annotator: me,
        box: { x0: 1, y0: 1, x1: 5 } as typeof box,
        className: 'c',
      }),
    400,
    'box.y1',
    /box\.y1/,
  );
  await rejects(
    () =>
      call('annotations.add', {
        imageId,
        annotator: me,
        box: { x0: 70, y0: 1, x1: 80, y1: 5 },
        className: 'c',
      }),
    400,
    'box',
    /empty once clamped to the 64×48 image/,
  );
  await rejects(
    () =>
      call('annotations.add', {
        imageId,
        annotator: me,
        box: { x0: 9, y0: 1, x1: 5, y1: 5 },
        className: 'c',
      }),
    400,
    'box',
    /x1 < x0/,
  );
  await rejects(() => call('annotations.delete', { id: 12345 }), 404, 'id', /no annotation 12345/);
  await rejects(() => call('annotations.list', { imageId: 0 }), 400, 'imageId', /imageId/);
});

test('masks.put reads the size from the PNG header and refuses a mismatch before decoding (compression bombs)', async () => {
  // 3000×3000 zeros: 9 MB of pixels in about 9 KiB of PNG. Refused from its IHDR, never inflated.
  const bomb = encodeGreyPng(new Uint8Array(3000 * 3000), 3000, 3000);
  assert.ok(bomb.length < 64 * 1024, `${bomb.length} bytes`);
  const base = { imageId, annotator: me, kind: 'region' as const, width: 64, height: 48 };
  await rejects(
    () => call('masks.put', { ...base, png: bomb.toString('base64') }),
    400,
    'png',
    /the PNG is 3000×3000 but image \d+ is 64×48; paint it at the image size/,
  );
  // A header claiming 60000×60000 over a few bytes of data: refused by the same check, not by a failed decode.
  const claim = Buffer.from(encodeGreyPng(new Uint8Array(64 * 48), 64, 48));
  claim.writeUInt32BE(60_000, 16);
  claim.writeUInt32BE(60_000, 20);
  await rejects(
    () => call('masks.put', { ...base, png: claim.toString('base64') }),
    400,
    'png',
    /the PNG is 60000×60000 but image/,
  );
  // A signature without an IHDR chunk.
  const headless = Buffer.concat([
    claim.subarray(0, 8),
    Buffer.from('0000000dIHDX', 'latin1'),
    Buffer.alloc(20),
  ]);
  await rejects(
    () => call('masks.put', { ...base, png: headless.toString('base64') }),
    400,
    'png',
    /no IHDR header chunk/,
  );
  assert.equal(env.store.masks.list(imageId).length, 0, 'nothing stored');
});

test('masks.put takes a grey or RGBA-alpha PNG at the image size and stores it as 0/255 grey', async () => {
  // Grey 0/1 (what other tools write): a 10×6 rectangle on.
  const grey = new Uint8Array(64 * 48);
  for (let y = 10; y < 16; y++) for (let x = 20; x < 30; x++) grey[y * 64 + x] = 1;
  const put = await call('masks.put', {
    imageId,
    annotator: me,
    kind: 'region',
    png: encodeGreyPng(grey, 64, 48).toString('base64'),
    width: 64,
    height: 48,
  });
  assert.equal(put.count, 60);
  const got = await call('masks.get', { imageId, annotator: me, kind: 'region' });
  assert.equal(got.count, 60);
  const stored = Buffer.from(got.png, 'base64');
  assert.equal((await sharp(stored).metadata()).channels, 1, 'one grey channel');
  const raw = await sharp(stored).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual(new Set(raw.data), new Set([0, 255]));
  assert.equal(raw.data[12 * 64 + 25], 255);
  assert.equal(raw.data[0], 0);

  // RGBA as a canvas gives it: on where alpha > 0, whatever the colour.
  const rgba = Buffer.alloc(64 * 48 * 4);
  for (let i = 0; i < 7; i++) rgba[i * 4 + 3] = 200;
  rgba[100 * 4] = 255; // red but transparent: off
  const png = await sharp(rgba, { raw: { width: 64, height: 48, channels: 4 } })
    .png()
    .toBuffer();
  const again = await call('masks.put', {
    imageId,
    annotator: me,
    kind: 'region',
    png: png.toString('base64'),
    width: 64,
    height: 48,
  });
  assert.equal(again.count, 7);
  assert.equal(again.id, put.id, 'putting again replaces the mask');
  const list = await call('annotations.list', { imageId });
  assert.deepEqual(
    list.masks.map((m) => [m.kind, m.annotator]),
    [['region', me]],
  );

  const base = {
    imageId,
    annotator: me,
    kind: 'region' as const,
    width: 64,
    height: 48,
    png: png.toString('base64'),
  };
  await rejects(
    () => call('masks.put', { ...base, width: 32 }),
    400,
    'width',
    /32×48 but image \d+ is 64×48/,
  );
  await rejects(() => call('masks.put', { ...base, png: 'not base64!' }), 400, 'png', /base64/);
  await rejects(
    () => call('masks.put', { ...base, png: Buffer.from('GIF89a-not-a-png').toString('base64') }),
    400,
    'png',
    /not a PNG/,
  );
  const small = encodeGreyPng(new Uint8Array(32 * 48), 32, 48).toString('base64');
  await rejects(() => call('masks.put', { ...base, png: small }), 400, 'png', /PNG is 32×48/);
  const rgb = await sharp(Buffer.alloc(64 * 48 * 3), { raw: { width: 64, height: 48, channels: 3 } })
    .png()
    .toBuffer();
  await rejects(() => call('masks.put', { ...base, png: rgb.toString('base64') }), 400, 'png', /3 channels/);
  await rejects(() => call('masks.put', { ...base, kind: 'class' as 'region' }), 400, 'kind', /kind/);
  await rejects(
    () => call('masks.get', { imageId: otherImage, annotator: me, kind: 'region' }),
    404,
    'kind',
    /no region mask/,
  );
});

test('xwb serve registers the annotation methods; what it acknowledged is in the file after reopening', async () => {
  const s = await serveWorkbench(env.store, { version: 'test' });
  try {
    const post = async (method: string, body: unknown) => {
      const res = await fetch(`${s.web.url}api/${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.web.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const r = await post('annotations.add', {
      imageId: otherImage,
      annotator: me,
      box: { x0: 1, y0: 1, x1: 9, y1: 9 },
      className: 'cat',
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const bad = await post('annotations.add', {
      imageId: otherImage,
      annotator: me,
      box: {},
      className: 'c',
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.field, 'box.x0');
    // A second connection to the same file sees the acknowledged box.
    const second: Store = openStore(env.file);
    try {
      const live = second.objects.list(otherImage).map((o) => o.object.box);
      assert.deepEqual(live, [{ x0: 1, y0: 1, x1: 9, y1: 9 }]);
    } finally {
      second.close();
    }
  } finally {
    await s.web.close();
    await s.service.close();
  }
});

test('an add retried with the same client key is stored once (the answer to the first was lost)', async () => {
  const { id: annotator } = await call('annotator.set', { name: 'Idem Potent' });
  const req = {
    imageId: otherImage,
    annotator,
    box: { x0: 2, y0: 3, x1: 9, y1: 8 },
    className: 'cat',
    clientKey: 'l2b0c6e1e-0000-4000-8000-000000000001',
  };
  const mine = () =>
    env.store.objects
      .list(otherImage)
      .filter((o) => o.source.kind === 'annotator' && o.source.annotatorId === annotator);
  const first = await call('annotations.add', req);
  const again = await call('annotations.add', req);
  assert.equal(again.id, first.id);
  assert.equal(mine().length, 1);
  // The same key on another image is a client bug, refused rather than silently merged.
  await assert.rejects(() => call('annotations.add', { ...req, imageId }), /already used on image/);
  // Without a key, two adds are two boxes (a person may draw the same box twice on purpose).
  const { clientKey: _, ...plain } = req;
  await call('annotations.add', plain);
  await call('annotations.add', plain);
  assert.equal(mine().length, 3);
});
