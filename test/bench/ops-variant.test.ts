import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BrokerProcess, startBroker } from '../../bench/harness/brokers.js';
import { MATRIX } from '../../bench/harness/matrix.js';
import type { Sample } from '../../bench/harness/runner.js';
import { startScraper } from '../../bench/harness/scraper.js';
import { renderSection, summarize } from '../../bench/harness/summary.js';
import { repoRoot } from '../client/brokers.js';
import { parseExposition } from '../helpers/prometheus-text.js';

describe('bench: the pipit-ops variant', () => {
  it('starts Pipit with its HTTP listener, whose /metrics the scraper fetches', async () => {
    let proc: BrokerProcess | undefined;
    try {
      proc = await startBroker('pipit-ops', { cwd: repoRoot });
      assert.ok(proc.metricsUrl, 'pipit-ops reports where its metrics are');
      const text = await (await fetch(proc.metricsUrl)).text();
      assert.equal(parseExposition(text).families.get('pipit_sessions')?.type, 'gauge');
      const scraper = startScraper(proc.metricsUrl, 50);
      await new Promise((r) => setTimeout(r, 300));
      const stats = await scraper.stop();
      assert.ok(stats.scrapes >= 2, `${stats.scrapes} scrapes`);
      assert.equal(stats.failures, 0);
      assert.ok(stats.lastBytes > 1000);
    } finally {
      await proc?.stop();
    }
  });

  it('counts a scrape of a broker that does not answer as a failure', async () => {
    const scraper = startScraper('http://127.0.0.1:1/metrics', 1000);
    const stats = await scraper.stop();
    assert.deepEqual(stats, { scrapes: 0, failures: 1, lastBytes: 0 });
  });

  it('adds a "Pipit ops/Pipit" ratio column when the run had pipit-ops', () => {
    const sample = (broker: Sample['broker'], delivered: number): Sample => ({
      scenario: 'fanin-q0',
      broker,
      transport: 'tcp',
      round: 1,
      result: {
        deliveredPerSec: delivered,
        sentPerSec: delivered,
        latency: { count: 1, p50: 1, p90: 1, p99: 2, max: 3, mean: 1 },
        cpu: { userMs: 1, systemMs: 1, percent: 10 },
        lost: 0,
        duplicated: 0,
        outOfOrder: 0,
      } as Sample['result'],
    });
    const info = { date: 'd', machine: 'm', software: 's', settings: 'x.', command: 'c' };
    const fanin = MATRIX.filter((s) => s.id === 'fanin-q0');
    const rows = [
      summarize('fanin-q0', 'pipit', [sample('pipit', 200)]),
      summarize('fanin-q0', 'pipit-ops', [sample('pipit-ops', 196)]),
    ];
    const text = renderSection(info, fanin, rows);
    assert.match(text, /\| Pipit\/Mosquitto \| Pipit\/Aedes \| Pipit ops\/Pipit \|/);
    assert.match(text, /\| delivered msg\/s \(higher is better\) \| n\/a \| n\/a \| 0\.98× \|/);
  });
});
