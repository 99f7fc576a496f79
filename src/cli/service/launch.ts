/**
 * How the service starts `lmx serve`: this very node binary and this very CLI file, by absolute
 * path (a service has no PATH, nvm or shell profile), with tsx's loader when the CLI runs from source.
 */
import { realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import type { LaunchSpec } from "./unit-files.js";

export interface LaunchOptions {
  home: string;
  /** Absolute node binary. */
  nodePath: string;
  /** The CLI entry as started (process.argv[1]); a symlink (npm's bin) is resolved. */
  cliPath: string;
  /** A loader to add (`--import <url>`) when the entry is TypeScript. */
  tsLoader?: string | null;
  configFile?: string | null;
  logFile?: string | null;
}

export const defaultLogFile = (home: string) => join(home, ".lmx", "logs", "lmx.log");

export function launchSpec(options: LaunchOptions): LaunchSpec {
  const cli = realpathOr(options.cliPath);
  const logFile = resolve(options.logFile ?? defaultLogFile(options.home));
  const loader = /\.[cm]?ts$/.test(cli) && options.tsLoader ? ["--import", options.tsLoader] : [];
  return {
    argv: [options.nodePath, ...loader, cli, "serve", "--log-file", logFile, ...(options.configFile ? ["--config", resolve(options.configFile)] : [])],
    logFile,
    stderrFile: logFile.replace(/(\.log)?$/, ".stderr.log"),
    workingDirectory: options.home,
  };
}

/** tsx's loader as a file URL (the bare name `tsx` would resolve against the service's working directory). */
export function tsxLoader(): string | null {
  try {
    return import.meta.resolve("tsx");
  } catch {
    return null;
  }
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}
