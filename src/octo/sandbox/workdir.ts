/**
 * Task work dirs on the host: `<workRoot>/<taskId>`, the only host directory a sandbox can write. The
 * server reads and writes files there on the orchestrator's behalf (staging inputs, collecting
 * outputs), and since sandboxed code can leave anything behind (symlinks to /etc/shadow, a symlinked
 * directory pointing at /etc, a FIFO that blocks any reader), every host-side access resolves the
 * path, checks it is still inside, and opens without following a final symlink.
 *
 * Races: the executor refuses file access while a run of the task is in progress, and a finished
 * sandbox leaves no process behind (its pid namespace is gone), so nothing can swap a path between
 * our check and our open. Other host processes writing the work dir are outside the threat model.
 */
import { constants, type Stats } from "node:fs";
import { chown, lstat, mkdir, open, realpath, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { invalidRequest, LmxError, notFound } from "../../errors.js";
import { pathEscape } from "./errors.js";
import { assertTaskId, isInsideDir, normalizeRelativePath } from "./paths.js";

export interface WorkdirsOptions {
  workRoot: string;
  /** Owner of work dirs and files we create: the sandbox user, when the server runs as root. */
  owner: { uid: number; gid: number } | null;
}

export interface Workdirs {
  /** Creates (or finds) the task's work dir; returns its host path. */
  create(taskId: string): Promise<string>;
  remove(taskId: string): Promise<void>;
  /** The existing work dir's host path (realpath); 404 when it was never created. */
  locate(taskId: string): Promise<string>;
  /** Checks that the normalized relative `cwd` is a directory inside the work dir. */
  checkDirectory(taskId: string, relPath: string): Promise<void>;
  write(taskId: string, relPath: string, data: Uint8Array): Promise<void>;
  read(taskId: string, relPath: string, maxBytes: number): Promise<Buffer>;
}

export function createWorkdirs(options: WorkdirsOptions): Workdirs {
  const { workRoot, owner } = options;
  let rootReady: Promise<string> | null = null;

  /** workRoot: root-owned 0711, so the sandbox user can reach its own dir but list nobody else's. */
  function ensureRoot(): Promise<string> {
    if (!rootReady) {
      rootReady = (async () => {
        await mkdir(workRoot, { recursive: true, mode: 0o711 });
        const real = await realpath(workRoot);
        if (owner) await assertTraversable(real, owner);
        return real;
      })();
      // A failure (say, a parent that is not searchable) is reported, not remembered: it can be fixed.
      rootReady.catch(() => {
        rootReady = null;
      });
    }
    return rootReady;
  }

  async function locate(taskId: string): Promise<string> {
    assertTaskId(taskId);
    const root = await ensureRoot();
    const dir = join(root, taskId);
    const st = await lstatOrNull(dir);
    if (!st) throw notFound(`Task '${taskId}' has no work dir: create it first.`, "workdir_not_found", "taskId");
    if (!st.isDirectory()) throw new LmxError(`The work dir of task '${taskId}' is not a directory.`, { status: 500, type: "server_error", code: "workdir_corrupt" });
    return dir;
  }

  async function create(taskId: string): Promise<string> {
    assertTaskId(taskId);
    const root = await ensureRoot();
    const dir = join(root, taskId);
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      return locate(taskId);
    }
    if (owner) await chown(dir, owner.uid, owner.gid);
    return dir;
  }

  async function remove(taskId: string): Promise<void> {
    assertTaskId(taskId);
    const root = await ensureRoot();
    // rm does not follow symlinks inside the tree: a link to /etc is unlinked, not emptied.
    await rm(join(root, taskId), { recursive: true, force: true });
  }

  /** Resolves an existing path through any symlinks and insists the result is inside the work dir. */
  async function resolveExisting(dir: string, rel: string): Promise<string> {
    let real: string;
    try {
      real = await realpath(join(dir, rel));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") throw notFound(`'${rel}' does not exist in the work dir.`, "file_not_found", "path");
      if (code === "ELOOP") throw pathEscape(rel, "is a symlink loop");
      throw err;
    }
    if (!isInsideDir(dir, real)) throw pathEscape(rel, "resolves (through a symlink) outside the work dir");
    return real;
  }

  async function checkDirectory(taskId: string, relPath: string): Promise<void> {
    const dir = await locate(taskId);
    const rel = normalizeRelativePath(relPath, "cwd");
    const real = await resolveExisting(dir, rel);
    if (!(await stat(real)).isDirectory()) throw invalidRequest(`The cwd '${rel}' is not a directory.`, "cwd");
  }

  async function write(taskId: string, relPath: string, data: Uint8Array): Promise<void> {
    const dir = await locate(taskId);
    const rel = normalizeRelativePath(relPath);
    if (rel === ".") throw invalidRequest("A file path is required.", "path");
    // Parents, one component at a time: create what is missing, follow only symlinks that stay inside.
    let parent = dir;
    const segments = rel.split("/");
    const name = segments.pop()!;
    for (const segment of segments) {
      const next = join(parent, segment);
      const st = await lstatOrNull(next);
      if (!st) {
        await mkdir(next, { mode: 0o755 });
        if (owner) await chown(next, owner.uid, owner.gid);
        parent = next;
        continue;
      }
      const real = await realpath(next);
      if (!isInsideDir(dir, real)) throw pathEscape(relPath, "goes through a symlink pointing outside the work dir");
      if (!(await stat(real)).isDirectory()) throw invalidRequest(`'${segment}' in '${rel}' is not a directory.`, "path");
      parent = real;
    }
    let target = join(parent, name);
    const existing = await lstatOrNull(target);
    if (existing?.isSymbolicLink()) {
      // A link that stays inside is written through; a dangling one or one pointing out is refused.
      let real: string;
      try {
        real = await realpath(target);
      } catch {
        throw pathEscape(relPath, "is a symlink to nothing (it could be made to point anywhere)");
      }
      if (!isInsideDir(dir, real)) throw pathEscape(relPath, "is a symlink pointing outside the work dir");
      target = real;
    }
    if (existing && !existing.isSymbolicLink() && !existing.isFile()) throw invalidRequest(`'${rel}' exists and is not a regular file.`, "path");
    // O_NOFOLLOW: the final component must not have become a symlink since we looked. No O_TRUNC:
    // truncate only once we know what we opened.
    const handle = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644);
    try {
      assertPlainFile(await handle.stat(), rel, relPath);
      if (owner) await handle.chown(owner.uid, owner.gid);
      await handle.truncate(0);
      await handle.writeFile(data);
    } finally {
      await handle.close();
    }
  }

  async function read(taskId: string, relPath: string, maxBytes: number): Promise<Buffer> {
    const dir = await locate(taskId);
    const rel = normalizeRelativePath(relPath);
    const real = await resolveExisting(dir, rel);
    // O_NONBLOCK: opening a FIFO the sandbox left behind must not hang the server.
    const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const st = await handle.stat();
      assertPlainFile(st, rel, relPath);
      if (st.size > maxBytes) {
        throw invalidRequest(`'${rel}' is ${st.size} bytes, more than the ${maxBytes} bytes allowed.`, "path", "file_too_large");
      }
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  return { create, remove, locate, checkDirectory, write, read };
}

/**
 * A regular file with a single name. A second hard link could be a host file linked in from outside
 * (impossible from inside the sandbox, whose mounts make link() fail with EXDEV, but not from an
 * unsandboxed run), and writing or reading it would reach that file.
 */
function assertPlainFile(st: Stats, rel: string, relPath: string): void {
  if (!st.isFile()) throw invalidRequest(`'${rel}' is not a regular file.`, "path");
  if (st.nlink > 1) throw pathEscape(relPath, "has other hard links");
}

async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/**
 * bwrap runs as the sandbox user and resolves the work dir path itself, so every ancestor of workRoot
 * must be searchable by that user. A mkdtemp'd (0700) parent, or a workRoot under /root, would make
 * every run fail with a bwrap "Permission denied"; say so once, clearly, instead.
 */
async function assertTraversable(dir: string, user: { uid: number; gid: number }): Promise<void> {
  for (let current = dir; ; current = dirname(current)) {
    const st = await stat(current);
    const searchable =
      st.uid === user.uid ? (st.mode & 0o100) !== 0 : st.gid === user.gid ? (st.mode & 0o010) !== 0 : (st.mode & 0o001) !== 0;
    if (!searchable) {
      throw invalidRequest(
        `The sandbox user (uid ${user.uid}) cannot reach the work root ${dir}: ${current} is not searchable by it ` +
          "(mode " + (st.mode & 0o777).toString(8) + "). Put workRoot where every parent is at least o+x.",
        "workRoot",
      );
    }
    if (current === "/") return;
  }
}
