// Measures how much CPU other processes used while a section of the benchmark ran: the
// machine's busy time (/proc/stat) minus this process's own CPU time (all its threads), per
// second of wall time, in cores. On a shared machine this tells a disturbed measurement from
// a clean one directly. Linux only: elsewhere it reports null (no evidence either way).
// waitForQuiet holds the benchmark back until the machine is quiet (or a time limit passes).
import { readFileSync } from 'node:fs';

const USER_HZ = 100; // /proc/stat unit on every Linux ABI Node supports

function machineBusySeconds() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...: everything but idle and iowait.
    const [user, nice, system, , , irq, softirq, steal = 0] = fields;
    return (user + nice + system + irq + softirq + steal) / USER_HZ;
  } catch {
    return null;
  }
}

export function startCpuMeter() {
  return { busy: machineBusySeconds(), own: process.cpuUsage(), wall: performance.now() };
}

// Cores used by other processes since `start` (0 when this process had the machine alone).
export function foreignCores(start) {
  const busy = machineBusySeconds();
  const wallS = (performance.now() - start.wall) / 1000;
  if (busy === null || start.busy === null || wallS <= 0) return null;
  const own = process.cpuUsage(start.own);
  const ownS = (own.user + own.system) / 1e6;
  return Math.max(0, (busy - start.busy - ownS) / wallS);
}

// Blocks the thread for ms milliseconds (the forward benchmark is synchronous).
function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// Waits until other processes use at most `limit` cores over one `windowMs` window, for at
// most maxWaitMs. Returns { waited_ms, quiet, foreign }: quiet false when the time ran out
// (or off Linux, where nothing is known); foreign is the last window's cores (null off Linux).
export function waitForQuiet({ limit, maxWaitMs, windowMs = 1000 }) {
  const t0 = performance.now();
  for (;;) {
    const meter = startCpuMeter();
    sleepSync(windowMs);
    const foreign = foreignCores(meter);
    const waited = performance.now() - t0;
    if (foreign === null || foreign <= limit) return { waited_ms: waited, quiet: foreign !== null, foreign };
    if (waited + windowMs > maxWaitMs) return { waited_ms: waited, quiet: false, foreign };
  }
}
