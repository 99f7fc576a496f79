/**
 * How a command finds the server: the same config as `lmx serve` (file, LMX_* env, then --host,
 * --port, --config flags), then a quick GET /admin/health. A command that can work offline gets
 * null when nothing answers and works on the models directory itself.
 */
import type { Command } from "commander";
import { loadConfig } from "../config/load.js";
import type { LmxConfig } from "../config/schema.js";
import { isAbortError } from "../errors.js";
import { LmxClient, networkReason, type ServerHealth } from "./client/lmx-client.js";
import { ApiError, CliError } from "./errors.js";
import { parsePort } from "./options.js";

export interface ConnectionFlags {
  host?: string;
  port?: number;
  config?: string;
  modelsDir?: string;
}

export type CliConfig = LmxConfig & { config_file: string | null };

/** A refused connection answers at once; this only bounds a server that hangs. */
const PROBE_TIMEOUT_MS = 2000;

export function withConnectionOptions(command: Command, options: { modelsDir?: boolean } = {}): Command {
  command
    .option("--host <host>", "server address (default: config host, 127.0.0.1)")
    .option("-p, --port <port>", "server port (default: config port, 1234)", parsePort)
    .option("-c, --config <file>", "config file (default ~/.lmx/config.yaml)");
  if (options.modelsDir !== false) command.option("--models-dir <dir>", "models directory, when no server is running (default ~/.lmx/models)");
  return command;
}

/** The config as `lmx serve` would see it, with the connection flags on top. */
export function cliConfig(flags: ConnectionFlags): CliConfig {
  return loadConfig({ configPath: flags.config, flags: { host: flags.host, port: flags.port, models_dir: flags.modelsDir } });
}

/** Where to reach the server the config describes (a wildcard listen address is reached on loopback). */
export function serverUrl(config: Pick<LmxConfig, "host" | "port">): string {
  let host = config.host;
  if (host === "0.0.0.0") host = "127.0.0.1";
  else if (host === "::" || host === "[::]") host = "::1";
  if (host.includes(":") && !host.startsWith("[")) host = `[${host}]`;
  return `http://${host}:${config.port}`;
}

export function clientFor(config: CliConfig): LmxClient {
  return new LmxClient(serverUrl(config), { adminKey: config.admin_key, apiKey: config.api_key });
}

export type ProbeResult =
  | { kind: "lmx"; client: LmxClient; health: ServerHealth }
  | { kind: "none"; url: string; reason: string }
  | { kind: "foreign"; url: string; reason: string };

/** Is an LMX server answering at the configured address? A wrong admin key is an error, not "no server". */
export async function probeServer(config: CliConfig, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  const url = serverUrl(config);
  if (config.port === 0) return { kind: "none", url, reason: "the configured port is 0 (a random port)" };
  const client = clientFor(config);
  try {
    const health = await client.json<ServerHealth>("GET", "/admin/health", { signal: AbortSignal.timeout(timeoutMs) });
    if (health && health.status === "ok" && typeof health.version === "string") return { kind: "lmx", client, health };
    return { kind: "foreign", url, reason: "its /admin/health answer is not LMX's" };
  } catch (err) {
    if (err instanceof ApiError) {
      if (err.code === "invalid_admin_key") {
        throw new CliError(`the LMX server at ${url} refused the admin key: set admin_key in the config or LMX_ADMIN_KEY`);
      }
      return { kind: "foreign", url, reason: `GET /admin/health answered ${err.status}` };
    }
    if (isAbortError(err) || (err as Error).name === "TimeoutError") return { kind: "none", url, reason: `no answer within ${timeoutMs} ms` };
    return { kind: "none", url, reason: err instanceof CliError ? err.message : networkReason(err) };
  }
}

/** The running server, or null (with a warning when something else holds the port). */
export async function findServer(config: CliConfig): Promise<LmxClient | null> {
  const probe = await probeServer(config);
  if (probe.kind === "lmx") return probe.client;
  if (probe.kind === "foreign") console.error(`lmx: warning: ${probe.url} is not an LMX server (${probe.reason}); working on the models directory`);
  return null;
}

/** The running server, or the error telling the user how to start one. */
export async function requireServer(config: CliConfig, what: string): Promise<LmxClient> {
  const probe = await probeServer(config);
  if (probe.kind === "lmx") return probe.client;
  if (probe.kind === "foreign") throw new CliError(`${probe.url} is not an LMX server (${probe.reason}); ${what} needs one`);
  throw new CliError(`no LMX server is running at ${probe.url}; ${what} needs one: start it with \`lmx serve\` (or \`lmx service install\`)`);
}
