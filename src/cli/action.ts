import { ConfigError } from "../config/load.js";
import { CliError, EXIT_CONFIG } from "./errors.js";

/**
 * Wraps a command's action: a failure becomes `lmx: message` on stderr and a non-zero exit code,
 * never a stack trace (LMX_DEBUG=1 shows it). The process exits when the action is done, so that
 * keep-alive sockets, SSE streams or timers left by a library never hold a finished command open.
 */
export function action<Args extends unknown[]>(run: (...args: Args) => Promise<void>): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    let code = 0;
    try {
      await run(...args);
      code = typeof process.exitCode === "number" ? process.exitCode : 0;
    } catch (err) {
      code = reportError(err);
    }
    process.exit(code);
  };
}

/** Prints the error as one line (a config error keeps its list of problems) and returns the exit code. */
export function reportError(err: unknown): number {
  if (process.env.LMX_DEBUG && err instanceof Error && err.stack) console.error(err.stack);
  if (err instanceof ConfigError) {
    console.error(`lmx: ${err.message}`);
    return EXIT_CONFIG;
  }
  const message = err instanceof Error ? err.message : String(err);
  console.error(`lmx: ${message.trim() || "failed"}`);
  return err instanceof CliError ? err.exitCode : 1;
}
