/**
 * Per-task capability tokens: what a holder may run (binaries), where (paths inside the task's work
 * dir), whether with network, and until when. The orchestrator issues one when it starts a task and
 * hands it to the executor arm; the executor checks it on every call, so a token leaked into another
 * task, replayed after the task ended or edited by hand is refused.
 *
 * Format: `v1.<base64url(JSON claims)>.<base64url(HMAC-SHA256(secret, "lmx-capability.v1." + claims))>`.
 * Opaque to holders; stateless for the executor (no revocation list: the expiry bounds a leak).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { invalidRequest } from "../../errors.js";
import { capabilityError } from "./errors.js";
import { isValidTaskId, isWithinScope, normalizeRelativePath } from "./paths.js";

export interface CapabilityGrant {
  taskId: string;
  /** Binary names (as on the executor's allow-list) the holder may run. Empty: file access only. */
  binaries: readonly string[];
  /** Paths relative to the task's work dir the holder may name (cwd, readFile, writeFile); "." = all. */
  paths: readonly string[];
  /** Whether runs share the host's network. Off unless granted. */
  network?: boolean;
  ttlSeconds: number;
}

export interface CapabilityClaims {
  taskId: string;
  binaries: string[];
  paths: string[];
  network: boolean;
  /** Unix seconds. */
  issuedAt: number;
  /** Unix seconds; the token is refused from this second on. */
  expiresAt: number;
  /** Random id, so two tokens with equal grants differ (and a log line can name one). */
  id: string;
}

/** What a call is about to do; every field given must be covered by the token. */
export interface CapabilityRequest {
  taskId: string;
  binary?: string;
  paths?: readonly string[];
}

export interface CapabilityIssuer {
  issue(grant: CapabilityGrant): string;
  /** Returns the claims when the token covers the request; throws a 403 LmxError otherwise. */
  verify(token: string, request: CapabilityRequest): CapabilityClaims;
}

export interface CapabilityIssuerOptions {
  /** At least 32 random bytes, shared by whoever issues and whoever verifies. */
  secret: Buffer;
  /** Unix milliseconds; injectable for tests. */
  now?: () => number;
  /** Longest ttl `issue` accepts. Default: one day. */
  maxTtlSeconds?: number;
}

const VERSION = "v1";
const MAC_CONTEXT = "lmx-capability.v1.";
const MAX_TOKEN_LENGTH = 8192;
export const BINARY_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

const claimsSchema = z
  .object({
    tid: z.string().refine(isValidTaskId),
    bin: z.array(z.string().regex(BINARY_NAME)).max(256),
    paths: z.array(z.string().min(1)).min(1).max(256),
    net: z.boolean(),
    iat: z.number().int(),
    exp: z.number().int(),
    jti: z.string().min(1).max(64),
  })
  .strict();

export function createCapabilityIssuer(options: CapabilityIssuerOptions): CapabilityIssuer {
  if (!Buffer.isBuffer(options.secret) || options.secret.length < 32) {
    throw invalidRequest("The capability secret must be a Buffer of at least 32 bytes.", "capabilitySecret");
  }
  // Copied so a caller reusing (or zeroing) its buffer cannot change what we verify with.
  const secret = Buffer.from(options.secret);
  const now = options.now ?? Date.now;
  const maxTtl = options.maxTtlSeconds ?? 24 * 60 * 60;

  const mac = (payload: string) => createHmac("sha256", secret).update(MAC_CONTEXT).update(payload).digest();

  function issue(grant: CapabilityGrant): string {
    if (!isValidTaskId(grant.taskId)) throw invalidRequest(`Invalid task id '${grant.taskId}'.`, "taskId");
    if (!Number.isInteger(grant.ttlSeconds) || grant.ttlSeconds <= 0 || grant.ttlSeconds > maxTtl) {
      throw invalidRequest(`ttlSeconds must be an integer from 1 to ${maxTtl}.`, "ttlSeconds");
    }
    for (const name of grant.binaries) {
      if (!BINARY_NAME.test(name)) throw invalidRequest(`Invalid binary name '${name}': use the bare name on the allow-list.`, "binaries");
    }
    if (grant.paths.length === 0) throw invalidRequest("A capability needs at least one path ('.' for the whole work dir).", "paths");
    const iat = Math.floor(now() / 1000);
    const claims: z.infer<typeof claimsSchema> = {
      tid: grant.taskId,
      bin: [...new Set(grant.binaries)],
      paths: [...new Set(grant.paths.map((p) => normalizeRelativePath(p, "paths")))],
      net: grant.network ?? false,
      iat,
      exp: iat + grant.ttlSeconds,
      jti: randomBytes(12).toString("base64url"),
    };
    const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
    return `${VERSION}.${payload}.${mac(payload).toString("base64url")}`;
  }

  function verify(token: string, request: CapabilityRequest): CapabilityClaims {
    const claims = authenticate(token);
    if (claims.expiresAt <= Math.floor(now() / 1000)) {
      throw capabilityError(
        `The capability token for task '${claims.taskId}' expired at ${new Date(claims.expiresAt * 1000).toISOString()}.`,
        "capability_expired",
      );
    }
    if (claims.taskId !== request.taskId) {
      throw capabilityError(
        `The capability token was issued for task '${claims.taskId}', not '${request.taskId}'.`,
        "capability_denied",
      );
    }
    if (request.binary !== undefined && !claims.binaries.includes(request.binary)) {
      throw capabilityError(
        `The capability token does not allow running '${request.binary}' (it allows: ${claims.binaries.join(", ") || "no binaries"}).`,
        "capability_denied",
      );
    }
    for (const path of request.paths ?? []) {
      const normalized = normalizeRelativePath(path);
      if (!claims.paths.some((scope) => isWithinScope(normalized, scope))) {
        throw capabilityError(
          `The capability token does not cover the path '${normalized}' (it covers: ${claims.paths.join(", ")}).`,
          "capability_denied",
        );
      }
    }
    return claims;
  }

  /** Checks the MAC before parsing anything, so a forged token never reaches the JSON parser. */
  function authenticate(token: string): CapabilityClaims {
    const invalid = (why: string) => capabilityError(`The capability token is invalid: ${why}.`, "capability_invalid");
    if (typeof token !== "string" || token.length === 0) throw invalid("missing");
    if (token.length > MAX_TOKEN_LENGTH) throw invalid("too long");
    const parts = token.split(".");
    if (parts.length !== 3 || parts[0] !== VERSION) throw invalid("not an LMX v1 capability token");
    const [, payload, signature] = parts as [string, string, string];
    const expected = mac(payload);
    const given = Buffer.from(signature, "base64url");
    // timingSafeEqual needs equal lengths; comparing lengths first leaks only the (public) MAC length.
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid("bad signature");
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    } catch {
      throw invalid("unreadable claims");
    }
    const result = claimsSchema.safeParse(parsed);
    if (!result.success) throw invalid("malformed claims");
    const c = result.data;
    return { taskId: c.tid, binaries: c.bin, paths: c.paths, network: c.net, issuedAt: c.iat, expiresAt: c.exp, id: c.jti };
  }

  return { issue, verify };
}
