/**
 * The sandboxed command executor behind Octo's executor arm. Every call carries the task's capability
 * token; a run is argv only (never a shell command line), of an allow-listed binary, in the task's own
 * work dir, inside bubblewrap (see bwrap-args.ts for what it sees, limits.ts for what it may use), and
 * without network unless the token grants it. With no working sandbox the executor refuses to run
 * anything, unless the config explicitly allows unsandboxed runs.
 */
import { isAbsolute } from "node:path";
import { z } from "zod";
import { conflict, invalidRequest } from "../../errors.js";
import { lookupBinary, resolveAllowedBinaries, type ResolvedBinary } from "./binaries.js";
import { buildBwrapArgs, SANDBOX_PATH, SANDBOX_WORKDIR, type SandboxMode } from "./bwrap-args.js";
import { createCapabilityIssuer, type CapabilityClaims } from "./capability.js";
import { DEFAULT_SANDBOX_USER, detectSandbox, type SandboxDetection } from "./detect.js";
import { sandboxFailed, sandboxUnavailable } from "./errors.js";
import { readHostLayout } from "./host-layout.js";
import { configLimits, limitsSchema, prlimitArgs, tightenLimits, type SandboxLimits } from "./limits.js";
import { normalizeRelativePath } from "./paths.js";
import { checkArgv, checkEnv, checkStdin, ENV_NAME } from "./run-request.js";
import { supervise, type SupervisedOutcome } from "./supervise.js";
import { createWorkdirs } from "./workdir.js";

export interface SandboxExecutorConfig {
  /** Absolute; task work dirs are created under it. Every parent must be searchable by the sandbox user. */
  workRoot: string;
  /** Binary names (resolved in /usr/local/bin, /usr/bin, /bin, /usr/sbin, /sbin) or absolute paths. */
  allowedBinaries: readonly string[];
  /** HMAC key of capability tokens (at least 32 bytes); the orchestrator issues with the same key. */
  capabilitySecret: Buffer;
  /** Run commands without isolation when no sandbox works here. Default false: refuse instead. */
  allowUnsandboxed?: boolean;
  /** Allow shells (sh, bash, ...) on the allow-list. Default false. */
  allowShells?: boolean;
  limits?: Partial<SandboxLimits>;
  /** Environment variable names a run may set. LD_* are never allowed. Default: none. */
  allowedEnv?: readonly string[];
  /** Default "auto" (see detect.ts). */
  mode?: "auto" | SandboxMode;
  /** Default: /usr/bin/bwrap (or /usr/local/bin, /bin). */
  bwrapPath?: string;
  /** Host user the commands run as when the server is root. Default 65534:65534 (nobody:nogroup). */
  runAs?: { uid: number; gid: number };
  /** Largest file readFile returns. Default 16 MiB. */
  maxReadBytes?: number;
  /** Unix milliseconds, for token expiry; injectable for tests. */
  now?: () => number;
}

export interface SandboxRunRequest {
  /** The task the caller acts for; the token must have been issued for it. */
  taskId: string;
  token: string;
  /** argv[0] is an allow-listed name (or its resolved absolute path); the rest is passed literally. */
  argv: readonly string[];
  /** Relative to the task's work dir. Default: the work dir. */
  cwd?: string;
  stdin?: string | Uint8Array;
  /** Only names on the config's allowedEnv. */
  env?: Readonly<Record<string, string>>;
  /** Tighter limits for this run (never looser than the config's). */
  limits?: Partial<SandboxLimits>;
  signal?: AbortSignal;
}

export interface SandboxRunResult {
  /** The command's exit code. Killed by a signal inside the sandbox: 128 + the signal number, as a shell reports it. */
  exitCode: number | null;
  /** Set when the executor killed the run (timeout, output overflow): SIGKILL. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Output passed limits.maxOutputBytes: it was cut there and the run killed. */
  truncated: boolean;
  timedOut: boolean;
  durationMs: number;
  /** False only for runs allowed by allowUnsandboxed on a host without a working sandbox. */
  sandboxed: boolean;
}

export interface SandboxFileRequest {
  taskId: string;
  token: string;
  /** Relative to the task's work dir. */
  path: string;
}

export interface SandboxExecutor {
  /** What isolation this host gives (detected once, on first use). */
  detect(): Promise<SandboxDetection>;
  /** Creates the task's work dir (idempotent) and returns its host path. */
  createWorkdir(taskId: string): Promise<string>;
  removeWorkdir(taskId: string): Promise<void>;
  writeFile(request: SandboxFileRequest & { data: string | Uint8Array }): Promise<void>;
  readFile(request: SandboxFileRequest & { maxBytes?: number }): Promise<Buffer>;
  run(request: SandboxRunRequest): Promise<SandboxRunResult>;
}

const DETECTION_RETRY_MS = 30_000;

const userSchema = z.object({ uid: z.number().int().min(1).max(2 ** 32 - 2), gid: z.number().int().min(1).max(2 ** 32 - 2) }).strict();

const configSchema = z.object({
  workRoot: z.string().refine(isAbsolute, "workRoot must be an absolute path"),
  allowedBinaries: z.array(z.string().min(1)),
  capabilitySecret: z.instanceof(Buffer),
  allowUnsandboxed: z.boolean().default(false),
  allowShells: z.boolean().default(false),
  limits: limitsSchema.partial().optional(),
  allowedEnv: z
    .array(z.string().regex(ENV_NAME).refine((name) => !name.startsWith("LD_"), "LD_* variables change what the loader runs"))
    .default([]),
  mode: z.enum(["auto", "userns", "privileged"]).default("auto"),
  bwrapPath: z.string().refine(isAbsolute, "bwrapPath must be absolute").optional(),
  // uid/gid 0 would hand the command root's ownership of every root-owned host file.
  runAs: userSchema.optional(),
  maxReadBytes: z.number().int().positive().default(16 * 1024 * 1024),
  now: z.custom<() => number>((v) => typeof v === "function").optional(),
});

export function createSandboxExecutor(input: SandboxExecutorConfig): SandboxExecutor {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalidRequest(`Invalid sandbox executor config: ${issue.path.join(".")}: ${issue.message}`, issue.path.join(".") || null);
  }
  const config = parsed.data;
  const limits = configLimits(config.limits);
  const capabilities = createCapabilityIssuer({ secret: config.capabilitySecret, now: config.now });
  const layout = readHostLayout();
  const binaries = resolveAllowedBinaries(config.allowedBinaries, {
    allowShells: config.allowShells,
    visibleRoots: layout.visibleRoots,
  });
  const allowedEnv = new Set(config.allowedEnv);
  const isRoot = process.getuid?.() === 0;
  const sandboxUser = isRoot ? (config.runAs ?? DEFAULT_SANDBOX_USER) : null;
  const workdirs = createWorkdirs({ workRoot: config.workRoot, owner: sandboxUser });
  /**
   * What is in progress per task. Runs and host-side file access exclude each other (either may run
   * alongside its own kind): a running command could otherwise swap a path for a symlink between the
   * server's check and its open (see workdir.ts).
   */
  const activity = new Map<string, { runs: number; files: number }>();
  function enter(taskId: string, kind: "runs" | "files"): () => void {
    const current = activity.get(taskId) ?? { runs: 0, files: 0 };
    if (kind === "files" && current.runs > 0) {
      throw conflict(`Task '${taskId}' has a command running; read and write its files once it has finished.`, "task_busy");
    }
    if (kind === "runs" && current.files > 0) {
      throw conflict(`Task '${taskId}' has file access in progress; run the command once it has finished.`, "task_busy");
    }
    current[kind] += 1;
    activity.set(taskId, current);
    return () => {
      current[kind] -= 1;
      if (current.runs === 0 && current.files === 0) activity.delete(taskId);
    };
  }

  // A working sandbox is remembered for the executor's life; a failure only briefly, since it may be
  // fixed (bubblewrap installed) or have been transient (the probe timed out on a loaded machine).
  interface Detection {
    result: Promise<SandboxDetection>;
    at: number;
    settled: SandboxDetection | null;
  }
  let detection: Detection | null = null;
  function detect(): Promise<SandboxDetection> {
    const stale = detection?.settled?.available === false && performance.now() - detection.at > DETECTION_RETRY_MS;
    if (detection === null || stale) {
      const entry: Detection = {
        result: detectSandbox({ bwrapPath: config.bwrapPath, mode: config.mode, runAs: sandboxUser ?? undefined }),
        at: performance.now(),
        settled: null,
      };
      entry.result.then(
        (d) => (entry.settled = d),
        () => (detection = null),
      );
      detection = entry;
    }
    return detection.result;
  }

  async function writeFile(request: SandboxFileRequest & { data: string | Uint8Array }): Promise<void> {
    const path = normalizeRelativePath(request.path);
    capabilities.verify(request.token, { taskId: request.taskId, paths: [path] });
    const data = typeof request.data === "string" ? Buffer.from(request.data, "utf8") : request.data;
    const leave = enter(request.taskId, "files");
    try {
      await workdirs.write(request.taskId, path, data);
    } finally {
      leave();
    }
  }

  async function readFile(request: SandboxFileRequest & { maxBytes?: number }): Promise<Buffer> {
    const path = normalizeRelativePath(request.path);
    capabilities.verify(request.token, { taskId: request.taskId, paths: [path] });
    const leave = enter(request.taskId, "files");
    try {
      return await workdirs.read(request.taskId, path, Math.min(request.maxBytes ?? config.maxReadBytes, config.maxReadBytes));
    } finally {
      leave();
    }
  }

  async function run(request: SandboxRunRequest): Promise<SandboxRunResult> {
    request.signal?.throwIfAborted();
    const argv = checkArgv(request.argv);
    const cwd = normalizeRelativePath(request.cwd ?? ".", "cwd");
    // Syntax first (cheap, no secrets), then the token, then the allow-list: a bad token is refused
    // before the caller learns anything about the configuration.
    const argv0 = argv[0]!;
    const claims = capabilities.verify(request.token, { taskId: request.taskId, paths: [cwd] });
    const binary = lookupBinary(argv0, binaries);
    capabilities.verify(request.token, { taskId: request.taskId, binary: binary.name });
    const env = checkEnv(request.env ?? {}, allowedEnv);
    const stdin = checkStdin(request.stdin);
    const runLimits = tightenLimits(limits, request.limits);

    const leave = enter(request.taskId, "runs");
    try {
      const sandbox = await detect();
      request.signal?.throwIfAborted();
      if (!sandbox.available && !config.allowUnsandboxed) throw sandboxUnavailable(sandbox.reason);
      const workdir = await workdirs.locate(request.taskId);
      await workdirs.checkDirectory(request.taskId, cwd);
      const outcome = sandbox.available
        ? await runSandboxed(sandbox, { workdir, cwd, binary, argv, env, stdin, claims, limits: runLimits, signal: request.signal })
        : await runUnsandboxed({ workdir, cwd, binary, argv, env, stdin, limits: runLimits, signal: request.signal });
      if (outcome.killed === "abort") throw abortError(request.signal);
      if (sandbox.available && outcome.killed === null && outcome.status?.exitCode === null) {
        // bwrap exited without ever reporting the command's exit: it failed before exec'ing it.
        throw sandboxFailed(outcome.stderr.toString("utf8").trim() || `bwrap exited with ${outcome.exitCode}`);
      }
      return {
        exitCode: outcome.killed === null ? (outcome.status?.exitCode ?? outcome.exitCode) : null,
        signal: outcome.signal,
        stdout: outcome.stdout.toString("utf8"),
        stderr: outcome.stderr.toString("utf8"),
        truncated: outcome.truncated,
        timedOut: outcome.killed === "timeout",
        durationMs: outcome.durationMs,
        sandboxed: sandbox.available,
      };
    } finally {
      leave();
    }
  }

  interface Launch {
    workdir: string;
    cwd: string;
    binary: ResolvedBinary;
    argv: string[];
    env: Record<string, string>;
    stdin: Buffer | null;
    limits: SandboxLimits;
    signal: AbortSignal | undefined;
  }

  function runSandboxed(sandbox: Extract<SandboxDetection, { available: true }>, launch: Launch & { claims: CapabilityClaims }): Promise<SupervisedOutcome> {
    const args = buildBwrapArgs({
      mode: sandbox.mode,
      layout: sandbox.layout,
      workdir: launch.workdir,
      cwd: launch.cwd,
      network: launch.claims.network,
      env: { PATH: SANDBOX_PATH, HOME: "/tmp", TMPDIR: "/tmp", LANG: "C.UTF-8", PWD: cwdInside(launch.cwd), ...launch.env },
      limits: launch.limits,
      runAs: sandbox.runAs,
      statusFd: 3,
      command: [launch.binary.path, ...launch.argv.slice(1)],
    });
    return supervise({
      file: sandbox.bwrapPath,
      args,
      env: {},
      cwd: "/",
      runAs: sandbox.mode === "userns" ? sandbox.runAs : null,
      stdin: launch.stdin,
      timeoutMs: launch.limits.timeoutMs,
      maxOutputBytes: launch.limits.maxOutputBytes,
      statusFd: true,
      signal: launch.signal,
    });
  }

  /**
   * Only with allowUnsandboxed, on a host where bwrap does not work. What still holds: argv only, the
   * allow-list, a clean environment, rlimits, the timeout and output cap, and (when the server is
   * root) running as the sandbox user. What does not: the command sees the whole filesystem and
   * network, and a process that leaves its process group can outlive the run.
   */
  async function runUnsandboxed(launch: Launch): Promise<SupervisedOutcome> {
    if (!layout.prlimitPath) throw sandboxUnavailable("prlimit is missing, so not even rlimits can be applied");
    const cwd = launch.cwd === "." ? launch.workdir : `${launch.workdir}/${launch.cwd}`;
    return supervise({
      file: layout.prlimitPath,
      args: [...prlimitArgs(launch.limits), "--", launch.binary.path, ...launch.argv.slice(1)],
      env: { PATH: SANDBOX_PATH, HOME: launch.workdir, LANG: "C.UTF-8", ...launch.env },
      cwd,
      runAs: sandboxUser,
      stdin: launch.stdin,
      timeoutMs: launch.limits.timeoutMs,
      maxOutputBytes: launch.limits.maxOutputBytes,
      statusFd: false,
      signal: launch.signal,
    });
  }

  return {
    detect,
    createWorkdir: (taskId) => workdirs.create(taskId),
    removeWorkdir: async (taskId) => {
      const leave = enter(taskId, "files");
      try {
        await workdirs.remove(taskId);
      } finally {
        leave();
      }
    },
    writeFile,
    readFile,
    run,
  };
}

function cwdInside(cwd: string): string {
  return cwd === "." ? SANDBOX_WORKDIR : `${SANDBOX_WORKDIR}/${cwd}`;
}

function abortError(signal: AbortSignal | undefined): Error {
  const err = new Error("The sandboxed run was aborted; its processes were killed.", { cause: signal?.reason });
  err.name = "AbortError";
  return err;
}
