/**
 * File descriptors a child would inherit by accident. Node opens its own fds close-on-exec, but fds the
 * server itself inherited from its parent (a supervisor's pipe, a shell's saved fd, a socket handed
 * down by a service manager) are not, and libuv does not close them in children. bwrap passes them on
 * too, and an open fd crosses every namespace: a directory fd would let the sandbox openat() its way
 * around the mount namespace. So every spawn overwrites each such fd number in the child with /dev/null.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { StdioOptions } from "node:child_process";

const O_CLOEXEC = 0o2000000;

/** fd numbers above 2 open in this process without close-on-exec (Linux: read from /proc/self/fdinfo). */
export function inheritableFds(): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc/self/fd");
  } catch {
    return [];
  }
  const fds: number[] = [];
  for (const entry of entries) {
    const fd = Number(entry);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    try {
      const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"));
      if (flags && (parseInt(flags[1]!, 8) & O_CLOEXEC) === 0) fds.push(fd);
    } catch {
      // Closed meanwhile (e.g. the directory handle readdirSync itself used).
    }
  }
  return fds;
}

/**
 * Extends `stdio` so every inheritable fd not already assigned is replaced by `nullFd` (an fd of
 * /dev/null) in the child. Unassigned slots in between stay "ignore", which leaves them closed.
 */
export function scrubbedStdio(stdio: readonly StdioOptionEntry[], nullFd: number, leaked: readonly number[]): StdioOptionEntry[] {
  const result = [...stdio];
  for (const fd of leaked) {
    if (fd < result.length && result[fd] !== "ignore") continue;
    while (result.length <= fd) result.push("ignore");
    result[fd] = nullFd;
  }
  return result;
}

export type StdioOptionEntry = Exclude<StdioOptions, string>[number];
