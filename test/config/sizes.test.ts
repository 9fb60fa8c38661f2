import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSize } from '../../src/config/index.js';

describe('config: sizes', () => {
  it('reads numbers and strings with binary and decimal units', () => {
    assert.equal(parseSize(1024), 1024);
    assert.equal(parseSize('512'), 512);
    assert.equal(parseSize('64KiB'), 65536);
    assert.equal(parseSize('1 MiB'), 1048576);
    assert.equal(parseSize('1mib'), 1048576);
    assert.equal(parseSize('1.5KiB'), 1536);
    assert.equal(parseSize('10MB'), 10_000_000);
    assert.equal(parseSize('2GiB'), 2 * 1024 ** 3);
    assert.equal(parseSize('7B'), 7);
  });

  it('refuses what is not a whole number of bytes', () => {
    for (const bad of [-1, 1.5, '1.1B', '1XB', 'MiB', '', '-1KiB', true, null, Number.NaN]) {
      assert.equal(parseSize(bad), undefined, String(bad));
    }
  });
});
