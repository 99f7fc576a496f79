/**
 * The parts of a run request that are data rather than permissions: argv, environment and stdin,
 * checked for shape and size before anything is spawned. (The token, allow-list and paths are checked
 * in executor.ts.)
 */
import { invalidRequest } from "../../errors.js";
import { permissionDenied } from "./errors.js";

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const MAX_ARGV_ITEMS = 4096;
const MAX_ARGV_BYTES = 256 * 1024;
const MAX_STDIN_BYTES = 16 * 1024 * 1024;
const MAX_ENV_VALUE = 32 * 1024;

export function checkArgv(argv: readonly string[]): string[] {
  if (!Array.isArray(argv) || argv.length === 0) throw invalidRequest("argv must be a non-empty array of strings.", "argv");
  if (argv.length > MAX_ARGV_ITEMS) throw invalidRequest(`argv has more than ${MAX_ARGV_ITEMS} items.`, "argv");
  let bytes = 0;
  for (const arg of argv) {
    if (typeof arg !== "string") throw invalidRequest("argv must contain only strings.", "argv");
    if (arg.includes("\0")) throw invalidRequest("argv items cannot contain NUL bytes.", "argv");
    bytes += Buffer.byteLength(arg) + 1;
  }
  if (bytes > MAX_ARGV_BYTES) throw invalidRequest(`argv is larger than ${MAX_ARGV_BYTES} bytes.`, "argv");
  if (argv[0]!.length === 0) throw invalidRequest("argv[0] is empty.", "argv");
  return [...argv];
}

export function checkEnv(env: Readonly<Record<string, string>>, allowed: ReadonlySet<string>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!allowed.has(name)) {
      throw permissionDenied(
        `The environment variable '${name.slice(0, 128)}' is not allowed (allowed: ${[...allowed].join(", ") || "none"}).`,
        "env_not_allowed",
        "env",
      );
    }
    if (typeof value !== "string" || value.includes("\0") || value.length > MAX_ENV_VALUE) {
      throw invalidRequest(`The value of '${name}' must be a string without NUL bytes, at most ${MAX_ENV_VALUE} characters.`, "env");
    }
    result[name] = value;
  }
  return result;
}

export function checkStdin(stdin: string | Uint8Array | undefined): Buffer | null {
  if (stdin === undefined) return null;
  const buffer = typeof stdin === "string" ? Buffer.from(stdin, "utf8") : Buffer.from(stdin.buffer, stdin.byteOffset, stdin.byteLength);
  if (buffer.length > MAX_STDIN_BYTES) throw invalidRequest(`stdin is larger than ${MAX_STDIN_BYTES} bytes.`, "stdin");
  return buffer;
}
