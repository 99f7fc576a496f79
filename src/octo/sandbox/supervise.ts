/**
 * Runs one child process under the run's wall-clock, output and abort limits, and reports what
 * happened. Knows nothing of bwrap beyond reading its JSON status fd: the executor decides what to
 * spawn, this decides when to kill it.
 *
 * Killing: the child is spawned detached (its own session and process group) and is killed with
 * SIGKILL to the whole group. Under bwrap that group is just bwrap itself; the command runs in a pid
 * namespace whose init is bwrap's child, and killing that init (pid from the status fd) makes the
 * kernel kill everything in the namespace, whatever process groups or sessions it made.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { inheritableFds, scrubbedStdio, type StdioOptionEntry } from "./inherited-fds.js";

export interface SuperviseOptions {
  file: string;
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd: string;
  /** Run the child as this user (the server must be root). */
  runAs: { uid: number; gid: number } | null;
  stdin: Buffer | null;
  timeoutMs: number;
  maxOutputBytes: number;
  /** Give the child a pipe at fd 3 and parse bwrap's --json-status-fd lines from it. */
  statusFd: boolean;
  signal?: AbortSignal;
}

export type KillReason = "timeout" | "output" | "abort";

export interface SupervisedOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
  /** Output went past maxOutputBytes and was cut there. */
  truncated: boolean;
  /** Why we killed it, if we did. */
  killed: KillReason | null;
  durationMs: number;
  /** From bwrap's status fd: the sandbox init's host pid and the command's exit code (absent if setup failed). */
  status: { childPid: number | null; exitCode: number | null } | null;
}

/** How long after the child exits we wait for its pipes to close before cutting them (a grandchild may hold them). */
const CLOSE_GRACE_MS = 1_000;
/** How long we wait for the sandbox's pid namespace to be gone after bwrap has exited. */
const REAP_TIMEOUT_MS = 2_000;

export const STATUS_FD = 3;

export async function supervise(options: SuperviseOptions): Promise<SupervisedOutcome> {
  const started = performance.now();
  const base: StdioOptionEntry[] = ["pipe", "pipe", "pipe"];
  if (options.statusFd) base.push("pipe");
  const nullFd = openSync("/dev/null", "r");
  let child;
  try {
    child = spawn(options.file, options.args, {
      cwd: options.cwd,
      env: { ...options.env },
      stdio: scrubbedStdio(base, nullFd, inheritableFds()),
      detached: true,
      windowsHide: true,
      ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
    });
  } finally {
    closeSync(nullFd);
  }

  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let outputBytes = 0;
  let truncated = false;
  let killed: KillReason | null = null;
  const status = { childPid: null as number | null, exitCode: null as number | null };

  const killAll = (reason: KillReason) => {
    // Already exited (we are only waiting for its pipes to close): nothing to kill, nothing to report.
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (killed === null) killed = reason;
    // The sandbox init first: its death takes the whole pid namespace with it.
    if (status.childPid !== null) tryKill(status.childPid);
    if (child.pid !== undefined) tryKill(-child.pid);
  };

  const collect = (into: Buffer[]) => (chunk: Buffer) => {
    if (truncated) return;
    const room = options.maxOutputBytes - outputBytes;
    if (chunk.length > room) {
      into.push(chunk.subarray(0, room));
      outputBytes += room;
      truncated = true;
      killAll("output");
      return;
    }
    into.push(chunk);
    outputBytes += chunk.length;
  };
  child.stdout!.on("data", collect(stdout));
  child.stderr!.on("data", collect(stderr));

  const statusStream = options.statusFd ? child.stdio[STATUS_FD] : null;
  if (statusStream && "on" in statusStream) {
    let pending = "";
    statusStream.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        parseStatusLine(pending.slice(0, newline), status);
        pending = pending.slice(newline + 1);
      }
      // A kill requested before bwrap told us the init's pid: now we know it.
      if (killed !== null && status.childPid !== null) tryKill(status.childPid);
    });
    statusStream.on("error", () => {});
  }

  child.stdin!.on("error", () => {
    // EPIPE: the command exited (or closed stdin) without reading all of it. Not our failure.
  });
  if (options.stdin && options.stdin.length > 0) child.stdin!.end(options.stdin);
  else child.stdin!.end();

  const timer = setTimeout(() => killAll("timeout"), options.timeoutMs);
  const onAbort = () => killAll("abort");
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  try {
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
      let grace: NodeJS.Timeout | undefined;
      child.once("error", (err) => {
        clearTimeout(grace);
        reject(err);
      });
      child.once("exit", (code, signal) => {
        exited = { code, signal };
        // Normally 'close' follows at once. If something that escaped the kill still holds our
        // pipes (possible only without a pid namespace), stop waiting for it.
        grace = setTimeout(() => {
          for (const stream of child.stdio) stream?.destroy();
          resolve(exited!);
        }, CLOSE_GRACE_MS);
      });
      child.once("close", (code, signal) => {
        clearTimeout(grace);
        resolve(exited ?? { code, signal });
      });
    });
    // bwrap has exited; make sure its pid namespace is gone too before we say the run is over.
    if (status.childPid !== null) await waitForPidGone(status.childPid);
    return {
      // When we killed it, say so even if bwrap won the race and exited on its own after its init died.
      exitCode: killed === null ? exit.code : null,
      signal: killed === null ? exit.signal : "SIGKILL",
      stdout: Buffer.concat(stdout),
      stderr: Buffer.concat(stderr),
      truncated,
      killed,
      durationMs: Math.round(performance.now() - started),
      status: options.statusFd ? status : null,
    };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

function parseStatusLine(line: string, status: { childPid: number | null; exitCode: number | null }): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return;
  }
  if (typeof parsed !== "object" || parsed === null) return;
  const record = parsed as Record<string, unknown>;
  if (typeof record["child-pid"] === "number") status.childPid = record["child-pid"];
  if (typeof record["exit-code"] === "number") status.exitCode = record["exit-code"];
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // ESRCH: already gone.
  }
}

/**
 * A pid namespace's init exits only after the kernel has killed and reaped everything else in the
 * namespace, so once the init is gone (or a zombie) nothing of the run is left.
 */
async function waitForPidGone(pid: number): Promise<void> {
  const deadline = performance.now() + REAP_TIMEOUT_MS;
  while (performance.now() < deadline) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      return;
    }
    // Field 3, after the parenthesized command name (which may itself contain spaces or parens).
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state === "Z" || state === "X") return;
    await sleep(10);
  }
}
