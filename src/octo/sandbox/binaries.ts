/**
 * The binary allow-list: names resolved once to absolute paths on the host. Resolution uses a fixed
 * system search path, never the server's PATH: the sandbox only sees /usr (and the /bin, /lib links
 * into it), so a binary found under a home directory (pyenv shims, ~/.cargo/bin) would not exist in
 * there, and letting PATH decide would let whoever sets the server's environment pick the binary.
 */
import { lstatSync, realpathSync, statSync } from "node:fs";
import { basename, isAbsolute, join } from "node:path";
import { invalidRequest } from "../../errors.js";
import { BINARY_NAME } from "./capability.js";
import { permissionDenied } from "./errors.js";

export const SYSTEM_SEARCH_PATH: readonly string[] = ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"];

/**
 * Shells turn one argv back into a command line, which is exactly what "argv only" is meant to rule out;
 * they have to be allowed explicitly (allowShells). The sandbox still holds either way.
 */
const SHELLS = new Set(["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "csh", "tcsh", "fish", "busybox"]);

export interface ResolvedBinary {
  /** The name callers use in argv[0] and tokens list. */
  name: string;
  /** Absolute path exec'd inside the sandbox (symlinks kept, e.g. /usr/bin/python3). */
  path: string;
  /** Where it really is; checked to be visible in the sandbox. */
  realPath: string;
}

export interface ResolveOptions {
  allowShells: boolean;
  /** Host directories that the sandbox mounts (see bwrap-args.ts); the binary must live in one. */
  visibleRoots: readonly string[];
  searchPath?: readonly string[];
}

export function resolveAllowedBinaries(entries: readonly string[], options: ResolveOptions): Map<string, ResolvedBinary> {
  const resolved = new Map<string, ResolvedBinary>();
  for (const entry of entries) {
    const binary = resolveOne(entry, options);
    const existing = resolved.get(binary.name);
    if (existing && existing.path !== binary.path) {
      throw invalidRequest(`Two allowed binaries are named '${binary.name}': ${existing.path} and ${binary.path}.`, "allowedBinaries");
    }
    resolved.set(binary.name, binary);
  }
  return resolved;
}

function resolveOne(entry: string, options: ResolveOptions): ResolvedBinary {
  const name = isAbsolute(entry) ? basename(entry) : entry;
  if (!BINARY_NAME.test(name)) {
    throw invalidRequest(`'${entry}' is not a binary name or an absolute path to one.`, "allowedBinaries");
  }
  const path = isAbsolute(entry) ? entry : findInSearchPath(name, options.searchPath ?? SYSTEM_SEARCH_PATH);
  if (path === null) {
    throw invalidRequest(
      `The allowed binary '${name}' was not found in ${(options.searchPath ?? SYSTEM_SEARCH_PATH).join(":")}.`,
      "allowedBinaries",
    );
  }
  const realPath = realpathSync(path);
  if (!options.visibleRoots.some((root) => realPath.startsWith(`${root}/`))) {
    throw invalidRequest(
      `The allowed binary '${name}' resolves to ${realPath}, outside what the sandbox mounts (${options.visibleRoots.join(", ")}).`,
      "allowedBinaries",
    );
  }
  if (!options.allowShells && (SHELLS.has(name) || SHELLS.has(basename(realPath)))) {
    throw invalidRequest(
      `'${name}' is a shell, which would undo argv-only execution; set allowShells: true to allow it anyway.`,
      "allowedBinaries",
    );
  }
  return { name, path, realPath };
}

function findInSearchPath(name: string, searchPath: readonly string[]): string | null {
  for (const dir of searchPath) {
    const candidate = join(dir, name);
    try {
      lstatSync(candidate);
      const st = statSync(candidate);
      if (st.isFile() && (st.mode & 0o111) !== 0) return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return null;
}

/**
 * Maps argv[0] to an allow-listed binary. A bare name is looked up; an absolute path is accepted only
 * when it is exactly the path an allowed name resolved to (models like to write /usr/bin/python3).
 */
export function lookupBinary(argv0: string, allowed: ReadonlyMap<string, ResolvedBinary>): ResolvedBinary {
  if (isAbsolute(argv0)) {
    for (const binary of allowed.values()) {
      if (binary.path === argv0 || binary.realPath === argv0) return binary;
    }
  } else {
    const binary = allowed.get(argv0);
    if (binary) return binary;
  }
  const names = [...allowed.keys()].join(", ") || "none";
  throw permissionDenied(`'${argv0.slice(0, 200)}' is not on the executor's allow-list (allowed: ${names}).`, "binary_not_allowed", "argv");
}
