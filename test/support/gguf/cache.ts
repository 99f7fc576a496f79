// Produce-once file cache shared by processes (vitest workers, benchmark runs, parallel CI jobs).
// Correctness rests on the writer's temp-file-then-rename: a reader sees a whole file or none.
// The lock file only stops two processes from spending 20 s writing the same 230 MB twice.
import { hostname } from "node:os";
import { open, readFile, readdir, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** A lock untouched for this long is presumed abandoned (a killed writer on another host, say). */
const STALE_LOCK_MS = 10 * 60_000;
const POLL_MS = 100;

/** Same-process callers share one promise, since a lock file cannot tell two callers in one pid apart. */
const inFlight = new Map<string, Promise<string>>();

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True when the lock's owner is known to be gone; a lock we cannot read is left to its age. */
async function lockIsStale(lockPath: string): Promise<boolean> {
  try {
    const [text, st] = await Promise.all([readFile(lockPath, "utf8"), stat(lockPath)]);
    if (Date.now() - st.mtimeMs > STALE_LOCK_MS) return true;
    const owner = JSON.parse(text) as { pid?: unknown; host?: unknown };
    return owner.host === hostname() && typeof owner.pid === "number" && !pidAlive(owner.pid);
  } catch {
    return false; // vanished or half-written: look again on the next poll
  }
}

/** Removes temp files that a killed writer left behind for this target. */
async function sweepOldTemps(path: string): Promise<void> {
  const prefix = `.${basename(path)}.tmp-`;
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(prefix))) {
    const p = join(dirname(path), name);
    const st = await stat(p).catch(() => null);
    if (st && Date.now() - st.mtimeMs > STALE_LOCK_MS) await rm(p, { force: true });
  }
}

async function produceLocked(path: string, produce: (path: string) => Promise<void>): Promise<string> {
  const lockPath = `${path}.lock`;
  for (;;) {
    if (await exists(path)) return path;
    let lock;
    try {
      lock = await open(lockPath, "wx");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (await lockIsStale(lockPath)) await rm(lockPath, { force: true });
      else await sleep(POLL_MS);
      continue;
    }
    try {
      await lock.writeFile(JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
      await lock.close();
      // Another process may have finished between our exists() check and taking the lock.
      if (!(await exists(path))) {
        await sweepOldTemps(path);
        await produce(path);
      }
      return path;
    } finally {
      await lock.close().catch(() => undefined);
      await rm(lockPath, { force: true });
    }
  }
}

/**
 * Returns `path`, calling `produce(path)` first if the file is missing. `produce` must write
 * atomically (temp file + rename) and deterministically: if a stale lock is broken while its
 * owner is in fact still writing, both write the same bytes and the last rename wins harmlessly.
 */
export function ensureFile(path: string, produce: (path: string) => Promise<void>): Promise<string> {
  const pending = inFlight.get(path);
  if (pending) return pending;
  const p = produceLocked(path, produce).finally(() => inFlight.delete(path));
  inFlight.set(path, p);
  return p;
}
