import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConfigInput } from "../../src/config/schema.js";
import { startServerProcess } from "./server-process.js";

export interface LmxBenchSettings {
  modelPath: string;
  threads: number;
  /** Sequences of the model's context: requests decoded together. */
  parallel: number;
  /** Tokens per sequence. */
  contextSize: number;
  /** Prompt tokens evaluated per batch (the engine's default is 512). */
  batchSize?: number;
  /** How often the runner forwards streamed tokens (the server's default is 10 ms; 0 = every token). */
  streamIntervalMs?: number;
  /**
   * Anything else for the config file, merged over the settings above. The hook for comparisons that
   * are configuration changes, such as speculative decoding once the engine has it.
   */
  extraConfig?: ConfigInput;
}

export interface LmxBenchServer {
  url: string;
  /** The model id to put in requests. */
  model: string;
  /** The API process (its runners are its children). */
  pid: number;
  /** The config file the server ran with, as written: goes into the results. */
  config: ConfigInput;
  stop(): Promise<void>;
}

/**
 * Starts the built `lmx serve` on one model with every setting that matters written to a config file
 * of its own, so neither ~/.lmx/config.yaml nor machine-dependent defaults change what is measured.
 * (LMX_* environment variables still apply, as they would for a user; machineInfo() lists any set.)
 */
export async function startLmxBenchServer(s: LmxBenchSettings): Promise<LmxBenchServer> {
  const dir = mkdtempSync(join(tmpdir(), "lmx-bench-"));
  const modelsDir = join(dir, "models");
  mkdirSync(modelsDir);
  symlinkSync(s.modelPath, join(modelsDir, "bench.gguf"));
  const config: ConfigInput = {
    models_dir: modelsDir,
    model_defaults: {
      threads: s.threads,
      parallel: s.parallel,
      context_size: s.contextSize,
      ...(s.batchSize !== undefined ? { batch_size: s.batchSize } : {}),
    },
    queue: { max_size: 256 },
    ...(s.streamIntervalMs !== undefined ? { runner: { stream_interval_ms: s.streamIntervalMs } } : {}),
  };
  const merged = deepMerge(config, s.extraConfig ?? {}) as ConfigInput;
  const configPath = join(dir, "config.yaml");
  writeFileSync(configPath, JSON.stringify(merged, null, 2)); // JSON is YAML
  try {
    const server = await startServerProcess(["--config", configPath, "--model", "bench"], { waitReady: true });
    return {
      url: server.url,
      model: "bench",
      pid: server.child.pid!,
      config: merged,
      stop: async () => {
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
