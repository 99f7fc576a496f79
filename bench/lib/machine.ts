import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { arch, cpus, loadavg, platform, release, totalmem } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./server-process.js";
import { round } from "./stats.js";

/** The 1, 5 and 15 minute load averages, rounded: recorded next to every figure on a shared machine. */
export function loadAverage(): number[] {
  return loadavg().map((value) => round(value, 2));
}

/**
 * What a result was measured on, so a number can be judged (and reproduced) later: the CPU, the
 * load when the run started, the code (commit, and whether the tree had local changes) and the
 * engine's version.
 */
export function machineInfo() {
  const cores = cpus();
  return {
    cpus: cores.length,
    cpu_model: cores[0]?.model.trim() ?? "unknown",
    memory_gb: round(totalmem() / 2 ** 30, 1),
    platform: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    node_llama_cpp: packageVersion("node-llama-cpp"),
    git: gitState(),
    /** LMX_* variables override the benchmark's config file, so their presence matters. */
    lmx_env: Object.keys(process.env).filter((key) => key.startsWith("LMX_")).sort(),
    load_average_at_start: loadAverage(),
  };
}

function packageVersion(name: string): string {
  try {
    const manifest = JSON.parse(readFileSync(join(repoRoot, "node_modules", name, "package.json"), "utf8")) as { version: string };
    return manifest.version;
  } catch {
    return "unknown";
  }
}

function gitState(): { commit: string; dirty: boolean } | null {
  try {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: repoRoot, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return { commit: git("rev-parse", "HEAD"), dirty: git("status", "--porcelain", "--untracked-files=no").length > 0 };
  } catch {
    return null;
  }
}
