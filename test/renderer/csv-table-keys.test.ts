import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildSeries,
  niceTicks,
  orderEpochs,
  phaseSpans,
  polylinePoints,
  yDomain,
} from '../../renderer/src/lib/chart.js';
import { csvField, toCsv } from '../../renderer/src/lib/csv.js';
import {
  conservationLine,
  formatDuration,
  formatNumber,
  formatPercent,
} from '../../renderer/src/lib/format.js';
import { keyAction, stepOpacity } from '../../renderer/src/lib/keys.js';
import { nextSort, sortRows, tableCsv } from '../../renderer/src/lib/table.js';

test('CSV quotes what needs quoting and neutralises formulas', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField(' padded'), '" padded"');
  assert.equal(csvField('=SUM(A1)'), "'=SUM(A1)");
  assert.equal(csvField(-0.5), '-0.5', 'numbers stay numbers');
  assert.equal(csvField(Number.NaN), '');
  assert.equal(csvField(null), '');
  assert.equal(toCsv(['a', 'b'], [[1, 'x,y']]), 'a,b\r\n1,"x,y"\r\n');
  assert.throws(() => toCsv(['a'], [[1, 2]]), /2 fields, the header has 1/);
});

test('metric table sorts by any column, missing values last, and exports the order shown', () => {
  const t = {
    rowHeader: 'method',
    columns: ['iou', 'deletion'],
    rows: [
      { name: 'gradcam', values: [0.4, null] },
      { name: 'explainer', values: [0.7, 0.2] },
      { name: 'lrp', values: [null, 0.1] },
    ],
  };
  let s = nextSort({ column: -1, descending: false }, 0);
  assert.deepEqual(s, { column: 0, descending: true });
  assert.deepEqual(
    sortRows(t, s).map((r) => r.name),
    ['explainer', 'gradcam', 'lrp'],
  );
  s = nextSort(s, 0);
  assert.deepEqual(
    sortRows(t, s).map((r) => r.name),
    ['gradcam', 'explainer', 'lrp'],
  );
  assert.deepEqual(
    sortRows(t, { column: -1, descending: false }).map((r) => r.name),
    ['explainer', 'gradcam', 'lrp'],
  );
  assert.equal(
    tableCsv(t, sortRows(t, s)),
    'method,iou,deletion\r\ngradcam,0.4,\r\nexplainer,0.7,0.2\r\nlrp,,0.1\r\n',
  );
});

test('keyboard map: shortcuts, no chords, opacity steps without drift', () => {
  assert.equal(keyAction({ key: 'ArrowRight' }), 'next');
  assert.equal(keyAction({ key: 'O' }), 'overlay');
  assert.equal(keyAction({ key: 'c', ctrlKey: true }), null, 'Ctrl+C still copies');
  assert.equal(keyAction({ key: 'x' }), null);
  let o = 0.6;
  for (let i = 0; i < 3; i++) o = stepOpacity(o, 1);
  assert.equal(o, 0.9);
  assert.equal(stepOpacity(1, 1), 1);
  assert.equal(stepOpacity(0.05, -1), 0);
});

test('training curves: run order across phases, gaps skipped, ticks round', () => {
  const epochs = [
    { phase: 'explainer', epoch: 1, metrics: { loss: 0.5, acc: 1 } },
    { phase: 'classifier', epoch: 2, metrics: { loss: 0.8, acc: 0.9 } },
    { phase: 'classifier', epoch: 1, metrics: { loss: 1, acc: null } },
  ];
  const ordered = orderEpochs(epochs, ['classifier', 'explainer', 'joint']);
  assert.deepEqual(
    ordered.map((e) => `${e.phase}${e.epoch}`),
    ['classifier1', 'classifier2', 'explainer1'],
  );
  const series = buildSeries(ordered, ['loss', 'acc', 'tv']);
  assert.deepEqual(
    series.map((s) => s.key),
    ['loss', 'acc'],
    'metrics never recorded are left out',
  );
  assert.deepEqual(series[1].points, [
    { x: 1, y: 0.9 },
    { x: 2, y: 1 },
  ]);
  assert.deepEqual(phaseSpans(ordered), [
    { phase: 'classifier', from: 0, to: 2 },
    { phase: 'explainer', from: 2, to: 3 },
  ]);
  const y = yDomain([series[0]], true);
  assert.equal(y.min, 0);
  assert.ok(y.max > 1);
  const pts = polylinePoints(series[0], 3, { min: 0, max: 1 }, { left: 0, top: 0, width: 100, height: 50 });
  assert.equal(pts, '0.0,0.0 50.0,10.0 100.0,25.0');
  assert.deepEqual(niceTicks({ min: 0, max: 1 }, 4), [0, 0.5, 1]);
  assert.deepEqual(niceTicks({ min: 0, max: 10 }, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks({ min: 0.13, max: 0.42 }, 3), [0.2, 0.3, 0.4]);
});

test('formats for people', () => {
  assert.equal(formatDuration(75), '1 min 15 s');
  assert.equal(formatDuration(3 * 3600 + 120), '3 h 02 min');
  assert.equal(formatDuration(null), '—');
  assert.equal(formatPercent(0.1234), '12.3%');
  assert.equal(formatNumber(0.000012345), '1.23e-5');
  assert.equal(formatNumber(1234.5678), '1235');
  assert.equal(conservationLine(0.4), 'conservation 40.0% of the logit reaches the pixels');
  assert.equal(conservationLine(null), 'conservation undefined (the explained logit is 0)');
  assert.equal(conservationLine(undefined), null, 'non-LRP maps get no line');
});
