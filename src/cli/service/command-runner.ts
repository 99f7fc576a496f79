import { execFile } from "node:child_process";

/** Runs `systemctl`/`launchctl`/`loginctl`; injectable so the service logic is tested without them. */
export interface CommandResult {
  /** 127 when the program does not exist. */
  code: number;
  stdout: string;
  stderr: string;
}

export type CommandRunner = (command: string, args: readonly string[]) => Promise<CommandResult>;

/** The real thing: never throws; a missing program is exit code 127, as in a shell. */
export const execRunner: CommandRunner = (command, args) =>
  new Promise((resolve) => {
    execFile(command, [...args], { timeout: 30_000, encoding: "utf8" }, (error, stdout, stderr) => {
      if (!error) return resolve({ code: 0, stdout, stderr });
      const code = (error as NodeJS.ErrnoException).code === "ENOENT" ? 127 : typeof error.code === "number" ? error.code : 1;
      resolve({ code, stdout, stderr: stderr || (code === 127 ? `${command}: command not found` : error.message) });
    });
  });

export function formatCommand(command: string, args: readonly string[]): string {
  return [command, ...args].map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)).join(" ");
}
