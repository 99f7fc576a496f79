import { ZodError, type z } from "zod";
import { isAbortError, LmxError, type ErrorType } from "../errors.js";

/**
 * The one place internal errors become HTTP responses. Every surface (/v1, /admin, /octo) answers
 * with OpenAI's envelope `{error: {message, type, param, code}}`, which is what our clients parse;
 * unexpected errors become a generic 500 and their details go only to the log.
 */

export interface HttpError {
  status: number;
  body: { error: { message: string; type: string; param: string | null; code: string | null } };
  headers: Record<string, string>;
  /** The error is unexpected: log it with its stack. */
  unexpected: boolean;
}

const fastifyCodes: Record<string, { status: number; type: ErrorType; code: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, type: "invalid_request_error", code: "request_too_large", message: "Request body is too large." },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, type: "invalid_request_error", code: "unsupported_media_type" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, type: "invalid_request_error", code: "invalid_json", message: "The request body is empty; expected a JSON object." },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, type: "invalid_request_error", code: "invalid_content_length" },
};

export function toHttpError(err: unknown): HttpError {
  if (err instanceof LmxError) {
    const status = err.status === 499 ? 400 : err.status;
    if (status >= 500 && err.code === "engine_error") return internal();
    const headers: Record<string, string> = {};
    if (err.retryAfter !== undefined) headers["retry-after"] = String(err.retryAfter);
    return envelope(status, err.message, err.type, err.param, err.code, headers);
  }
  if (err instanceof ZodError) return fromZod(err);
  if (isAbortError(err)) return envelope(400, "The request was cancelled.", "invalid_request_error", null, "request_cancelled");

  const fastifyError = err as { code?: string; statusCode?: number; message?: string };
  if (fastifyError.code && fastifyCodes[fastifyError.code]) {
    const known = fastifyCodes[fastifyError.code];
    return envelope(known.status, known.message ?? fastifyError.message ?? "Bad request", known.type, null, known.code);
  }
  if (err instanceof SyntaxError || fastifyError.code === "FST_ERR_CTP_INVALID_JSON_BODY") {
    return envelope(400, `We could not parse the JSON body of your request. (${(err as Error).message})`, "invalid_request_error", null, "invalid_json");
  }
  if (typeof fastifyError.statusCode === "number" && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return envelope(fastifyError.statusCode, fastifyError.message ?? "Bad request", "invalid_request_error", null, fastifyError.code ?? null);
  }
  return internal();
}

function internal(): HttpError {
  return { ...envelope(500, "The server had an error while processing your request.", "server_error", null, "internal_error"), unexpected: true };
}

function envelope(status: number, message: string, type: string, param: string | null, code: string | null, headers: Record<string, string> = {}): HttpError {
  return { status, body: { error: { message, type, param, code } }, headers, unexpected: false };
}

/** `messages[0].content` style paths, as OpenAI names parameters in its errors. */
export function paramPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out;
}

function fromZod(err: ZodError): HttpError {
  const issue = err.issues[0] as z.core.$ZodIssue;
  const param = paramPath(issue.path);
  let message: string;
  if (issue.code === "invalid_type" && issue.input === undefined) {
    message = `Missing required parameter: '${param}'.`;
  } else if (issue.code === "invalid_union" || issue.code === "invalid_value" || issue.code === "invalid_type") {
    message = `Invalid value for '${param || "body"}': ${issue.message}.`;
  } else {
    message = `Invalid '${param || "body"}': ${issue.message}.`;
  }
  const code = issue.code === "invalid_type" && issue.input === undefined ? "missing_required_parameter" : "invalid_value";
  return envelope(400, message, "invalid_request_error", param || null, code);
}
