/**
 * Bad conditions at start: the broker refuses to run rather than lose data silently, exits
 * with code 1 and says which file is wrong and what to do.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BrokerProcess, freePort, tempDir } from './harness.js';

async function startFails(dataDir: string): Promise<string> {
  const port = await freePort();
  const proc = BrokerProcess.spawn(['--port', String(port), '--data-dir', dataDir]);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 20_000);
  const exit = await proc.exited;
  clearTimeout(timer);
  assert.equal(exit.code, 1, `exit code 1, got ${JSON.stringify(exit)}:\n${proc.output}`);
  assert.doesNotMatch(proc.output, /"msg":"listening"/);
  return proc.output;
}

describe('durability: bad data directory at start', () => {
  it('a data directory that cannot be created or written: exit 1, the path and the remedy', async () => {
    const base = tempDir();
    const file = join(base, 'not-a-dir');
    writeFileSync(file, 'x');
    // Under a regular file nothing can be created (true even for root, unlike chmod).
    const dataDir = join(file, 'data');
    const output = await startFails(dataDir);
    assert.ok(output.includes(dataDir), `names ${dataDir}:\n${output}`);
    assert.match(output, /permissions|choose another data directory/);
  });

  it('a corrupt database file: exit 1, the file and what to do', async () => {
    const dataDir = tempDir();
    const db = join(dataDir, 'pipit.db');
    writeFileSync(db, Buffer.alloc(8192, 0x5a));
    const output = await startFails(dataDir);
    assert.ok(output.includes(db), `names ${db}:\n${output}`);
    assert.match(output, /corrupt|not an SQLite/);
    assert.match(output, /[Mm]ove it away|restore it from a backup/);
  });

  it('a database of a newer schema: exit 1, asks to upgrade', async () => {
    const dataDir = tempDir();
    // Start once to create the file, stop, then mark it as written by a future version.
    const port = await freePort();
    const first = await BrokerProcess.start(port, dataDir);
    await first.stop();
    const { default: Database } = await import('better-sqlite3');
    const conn = new Database(join(dataDir, 'pipit.db'));
    conn.pragma('user_version = 9999');
    conn.close();
    const output = await startFails(dataDir);
    assert.match(output, /newer Pipit/);
    assert.match(output, /upgrade Pipit/);
  });
});
