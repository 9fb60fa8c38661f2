/**
 * Heap bytes per connection by class: the difference of two V8 heap snapshots (written by
 * `BENCH_SNAPSHOT=1 bench/connections.bench.ts`, or `v8.writeHeapSnapshot()` in a broker),
 * grouped by node type and constructor name, divided by the number of connections held.
 *
 *   node bench/heap-by-class.mjs before.heapsnapshot after.heapsnapshot 10000 [rows]
 *
 * Self sizes only (what each object itself takes), so the rows add up to the heap growth.
 * Not a test.
 */
import { readFileSync } from 'node:fs';

/** Self size and count per "type name" of every node of a snapshot. */
function classSizes(path) {
  const snap = JSON.parse(readFileSync(path, 'utf8'));
  const meta = snap.snapshot.meta;
  const fields = meta.node_fields;
  const stride = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = meta.node_types[typeAt];
  const { nodes, strings } = snap;
  const out = new Map();
  for (let i = 0; i < nodes.length; i += stride) {
    const type = types[nodes[i + typeAt]];
    // Strings and code are grouped by type alone: their "name" is their content.
    const name =
      type === 'object' || type === 'native' || type === 'closure'
        ? strings[nodes[i + nameAt]]
        : '';
    const key = `${type} ${name}`;
    const row = out.get(key) ?? { size: 0, count: 0 };
    row.size += nodes[i + sizeAt];
    row.count += 1;
    out.set(key, row);
  }
  return out;
}

const [beforePath, afterPath, countArg, rowsArg] = process.argv.slice(2);
if (!beforePath || !afterPath || !countArg) {
  process.stderr.write('usage: node bench/heap-by-class.mjs before after connections [rows]\n');
  process.exit(2);
}
const n = Number(countArg);
const before = classSizes(beforePath);
const after = classSizes(afterPath);
const rows = [];
for (const [key, a] of after) {
  const b = before.get(key) ?? { size: 0, count: 0 };
  rows.push({ key, bytes: (a.size - b.size) / n, objects: (a.count - b.count) / n });
}
rows.sort((x, y) => y.bytes - x.bytes);
const total = rows.reduce((sum, r) => sum + r.bytes, 0);
// JIT code comes and goes with optimization, and 'synthetic'/'native' rows are sizes Node
// estimates for memory outside the V8 heap: the objects alone are the figure that repeats.
const objects = rows
  .filter((r) => !/^(code|synthetic|native) /.test(r.key))
  .reduce((sum, r) => sum + r.bytes, 0);
console.log(`heap growth per connection: ${total.toFixed(0)} B`);
console.log(`  of which JS objects (no code, native or synthetic rows): ${objects.toFixed(0)} B`);
console.log('B/conn   objects/conn  type constructor');
for (const r of rows.slice(0, Number(rowsArg ?? 40))) {
  console.log(`${r.bytes.toFixed(1).padStart(7)}  ${r.objects.toFixed(2).padStart(12)}  ${r.key}`);
}
