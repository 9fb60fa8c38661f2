/**
 * The overview: what the broker is and does now. Counters and runtime figures are polled
 * every second and turned into rates (messages in/out per QoS, bytes, drops by reason), with
 * connections and the event-loop delay; the nodes (this one, and its cluster peers) every two
 * seconds, one line each (nodes.tsx).
 */
import { useRef, useState } from 'preact/hooks';
import { api } from './api.ts';
import { Chart, color } from './chart.tsx';
import { bytes, count, duration } from './format.ts';
import { type NodeLine, Nodes, type NodeTotals, nodeLines } from './nodes.tsx';
import { usePoll } from './poll.ts';
import { addSample, emptyHistory, type History, type Sample } from './rates.ts';
import type { Counters, NodeInfo, Page, Runtime } from './types.ts';

/** How often the nodes are polled (a peer's figures change on its heartbeat, 2.5 s by default). */
const NODES_POLL_MS = 2000;

const MESSAGE_SERIES = ['in QoS 0', 'in QoS 1', 'in QoS 2', 'out QoS 0', 'out QoS 1', 'out QoS 2'];

function Stat({ label, value, id }: { label: string; value: string; id: string }) {
  return (
    <div class="stat">
      <div class="stat-label">{label}</div>
      <div class="stat-value" data-testid={id}>
        {value}
      </div>
    </div>
  );
}

/** The cards above the charts. */
function Stats({
  sample,
  self,
  history,
}: {
  sample: Sample | null;
  self: NodeInfo | undefined;
  history: History;
}) {
  const c = sample?.counters;
  const messagesPerSecond = history.messages
    .slice(1, 4)
    .map((s) => s[s.length - 1] ?? 0)
    .reduce((a, b) => a + b, 0);
  return (
    <div class="stats">
      <Stat id="version" label="Version" value={self?.version ?? '…'} />
      <Stat
        id="uptime"
        label="Uptime"
        value={self?.uptimeSeconds == null ? '…' : duration(self.uptimeSeconds)}
      />
      <Stat id="connections" label="Clients" value={c ? count(c.connectionsCurrent) : '…'} />
      <Stat id="messages-in" label="Messages in" value={c ? count(c.messagesReceived) : '…'} />
      <Stat id="messages-in-rate" label="In / s" value={count(messagesPerSecond)} />
      <Stat id="messages-out" label="Messages out" value={c ? count(c.messagesSent) : '…'} />
      <Stat id="retained" label="Retained" value={c ? count(c.retainedMessages) : '…'} />
      <Stat id="sessions" label="Sessions" value={c ? count(c.sessions) : '…'} />
      <Stat
        id="memory"
        label="Memory budget"
        value={c ? `${bytes(c.memory.usedBytes)} / ${bytes(c.memory.limitBytes)}` : '…'}
      />
    </div>
  );
}

/** The store's commit latency, or why there is none. */
function CommitChart({ sample, history }: { sample: Sample | null; history: History }) {
  if (sample?.runtime.storeCommits === null) {
    return (
      <p class="chart muted">
        Store commit latency: this broker's store does not time its commits (no persistence, or
        memory).
      </p>
    );
  }
  return (
    <Chart
      name="commits"
      title="Store commit latency (ms, mean)"
      series={[
        { label: 'batch (what an ack waits)', color: color(0) },
        { label: 'COMMIT + sync', color: color(1) },
      ]}
      data={history.commits}
      unit=" ms"
    />
  );
}

/** The charts of the rates and latencies. */
function Charts({
  sample,
  self,
  history,
}: {
  sample: Sample | null;
  self: NodeInfo | undefined;
  history: History;
}) {
  return (
    <div class="charts">
      <Chart
        name="messages"
        title="Messages / s by QoS"
        series={MESSAGE_SERIES.map((label, i) => ({ label, color: color(i) }))}
        data={history.messages}
      />
      <Chart
        name="connections"
        title="Connected clients"
        series={[{ label: self?.nodeId ?? 'this node', color: color(0) }]}
        data={history.connections}
      />
      <Chart
        name="bytes"
        title="Bytes / s"
        series={[
          { label: 'in', color: color(0) },
          { label: 'out', color: color(1) },
        ]}
        data={history.bytes}
      />
      <Chart
        name="drops"
        title="Drops / s by reason"
        series={history.dropReasons.map((label, i) => ({ label, color: color(i) }))}
        data={history.drops}
      />
      <Chart
        name="loop"
        title="Event-loop delay (ms)"
        series={[
          { label: 'p99', color: color(0) },
          { label: 'max', color: color(2) },
        ]}
        data={history.loop}
        unit=" ms"
      />
      <CommitChart sample={sample} history={history} />
    </div>
  );
}

/** The overview page. */
export function Overview() {
  const prev = useRef<Sample | null>(null);
  const [history, setHistory] = useState(emptyHistory);
  const [sample, setSample] = useState<Sample | null>(null);
  const [lines, setLines] = useState<NodeLine[]>([]);
  const totals = useRef<Map<string, NodeTotals>>(new Map());

  const error = usePoll(async () => {
    const [counters, runtime] = await Promise.all([
      api<Counters>('GET', '/counters'),
      api<Runtime>('GET', '/runtime'),
    ]);
    const cur: Sample = { at: Date.now(), counters, runtime };
    if (prev.current !== null) {
      const before = prev.current;
      setHistory((h) => addSample(h, before, cur));
    }
    prev.current = cur;
    setSample(cur);
  }, 1000);
  const nodesError = usePoll(async () => {
    const nodes = (await api<Page<NodeInfo>>('GET', '/nodes')).items;
    const next = nodeLines(nodes, totals.current, Date.now());
    totals.current = next.totals;
    setLines(next.lines);
  }, NODES_POLL_MS);

  const self = lines.find((l) => l.node.self)?.node;
  return (
    <div>
      {(error || nodesError) && <p class="error">{error || nodesError}</p>}
      <Stats sample={sample} self={self} history={history} />
      <Charts sample={sample} self={self} history={history} />
      <Nodes lines={lines} />
    </div>
  );
}
