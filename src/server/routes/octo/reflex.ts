import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { atLeast, redact, REDACTION_MODES, type RedactionMode } from "../../../reflex/index.js";
import { parseBody } from "../../request-context.js";
import type { Services } from "../../services.js";

const maxText = 1024 * 1024;

const processSchema = z.object({
  text: z.string().max(maxText),
  checks: z
    .object({
      pii: z.boolean().optional(),
      injection: z.boolean().optional(),
      /** Count this call against the caller's rate limit (default false: screening is free). */
      rate_limit: z.boolean().optional(),
    })
    .strict()
    .optional(),
});

const redactSchema = z.object({
  text: z.string().max(maxText),
  mode: z.enum(REDACTION_MODES as [RedactionMode, ...RedactionMode[]]).default("mask"),
  salt: z.string().min(8).optional(),
});

/**
 * The reflex layer as a service: `POST /octo/reflex/process` returns the verdict on a text (what a
 * request carrying it would meet), `POST /octo/reflex/redact` returns the text with its PII replaced.
 */
export async function octoReflexRoutes(app: FastifyInstance, services: Services): Promise<void> {
  app.post("/octo/reflex/process", async (request) => {
    const started = process.hrtime.bigint();
    const body = parseBody(processSchema, request.body);
    const config = services.config().reflex;
    if (body.checks?.rate_limit) {
      const auth = /^Bearer\s+(.+)$/i.exec(String(request.headers.authorization ?? ""))?.[1] ?? null;
      const limited = await services.reflex.rateLimit({ apiKey: auth, clientId: (request.headers["x-client-id"] as string) ?? null, ip: request.ip });
      if (limited && !limited.decision.allowed) {
        return { status: "rate_limited", retry_after_seconds: limited.decision.retryAfterSeconds, pii: [], injection: [], processing_time_us: elapsedMicros(started) };
      }
    }
    const result = services.reflex.screener().screen(body.text, { pii: body.checks?.pii, injection: body.checks?.injection });
    const blocked = result.injection.some((m) => atLeast(m.severity, config.block_severity));
    return {
      status: blocked ? "blocked" : "success",
      pii: result.pii.map((m) => ({ type: m.type, ...(m.subtype ? { subtype: m.subtype } : {}), start: m.start, end: m.end, text: m.text, confidence: m.confidence })),
      injection: result.injection.map((m) => ({
        category: m.category,
        severity: m.severity,
        base_severity: m.baseSeverity,
        rule: m.rule,
        indicators: m.indicators,
        ...(m.start !== undefined ? { start: m.start, end: m.end } : {}),
        ...(m.adjustments?.length ? { adjustments: m.adjustments } : {}),
        ...(m.obfuscation?.length ? { obfuscation: m.obfuscation } : {}),
      })),
      max_severity: result.maxSeverity,
      policy: { mode: config.mode, block_severity: config.block_severity },
      cache_hit: result.cached,
      screening_time_us: result.elapsedMicros,
      processing_time_us: elapsedMicros(started),
    };
  });

  app.post("/octo/reflex/redact", async (request) => {
    const body = parseBody(redactSchema, request.body);
    const result = services.reflex.screener().screen(body.text, { injection: false });
    const redaction = redact(body.text, result.pii, { mode: body.mode, ...(body.salt ? { salt: body.salt } : {}) });
    return {
      text: redaction.text,
      redacted: redaction.redacted,
      mode: body.mode,
      types: result.pii.map((m) => m.type),
      ...(redaction.vault ? { tokens: redaction.vault.entries().map((e) => ({ token: e.token, label: e.label })) } : {}),
    };
  });
}

function elapsedMicros(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1000;
}
