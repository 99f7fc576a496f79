/**
 * The two service managers LMX installs into. Each knows its file's path, the steps of an install
 * and an uninstall, and how to ask whether the service is enabled and running.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { CommandRunner } from "./command-runner.js";
import type { Step } from "./plan.js";
import { LAUNCHD_LABEL, launchdPlist, SYSTEMD_UNIT_NAME, systemdUnit, type LaunchSpec } from "./unit-files.js";

export type ServicePlatform = "linux" | "darwin";

export interface ServiceState {
  installed: boolean;
  enabled: boolean | null;
  running: boolean | null;
  pid: number | null;
  /** The manager's own word for the state ("active", "failed", "running"…). */
  detail: string | null;
  notes: string[];
}

export interface ServiceBackend {
  platform: ServicePlatform;
  /** "systemd user unit", "launchd agent" */
  kind: string;
  file: string;
  installPlan(spec: LaunchSpec): Step[];
  uninstallPlan(): Step[];
  state(runner: CommandRunner): Promise<ServiceState>;
  /** What usually makes the manager's commands fail, said when they do. */
  failureHint: string;
}

export interface BackendContext {
  home: string;
  /** Numeric uid (launchd's gui/<uid> domain). */
  uid: number;
  /** Login name (loginctl). */
  user: string;
}

export function backendFor(platform: NodeJS.Platform | ServicePlatform, context: BackendContext): ServiceBackend {
  if (platform === "linux") return systemdBackend(context);
  if (platform === "darwin") return launchdBackend(context);
  throw new Error(`lmx service supports Linux (systemd) and macOS (launchd), not ${platform}; run \`lmx serve\` under your own supervisor`);
}

function systemdBackend({ home, user }: BackendContext): ServiceBackend {
  const file = join(home, ".config", "systemd", "user", SYSTEMD_UNIT_NAME);
  const systemctl = (...args: string[]): Step => ({ kind: "run", command: "systemctl", args: ["--user", ...args] });
  return {
    platform: "linux",
    kind: "systemd user unit",
    file,
    installPlan(spec) {
      const reinstall = existsSync(file);
      return [
        { kind: "mkdir", path: dirname(file) },
        { kind: "mkdir", path: dirname(spec.logFile) },
        { kind: "write", path: file, content: systemdUnit(spec) },
        systemctl("daemon-reload"),
        systemctl("enable", "--now", SYSTEMD_UNIT_NAME),
        // enable --now leaves a running old version alone; a reinstall means "run the new one".
        ...(reinstall ? [systemctl("restart", SYSTEMD_UNIT_NAME)] : []),
      ];
    },
    uninstallPlan() {
      // Removing the file is what matters; the manager may be unreachable (no user session) and is told if it is there.
      return [
        { ...systemctl("disable", "--now", SYSTEMD_UNIT_NAME), mayFail: true },
        { kind: "remove", path: file },
        { ...systemctl("daemon-reload"), mayFail: true },
      ];
    },
    async state(runner) {
      const installed = existsSync(file);
      const enabled = await runner("systemctl", ["--user", "is-enabled", SYSTEMD_UNIT_NAME]);
      const active = await runner("systemctl", ["--user", "is-active", SYSTEMD_UNIT_NAME]);
      const pid = await runner("systemctl", ["--user", "show", SYSTEMD_UNIT_NAME, "--property=MainPID", "--value"]);
      const linger = await runner("loginctl", ["show-user", user, "--property=Linger", "--value"]);
      // is-enabled reads unit files without the bus; is-active needs the user manager itself.
      const reachable = [enabled, active].every((r) => r.code !== 127 && !/Failed to connect to bus|not been booted with systemd/i.test(r.stderr));
      const notes: string[] = [];
      if (!reachable) notes.push("systemctl --user is not available (no systemd user session): the state below is unknown.");
      if (installed && linger.stdout.trim() !== "yes") {
        notes.push(`The service starts when you log in. To start it at boot without a login: loginctl enable-linger ${user}`);
      }
      const activeState = active.stdout.trim();
      const mainPid = Number(pid.stdout.trim());
      return {
        installed,
        enabled: reachable ? enabled.stdout.trim() === "enabled" : null,
        running: reachable ? activeState === "active" : null,
        pid: Number.isInteger(mainPid) && mainPid > 0 ? mainPid : null,
        detail: reachable ? activeState || null : null,
        notes,
      };
    },
    failureHint: "systemctl --user needs a systemd user session (a desktop login, or `loginctl enable-linger` and XDG_RUNTIME_DIR on a server).",
  };
}

function launchdBackend({ home, uid }: BackendContext): ServiceBackend {
  const file = join(home, "Library", "LaunchAgents", `${LAUNCHD_LABEL}.plist`);
  const domain = `gui/${uid}`;
  const target = `${domain}/${LAUNCHD_LABEL}`;
  const launchctl = (...args: string[]): Step => ({ kind: "run", command: "launchctl", args });
  return {
    platform: "darwin",
    kind: "launchd agent",
    file,
    installPlan(spec) {
      return [
        { kind: "mkdir", path: dirname(file) },
        { kind: "mkdir", path: dirname(spec.logFile) },
        // An agent already loaded keeps its old definition until it is booted out.
        { ...launchctl("bootout", target), mayFail: true },
        { kind: "write", path: file, content: launchdPlist(spec) },
        launchctl("enable", target),
        launchctl("bootstrap", domain, file),
      ];
    },
    uninstallPlan() {
      return [{ ...launchctl("bootout", target), mayFail: true }, { kind: "remove", path: file }];
    },
    async state(runner) {
      const installed = existsSync(file);
      const printed = await runner("launchctl", ["print", target]);
      const loaded = printed.code === 0;
      const disabled = await runner("launchctl", ["print-disabled", domain]);
      const flag = new RegExp(`"${LAUNCHD_LABEL.replace(/\./g, "\\.")}"\\s*=>\\s*(true|disabled)`).test(disabled.stdout);
      const state = /^\s*state = (\S+)/m.exec(printed.stdout)?.[1] ?? null;
      const pid = Number(/^\s*pid = (\d+)/m.exec(printed.stdout)?.[1]);
      return {
        installed,
        enabled: installed ? loaded && !flag : false,
        running: state === "running",
        pid: Number.isInteger(pid) && pid > 0 ? pid : null,
        detail: loaded ? state : "not loaded",
        notes: [],
      };
    },
    failureHint: "launchctl manages agents of the logged-in GUI session; run `lmx service install` from a terminal in that session.",
  };
}
