/**
 * `lmx service`: the unit file and plist generators (pure), install/uninstall/status over a fake
 * command runner and a temporary home (this machine has no systemd user session), and the real CLI's
 * `--dry-run`, which must print everything and write nothing.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CliError } from "../../src/cli/errors.js";
import type { CommandResult, CommandRunner } from "../../src/cli/service/command-runner.js";
import { launchSpec } from "../../src/cli/service/launch.js";
import { installService, serviceState, uninstallService, type ServiceContext } from "../../src/cli/service/manage.js";
import { launchdPlist, systemdQuote, systemdUnit, type LaunchSpec } from "../../src/cli/service/unit-files.js";
import { runLmx } from "./run-lmx.js";

const spec: LaunchSpec = {
  argv: ["/opt/node 20/bin/node", "/home/ann/lmx/dist/cli/main.js", "serve", "--log-file", "/home/ann/.lmx/logs/lmx.log"],
  logFile: "/home/ann/.lmx/logs/lmx.log",
  stderrFile: "/home/ann/.lmx/logs/lmx.stderr.log",
  workingDirectory: "/home/ann",
};

/** Records the commands; answers each from `answers` (by the command line), success by default. */
function fakeRunner(answers: Record<string, Partial<CommandResult>> = {}): CommandRunner & { calls: string[] } {
  const calls: string[] = [];
  const runner = async (command: string, args: readonly string[]) => {
    const line = [command, ...args].join(" ");
    calls.push(line);
    return { code: 0, stdout: "", stderr: "", ...answers[line] };
  };
  return Object.assign(runner, { calls });
}

function context(platform: "linux" | "darwin", runner: CommandRunner): ServiceContext {
  return { platform, home: mkdtempSync(join(tmpdir(), "lmx-service-home-")), uid: 501, user: "ann", runner };
}

const launch = { nodePath: "/usr/bin/node", cliPath: "/opt/lmx/dist/cli/main.js", tsLoader: null };

describe("service file generators", () => {
  it("writes a systemd user unit that runs lmx serve, restarts on failure and starts with the user", () => {
    const unit = systemdUnit(spec);
    expect(unit).toContain('ExecStart="/opt/node 20/bin/node" /home/ann/lmx/dist/cli/main.js serve --log-file /home/ann/.lmx/logs/lmx.log\n');
    expect(unit).toContain("Restart=on-failure\n");
    expect(unit).toContain("WorkingDirectory=/home/ann\n");
    expect(unit).toMatch(/\[Install\]\nWantedBy=default\.target\n/);
    expect(unit.indexOf("[Unit]")).toBeLessThan(unit.indexOf("[Service]"));
  });

  it("quotes words for systemd: spaces, quotes, backslashes, specifiers and variables", () => {
    expect(systemdQuote("/usr/bin/node")).toBe("/usr/bin/node");
    expect(systemdQuote("a b")).toBe('"a b"');
    expect(systemdQuote('say "hi"\\')).toBe('"say \\"hi\\"\\\\"');
    expect(systemdQuote("100%")).toBe('"100%%"');
    expect(systemdQuote("$HOME")).toBe('"$$HOME"');
  });

  it("writes a launchd agent that runs at load and is kept alive after a crash", () => {
    const plist = launchdPlist({ ...spec, argv: [...spec.argv, "--config", "/home/ann/a&b <c>.yaml"] });
    expect(plist).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<!DOCTYPE plist/);
    expect(plist).toContain("<key>Label</key>\n  <string>ai.lmx.server</string>");
    expect(plist).toContain("<key>RunAtLoad</key>\n  <true/>");
    expect(plist).toContain("<key>KeepAlive</key>\n  <dict>\n    <key>SuccessfulExit</key>\n    <false/>\n  </dict>");
    expect(plist).toContain("    <string>/opt/node 20/bin/node</string>\n    <string>/home/ann/lmx/dist/cli/main.js</string>\n    <string>serve</string>");
    expect(plist).toContain("<string>/home/ann/a&amp;b &lt;c&gt;.yaml</string>");
    expect(plist).toContain("<key>StandardErrorPath</key>\n  <string>/home/ann/.lmx/logs/lmx.stderr.log</string>");
  });

  it("runs this node and this CLI by absolute path, with tsx's loader when the CLI is TypeScript", () => {
    const built = launchSpec({ home: "/home/ann", nodePath: "/usr/bin/node", cliPath: "/opt/lmx/dist/cli/main.js", tsLoader: "file:///x/tsx.mjs" });
    expect(built.argv).toEqual(["/usr/bin/node", "/opt/lmx/dist/cli/main.js", "serve", "--log-file", "/home/ann/.lmx/logs/lmx.log"]);
    const source = launchSpec({
      home: "/home/ann",
      nodePath: "/usr/bin/node",
      cliPath: "/opt/lmx/src/cli/main.ts",
      tsLoader: "file:///x/tsx.mjs",
      configFile: "/etc/lmx.yaml",
      logFile: "/var/log/lmx/lmx.log",
    });
    expect(source.argv).toEqual(["/usr/bin/node", "--import", "file:///x/tsx.mjs", "/opt/lmx/src/cli/main.ts", "serve", "--log-file", "/var/log/lmx/lmx.log", "--config", "/etc/lmx.yaml"]);
    expect(source.stderrFile).toBe("/var/log/lmx/lmx.stderr.log");
  });
});

describe("service install / uninstall / status", () => {
  it("systemd: writes the unit, reloads, enables and starts it; a reinstall restarts; uninstall removes it", async () => {
    const runner = fakeRunner();
    const ctx = context("linux", runner);
    const unitFile = join(ctx.home, ".config/systemd/user/lmx.service");
    await installService(ctx, launch, false);
    expect(readFileSync(unitFile, "utf8")).toBe(systemdUnit(launchSpec({ ...launch, home: ctx.home })));
    expect(existsSync(join(ctx.home, ".lmx/logs"))).toBe(true);
    expect(runner.calls).toEqual(["systemctl --user daemon-reload", "systemctl --user enable --now lmx.service"]);

    runner.calls.length = 0;
    await installService(ctx, launch, false);
    expect(runner.calls).toEqual(["systemctl --user daemon-reload", "systemctl --user enable --now lmx.service", "systemctl --user restart lmx.service"]);

    runner.calls.length = 0;
    const removed = await uninstallService(ctx, false);
    expect(removed.wasInstalled).toBe(true);
    expect(existsSync(unitFile)).toBe(false);
    expect(runner.calls).toEqual(["systemctl --user disable --now lmx.service", "systemctl --user daemon-reload"]);
    runner.calls.length = 0;
    expect((await uninstallService(ctx, false)).wasInstalled).toBe(false);
    expect(runner.calls).toEqual([]);
  });

  it("systemd: a failing systemctl is reported with the command and why, the unit file kept", async () => {
    const runner = fakeRunner({ "systemctl --user daemon-reload": { code: 1, stderr: "Failed to connect to bus: No medium found\n" } });
    const ctx = context("linux", runner);
    const error = await installService(ctx, launch, false).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CliError);
    expect((error as Error).message).toMatch(/^`systemctl --user daemon-reload` failed \(exit 1\): Failed to connect to bus: No medium found\nsystemctl --user needs a systemd user session/);
    expect(existsSync(join(ctx.home, ".config/systemd/user/lmx.service"))).toBe(true);
    expect(runner.calls).toEqual(["systemctl --user daemon-reload"]);
  });

  it("systemd: status reads enabled, active, the pid and lingering", async () => {
    const runner = fakeRunner({
      "systemctl --user is-enabled lmx.service": { stdout: "enabled\n" },
      "systemctl --user is-active lmx.service": { stdout: "active\n" },
      "systemctl --user show lmx.service --property=MainPID --value": { stdout: "4242\n" },
      "loginctl show-user ann --property=Linger --value": { stdout: "no\n" },
    });
    const ctx = context("linux", runner);
    await installService(ctx, launch, false);
    const { state } = await serviceState(ctx);
    expect(state).toMatchObject({ installed: true, enabled: true, running: true, pid: 4242, detail: "active" });
    expect(state.notes).toEqual(["The service starts when you log in. To start it at boot without a login: loginctl enable-linger ann"]);

    const unreachable = fakeRunner({
      "systemctl --user is-enabled lmx.service": { code: 1, stderr: "Failed to connect to bus: No medium found" },
      "systemctl --user is-active lmx.service": { code: 1, stderr: "Failed to connect to bus: No medium found" },
    });
    const { state: unknown } = await serviceState({ ...ctx, runner: unreachable });
    expect(unknown).toMatchObject({ installed: true, enabled: null, running: null });
  });

  it("launchd: boots out an old agent, writes the plist, enables and bootstraps it; status parses launchctl print", async () => {
    const runner = fakeRunner({
      "launchctl bootout gui/501/ai.lmx.server": { code: 3, stderr: "Boot-out failed: 3: No such process" },
      "launchctl print gui/501/ai.lmx.server": { stdout: "gui/501/ai.lmx.server = {\n\tstate = running\n\tpid = 777\n}\n" },
      "launchctl print-disabled gui/501": { stdout: 'disabled services = {\n\t"com.other" => disabled\n}\n' },
    });
    const ctx = context("darwin", runner);
    await installService(ctx, launch, false);
    const plist = join(ctx.home, "Library/LaunchAgents/ai.lmx.server.plist");
    expect(readFileSync(plist, "utf8")).toContain("<string>/opt/lmx/dist/cli/main.js</string>");
    expect(runner.calls).toEqual([
      "launchctl bootout gui/501/ai.lmx.server",
      "launchctl enable gui/501/ai.lmx.server",
      `launchctl bootstrap gui/501 ${plist}`,
    ]);
    const { state } = await serviceState(ctx);
    expect(state).toMatchObject({ installed: true, enabled: true, running: true, pid: 777, detail: "running" });
    await uninstallService(ctx, false);
    expect(existsSync(plist)).toBe(false);
  });
});

describe("lmx service (CLI)", () => {
  it("install --dry-run prints the unit and the commands and changes nothing", async () => {
    const home = mkdtempSync(join(tmpdir(), "lmx-service-cli-"));
    const linux = await runLmx(["service", "install", "--dry-run", "--platform", "linux"], { home });
    expect(linux.stderr).toBe("");
    expect(linux.code).toBe(0);
    expect(linux.stdout).toContain(`# write ${home}/.config/systemd/user/lmx.service:\n`);
    expect(linux.stdout).toMatch(new RegExp(`ExecStart=${process.execPath} --import file://\\S+ \\S+/src/cli/main\\.ts serve --log-file ${home}/\\.lmx/logs/lmx\\.log\\n`));
    expect(linux.stdout).toContain("$ systemctl --user daemon-reload\n$ systemctl --user enable --now lmx.service");
    expect(existsSync(join(home, ".config"))).toBe(false);
    expect(existsSync(join(home, ".lmx"))).toBe(false);

    const mac = await runLmx(["service", "install", "--dry-run", "--platform", "darwin"], { home });
    expect(mac.code).toBe(0);
    expect(mac.stdout).toContain("<key>RunAtLoad</key>");
    expect(mac.stdout).toMatch(/\$ launchctl bootstrap gui\/\d+ \S+\/Library\/LaunchAgents\/ai\.lmx\.server\.plist/);
    expect(existsSync(join(home, "Library"))).toBe(false);
  });
});
