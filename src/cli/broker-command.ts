/**
 * `pipit broker`: runs a broker until SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import pino from 'pino';
import { createBroker } from '../broker.js';
import type { Logger } from '../ports/index.js';

/** Parses a TCP port option. */
function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(`"${value}" is not a port number (0-65535)`);
  }
  return port;
}

/** Registers `broker` on the root program. */
export function registerBrokerCommand(program: Command): void {
  program
    .command('broker')
    .description('run the MQTT broker')
    .option('-p, --port <port>', 'TCP port to listen on', parsePort, 1883)
    .option(
      '-H, --host <host>',
      'interface to listen on (0.0.0.0 for every interface)',
      '127.0.0.1',
    )
    .option('--memory', 'keep everything in memory (no persistence)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace', 'info')
    .action(async (opts: { port: number; host: string; memory?: boolean; logLevel: string }) => {
      const logger = pino({ level: opts.logLevel, base: undefined }) as unknown as Logger;
      const broker = createBroker({ logger });
      await broker.listen({ port: opts.port, host: opts.host });
      if (opts.host === '127.0.0.1' || opts.host === 'localhost') {
        logger.info({}, 'listening on localhost only; use --host 0.0.0.0 to accept other machines');
      }
      let stopping = false;
      const stop = async (signal: string): Promise<void> => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'shutting down');
        await broker.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });
}
