import { isAbortError, LmxError, type ErrorType } from "../errors.js";
import type { EngineErrorData } from "./types.js";

/** Errors cross the runner boundary as plain data and become LmxErrors again on the other side. */
export function toErrorData(err: unknown): EngineErrorData {
  if (err instanceof LmxError) {
    return { message: err.message, status: err.status, type: err.type, code: err.code, param: err.param };
  }
  if (isAbortError(err)) {
    return { message: "The request was cancelled.", status: 499, type: "invalid_request_error", code: "request_cancelled", param: null };
  }
  if (err instanceof Error && err.name === "InsufficientMemoryError") {
    // node-llama-cpp's own check (GPU memory especially) refused the model or its context.
    return { message: `Not enough memory to load the model: ${err.message}`, status: 507, type: "insufficient_storage_error", code: "insufficient_memory", param: null };
  }
  // Anything else is an engine fault: the message is for the log, not the client.
  const message = err instanceof Error ? err.message : String(err);
  return { message, status: 500, type: "server_error", code: "engine_error", param: null };
}

export function fromErrorData(data: EngineErrorData): LmxError {
  if (data.code === "request_cancelled") {
    const err = new LmxError(data.message, { status: 499, type: "invalid_request_error", code: data.code });
    err.name = "AbortError";
    return err;
  }
  return new LmxError(data.message, {
    status: data.status,
    type: data.type as ErrorType,
    code: data.code,
    param: data.param,
  });
}
