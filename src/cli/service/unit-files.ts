/**
 * The files `lmx service install` writes, as pure functions of what to run (unit-tested without
 * systemd or launchd): a systemd user unit on Linux, a launchd agent on macOS.
 */

/** What the service runs: `node [loader] /abs/cli serve --log-file …`, all paths absolute. */
export interface LaunchSpec {
  /** The full command line: program first. */
  argv: readonly string[];
  /** Where the server's own log (rotated by size) goes; also where stderr-only start-up failures go on macOS. */
  logFile: string;
  /** Start-up failures before the logger exists (a bad config) are written to stderr; they land here on macOS. */
  stderrFile: string;
  workingDirectory: string;
}

export const SYSTEMD_UNIT_NAME = "lmx.service";
export const LAUNCHD_LABEL = "ai.lmx.server";

export function systemdUnit(spec: LaunchSpec): string {
  return [
    "# Written by `lmx service install`; `lmx service uninstall` removes it.",
    "[Unit]",
    "Description=LMX local LLM server",
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${spec.argv.map(systemdQuote).join(" ")}`,
    `WorkingDirectory=${systemdQuote(spec.workingDirectory)}`,
    // On a crash, not after a clean stop; the pause keeps a model that crashes at load from spinning.
    "Restart=on-failure",
    "RestartSec=5",
    // The server's log goes to the file named by --log-file (rotated there), so stdout would only duplicate
    // it in the journal; stderr (start-up failures) stays in the journal: `journalctl --user -u lmx`.
    "StandardOutput=null",
    "StandardError=journal",
    // Unloading models lets in-flight requests finish first.
    "TimeoutStopSec=30",
    "",
    "[Install]",
    "WantedBy=default.target",
    "",
  ].join("\n");
}

/**
 * systemd's command-line quoting: every word in double quotes (a path may hold spaces), with `\` and
 * `"` escaped, `%` doubled (specifiers) and `$` doubled (variable expansion).
 */
export function systemdQuote(word: string): string {
  const escaped = word.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%").replace(/\$/g, "$$$$");
  return /^[A-Za-z0-9_@+=:,./-]+$/.test(word) ? word : `"${escaped}"`;
}

export function launchdPlist(spec: LaunchSpec): string {
  const string = (value: string) => `<string>${xmlEscape(value)}</string>`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    "<!-- Written by `lmx service install`; `lmx service uninstall` removes it. -->",
    '<plist version="1.0">',
    "<dict>",
    "  <key>Label</key>",
    `  ${string(LAUNCHD_LABEL)}`,
    "  <key>ProgramArguments</key>",
    "  <array>",
    ...spec.argv.map((word) => `    ${string(word)}`),
    "  </array>",
    "  <key>WorkingDirectory</key>",
    `  ${string(spec.workingDirectory)}`,
    "  <key>RunAtLoad</key>",
    "  <true/>",
    // Restarted when it exits with an error or dies of a signal; a clean stop stays stopped.
    "  <key>KeepAlive</key>",
    "  <dict>",
    "    <key>SuccessfulExit</key>",
    "    <false/>",
    "  </dict>",
    "  <key>ThrottleInterval</key>",
    "  <integer>5</integer>",
    // The log file (--log-file) has everything; stdout would only duplicate it.
    "  <key>StandardOutPath</key>",
    `  ${string("/dev/null")}`,
    "  <key>StandardErrorPath</key>",
    `  ${string(spec.stderrFile)}`,
    "</dict>",
    "</plist>",
    "",
  ].join("\n");
}

function xmlEscape(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
