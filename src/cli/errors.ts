/**
 * What a CLI command fails with: a message for one line on stderr and the exit code. Commands throw
 * it; `action()` (action.ts) prints it. Anything else thrown is reduced to its message the same way.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** An error answer from an LMX server, with its HTTP status and the API's error code. */
export class ApiError extends CliError {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message, 1);
    this.name = "ApiError";
  }
}

/** Exit codes beyond the generic 1 (sysexits.h and the shell's 128+SIGINT). */
export const EXIT_CONFIG = 78;
export const EXIT_INTERRUPTED = 130;

export const interrupted = (what = "Interrupted.") => new CliError(what, EXIT_INTERRUPTED);
