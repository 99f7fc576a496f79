import type { Command } from "commander";
import { action } from "./action.js";
import type { LoadedModelStatus } from "./client/admin-types.js";
import { cliConfig, requireServer, withConnectionOptions, type ConnectionFlags } from "./connection.js";
import { formatBytes, formatElapsed, toJson } from "./format.js";
import { integerIn, parseGpuLayers, parseKeepAliveOption } from "./options.js";

interface LoadFlags extends ConnectionFlags {
  parallel?: number;
  contextSize?: number;
  threads?: number;
  gpuLayers?: number | "auto" | "max";
  keepAlive?: string | number;
  json?: boolean;
}

/** `lmx load MODEL`: POST /admin/models/load. Loading is the server's job; without one there is nothing to load into. */
export function registerLoad(program: Command): void {
  const command = program
    .command("load")
    .description("Load a model into the running server")
    .argument("<model>", "model id (see `lmx ls`) or a .gguf path")
    .option("--parallel <n>", "requests served at once (sequences)", integerIn(1, 256))
    .option("--context-size <n>", "context size per sequence, in tokens", integerIn(16))
    .option("--threads <n>", "CPU threads", integerIn(1, 1024))
    .option("--gpu-layers <n|auto|max>", "layers offloaded to the GPU", parseGpuLayers)
    .option("--keep-alive <duration>", "unload after this long idle: 30s, 5m, 1h, 0, or -1 for never", parseKeepAliveOption)
    .option("--json", "print the loaded model's status as JSON");
  withConnectionOptions(command, { modelsDir: false }).action(
    action(async (model: string, flags: LoadFlags) => {
      const server = await requireServer(cliConfig(flags), "`lmx load`");
      if (process.stderr.isTTY && !flags.json) process.stderr.write(`Loading ${model}…\n`);
      const started = performance.now();
      const status = await server.json<LoadedModelStatus>("POST", "/admin/models/load", {
        body: {
          model,
          parallel: flags.parallel,
          context_size: flags.contextSize,
          threads: flags.threads,
          gpu_layers: flags.gpuLayers,
          keep_alive: flags.keepAlive,
        },
      });
      if (flags.json) {
        console.log(toJson(status));
        return;
      }
      const memory = status.memory_bytes === null ? "" : `, ~${formatBytes(status.memory_bytes)}`;
      console.log(
        `Loaded ${status.id} in ${formatElapsed(performance.now() - started)}: ${status.parallel} × ${status.context_size} tokens, ${status.threads} thread${status.threads === 1 ? "" : "s"}${memory}`,
      );
    }),
  );
}
