/**
 * Caps on the sockets an HTTP listener holds: in all, and per source address. The HTTP
 * listener is a way into the broker's process like the MQTT ones, so a flood of idle or
 * slow connections must not take its file descriptors and memory: a socket over a cap is
 * closed at once, before a byte of it is parsed, and counted and logged (throttled) through
 * the broker's refusal log, as the MQTT listeners' caps are.
 */
import type { Socket } from 'node:net';

/** Default cap of open sockets on one HTTP listener. */
export const DEFAULT_HTTP_MAX_CONNECTIONS = 256;
/** Default cap of open sockets from one source address on one HTTP listener. */
export const DEFAULT_HTTP_MAX_CONNECTIONS_PER_ADDRESS = 32;

/** What the HTTP listener refuses, by kind (each one a counter of `refused`). */
export type HttpRefusalKind =
  /** A socket closed at once: the listener's `maxConnections` are open. */
  | 'http-connections'
  /** A socket closed at once: its source address has `maxConnectionsPerAddress` open. */
  | 'http-address-connections'
  /** A request (or an idle connection) not sent within `headersTimeout`/`requestTimeout`: 408. */
  | 'http-timeout'
  /** A request whose headers exceed `maxHeaderSize`: 431. */
  | 'http-header-size';

/** Counts and logs refusals (the broker passes its core's refusal log). */
export interface HttpRefusals {
  note(kind: HttpRefusalKind, fields: Record<string, unknown>, message: string): void;
}

/** The caps of one listener (0: no cap). */
export interface ConnectionCapOptions {
  maxConnections: number;
  maxConnectionsPerAddress: number;
}

/**
 * The key a source address is counted under: IPv4 as is (also when written IPv4-mapped),
 * IPv6 by its /64, which one host usually holds whole and can pick any address of.
 */
export function httpAddressKey(address: string): string {
  const a = address.toLowerCase();
  if (!a.includes(':')) return a;
  if (a.startsWith('::ffff:') && a.includes('.')) return a.slice(7);
  const expanded = expandIpv6(a);
  return expanded === undefined ? a : `${expanded.slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address (zone id dropped), or undefined when it does not parse. */
function expandIpv6(address: string): string[] | undefined {
  const zone = address.indexOf('%');
  const text = zone >= 0 ? address.slice(0, zone) : address;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  return [...head, ...new Array<string>(missing).fill('0'), ...tail].map((g) =>
    g.replace(/^0+(?=.)/, ''),
  );
}

/**
 * Admits or refuses each new socket of one listener. Loopback sources are capped too: the
 * listener binds to 127.0.0.1 by default, so exempting them would exempt every client.
 */
export class ConnectionCaps {
  private open = 0;
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly options: ConnectionCapOptions,
    private readonly listener: string,
    private readonly refusals: HttpRefusals | undefined,
  ) {}

  /** Open sockets now (admitted, not closed yet). */
  get openSockets(): number {
    return this.open;
  }

  /**
   * Takes a new socket: destroys it when a cap is reached (counted and logged), otherwise
   * counts it until it closes.
   */
  admit(socket: Socket): void {
    const { maxConnections, maxConnectionsPerAddress } = this.options;
    const remoteAddress = socket.remoteAddress;
    if (maxConnections > 0 && this.open >= maxConnections) {
      this.refuse(socket, 'http-connections', { maxConnections, remoteAddress });
      return;
    }
    const key =
      maxConnectionsPerAddress > 0 && remoteAddress !== undefined
        ? httpAddressKey(remoteAddress)
        : undefined;
    if (key !== undefined) {
      const count = this.perAddress.get(key) ?? 0;
      if (count >= maxConnectionsPerAddress) {
        this.refuse(socket, 'http-address-connections', {
          maxConnectionsPerAddress,
          remoteAddress,
        });
        return;
      }
      this.perAddress.set(key, count + 1);
    }
    this.open++;
    socket.once('close', () => this.release(key));
  }

  private release(key: string | undefined): void {
    this.open--;
    if (key === undefined) return;
    const count = this.perAddress.get(key) ?? 0;
    if (count <= 1) this.perAddress.delete(key);
    else this.perAddress.set(key, count - 1);
  }

  private refuse(socket: Socket, kind: HttpRefusalKind, fields: Record<string, unknown>): void {
    // Closed before its request is read: nothing of it is parsed or held.
    socket.destroy();
    const what =
      kind === 'http-connections'
        ? 'the listener maxConnections reached'
        : 'maxConnectionsPerAddress reached for this source address';
    this.refusals?.note(
      kind,
      { listener: this.listener, ...fields },
      `HTTP connection refused: ${what}`,
    );
  }
}
