/**
 * The one error family of the core. Every layer throws an LmxError (or lets an unexpected error
 * bubble up, which the API maps to a generic 500); each API surface turns it into its own envelope
 * in one place (src/server/errors.ts).
 */
export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "conflict_error"
  | "rate_limit_error"
  | "insufficient_storage_error"
  | "server_error"
  | "service_unavailable_error";

export interface LmxErrorOptions {
  status: number;
  type: ErrorType;
  code?: string | null;
  param?: string | null;
  /** Seconds a client should wait before retrying (429 / 503). */
  retryAfter?: number;
  cause?: unknown;
}

export class LmxError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly code: string | null;
  readonly param: string | null;
  readonly retryAfter: number | undefined;

  constructor(message: string, options: LmxErrorOptions) {
    super(message, { cause: options.cause });
    this.name = "LmxError";
    this.status = options.status;
    this.type = options.type;
    this.code = options.code ?? null;
    this.param = options.param ?? null;
    this.retryAfter = options.retryAfter;
  }
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null) =>
  new LmxError(message, { status: 400, type: "invalid_request_error", param, code });

export const notFound = (message: string, code: string, param: string | null = null) =>
  new LmxError(message, { status: 404, type: "not_found_error", code, param });

export const modelNotFound = (model: string, param = "model") =>
  new LmxError(`The model '${model}' does not exist or is not available.`, {
    status: 404,
    type: "invalid_request_error",
    code: "model_not_found",
    param,
  });

export const conflict = (message: string, code: string) =>
  new LmxError(message, { status: 409, type: "conflict_error", code });

export const rateLimited = (message: string, retryAfter: number, code = "rate_limit_exceeded") =>
  new LmxError(message, { status: 429, type: "rate_limit_error", code, retryAfter });

export const unavailable = (message: string, code: string, retryAfter?: number) =>
  new LmxError(message, { status: 503, type: "service_unavailable_error", code, retryAfter });

export const insufficientStorage = (message: string, code: "insufficient_disk" | "insufficient_memory") =>
  new LmxError(message, { status: 507, type: "insufficient_storage_error", code });

export const internalError = (cause?: unknown) =>
  new LmxError("The server had an error while processing your request.", {
    status: 500,
    type: "server_error",
    code: "internal_error",
    cause,
  });

export const isLmxError = (err: unknown): err is LmxError => err instanceof LmxError;

/** True for the errors an AbortSignal produces, whatever produced them. */
export function isAbortError(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err.name === "AbortError" || (err as { code?: string }).code === "ABORT_ERR")
  );
}
