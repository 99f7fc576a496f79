/**
 * Finds out whether bubblewrap can actually sandbox commands here, by trying: a probe runs `true`
 * through the exact bwrap command line a real run uses (namespaces, mounts, prlimit, setpriv), so
 * "available" means "works", not "is installed". bwrap fails in many containers (no user namespaces,
 * seccomp forbidding unshare/mount), and only running it tells.
 *
 * Modes, tried in order:
 *   userns      bwrap unprivileged, in a new user namespace. When the server is root, bwrap is
 *               started as the sandbox user (default nobody): root's processes are exempt from
 *               RLIMIT_NPROC, and inside a namespace mapped onto host uid 0 the command would still
 *               own every root-owned file on the host.
 *   privileged  only when the server is root and user namespaces are unavailable: bwrap as root
 *               without a user namespace (so it can mount), all capabilities dropped but the three
 *               setpriv needs, and setpriv switching to the sandbox user before prlimit and the command.
 */
import { spawnSync } from "node:child_process";
import { buildBwrapArgs, SANDBOX_PATH, type SandboxMode } from "./bwrap-args.js";
import { findExecutable, readHostLayout, type HostLayout } from "./host-layout.js";
import { DEFAULT_LIMITS } from "./limits.js";
import { supervise } from "./supervise.js";

export interface SandboxDetectOptions {
  /** Default: the first of /usr/bin/bwrap, /usr/local/bin/bwrap, /bin/bwrap. */
  bwrapPath?: string;
  /** Default "auto": userns, then privileged. */
  mode?: "auto" | SandboxMode;
  /** The sandbox user when the server runs as root. Default 65534:65534 (nobody:nogroup). */
  runAs?: { uid: number; gid: number };
  signal?: AbortSignal;
}

export interface SandboxAttempt {
  mode: SandboxMode;
  error: string;
}

export type SandboxDetection =
  | {
      available: true;
      mode: SandboxMode;
      bwrapPath: string;
      bwrapVersion: string;
      /** The host user bwrap (userns) or setpriv (privileged) runs the command as; null = the server's own user. */
      runAs: { uid: number; gid: number } | null;
      layout: HostLayout;
      /** Modes tried before this one, and why they failed. */
      attempts: SandboxAttempt[];
    }
  | { available: false; reason: string; attempts: SandboxAttempt[]; layout: HostLayout };

export const DEFAULT_SANDBOX_USER = Object.freeze({ uid: 65534, gid: 65534 });

const PROBE_TIMEOUT_MS = 10_000;

export async function detectSandbox(options: SandboxDetectOptions = {}): Promise<SandboxDetection> {
  const layout = readHostLayout();
  const attempts: SandboxAttempt[] = [];
  const unavailable = (reason: string): SandboxDetection => ({ available: false, reason, attempts, layout });

  if (process.platform !== "linux") return unavailable(`bubblewrap needs Linux, this is ${process.platform}`);
  const bwrapPath = options.bwrapPath ?? findExecutable(["/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap"]);
  if (!bwrapPath) return unavailable("bwrap is not installed");
  const version = spawnSync(bwrapPath, ["--version"], { encoding: "utf8", timeout: PROBE_TIMEOUT_MS, env: {} });
  if (version.error || version.status !== 0) {
    return unavailable(`${bwrapPath} --version failed: ${version.error?.message ?? version.stderr.trim()}`);
  }
  if (!layout.prlimitPath || !layout.truePath) return unavailable("util-linux prlimit or coreutils true is missing");

  const isRoot = process.getuid?.() === 0;
  const sandboxUser = options.runAs ?? DEFAULT_SANDBOX_USER;
  const requested = options.mode ?? "auto";
  const modes: SandboxMode[] =
    requested === "auto" ? (isRoot ? ["userns", "privileged"] : ["userns"]) : [requested];

  for (const mode of modes) {
    options.signal?.throwIfAborted();
    if (mode === "privileged" && !isRoot) {
      attempts.push({ mode, error: "privileged mode needs the server to run as root" });
      continue;
    }
    if (mode === "privileged" && !layout.setprivPath) {
      attempts.push({ mode, error: "util-linux setpriv is missing" });
      continue;
    }
    const runAs = isRoot ? sandboxUser : null;
    const error = await probe(bwrapPath, mode, layout, runAs, options.signal);
    if (error === null) {
      return { available: true, mode, bwrapPath, bwrapVersion: version.stdout.trim(), runAs, layout, attempts };
    }
    attempts.push({ mode, error });
  }
  return unavailable(attempts.map((a) => `${a.mode}: ${a.error}`).join("; "));
}

async function probe(
  bwrapPath: string,
  mode: SandboxMode,
  layout: HostLayout,
  runAs: { uid: number; gid: number } | null,
  signal: AbortSignal | undefined,
): Promise<string | null> {
  const args = buildBwrapArgs({
    mode,
    layout,
    workdir: null,
    cwd: ".",
    network: false,
    env: { PATH: SANDBOX_PATH },
    limits: { ...DEFAULT_LIMITS },
    runAs,
    statusFd: null,
    command: [layout.truePath!],
  });
  try {
    const outcome = await supervise({
      file: bwrapPath,
      args,
      env: {},
      cwd: "/",
      // In userns mode bwrap itself runs as the sandbox user; in privileged mode it must be root.
      runAs: mode === "userns" ? runAs : null,
      stdin: null,
      timeoutMs: PROBE_TIMEOUT_MS,
      maxOutputBytes: 64 * 1024,
      statusFd: false,
      signal,
    });
    signal?.throwIfAborted();
    if (outcome.exitCode === 0) return null;
    const stderr = outcome.stderr.toString("utf8").trim();
    return stderr || `bwrap exited with ${outcome.exitCode ?? outcome.signal}${outcome.killed ? ` (${outcome.killed})` : ""}`;
  } catch (err) {
    if (signal?.aborted) throw err;
    return err instanceof Error ? err.message : String(err);
  }
}
