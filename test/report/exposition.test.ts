import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHelp, escapeLabelValue, formatExposition, formatValue } from '../../src/report/exposition.js';

test('exposition writes HELP and TYPE before the samples of each family', () => {
  const text = formatExposition([
    {
      name: 'a_bytes',
      help: 'A.',
      type: 'gauge',
      samples: [
        { labels: { pid: '1' }, value: 10 },
        { labels: { pid: '2' }, value: 20 },
      ],
    },
    { name: 'b_total', help: 'B.', type: 'counter', samples: [{ labels: {}, value: 3 }] },
  ]);
  assert.equal(text, ['# HELP a_bytes A.', '# TYPE a_bytes gauge', 'a_bytes{pid="1"} 10', 'a_bytes{pid="2"} 20', '# HELP b_total B.', '# TYPE b_total counter', 'b_total 3', ''].join('\n'));
});

test('label values escape backslash, double quote and newline; HELP escapes backslash and newline only', () => {
  assert.equal(escapeLabelValue('C:\\dir "x"\nnext'), 'C:\\\\dir \\"x\\"\\nnext');
  assert.equal(escapeHelp('a "quoted" \\ b\nc'), 'a "quoted" \\\\ b\\nc');
  const text = formatExposition([{ name: 'x', help: 'h', type: 'gauge', samples: [{ labels: { command: 'python -c "print(1)"\n' }, value: 1 }] }]);
  assert.match(text, /^x\{command="python -c \\"print\(1\)\\"\\n"\} 1$/m);
});

test('values use Go float spellings and integers print without exponent', () => {
  assert.equal(formatValue(NaN), 'NaN');
  assert.equal(formatValue(Infinity), '+Inf');
  assert.equal(formatValue(-Infinity), '-Inf');
  assert.equal(formatValue(123456789012), '123456789012');
  assert.equal(formatValue(0.25), '0.25');
  assert.equal(formatValue(1.5e-9), '1.5e-9');
});

test('a family with no samples is left out entirely', () => {
  assert.equal(formatExposition([{ name: 'empty', help: 'h', type: 'gauge', samples: [] }]), '');
});

test('info metrics are written as gauges, since the 0.0.4 text format has no info type', () => {
  const text = formatExposition([{ name: 'x_info', help: 'h', type: 'info', samples: [{ labels: { a: 'b' }, value: 1 }] }]);
  assert.match(text, /^# TYPE x_info gauge$/m);
});

test('bad names, counters without _total and repeated families are refused', () => {
  assert.throws(() => formatExposition([{ name: '1bad', help: 'h', type: 'gauge', samples: [] }]), /invalid metric name/);
  assert.throws(() => formatExposition([{ name: 'c', help: 'h', type: 'counter', samples: [] }]), /must end in _total/);
  assert.throws(() => formatExposition([{ name: 'g', help: 'h', type: 'gauge', samples: [{ labels: { 'bad-label': 'x' }, value: 1 }] }]), /invalid label name/);
  assert.throws(
    () =>
      formatExposition([
        { name: 'g', help: 'h', type: 'gauge', samples: [] },
        { name: 'g', help: 'h', type: 'gauge', samples: [] },
      ]),
    /given twice/,
  );
});
