import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const cli = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Milliseconds from spawn to the first answer of GET /healthz. */
  listeningAfterMs: number;
  stop(): Promise<void>;
}

/** Starts the built `lmx serve` (dist/) as its own process, as a user would run it. */
export async function startServerProcess(args: string[], options: { waitReady?: boolean } = {}): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  // The API process as a user starts it: libuv's default pool (a benchmark runs with one thread, see
  // one-uv-thread.ts; the runners set their own).
  const { UV_THREADPOOL_SIZE: _, ...env } = process.env;
  const child = spawn(process.execPath, [cli, "serve", "--port", String(port), "--log-level", "warn", ...args], { stdio: ["ignore", "ignore", "inherit"], env });
  let listeningAfterMs = -1;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) {
        if (listeningAfterMs < 0) listeningAfterMs = performance.now() - started;
        if (!options.waitReady || (await fetch(`${url}/readyz`)).ok) break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, options.waitReady && listeningAfterMs >= 0 ? 50 : 2));
  }
  return {
    url,
    child,
    listeningAfterMs,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
