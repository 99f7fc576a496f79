import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { LmxConfig } from "../config/schema.js";
import { LmxError } from "../errors.js";

/**
 * Optional keys: `admin_key` guards /admin (X-Admin-Key), `api_key` guards the inference surfaces
 * (/v1, /api/v0, /octo; `Authorization: Bearer KEY` or X-Api-Key). Health checks are always open.
 * Keys are compared in constant time (as digests, so length leaks nothing either).
 * Throws a 401 when the request lacks the key its path needs.
 */
export function authorize(request: FastifyRequest, path: string, config: Pick<LmxConfig, "admin_key" | "api_key">): void {
  if (path === "/healthz" || path === "/readyz" || path === "/metrics") return;
  if (path.startsWith("/admin")) {
    if (config.admin_key && !matches(header(request, "x-admin-key"), config.admin_key)) {
      throw new LmxError("Missing or invalid admin key: send it in the X-Admin-Key header.", {
        status: 401,
        type: "authentication_error",
        code: "invalid_admin_key",
      });
    }
    return;
  }
  if (config.api_key) {
    const bearer = /^Bearer\s+(.+)$/i.exec(header(request, "authorization") ?? "")?.[1];
    const given = bearer ?? header(request, "x-api-key");
    if (!matches(given, config.api_key)) {
      throw new LmxError("Incorrect API key provided. Send it as 'Authorization: Bearer KEY' or in the X-Api-Key header.", {
        status: 401,
        type: "authentication_error",
        code: "invalid_api_key",
      });
    }
  }
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const digest = (value: string) => createHash("sha256").update(value).digest();

export function matches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), digest(expected));
}
