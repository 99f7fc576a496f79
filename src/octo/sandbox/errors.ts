/**
 * The sandbox's refusals, all in the core LmxError family. Codes are a contract with the executor arm
 * (it shows them to the model so it can change course): capability_invalid, capability_expired,
 * capability_denied, binary_not_allowed, env_not_allowed, path_escape, task_busy, workdir_not_found,
 * sandbox_unavailable, sandbox_failed.
 */
import { LmxError, unavailable } from "../../errors.js";

export type CapabilityErrorCode = "capability_invalid" | "capability_expired" | "capability_denied";

/** 403: the token is malformed or forged, has expired, or does not cover what was asked. */
export const capabilityError = (message: string, code: CapabilityErrorCode) =>
  new LmxError(message, { status: 403, type: "permission_error", code, param: "token" });

/** 403: the request is well formed but asks for something the executor never allows. */
export const permissionDenied = (message: string, code: string, param: string | null = null) =>
  new LmxError(message, { status: 403, type: "permission_error", code, param });

/** 403: a path would leave the task's work dir (`..`, absolute, or through a symlink pointing out). */
export const pathEscape = (path: string, why: string, param = "path") =>
  permissionDenied(`The path '${path}' ${why}: paths must stay inside the task's work dir.`, "path_escape", param);

/** 503: no working sandbox here and unsandboxed runs are not allowed by config. */
export const sandboxUnavailable = (reason: string) =>
  unavailable(
    `No command sandbox is available on this host (${reason}). Install bubblewrap (Debian: apt-get install bubblewrap) ` +
      "and allow user namespaces, or set allowUnsandboxed: true to run commands without isolation.",
    "sandbox_unavailable",
  );

/** 500: bubblewrap itself failed to set the sandbox up (its message is in `message`). */
export const sandboxFailed = (message: string, cause?: unknown) =>
  new LmxError(`The sandbox could not be set up: ${message}`, {
    status: 500,
    type: "server_error",
    code: "sandbox_failed",
    cause,
  });
