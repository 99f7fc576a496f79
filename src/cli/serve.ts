import type { Command } from "commander";
import { ConfigError, loadConfig } from "../config/load.js";
import type { ConfigInput } from "../config/schema.js";
import { createLmx } from "../lmx.js";

interface ServeFlags {
  model: string[];
  host?: string;
  port?: string;
  config?: string;
  modelsDir?: string;
  threads?: string;
  parallel?: string;
  contextSize?: string;
  logLevel?: string;
  logFile?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number)) throw new ConfigError(`Invalid configuration:\n  - ${name}: expected an integer, got '${value}'`);
  return number;
}

/** Flags → config keys; the schema validates them with everything else. */
function flagsToConfig(flags: ServeFlags): ConfigInput {
  const modelDefaults = {
    threads: integer("--threads", flags.threads),
    parallel: integer("--parallel", flags.parallel),
    context_size: integer("--context-size", flags.contextSize),
  };
  return {
    host: flags.host,
    port: integer("--port", flags.port),
    models_dir: flags.modelsDir,
    log_level: flags.logLevel as ConfigInput["log_level"],
    log_file: flags.logFile,
    ...(Object.values(modelDefaults).some((v) => v !== undefined) ? { model_defaults: modelDefaults } : {}),
  };
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("Start the OpenAI-compatible server (default http://127.0.0.1:1234)")
    .option("-m, --model <file-or-id>", "load this model at start (repeatable): a .gguf path or a model id", collect, [])
    .option("--host <host>", "address to listen on (default 127.0.0.1)")
    .option("-p, --port <port>", "port to listen on (default 1234)")
    .option("-c, --config <file>", "config file (default ~/.lmx/config.yaml)")
    .option("--models-dir <dir>", "models directory (default ~/.lmx/models)")
    .option("--threads <n>", "CPU threads per model (default: physical cores - 1)")
    .option("--parallel <n>", "requests each model serves at once (default 4)")
    .option("--context-size <n>", "context size per sequence, in tokens")
    .option("--log-level <level>", "trace, debug, info, warn, error")
    .option("--log-file <file>", "also write logs to this file, rotated at 20 MB × 5 files (`lmx service install` sets it)")
    .action(async (flags: ServeFlags) => {
      let lmx;
      try {
        const configSource = { configPath: flags.config, flags: flagsToConfig(flags) };
        const config = loadConfig(configSource);
        lmx = await createLmx(config, { models: flags.model, configSource });
        await lmx.start();
      } catch (err) {
        if (err instanceof ConfigError) {
          console.error(`lmx: ${err.message}`);
          process.exit(78); // EX_CONFIG
        }
        console.error(`lmx: failed to start: ${(err as Error).message}`);
        process.exit(1);
      }
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) process.exit(1);
        stopping = true;
        lmx.services.log.info({ signal }, "shutting down");
        lmx.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on("SIGINT", () => shutdown("SIGINT"));
      process.on("SIGTERM", () => shutdown("SIGTERM"));
    });
}
