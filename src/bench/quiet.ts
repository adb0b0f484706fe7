/**
 * Whether a benchmark ran alone. Under load PyTorch's threaded BLAS collapses (its 1024^3
 * matmul fell from 168 to 13 GFLOP/s on a 2-core machine while ours slowed 3x), so a ratio
 * taken while other jobs run flatters us. The CPU time the whole machine spent (/proc/stat),
 * less this process's and its waited children's (/proc/self/stat), is the other jobs' share.
 */

/** CPU seconds so far: the machine's busy time, and this process tree's. */
export interface CpuSnapshot {
  at: number;
  machine: number;
  ours: number;
}

/** Linux's clock ticks per second, which /proc reports in. */
const TICKS = 100;

/** Now; null where /proc cannot be read (not Linux). */
export function cpuSnapshot(): CpuSnapshot | null {
  try {
    const cpu = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1)
      .map(Number);
    // user nice system idle iowait irq softirq steal ...: busy is all but idle and iowait.
    const busy = cpu.reduce((a, v) => a + v, 0) - cpu[3] - (cpu[4] ?? 0);
    // Fields after the ")" of the command name: utime stime cutime cstime are 14-17 (1-based).
    const self = Deno.readTextFileSync("/proc/self/stat");
    const f = self.slice(self.lastIndexOf(")") + 2).split(" ").map(Number);
    const ours = f[11] + f[12] + f[13] + f[14];
    return { at: performance.now() / 1000, machine: busy / TICKS, ours: ours / TICKS };
  } catch {
    return null;
  }
}

/** The share of the machine's CPUs that other processes used between two snapshots, 0 to 1. */
export function othersShare(a: CpuSnapshot, b: CpuSnapshot, cpus: number): number {
  const wall = b.at - a.at;
  if (wall <= 0) return 0;
  const others = (b.machine - a.machine) - (b.ours - a.ours);
  return Math.min(1, Math.max(0, others / (wall * cpus)));
}

/** Other jobs above this share of the CPUs, or a 1-minute load above this per CPU at the start, void the PyTorch ratios. */
const QUIET = { share: 0.1, loadPerCpu: 0.25 };

/** Why the run was not quiet, in words; null when it was. */
export function notQuiet(loadAtStart: number, share: number | null, cpus: number): string | null {
  const why: string[] = [];
  if (loadAtStart > QUIET.loadPerCpu * cpus) {
    why.push(`the load average at the start was ${loadAtStart.toFixed(2)} on ${cpus} CPUs`);
  }
  if (share !== null && share > QUIET.share) {
    why.push(`other processes used ${(100 * share).toFixed(0)}% of the CPUs during the run`);
  }
  return why.length ? why.join(" and ") : null;
}
