/**
 * The few facts about the host's filesystem that shape the sandbox's view: whether /bin, /lib, ...
 * are merged-/usr symlinks (Debian 12: yes) or real directories, and which tools we exec inside.
 */
import { lstatSync, readlinkSync, statSync } from "node:fs";

export interface RootEntry {
  /** e.g. /lib64 */
  path: string;
  /** The link text when the host has a symlink there (e.g. usr/lib64), null for a real directory. */
  symlinkTarget: string | null;
}

export interface HostLayout {
  rootEntries: RootEntry[];
  /** Host directories mounted read-only into the sandbox: /usr plus the real ones among rootEntries. */
  visibleRoots: string[];
  /** util-linux prlimit: sets the rlimits inside the sandbox. */
  prlimitPath: string | null;
  /** util-linux setpriv: drops to the sandbox user in privileged mode. */
  setprivPath: string | null;
  /** Exec'd by the detection probe. */
  truePath: string | null;
}

const ROOT_ENTRIES = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

export function readHostLayout(): HostLayout {
  const rootEntries: RootEntry[] = [];
  for (const path of ROOT_ENTRIES) {
    try {
      const st = lstatSync(path);
      if (st.isSymbolicLink()) rootEntries.push({ path, symlinkTarget: readlinkSync(path) });
      else if (st.isDirectory()) rootEntries.push({ path, symlinkTarget: null });
    } catch {
      // Absent on this host (e.g. /libx32): nothing to mirror.
    }
  }
  const visibleRoots = ["/usr", ...rootEntries.filter((e) => e.symlinkTarget === null).map((e) => e.path)];
  return {
    rootEntries,
    visibleRoots,
    prlimitPath: findExecutable(["/usr/bin/prlimit", "/bin/prlimit"]),
    setprivPath: findExecutable(["/usr/bin/setpriv", "/bin/setpriv"]),
    truePath: findExecutable(["/usr/bin/true", "/bin/true"]),
  };
}

export function findExecutable(candidates: readonly string[]): string | null {
  for (const candidate of candidates) {
    try {
      const st = statSync(candidate);
      if (st.isFile() && (st.mode & 0o111) !== 0) return candidate;
    } catch {
      // Try the next one.
    }
  }
  return null;
}
