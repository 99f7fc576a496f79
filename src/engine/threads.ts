import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

/**
 * Physical CPU cores this process may use. Hyper-threads share a core's math units, so llama.cpp
 * gains nothing from them; Linux tells physical cores apart in /proc/cpuinfo, elsewhere (Apple
 * silicon has no SMT) the logical count is used.
 */
export function physicalCores(): number {
  const logical = availableParallelism();
  try {
    const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
    const cores = new Set<string>();
    let physicalId = "0";
    for (const line of cpuinfo.split("\n")) {
      const [key, value] = line.split(":").map((part) => part?.trim());
      if (key === "physical id") physicalId = value;
      else if (key === "core id") cores.add(`${physicalId}:${value}`);
    }
    if (cores.size > 0) return Math.max(1, Math.min(cores.size, logical));
  } catch {
    // Not Linux: fall through.
  }
  return Math.max(1, logical);
}

/**
 * Default evaluation threads: every physical core, never more. More threads than cores is the one
 * setting that must never happen: llama.cpp's threads spin-wait for each other, and when one is
 * preempted the others spin until it runs again (measured: ~2 tokens/s instead of ~1,700 with
 * node-llama-cpp's default of 4 threads on a 2-core machine). All the cores, because on 2 cores a
 * model that is not tiny decodes 1.6-1.9× as fast with 2 threads as with 1 when nothing else runs;
 * when other processes (another model, the API process under load, anything else) want the cores, the
 * runner's thread tuner (runner/thread-tuner.ts) finds fewer threads faster and uses fewer, so
 * contention costs a core's share instead of a collapse. The configured count is its ceiling.
 */
export function defaultThreads(): number {
  return physicalCores();
}
