/**
 * The CLI's HTTP client for a running LMX server: JSON calls to /admin (with X-Admin-Key) and raw
 * responses for the streams (/v1 with `Authorization: Bearer`, /admin/events). Error envelopes
 * become ApiErrors carrying the server's own message; a connection failure says where it tried.
 */
import { isAbortError } from "../../errors.js";
import { ApiError, CliError } from "../errors.js";

export interface ServerKeys {
  adminKey: string | null;
  apiKey: string | null;
}

export type HttpMethod = "GET" | "POST" | "DELETE";

export interface RequestOptions {
  body?: unknown;
  signal?: AbortSignal;
}

/** What GET /admin/health answers. */
export interface ServerHealth {
  status: string;
  version: string;
  uptime_s: number;
  models_loaded: number;
  models_ready: number;
  overloaded: boolean;
}

export class LmxClient {
  constructor(
    readonly baseUrl: string,
    private readonly keys: ServerKeys,
  ) {}

  /** A JSON call (the admin API, or a non-streaming /v1 call). */
  async json<T>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.open(method, path, options);
    return (await response.json()) as T;
  }

  /** The response of any call (the caller reads the body: streams); a non-2xx answer throws. */
  async open(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: "application/json, text/event-stream" };
    if (path.startsWith("/admin") && this.keys.adminKey) headers["x-admin-key"] = this.keys.adminKey;
    if (!path.startsWith("/admin") && this.keys.apiKey) headers.authorization = `Bearer ${this.keys.apiKey}`;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
      });
    } catch (err) {
      if (isAbortError(err) || options.signal?.aborted) throw err;
      throw new CliError(`cannot reach the LMX server at ${this.baseUrl}: ${networkReason(err)}`);
    }
    if (!response.ok) throw await apiError(response);
    return response;
  }
}

/** An error response → ApiError with the envelope's message (OpenAI's `{error: {message, code}}`). */
export async function apiError(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  let message = `${response.status} ${response.statusText}`.trim();
  let code: string | null = null;
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown; code?: unknown } | string; message?: unknown };
    const error = body.error;
    if (typeof error === "object" && error && typeof error.message === "string") {
      message = error.message;
      code = typeof error.code === "string" ? error.code : null;
    } else if (typeof error === "string") message = error;
    else if (typeof body.message === "string") message = body.message;
  } catch {
    if (text.trim()) message = `${message}: ${text.trim().slice(0, 200)}`;
  }
  return new ApiError(message, response.status, code);
}

/** "ECONNREFUSED" rather than undici's "fetch failed". */
export function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/** A model id in a URL path: ids contain slashes (org/repo/file), each segment is encoded. */
export function modelPath(id: string): string {
  return id.split("/").map(encodeURIComponent).join("/");
}
