/**
 * The sandbox as Octo uses it: one work dir and one capability token per task, the allow-list and
 * limits from config. The executor arm runs commands through it and the coder runs its checks through
 * it. Without a working sandbox it refuses (503 sandbox_unavailable) unless config allows unsandboxed
 * runs.
 */
import { randomBytes } from "node:crypto";
import { lstatSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { expandHome } from "../config/load.js";
import { unavailable } from "../errors.js";
import type { Logger } from "../telemetry/logger.js";
import type { OctoConfig } from "./config.js";
import {
  createCapabilityIssuer,
  createSandboxExecutor,
  type CapabilityIssuer,
  type SandboxExecutor,
  type SandboxRunResult,
} from "./sandbox/index.js";

export type ExecutorConfig = OctoConfig["executor"];

export interface SandboxStatus {
  available: boolean;
  /** False when runs go without isolation (allow_unsandboxed on a host without a sandbox). */
  sandboxed: boolean;
  mode: string | null;
  reason?: string;
  binaries: string[];
}

export interface TaskRunRequest {
  argv: string[];
  /** Files written into the task's work dir first (relative path → content). */
  files?: Record<string, string>;
  stdin?: string;
  signal: AbortSignal;
}

export interface TaskSandbox {
  status(): Promise<SandboxStatus>;
  run(taskId: string, request: TaskRunRequest): Promise<SandboxRunResult>;
  /** Ends the task's use of the sandbox: its token is forgotten and its work dir removed (unless kept). */
  release(taskId: string): Promise<void>;
}

const TOKEN_TTL_SECONDS = 6 * 3600;

export function createTaskSandbox(deps: { config: () => ExecutorConfig; log: Logger }): TaskSandbox {
  const config = deps.config();
  const secret = randomBytes(32);
  let setup: { executor: SandboxExecutor; issuer: CapabilityIssuer; binaries: string[] } | { error: string } | null = null;
  const tokens = new Map<string, { token: string; expiresAt: number }>();
  const queues = new Map<string, Promise<void>>();

  function init() {
    if (setup) return setup;
    try {
      const workRoot = config.work_root ? expandHome(config.work_root) : defaultWorkRoot();
      // A binary that is not installed leaves the others usable, rather than disabling the executor.
      const binaries = config.allowed_binaries.filter((binary) => {
        try {
          createSandboxExecutor({ workRoot, allowedBinaries: [binary], capabilitySecret: secret, allowShells: config.allow_shells });
          return true;
        } catch (err) {
          deps.log.warn({ binary, err: (err as Error).message }, "executor: allowed binary ignored");
          return false;
        }
      });
      const executor = createSandboxExecutor({
        workRoot,
        allowedBinaries: binaries,
        capabilitySecret: secret,
        allowUnsandboxed: config.allow_unsandboxed,
        allowShells: config.allow_shells,
        ...(config.bwrap_path ? { bwrapPath: config.bwrap_path } : {}),
        limits: { timeoutMs: config.timeout_ms, maxOutputBytes: config.max_output_bytes },
      });
      setup = { executor, issuer: createCapabilityIssuer({ secret }), binaries: binaries.map((b) => basename(b)) };
    } catch (err) {
      setup = { error: (err as Error).message };
    }
    return setup;
  }

  function tokenFor(taskId: string, issuer: CapabilityIssuer, binaries: string[]): string {
    const now = Date.now();
    const cached = tokens.get(taskId);
    if (cached && cached.expiresAt - now > 60_000) return cached.token;
    const token = issuer.issue({ taskId, binaries, paths: ["."], network: false, ttlSeconds: TOKEN_TTL_SECONDS });
    tokens.set(taskId, { token, expiresAt: now + TOKEN_TTL_SECONDS * 1000 });
    return token;
  }

  return {
    async status() {
      const s = init();
      if ("error" in s) return { available: false, sandboxed: false, mode: null, reason: s.error, binaries: [] };
      const detection = await s.executor.detect();
      if (detection.available) return { available: true, sandboxed: true, mode: detection.mode, binaries: s.binaries };
      if (config.allow_unsandboxed) return { available: true, sandboxed: false, mode: "unsandboxed", reason: detection.reason, binaries: s.binaries };
      return { available: false, sandboxed: false, mode: null, reason: `no sandbox: ${detection.reason}`, binaries: s.binaries };
    },

    async run(taskId, request) {
      const s = init();
      if ("error" in s) throw unavailable(`The executor is not set up: ${s.error}`, "sandbox_unavailable");
      // Steps of one task may run in parallel, but a work dir takes one run (or file access) at a
      // time: the executor refuses overlap (task_busy), so a task's runs queue here instead.
      const previous = queues.get(taskId) ?? Promise.resolve();
      const turn = previous.then(async () => {
        request.signal.throwIfAborted();
        const token = tokenFor(taskId, s.issuer, s.binaries);
        await s.executor.createWorkdir(taskId);
        for (const [path, data] of Object.entries(request.files ?? {})) await s.executor.writeFile({ taskId, token, path, data });
        return s.executor.run({ taskId, token, argv: request.argv, stdin: request.stdin, signal: request.signal });
      });
      const settled = turn.then(
        () => {},
        () => {},
      );
      queues.set(taskId, settled);
      void settled.then(() => {
        if (queues.get(taskId) === settled) queues.delete(taskId);
      });
      return turn;
    },

    async release(taskId) {
      tokens.delete(taskId);
      const s = setup;
      if (!s || "error" in s || config.keep_workdirs) return;
      await s.executor.removeWorkdir(taskId).catch((err: unknown) => {
        if ((err as { code?: string }).code !== "workdir_not_found") deps.log.warn({ taskId, err: (err as Error).message }, "executor: work dir not removed");
      });
    },
  };
}

/**
 * <tmpdir>/lmx-octo-<uid>: every parent is searchable by the sandbox user (unlike a home directory).
 * /tmp is shared, so the directory must be ours and a real directory, not something planted there.
 */
function defaultWorkRoot(): string {
  const uid = process.getuid?.() ?? 0;
  const dir = join(tmpdir(), `lmx-octo-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.isSymbolicLink() || st.uid !== uid) {
    throw new Error(`${dir} is not a directory owned by this user; set octo.executor.work_root`);
  }
  return dir;
}
