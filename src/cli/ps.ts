import type { Command } from "commander";
import { action } from "./action.js";
import type { LoadedModelStatus, ServerStatus } from "./client/admin-types.js";
import { cliConfig, requireServer, withConnectionOptions, type ConnectionFlags } from "./connection.js";
import { formatBytes, formatDuration, formatTable, toJson } from "./format.js";

interface PsFlags extends ConnectionFlags {
  json?: boolean;
}

/** `lmx ps`: the loaded models, like `ollama ps`. Only a server has loaded models. */
export function registerPs(program: Command): void {
  const command = program.command("ps").description("List the loaded models of the running server").option("--json", "print the list as JSON");
  withConnectionOptions(command, { modelsDir: false }).action(
    action(async (flags: PsFlags) => {
      const server = await requireServer(cliConfig(flags), "`lmx ps`");
      const status = await server.json<ServerStatus>("GET", "/admin/status");
      if (flags.json) {
        console.log(toJson(status.models));
        return;
      }
      if (status.models.length === 0) {
        console.error(`No models loaded (server ${server.baseUrl}). Load one with \`lmx load MODEL\`.`);
        return;
      }
      console.log(loadedTable(status.models));
    }),
  );
}

export function loadedTable(models: readonly LoadedModelStatus[], now = Date.now()): string {
  return formatTable(
    ["ID", "STATE", "MEMORY", "PARALLEL", "CONTEXT", "IN FLIGHT", "QUEUED", "UNTIL"],
    models.map((m) => [
      m.id,
      m.state,
      m.memory_bytes === null ? "-" : formatBytes(m.memory_bytes),
      String(m.parallel),
      String(m.context_size),
      String(m.in_flight),
      String(m.queued),
      until(m, now),
    ]),
  );
}

/** When keep-alive unloads the model: never for pinned ones, not while it is busy. */
function until(model: LoadedModelStatus, now: number): string {
  if (model.pinned || model.keep_alive_ms === null) return "forever";
  if (model.expires_at === null) return model.in_flight + model.queued > 0 ? "in use" : "-";
  const left = Date.parse(model.expires_at) - now;
  return left <= 0 ? "now" : `in ${formatDuration(left)}`;
}
