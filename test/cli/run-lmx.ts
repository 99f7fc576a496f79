/**
 * Runs the real `lmx` entry point from source (node --import tsx src/cli/main.ts) in a child process,
 * with its own temporary HOME (no ~/.lmx/config.yaml of the developer's) and no LMX_ or HF_ variables
 * of the test environment unless given.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "src/cli/main.ts");

export interface LmxRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface LmxRunOptions {
  env?: Record<string, string>;
  /** Written to stdin, which is then closed (stdin is always closed: never a terminal here). */
  stdin?: string;
  home?: string;
  timeoutMs?: number;
  /** The child process, to signal it (Ctrl-C is SIGINT). */
  onSpawn?: (child: ChildProcess) => void;
}

export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("LMX_") && !key.startsWith("LMX_TEST_")) continue;
    if (key.startsWith("HF_") || key === "HUGGING_FACE_HUB_TOKEN") continue;
    env[key] = value;
  }
  return env;
}

export function runLmx(args: string[], options: LmxRunOptions = {}): Promise<LmxRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", cli, ...args], {
      cwd: root,
      env: { ...cleanEnv(), HOME: options.home ?? mkdtempSync(join(tmpdir(), "lmx-home-")), ...options.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.stdin.end(options.stdin ?? "");
    options.onSpawn?.(child);
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A port nothing listens on (for "no server running"). */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export const portOf = (url: string) => new URL(url).port;

/** Polls `check` until it returns a value (not undefined), for up to `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
