/**
 * The overview's nodes: one line per node (this one first, marked, then each live peer of
 * its cluster) with its state, address, version, uptime, clients and messages in/out per
 * second. A peer's figures are what it published on its last heartbeat; the rates are the
 * difference between two polls of `GET /nodes`, computed here.
 */
import { count, duration } from './format.ts';
import type { NodeInfo } from './types.ts';

/** One poll of a node's message totals. */
export interface NodeTotals {
  at: number;
  received: number;
  sent: number;
}

/** A node's line: its info and its rates since the previous poll (null: not known yet). */
export interface NodeLine {
  node: NodeInfo;
  inPerSecond: number | null;
  outPerSecond: number | null;
}

/**
 * The lines of a poll's nodes, with rates against `previous` (the totals of the last poll,
 * by node id), and the totals to keep for the next one.
 */
export function nodeLines(
  nodes: NodeInfo[],
  previous: ReadonlyMap<string, NodeTotals>,
  at: number,
): { lines: NodeLine[]; totals: Map<string, NodeTotals> } {
  const totals = new Map<string, NodeTotals>();
  const lines = nodes.map((node): NodeLine => {
    if (node.messagesReceived === null || node.messagesSent === null) {
      return { node, inPerSecond: null, outPerSecond: null };
    }
    const now = { at, received: node.messagesReceived, sent: node.messagesSent };
    totals.set(node.nodeId, now);
    const before = previous.get(node.nodeId);
    if (before === undefined || now.at <= before.at) {
      return { node, inPerSecond: null, outPerSecond: null };
    }
    const seconds = (now.at - before.at) / 1000;
    return {
      node,
      inPerSecond: Math.max(0, (now.received - before.received) / seconds),
      outPerSecond: Math.max(0, (now.sent - before.sent) / seconds),
    };
  });
  return { lines, totals };
}

/** A rate: one decimal below 10 a second (a slow trickle is not 0). */
const rate = (value: number | null): string =>
  value === null ? '…' : value < 10 ? value.toFixed(1) : count(value);
const figure = (value: number | null): string => (value === null ? '' : count(value));

/** The nodes table of the overview. */
export function Nodes({ lines }: { lines: NodeLine[] }) {
  return (
    <section>
      <h2>Nodes</h2>
      <div class="table-wrap">
        <table data-testid="nodes">
          <thead>
            <tr>
              <th>Node</th>
              <th>State</th>
              <th>Address</th>
              <th>Version</th>
              <th>Uptime</th>
              <th>Clients</th>
              <th>In / s</th>
              <th>Out / s</th>
              <th>Listeners</th>
            </tr>
          </thead>
          <tbody>
            {lines.map(({ node: n, inPerSecond, outPerSecond }) => (
              <tr key={n.nodeId} data-testid={`node-${n.nodeId}`} class={n.self ? 'self' : ''}>
                <td>
                  {n.nodeId}
                  {n.self ? ' (this node)' : ''}
                </td>
                <td class={`state-${n.state}`} data-testid="node-state">
                  {n.state}
                </td>
                <td>{n.address ?? ''}</td>
                <td>{n.version ?? ''}</td>
                <td>{n.uptimeSeconds === null ? '' : duration(n.uptimeSeconds)}</td>
                <td data-testid="node-clients">{figure(n.connections)}</td>
                <td data-testid="node-in-rate">{rate(inPerSecond)}</td>
                <td data-testid="node-out-rate">{rate(outPerSecond)}</td>
                <td>{n.listeners.map((l) => l.url).join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
