import type { FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import type { Usage } from "../engine/types.js";
import { invalidRequest } from "../errors.js";

/** What the access log, metrics and request_completed events say of a request (never the prompt text). */
export interface RequestSummary {
  model?: string;
  usage?: Usage;
  ttftMs?: number | null;
  decodeMs?: number | null;
  stream?: boolean;
  draft?: { accepted: number; rejected: number };
}

declare module "fastify" {
  interface FastifyRequest {
    summary: RequestSummary | null;
    errorCode: string | null;
  }
}

/**
 * An AbortSignal that fires when the client goes away before the response is complete, so the
 * generation stops at once and frees its sequence.
 */
export function clientGone(request: FastifyRequest, reply: FastifyReply): AbortController {
  const controller = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableFinished) controller.abort(new DOMException("The client disconnected.", "AbortError"));
  };
  reply.raw.once("close", onClose);
  request.raw.once("aborted", onClose);
  return controller;
}

/** Validate a body at the edge: the result is typed, or a 400 naming the first bad field is thrown. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
    throw invalidRequest("The request body must be a JSON object.", null, "invalid_body");
  }
  const result = schema.safeParse(body, { reportInput: true });
  if (!result.success) throw result.error;
  return result.data;
}

/** X-Priority: a number, or low / normal / high / critical. Higher is served first. */
export function requestPriority(request: FastifyRequest): number {
  const header = request.headers["x-priority"];
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return 0;
  const named: Record<string, number> = { low: -1, normal: 0, medium: 0, high: 1, critical: 2 };
  if (value.toLowerCase() in named) return named[value.toLowerCase()];
  const number = Number(value);
  if (!Number.isFinite(number)) throw invalidRequest(`Invalid X-Priority header '${value}': use a number or low, normal, high, critical.`, "X-Priority");
  return number;
}

/** X-Client-ID: who is asking, for per-client limits and metrics (letters, digits, '.', '_', '-', ':', up to 64). */
export function clientId(request: FastifyRequest): string | null {
  const header = request.headers["x-client-id"];
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  if (!/^[\w.:-]{1,64}$/.test(value)) {
    throw invalidRequest("Invalid X-Client-ID header: use up to 64 letters, digits, '.', '_', ':' or '-'.", "X-Client-ID");
  }
  return value;
}
