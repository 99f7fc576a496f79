import { readdirSync, readFileSync } from "node:fs";

/** CPU time (user + system, all threads) of the LMX server process and of its runner processes. */
export interface ServerCpu {
  apiMs: number;
  runnersMs: number;
}

/** Linux reports process times in clock ticks; USER_HZ is 100 on every mainstream kernel build. */
const msPerTick = 10;

/**
 * Reads the CPU time the server (`pid`) and its children (the runners) have used so far, from /proc.
 * On a shared machine wall-clock rates depend on what else runs; CPU time per token does not, and
 * CPU time ÷ wall time says how much of a core the runner actually got. Null off Linux.
 */
export function serverCpu(pid: number): ServerCpu | null {
  const api = processTicks(pid);
  if (api === null) return null;
  let runners = 0;
  for (const child of childPids(pid)) runners += processTicks(child) ?? 0;
  return { apiMs: api * msPerTick, runnersMs: runners * msPerTick };
}

function processTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces), which ends at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

function childPids(parent: number): number[] {
  const children: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return children;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parent) children.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return children;
}
