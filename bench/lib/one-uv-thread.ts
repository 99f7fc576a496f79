import { spawnSync } from "node:child_process";

/**
 * LMX's runners run node-llama-cpp with one libuv thread (see src/engine/runner-client.ts); a benchmark
 * that loads the engine in its own process must too, or its "direct" figures would measure a slower
 * setup than the server's. libuv reads UV_THREADPOOL_SIZE once, when its pool first starts — before a
 * script's first line runs under tsx — so the script is started again with it set, and this process
 * exits with the child's status. Call it first thing in a benchmark's entry point.
 */
export function relaunchWithOneUvThread(): void {
  if (process.env.UV_THREADPOOL_SIZE === "1") return;
  const result = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, UV_THREADPOOL_SIZE: "1" },
  });
  process.exit(result.status ?? 1);
}
