/**
 * The Hub downloader's errors, all in the core LmxError family so the HTTP layer maps them to statuses
 * in its one place. Codes are part of the admin API contract: repo_not_found, revision_not_found,
 * file_not_found, gated_repo, unauthorized, checksum_mismatch, network_error, hub_error,
 * insufficient_disk, cancelled.
 */
import { insufficientStorage, LmxError, notFound } from "../../errors.js";

export const repoNotFound = (repoId: string, hint = "") =>
  notFound(`Repository '${repoId}' was not found on the Hub.${hint}`, "repo_not_found", "repo_id");

export const revisionNotFound = (repoId: string, revision: string) =>
  notFound(`Revision '${revision}' was not found in '${repoId}'.`, "revision_not_found", "revision");

export const fileNotFound = (message: string) => notFound(message, "file_not_found", "file");

export const gatedRepo = (repoId: string, status: 401 | 403, hasToken: boolean) =>
  new LmxError(
    hasToken
      ? `'${repoId}' is a gated repository and this token has not been granted access: accept its terms on the Hub.`
      : `'${repoId}' is a gated repository: set HF_TOKEN to a token that has been granted access.`,
    {
      status,
      type: status === 401 ? "authentication_error" : "permission_error",
      code: "gated_repo",
      param: "repo_id",
    },
  );

export const unauthorized = (status: 401 | 403, message: string) =>
  new LmxError(message, {
    status,
    type: status === 401 ? "authentication_error" : "permission_error",
    code: "unauthorized",
  });

/** 502: the Hub (or the CDN it sent us to) gave us bytes that do not match its own hash. */
export const checksumMismatch = (file: string, expected: string, actual: string) =>
  new LmxError(`Checksum mismatch for '${file}': expected ${expected}, got ${actual}. The partial file was deleted.`, {
    status: 502,
    type: "server_error",
    code: "checksum_mismatch",
  });

/** 502: the connection to the Hub failed. Retryable; the `.part` file is kept so a retry resumes. */
export const networkError = (message: string, cause?: unknown) =>
  new LmxError(message, { status: 502, type: "server_error", code: "network_error", cause });

/** The Hub answered with an error we have no better name for (5xx, 429, unexpected 4xx). */
export const hubError = (status: number, message: string, retryAfter?: number) =>
  new LmxError(message, {
    status: status === 429 ? 503 : 502,
    type: status === 429 ? "service_unavailable_error" : "server_error",
    code: "hub_error",
    retryAfter,
  });

/** Without sizes: the filesystem said ENOSPC/EDQUOT. The `.part` is kept: free some space and pull again. */
export const insufficientDisk = (dir: string, needed?: number, free?: number) =>
  insufficientStorage(
    needed === undefined || free === undefined
      ? `The disk holding ${dir} is full.`
      : `Not enough disk space in ${dir}: the download needs ${formatBytes(needed)} more, ${formatBytes(free)} free.`,
    "insufficient_disk",
  );

/**
 * 499 (nginx's "client closed request"): the caller asked for it. A job carries `status: cancelled`
 * rather than this error; it is what a direct (CLI) caller sees thrown.
 */
export const cancelled = (message = "The download was cancelled.") =>
  new LmxError(message, { status: 499, type: "invalid_request_error", code: "cancelled" });

/** Errors worth another attempt that resumes from the `.part` file. */
export function isRetryable(err: unknown): boolean {
  return err instanceof LmxError && (err.code === "network_error" || err.code === "hub_error");
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
