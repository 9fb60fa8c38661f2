/**
 * Crash soak (not in npm test): the kill loop of test/durability with many more kills.
 *
 *   node --import tsx scripts/soak-crash.ts --kills 200 [--seed 7]
 *
 * Prints progress and a summary; exits 1 if an acknowledged message was lost or a QoS 2
 * message was delivered twice.
 */
import { parseArgs } from 'node:util';
import { runKillLoop } from '../test/durability/kill-loop.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '200' },
    seed: { type: 'string', default: String(Date.now() % 100_000) },
  },
});
const kills = Number(values.kills);
const seed = Number(values.seed);
if (!Number.isInteger(kills) || kills < 1) throw new Error('--kills must be a positive integer');

console.log(`soak: ${kills} kills, seed ${seed}`);
const started = Date.now();
const result = await runKillLoop({
  kills,
  seed,
  onKill: (round, info) => {
    if ((round + 1) % 10 === 0 || round + 1 === kills) {
      console.log(
        `  kill ${round + 1}/${kills}: acked QoS 1 ${info.acked1}, QoS 2 ${info.acked2}, delivered ${info.delivered}`,
      );
    }
  },
});
const ok =
  result.lostQos1.length === 0 &&
  result.lostQos2.length === 0 &&
  result.duplicatedQos2.length === 0;
console.log(
  JSON.stringify(
    {
      ok,
      kills: result.kills,
      seed,
      seconds: Math.round((Date.now() - started) / 1000),
      ackedQos1: result.acked1,
      ackedQos2: result.acked2,
      lostQos1: result.lostQos1.length,
      lostQos2: result.lostQos2.length,
      duplicatedQos2: result.duplicatedQos2.length,
      duplicatedQos1Allowed: result.duplicatedQos1,
      dataDir: result.dataDir,
    },
    null,
    2,
  ),
);
if (!ok) {
  console.log('lost QoS 1:', result.lostQos1.slice(0, 20));
  console.log('lost QoS 2:', result.lostQos2.slice(0, 20));
  console.log('QoS 2 twice:', result.duplicatedQos2.slice(0, 20));
}
process.exit(ok ? 0 : 1);
