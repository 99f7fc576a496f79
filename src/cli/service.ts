import { Option, type Command } from "commander";
import { homedir, userInfo } from "node:os";
import { action } from "./action.js";
import { cliConfig, probeServer, withConnectionOptions, type ConnectionFlags } from "./connection.js";
import { CliError } from "./errors.js";
import { formatDuration, toJson } from "./format.js";
import { execRunner } from "./service/command-runner.js";
import { defaultLogFile, tsxLoader } from "./service/launch.js";
import { installService, serviceState, uninstallService, type ServiceContext } from "./service/manage.js";

interface ServiceFlags {
  dryRun?: boolean;
  /** Hidden: generate for the other platform (tests, and curious macOS/Linux users). */
  platform?: "linux" | "darwin";
}

interface InstallFlags extends ServiceFlags {
  config?: string;
  logFile?: string;
}

interface StatusFlags extends ServiceFlags, ConnectionFlags {
  json?: boolean;
}

type ServerAnswer =
  | { url: string; healthy: true; version: string; uptime_s: number; models_loaded: number }
  | { url: string | null; healthy: false; reason: string };

/** `lmx service install|uninstall|status`: LMX as a background service (systemd user unit, launchd agent). */
export function registerService(program: Command): void {
  const service = program.command("service").description("Run LMX in the background: a systemd user service (Linux) or a launchd agent (macOS)");
  const platformOption = () => new Option("--platform <platform>", "service manager to target").choices(["linux", "darwin"]).hideHelp();

  service
    .command("install")
    .description("Install and start the service (`lmx serve` at login, restarted if it crashes)")
    .option("-c, --config <file>", "config file the service reads (default ~/.lmx/config.yaml)")
    .option("--log-file <file>", "log file, rotated at 20 MB × 5 (default ~/.lmx/logs/lmx.log)")
    .option("--dry-run", "print the file and the commands instead of writing and running them")
    .addOption(platformOption())
    .action(
      action(async (flags: InstallFlags) => {
        // The service does not inherit this shell's environment: a config named by LMX_CONFIG is passed by path.
        const configFile = flags.config ?? process.env.LMX_CONFIG ?? null;
        cliConfig({ config: configFile ?? undefined }); // a bad config fails here, not in a restart loop
        const context = serviceContext(flags);
        const result = await installService(
          context,
          { nodePath: process.execPath, cliPath: process.argv[1], tsLoader: tsxLoader(), configFile, logFile: flags.logFile ?? null },
          flags.dryRun ?? false,
        );
        if (!result.applied) {
          console.log(result.rendered);
          return;
        }
        const logFile = flags.logFile ?? defaultLogFile(context.home);
        console.log(`Installed the ${result.backend.kind} ${result.backend.file}; LMX is starting (and will start at login).`);
        console.log(`Logs: ${logFile}`);
        const { state } = await serviceState(context);
        for (const note of state.notes) console.log(note);
      }),
    );

  service
    .command("uninstall")
    .description("Stop the service and remove it")
    .option("--dry-run", "print the commands instead of running them")
    .addOption(platformOption())
    .action(
      action(async (flags: ServiceFlags) => {
        const result = await uninstallService(serviceContext(flags), flags.dryRun ?? false);
        if (flags.dryRun) console.log(result.rendered);
        else if (!result.wasInstalled) console.log(`The LMX service is not installed (no ${result.backend.file}).`);
        else console.log(`Stopped and removed the ${result.backend.kind} ${result.backend.file}.`);
        for (const failure of result.failed) console.error(`lmx: warning: ${failure}`);
      }),
    );

  const status = service
    .command("status")
    .description("Is the service installed, enabled, running, and does the server answer?")
    .option("--json", "print the status as JSON")
    .addOption(platformOption());
  withConnectionOptions(status, { modelsDir: false }).action(
    action(async (flags: StatusFlags) => {
      const { backend, state } = await serviceState(serviceContext(flags));
      const probe = await probeServer(cliConfig(flags)).catch((err: unknown) => ({ kind: "error" as const, reason: (err as Error).message }));
      const server: ServerAnswer =
        probe.kind === "lmx"
          ? { url: probe.client.baseUrl, healthy: true, version: probe.health.version, uptime_s: probe.health.uptime_s, models_loaded: probe.health.models_loaded }
          : { url: "url" in probe ? probe.url : null, healthy: false, reason: probe.reason };
      if (flags.json) {
        console.log(toJson({ manager: backend.kind, file: backend.file, ...state, server }));
        return;
      }
      const yesNo = (value: boolean | null) => (value === null ? "unknown" : value ? "yes" : "no");
      const rows: Array<[string, string]> = [
        ["service", `${backend.kind} ${backend.file}`],
        ["installed", yesNo(state.installed)],
        ["enabled", yesNo(state.enabled)],
        ["running", `${yesNo(state.running)}${state.detail ? ` (${state.detail}${state.pid ? `, pid ${state.pid}` : ""})` : ""}`],
        [
          "server",
          server.healthy
            ? `${server.url} answers: LMX ${server.version}, up ${formatDuration(server.uptime_s * 1000)}, ${server.models_loaded} model(s) loaded`
            : `${server.url ?? "?"} does not answer (${server.reason})`,
        ],
      ];
      for (const [key, value] of rows) console.log(`${key.padEnd(10)} ${value}`);
      for (const note of state.notes) console.log(note);
    }),
  );
}

function serviceContext(flags: ServiceFlags): ServiceContext {
  const platform = flags.platform ?? process.platform;
  if (platform !== "linux" && platform !== "darwin") {
    throw new CliError(`lmx service supports Linux (systemd) and macOS (launchd), not ${platform}; run \`lmx serve\` under your own supervisor`);
  }
  const user = userInfo();
  return { platform, home: homedir(), uid: user.uid, user: user.username, runner: execRunner };
}
