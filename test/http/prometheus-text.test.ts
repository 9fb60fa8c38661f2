/** The strict exposition reader the metrics tests rely on: it must refuse what is wrong. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseExposition } from '../helpers/prometheus-text.js';

const GOOD = [
  '# HELP a_total Things.',
  '# TYPE a_total counter',
  'a_total{kind="x\\"y\\\\z\\n"} 3',
  '',
  '# HELP h Latency.',
  '# TYPE h histogram',
  'h_bucket{le="0.1"} 1',
  'h_bucket{le="+Inf"} 2',
  'h_sum 0.5',
  'h_count 2',
  '# TYPE g gauge',
  'g Nan',
  '',
].join('\n');

describe('strict Prometheus text reader (test helper)', () => {
  it('reads families, label escapes, histograms and NaN as Go reads them', () => {
    const e = parseExposition(GOOD);
    assert.equal(e.value('a_total', { kind: 'x"y\\z\n' }), 3);
    assert.equal(e.families.get('h')?.samples.length, 4);
    assert.ok(Number.isNaN(e.value('g')));
  });

  const bad: [string, string, RegExp][] = [
    ['a sample of no declared family', 'x 1\n', /undeclared family/],
    ['a bad metric name', '# TYPE 1x gauge\n', /bad metric name/],
    ['an unquoted label value', '# TYPE g gauge\ng{a=b} 1\n', /not quoted/],
    ['an unknown escape', '# TYPE g gauge\ng{a="\\t"} 1\n', /bad escape/],
    ['a value that is not a number', '# TYPE g gauge\ng one\n', /bad value/],
    ['a duplicate series', '# TYPE g gauge\ng{a="1"} 1\ng{a="1"} 2\n', /duplicate series/],
    [
      'a family split in two',
      '# TYPE g gauge\ng 1\n# TYPE f gauge\nf 1\ng{a="1"} 2\n',
      /not together/,
    ],
    ['a TYPE after samples', '# TYPE g gauge\ng 1\n# TYPE g gauge\n', /after samples/],
    ['a negative counter', '# TYPE c_total counter\nc_total -1\n', /counter below 0/],
    [
      'buckets that are not cumulative',
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      /not cumulative/,
    ],
    [
      'a +Inf bucket other than the count',
      '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n',
      /\+Inf bucket != _count/,
    ],
    ['no final newline', '# TYPE g gauge\ng 1', /newline/],
  ];
  for (const [what, text, error] of bad) {
    it(`refuses ${what}`, () => {
      assert.throws(() => parseExposition(text), error);
    });
  }
});
