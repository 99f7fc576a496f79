import type { Command } from "commander";
import { action } from "./action.js";
import { cliConfig, requireServer, withConnectionOptions, type ConnectionFlags } from "./connection.js";
import { CliError } from "./errors.js";
import { formatTable, toJson } from "./format.js";

interface BenchFlags extends ConnectionFlags {
  prompt?: string;
  maxTokens: string;
  runs: string;
  json?: boolean;
}

interface BenchmarkResult {
  model: string;
  prompt_tokens: number;
  max_tokens: number;
  threads: number;
  runs: Array<{ run: number; prompt_tokens: number; completion_tokens: number; ttft_ms: number; decode_tokens_per_second: number | null; total_ms: number }>;
  decode_tokens_per_second: { p50: number; p95: number } | null;
  ttft_ms: { p50: number; p95: number };
}

/**
 * `lmx bench MODEL`: POST /admin/benchmark on the running server (loading the model just in time, as a
 * request would) and print each run's time to first token and decode speed, then p50/p95.
 */
export function registerBench(program: Command): void {
  const command = program
    .command("bench")
    .description("Measure a model's decode speed and time to first token on the running server")
    .argument("<model>", "model id, alias or preset (see `lmx ls`)")
    .option("--prompt <text>", "prompt to start from (default: the server's)")
    .option("-n, --max-tokens <n>", "tokens generated per run", "128")
    .option("-r, --runs <n>", "runs, one at a time", "3")
    .option("--json", "print the result as JSON");
  withConnectionOptions(command, { modelsDir: false }).action(
    action(async (model: string, flags: BenchFlags) => {
      const maxTokens = positive(flags.maxTokens, "--max-tokens");
      const runs = positive(flags.runs, "--runs");
      const server = await requireServer(cliConfig(flags), "`lmx bench`");
      const body = { model, max_tokens: maxTokens, runs, ...(flags.prompt ? { prompt: flags.prompt } : {}) };
      const result = await server.json<BenchmarkResult>("POST", "/admin/benchmark", { body });
      if (flags.json) {
        console.log(toJson(result));
        return;
      }
      console.log(`${result.model} · ${result.threads} thread(s) · prompt ${result.prompt_tokens} tokens · up to ${result.max_tokens} tokens per run\n`);
      console.log(
        formatTable(
          ["RUN", "PROMPT", "TOKENS", "TTFT", "DECODE", "TOTAL"],
          result.runs.map((r) => [
            String(r.run),
            String(r.prompt_tokens),
            String(r.completion_tokens),
            `${r.ttft_ms.toFixed(1)} ms`,
            r.decode_tokens_per_second === null ? "-" : `${r.decode_tokens_per_second.toFixed(1)} tok/s`,
            `${r.total_ms.toFixed(0)} ms`,
          ]),
        ),
      );
      const rate = result.decode_tokens_per_second;
      console.log(
        `\ndecode ${rate ? `p50 ${rate.p50.toFixed(1)} tok/s, p95 ${rate.p95.toFixed(1)} tok/s` : "-"} · time to first token p50 ${result.ttft_ms.p50.toFixed(1)} ms, p95 ${result.ttft_ms.p95.toFixed(1)} ms`,
      );
    }),
  );
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${flag} must be a positive integer, got '${value}'`);
  return n;
}
