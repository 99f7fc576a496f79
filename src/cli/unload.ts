import type { Command } from "commander";
import { action } from "./action.js";
import type { ServerStatus } from "./client/admin-types.js";
import { cliConfig, requireServer, withConnectionOptions, type ConnectionFlags } from "./connection.js";
import { CliError } from "./errors.js";

interface UnloadFlags extends ConnectionFlags {
  all?: boolean;
}

/** `lmx unload MODEL` / `--all`: POST /admin/models/unload (in-flight requests get the server's grace period). */
export function registerUnload(program: Command): void {
  const command = program
    .command("unload")
    .description("Unload a model from the running server")
    .argument("[model]", "model id (see `lmx ps`)")
    .option("-a, --all", "unload every loaded model");
  withConnectionOptions(command, { modelsDir: false }).action(
    action(async (model: string | undefined, flags: UnloadFlags) => {
      if (!model && !flags.all) throw new CliError("name a model to unload, or use --all");
      if (model && flags.all) throw new CliError("name a model or use --all, not both");
      const server = await requireServer(cliConfig(flags), "`lmx unload`");
      const ids = model ? [model] : (await server.json<ServerStatus>("GET", "/admin/status")).models.map((m) => m.id);
      if (ids.length === 0) {
        console.error("No models loaded.");
        return;
      }
      for (const id of ids) {
        await server.json("POST", "/admin/models/unload", { body: { model: id } });
        console.log(`Unloaded ${id}`);
      }
    }),
  );
}
