import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokerCore } from '../../src/core/index.js';
import type { Logger } from '../../src/ports/index.js';
import { FakeClient } from '../helpers/core-harness.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** A logger writing at or above `level`, that says so through `isLevelEnabled` when `asked`. */
function levelLogger(
  level: 'info' | 'warn',
  asked: boolean,
): { logger: Logger; lines: string[]; gathered: number[] } {
  const lines: string[] = [];
  // How many fields each info call was given: the work a line costs before it is dropped.
  const gathered: number[] = [];
  const info = (fields: Record<string, unknown>, message: string): void => {
    gathered.push(Object.keys(fields).length);
    if (level === 'info') lines.push(message);
  };
  const keep = (_fields: Record<string, unknown>, message: string): void => {
    lines.push(message);
  };
  const logger: Logger = {
    error: keep,
    warn: keep,
    info,
    debug: () => {},
    child: () => logger,
    ...(asked
      ? { isLevelEnabled: (l: string) => l !== 'debug' && (l !== 'info' || level === 'info') }
      : {}),
  };
  return { logger, lines, gathered };
}

function connectAndLeave(logger: Logger): void {
  const core = new BrokerCore({ clock: new FakeClock(), logger });
  const client = new FakeClient(core, 4);
  client.connect({ clientId: 'log-client' });
  assert.equal(client.take()[0]?.type, 'connack');
  client.connection.transportClosed();
  assert.equal(core.connections.size, 0);
}

describe('core: the per-connection log lines', () => {
  it('writes "client connected" and "client disconnected" when info is enabled', () => {
    const { logger, lines } = levelLogger('info', true);
    connectAndLeave(logger);
    assert.deepEqual(lines, ['client connected', 'client disconnected']);
  });

  it('does not gather the lines when the logger says info is off (a broker at warn)', () => {
    const { logger, lines, gathered } = levelLogger('warn', true);
    connectAndLeave(logger);
    assert.deepEqual(gathered, []);
    assert.deepEqual(lines, []);
  });

  it('gives every line to a logger that cannot say which levels it writes', () => {
    const { logger, gathered } = levelLogger('warn', false);
    connectAndLeave(logger);
    assert.equal(gathered.length, 2);
  });
});
