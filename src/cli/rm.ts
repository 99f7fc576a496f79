import type { Command } from "commander";
import { removeModelFiles } from "../models/remove.js";
import { action } from "./action.js";
import { modelPath, type LmxClient } from "./client/lmx-client.js";
import { canAsk, confirm } from "./confirm.js";
import { cliConfig, findServer, withConnectionOptions, type ConnectionFlags } from "./connection.js";
import { ApiError, CliError } from "./errors.js";
import { formatBytes } from "./format.js";
import { findModelOnDisk, type ModelOnDisk } from "./models-on-disk.js";

interface RmFlags extends ConnectionFlags {
  force?: boolean;
  yes?: boolean;
}

/**
 * `lmx rm MODEL…`: deletes a model's files. With a server, through it (DELETE /admin/models/{id}), so
 * a loaded model is not pulled from under its runner; without one, here, and only inside the models
 * directory. Asks first on a terminal.
 */
export function registerRm(program: Command): void {
  const command = program
    .command("rm")
    .alias("remove")
    .description("Delete models from the models directory")
    .argument("<models...>", "model ids (see `lmx ls`)")
    .option("-f, --force", "unload a loaded model first")
    .option("-y, --yes", "do not ask for confirmation");
  withConnectionOptions(command).action(
    action(async (ids: string[], flags: RmFlags) => {
      const config = cliConfig(flags);
      const server = await findServer(config);
      for (const id of ids) {
        const model = server ? await server.json<ModelOnDisk>("GET", `/admin/models/${modelPath(id)}`) : await findModelOnDisk(config.models_dir, id);
        if (!model) throw new CliError(`model '${id}' not found in ${config.models_dir} (see \`lmx ls\`)`);
        if (!flags.yes && canAsk()) {
          const files = model.files.length === 1 ? model.path : `${model.files.length} files`;
          if (!(await confirm(`Delete ${model.id} (${formatBytes(model.size_bytes)}, ${files})?`))) {
            console.error(`Kept ${model.id}.`);
            continue;
          }
        }
        if (server) await deleteThroughServer(server, model.id, flags.force ?? false);
        else await removeModelFiles(config.models_dir, model.files);
        console.log(`Deleted ${model.id}`);
      }
    }),
  );
}

async function deleteThroughServer(server: LmxClient, id: string, force: boolean): Promise<void> {
  const path = `/admin/models/${modelPath(id)}`;
  try {
    await server.json("DELETE", path);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 409 && err.code === "model_loaded")) throw err;
    if (!force) throw new CliError(`'${id}' is loaded; unload it first (\`lmx unload ${id}\`) or use --force`);
    await server.json("POST", "/admin/models/unload", { body: { model: id } });
    await server.json("DELETE", path);
  }
}
