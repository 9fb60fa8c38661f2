/**
 * The configuration keys of $SYS and logging: `sysInterval` and `log` (format, file,
 * rotation, stdout) map to the plan with their defaults, and bad values are refused with the
 * key path and the expectation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configToPlan, DEFAULT_LOG_ROTATE, parseConfig } from '../../src/config/index.js';
import { configProblems as problems } from './config-problems.js';

const CTX = { baseDir: '/etc/pipit', cwd: '/home/op' };

describe('config: sysInterval and log', () => {
  it('sysInterval reaches the broker options; the --sys-interval override wins', () => {
    assert.equal(configToPlan(parseConfig('sysInterval: 5\n'), CTX).options.sysInterval, 5);
    assert.equal(configToPlan(parseConfig('sysInterval: 0\n'), CTX).options.sysInterval, 0);
    const overridden = configToPlan(parseConfig('sysInterval: 5\n'), {
      ...CTX,
      overrides: { sysInterval: 1 },
    });
    assert.equal(overridden.options.sysInterval, 1);
    // Absent: the broker's default (10) applies.
    assert.equal('sysInterval' in configToPlan({}, CTX).options, false);
  });

  it('log defaults: format by terminal, no file, stdout on, rotation daily / 10 MiB / 7 files', () => {
    assert.deepEqual(configToPlan({}, CTX).log, {
      format: undefined,
      file: undefined,
      rotate: DEFAULT_LOG_ROTATE,
      stdout: true,
    });
    assert.deepEqual(DEFAULT_LOG_ROTATE, {
      sizeBytes: 10 * 1024 * 1024,
      frequency: 'daily',
      keep: 7,
    });
  });

  it('log.file resolves against the file, turns stdout off by default, and takes its rotation', () => {
    const plan = configToPlan(
      parseConfig(
        [
          'log:',
          '  level: debug',
          '  format: json',
          '  file: logs/pipit.log',
          '  rotate:',
          '    size: 64KiB',
          '    frequency: hourly',
          '    keep: 3',
          '',
        ].join('\n'),
      ),
      CTX,
    );
    assert.equal(plan.logLevel, 'debug');
    assert.deepEqual(plan.log, {
      format: 'json',
      file: '/etc/pipit/logs/pipit.log',
      rotate: { sizeBytes: 65536, frequency: 'hourly', keep: 3 },
      stdout: false,
    });
    const both = configToPlan(parseConfig('log:\n  file: p.log\n  stdout: true\n'), CTX);
    assert.equal(both.log.stdout, true);
  });

  const cases: [string, string, string[]][] = [
    [
      'a negative sysInterval',
      'sysInterval: -1\n',
      ['sysInterval: expected a number of seconds 0-86400 (0 = no $SYS topics), got -1 (line 1)'],
    ],
    [
      'a sysInterval that is not a number',
      'sysInterval: ten\n',
      [
        'sysInterval: expected a number of seconds 0-86400 (0 = no $SYS topics), got "ten" (line 1)',
      ],
    ],
    [
      'a sysInterval over a day',
      'sysInterval: 90000\n',
      [
        'sysInterval: expected a number of seconds 0-86400 (0 = no $SYS topics), got 90000 (line 1)',
      ],
    ],
    [
      'an unknown log format',
      'log:\n  format: fancy\n',
      ['log.format: expected one of pretty, json, got "fancy" (line 2)'],
    ],
    [
      'an unknown rotation frequency',
      'log:\n  file: p.log\n  rotate:\n    frequency: weekly\n',
      ['log.rotate.frequency: expected one of daily, hourly, never, got "weekly" (line 4)'],
    ],
    [
      'keeping no rotated file',
      'log:\n  file: p.log\n  rotate:\n    keep: 0\n',
      ['log.rotate.keep: expected a number of rotated files 1-100000, got 0 (line 4)'],
    ],
    [
      'rotation without a file',
      'log:\n  rotate:\n    size: 1MiB\n',
      ['log.rotate: only applies with log.file (line 2)'],
    ],
    [
      'stdout off without a file',
      'log:\n  stdout: false\n',
      ['log.stdout: false needs log.file (otherwise nothing would be logged) (line 2)'],
    ],
  ];
  for (const [name, text, expected] of cases) {
    it(`refuses ${name}, naming the key`, () => {
      assert.deepEqual(problems(text), expected);
    });
  }
});
