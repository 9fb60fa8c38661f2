/**
 * What each transport costs, broker by broker: a scenario's headline figure and the broker's
 * CPU per message over TLS or WebSocket, relative to the same broker over plain TCP.
 */
import type { BrokerName } from './brokers.js';
import type { ComparisonScenario } from './matrix.js';
import { ratio, type Summary, transportsOf } from './summary.js';

function headlineOf(
  kind: ComparisonScenario['kind'],
): [string, (s: Summary) => number | undefined] {
  if (kind === 'latency') return ['p99 latency', (s) => s.p99];
  if (kind === 'conn') return ['connects/s', (s) => s.connectsPerSec];
  return ['delivered msg/s', (s) => s.deliveredPerSec];
}

/**
 * The "### Transport cost" table, or nothing when the run had no tcp to compare with or no
 * other transport. Each cell is "figure over t / figure over tcp".
 */
export function transportCostTable(
  scenarios: readonly ComparisonScenario[],
  all: readonly Summary[],
): string[] {
  const others = transportsOf(all).filter((t) => t !== 'tcp');
  if (others.length === 0 || !all.some((s) => s.transport === 'tcp')) return [];
  const brokers = [...new Set(all.map((s) => s.broker))];
  const head = others.flatMap((t) => [`${t}/tcp figure`, `${t}/tcp broker CPU per msg`]);
  const out = [
    `| scenario | figure | broker | ${head.join(' | ')} |`,
    `|---|---|---|${head.map(() => '--:').join('|')}|`,
  ];
  const get = (id: string, b: BrokerName, t: string) =>
    all.find((s) => s.scenario === id && s.broker === b && s.transport === t);
  for (const sc of scenarios) {
    const [name, f] = headlineOf(sc.kind);
    for (const b of brokers) {
      const tcp = get(sc.id, b, 'tcp');
      const cells = others.flatMap((t) => {
        const over = get(sc.id, b, t);
        const cpu =
          sc.kind === 'conn' ? 'n/a' : ratio(over?.brokerCpuUsPerMsg, tcp?.brokerCpuUsPerMsg);
        return [ratio(over && f(over), tcp && f(tcp)), cpu];
      });
      out.push(`| ${sc.title} | ${name} | ${b} | ${cells.join(' | ')} |`);
    }
  }
  return ['### Transport cost', '', ...out, ''];
}
