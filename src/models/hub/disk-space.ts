/**
 * Free-space checks. Downloads check before starting (so a too-big model fails at once, with nothing
 * written) and again while writing (another process may be filling the disk too).
 */
import path from "node:path";
import type { StatfsFn } from "./config.js";

/** Bytes free for us on the filesystem holding `dir`; `dir` need not exist yet (its nearest existing ancestor is asked). */
export async function freeBytes(dir: string, statfs: StatfsFn): Promise<number> {
  let current = path.resolve(dir);
  for (;;) {
    try {
      const s = await statfs(current);
      return Number(s.bavail) * Number(s.bsize);
    } catch (err) {
      const parent = path.dirname(current);
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || parent === current) throw err;
      current = parent;
    }
  }
}

export function isDiskFullError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}
