/**
 * `pipit broker` writes its JSON log lines to stdout asynchronously (log-setup.ts): lines
 * logged while a write is in progress go out together. Nothing may be lost or torn on the
 * way: every line of a burst arrives whole, and the lines logged just before the process
 * exits (the disconnects of a shutdown) are flushed before it ends.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrokerProcess, freePort, tempDir, waitUntil } from '../durability/harness.js';
import { RawClient } from '../helpers/raw-client.js';

const CLIENTS = 60;

/** The JSON lines of the output; throws on a line that starts as JSON but does not parse. */
function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const count = (output: string, msg: string, clientPrefix: string): number =>
  jsonLines(output).filter((l) => l.msg === msg && String(l.clientId).startsWith(clientPrefix))
    .length;

describe('pipit broker: JSON log lines on stdout', () => {
  let proc: BrokerProcess;
  let port: number;
  const clients: RawClient[] = [];

  before(async () => {
    port = await freePort();
    proc = await BrokerProcess.start(port, tempDir('pipit-log-flush-'), ['--memory']);
  });

  after(async () => {
    for (const c of clients) c.destroy();
    await proc.kill();
  });

  it('a burst of connects: every line arrives whole; a shutdown flushes every line before the exit', async () => {
    const opened = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) => RawClient.connected(port, 4, `burst-${i}`)),
    );
    clients.push(...opened);
    await waitUntil(
      () => count(proc.output, 'client connected', 'burst-') === CLIENTS,
      15_000,
      () => `${count(proc.output, 'client connected', 'burst-')} of ${CLIENTS} connect lines`,
    );
    // SIGTERM: the broker closes every connection (a line each), then exits at once.
    const exit = await proc.stop();
    assert.equal(exit.code, 0);
    assert.equal(count(proc.output, 'client disconnected', 'burst-'), CLIENTS);
    const last = jsonLines(proc.output).filter((l) => l.msg === 'shutting down');
    assert.equal(last.length, 1, 'the shutdown line');
  });
});
