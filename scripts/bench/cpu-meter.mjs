// Measures how much CPU other processes used while a section of the benchmark ran: the
// machine's busy time (/proc/stat) minus this process's own CPU time (all its threads), per
// second of wall time, in cores. On a shared machine this tells a disturbed measurement from
// a clean one directly. Linux only: elsewhere it reports null (no evidence either way).
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
