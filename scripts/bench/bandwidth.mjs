// The decode-speed bound: the machine's memory read bandwidth, measured by the addon's probe
// (measureReadBandwidth: PROBE_MIB MiB read by the bench's threads, best and median of
// PROBE_REPEATS passes) right before and right after a model's rounds, against the bytes of
// weights one decode step reads (weight-bytes.mjs). The machines are shared and their
// bandwidth drifts, so the bound is taken from the same run as the decode figures.
//   bandwidth.used_gbs    the mean of the before and after best-pass figures (a measurement
//                         disturbed by other processes is left out when the other is clean)
//   bandwidth_share       tg128 (ours) * bytes_read_per_token / used_gbs: our decode speed as a
//                         fraction of the bound; bandwidth_share_llama_cpp the same for llama.cpp
import { foreignCores, startCpuMeter } from './cpu-meter.mjs';
import { FOREIGN_CPU_LIMIT, quietBefore } from './forward.mjs';
import { round3 } from './stats.mjs';

const PROBE_MIB = Number(process.env.ALLOY_BENCH_BANDWIDTH_MIB) || 1024;
const PROBE_REPEATS = 5;

// One measurement: { best_gbs, median_gbs, foreign_cpu, disturbed, quiet_wait }.
export function measureBandwidth(addon, threads, log, what) {
  const waits = { count: 0, waited_s: 0, gave_up: 0 };
  quietBefore(waits, log, `bandwidth ${what}`);
  const meter = startCpuMeter();
  const r = addon.measureReadBandwidth({ mib: PROBE_MIB, threads, repeats: PROBE_REPEATS });
  const foreign = foreignCores(meter);
  const out = {
    best_gbs: round3(r.best_gbs),
    median_gbs: round3(r.median_gbs),
    foreign_cpu: foreign === null ? null : round3(foreign),
    disturbed: foreign !== null && foreign > FOREIGN_CPU_LIMIT,
    quiet_wait: { waited_s: round3(waits.waited_s), gave_up: waits.gave_up > 0 },
  };
  log(`bench: bandwidth ${what}: best ${r.best_gbs.toFixed(2)} GB/s, median ${r.median_gbs.toFixed(2)} GB/s` +
    `${out.disturbed ? ' (disturbed)' : ''}`);
  return out;
}

// The bandwidth block and the shares for one model: before/after measurements, the decode
// figure ({ ours, llama_cpp }) and the bytes one decode step reads.
export function bandwidthFigures(before, after, tg128, weights) {
  const clean = [before, after].filter((m) => !m.disturbed);
  const usedFrom = clean.length > 0 ? clean : [before, after];
  const usedGbs = usedFrom.reduce((a, m) => a + m.best_gbs, 0) / usedFrom.length;
  const bytes = weights.bytes_read_per_token;
  const share = (tps) => (tps == null || !(usedGbs > 0) ? null : round3((tps * bytes) / (usedGbs * 1e9)));
  const which =
    clean.length === 1
      ? `${clean[0] === after ? 'after' : 'before'}.best_gbs (the other measurement was disturbed)`
      : `mean of before.best_gbs and after.best_gbs${clean.length === 0 ? ' (both disturbed)' : ''}`;
  return {
    bandwidth: {
      before,
      after,
      used_gbs: round3(usedGbs),
      used: `${which}; each the best of ${PROBE_REPEATS} read passes over ${PROBE_MIB} MiB with the bench's threads`,
      drift: before.best_gbs > 0 ? round3(after.best_gbs / before.best_gbs - 1) : null,
    },
    bytes_read_per_token: bytes,
    bound_tokens_per_s: usedGbs > 0 ? round3((usedGbs * 1e9) / bytes) : null,
    bandwidth_share: share(tg128.ours),
    bandwidth_share_llama_cpp: share(tg128.llama_cpp),
  };
}
