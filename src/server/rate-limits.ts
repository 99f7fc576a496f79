import type { FastifyReply, FastifyRequest } from "fastify";
import { rateLimitHeaders } from "../reflex/index.js";
import { rateLimited } from "../errors.js";
import type { Services } from "./services.js";

const limited = ["/v1/", "/api/v0/", "/octo/"];

/**
 * Token-bucket rate limits on the inference surfaces (reflex.rate_limit): every answer carries
 * x-ratelimit-* headers; a caller over its tier gets 429 with Retry-After. Admin and health are exempt.
 * Returns undefined, without waiting for anything, when the request is not limited (rate limits off,
 * or a path they do not cover); otherwise a promise that rejects with the 429.
 */
export function applyRateLimit(request: FastifyRequest, reply: FastifyReply, path: string, services: Services): Promise<void> | undefined {
  if (!services.config().reflex.rate_limit.enabled) return undefined;
  if (!limited.some((prefix) => path.startsWith(prefix))) return undefined;
  return services.reflex.rateLimit({ apiKey: apiKeyOf(request), clientId: headerOf(request, "x-client-id"), ip: request.ip }).then((result) => {
    if (!result) return;
    for (const [name, value] of Object.entries(rateLimitHeaders(result.decision))) reply.header(name, value);
    if (!result.decision.allowed) {
      services.metrics.recordRateLimited(result.tier);
      throw rateLimited(`Rate limit exceeded for tier '${result.tier}'. Retry after ${result.decision.retryAfterSeconds} s.`, result.decision.retryAfterSeconds);
    }
  });
}

function headerOf(request: FastifyRequest, name: string): string | null {
  const value = request.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

function apiKeyOf(request: FastifyRequest): string | null {
  const bearer = /^Bearer\s+(.+)$/i.exec(headerOf(request, "authorization") ?? "")?.[1];
  return bearer ?? headerOf(request, "x-api-key");
}
