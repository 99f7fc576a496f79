/**
 * Names and relative paths as the sandbox's callers write them, checked before they touch a
 * filesystem. Pure: the symlink-aware checks that need the disk live in workdir.ts.
 */
import { invalidRequest } from "../../errors.js";
import { pathEscape } from "./errors.js";

/** A task id is one path component under workRoot, so it must not be able to name anything else. */
const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function isValidTaskId(taskId: string): boolean {
  return TASK_ID.test(taskId);
}

export function assertTaskId(taskId: string, param = "taskId"): void {
  if (!isValidTaskId(taskId)) {
    throw invalidRequest(
      `Invalid task id '${taskId.slice(0, 140)}': use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit.`,
      param,
      "invalid_task_id",
    );
  }
}

const MAX_PATH_LENGTH = 1024;

/**
 * Normalizes a path relative to the task's work dir to `a/b/c` (or `.` for the dir itself). Refuses
 * absolute paths and any `..` segment outright, even one that would stay inside (`a/../b`): a caller
 * that writes `..` is confused or probing, and refusing is easier to reason about than resolving.
 */
export function normalizeRelativePath(input: string, param = "path"): string {
  if (typeof input !== "string") throw invalidRequest(`'${param}' must be a string.`, param);
  if (input.length > MAX_PATH_LENGTH) throw invalidRequest(`'${param}' is longer than ${MAX_PATH_LENGTH} characters.`, param);
  if (input.includes("\0")) throw invalidRequest(`'${param}' contains a NUL byte.`, param);
  if (input.startsWith("/")) throw pathEscape(input, "is absolute", param);
  const segments: string[] = [];
  for (const segment of input.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") throw pathEscape(input, "contains '..'", param);
    segments.push(segment);
  }
  return segments.length === 0 ? "." : segments.join("/");
}

/** True when the normalized `path` is `scope` or lies under it (`.` covers everything). */
export function isWithinScope(path: string, scope: string): boolean {
  return scope === "." || path === scope || path.startsWith(`${scope}/`);
}

/** True when the absolute host path `child` is `root` or lies under it. Both must be realpaths. */
export function isInsideDir(root: string, child: string): boolean {
  return child === root || child.startsWith(root.endsWith("/") ? root : `${root}/`);
}
