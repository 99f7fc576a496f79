import type { Command } from "commander";
import { action } from "./action.js";
import { cliConfig, findServer, withConnectionOptions, type ConnectionFlags } from "./connection.js";
import { formatBytes, formatTable, toJson } from "./format.js";
import { listModelsOnDisk, type ModelOnDisk } from "./models-on-disk.js";

interface LsFlags extends ConnectionFlags {
  json?: boolean;
}

/** `lmx ls`: the models on disk, from the server when one runs (it knows what is loaded), else from the directory. */
export function registerLs(program: Command): void {
  const command = program
    .command("ls")
    .alias("list")
    .description("List the models on disk")
    .option("--json", "print the list as JSON");
  withConnectionOptions(command).action(
    action(async (flags: LsFlags) => {
      const config = cliConfig(flags);
      const server = await findServer(config);
      const { models, modelsDir } = server
        ? await server.json<{ data: ModelOnDisk[]; models_dir: string }>("GET", "/admin/models").then((r) => ({ models: r.data, modelsDir: r.models_dir }))
        : { models: await listModelsOnDisk(config.models_dir), modelsDir: config.models_dir };
      if (flags.json) {
        console.log(toJson(models));
        return;
      }
      if (models.length === 0) {
        console.error(`No models in ${modelsDir}. Get one with \`lmx pull ORG/REPO[:QUANT]\`.`);
        return;
      }
      console.log(modelsTable(models));
    }),
  );
}

export function modelsTable(models: readonly ModelOnDisk[]): string {
  return formatTable(
    ["ID", "SIZE", "QUANT", "ARCH", "CONTEXT", "LOADED"],
    models.map((m) => [
      m.id,
      formatBytes(m.size_bytes),
      m.error ? "unreadable" : (m.quantization ?? "-"),
      m.architecture ?? "-",
      m.context_length ? String(m.context_length) : "-",
      m.loaded ? (m.state === "ready" ? "yes" : m.state) : "",
    ]),
  );
}
