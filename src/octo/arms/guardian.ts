/**
 * The guardian: the egress gate of every task. Everything that leaves (a step's output shown by the
 * API, the final answer, prompts sent to an upstream server, direct arm answers) is screened with the
 * reflex detectors; personal data and secrets are redacted or the output is blocked, per policy.
 * It fails closed: an output it cannot screen (too big, not serializable, a detector error) is blocked.
 * It also screens a task's goal and context on the way in, for prompt injection.
 */
import { z } from "zod";
import type { OctoConfig } from "../config.js";
import { guardianBlocked, injectionDetected } from "../errors.js";
import type { LlmRequest, OctoLlm } from "../llm.js";
import { atLeast, redact, type InjectionMatch, type PiiMatch, type Screener, type Severity } from "../../reflex/index.js";
import { inputJsonSchema, type Arm, type ArmDescriptor } from "./types.js";

export type GuardianPolicy = OctoConfig["guardian"];

const SECRET_TYPES = new Set(["api_key", "private_key", "jwt", "secret"]);

export interface GuardianDecision<T = unknown> {
  action: "pass" | "redact" | "block";
  /** The value to let out: redacted where needed; null when blocked. */
  value: T | null;
  redactions: number;
  /** What was found, by kind (never the values themselves). */
  findings: string[];
  /** Why it was blocked. */
  reason?: string;
}

export interface Guardian {
  /** Screens any JSON value: every string in it. */
  egress<T>(value: T, policyOverride?: Partial<GuardianPolicy>): GuardianDecision<T>;
  /** Like egress, but throws 403 guardian_blocked instead of returning a block. */
  release<T>(value: T): { value: T; decision: GuardianDecision<T> };
  /** Refuses (400 injection_detected) text whose injection findings reach the configured severity. */
  screenIngress(pieces: ReadonlyArray<{ where: string; text: string }>): { findings: string[]; pii: number };
}

export function createGuardian(deps: { screener: Screener; policy(): GuardianPolicy; blockInjectionAt(): Severity | "never" }): Guardian {
  function egress<T>(value: T, override: Partial<GuardianPolicy> = {}): GuardianDecision<T> {
    const policy = { ...deps.policy(), ...override };
    const block = (reason: string, findings: string[] = []): GuardianDecision<T> => ({ action: "block", value: null, redactions: 0, findings, reason });
    let size: number;
    try {
      size = JSON.stringify(value ?? null).length;
    } catch {
      return block("the output could not be serialized to be screened");
    }
    if (size > policy.max_chars) return block(`the output is ${size} characters, more than the ${policy.max_chars} the guardian screens`);

    const counts = new Map<string, number>();
    let redactions = 0;
    let blockedBy: string | null = null;
    const note = (label: string) => counts.set(label, (counts.get(label) ?? 0) + 1);

    const screenString = (text: string): string => {
      const result = deps.screener.screen(text);
      const secrets: PiiMatch[] = [];
      const personal: PiiMatch[] = [];
      for (const match of result.pii) {
        note(match.subtype && SECRET_TYPES.has(match.type) ? `${match.type} (${match.subtype})` : match.type);
        (SECRET_TYPES.has(match.type) ? secrets : personal).push(match);
      }
      for (const finding of result.injection) note(`injection: ${finding.category} (${finding.severity})`);
      if (secrets.length > 0 && policy.secrets === "block") blockedBy ??= "it contains a secret (an API key, private key, token or password)";
      if (personal.length > 0 && policy.pii === "block") blockedBy ??= "it contains personal data";
      if (result.injection.length > 0 && policy.injection === "block") blockedBy ??= "it contains text that looks like a prompt injection";
      const toRedact = [...(policy.secrets === "redact" ? secrets : []), ...(policy.pii === "redact" ? personal : [])];
      if (toRedact.length === 0) return text;
      const redacted = redact(text, toRedact, { mode: policy.redaction });
      redactions += redacted.redacted;
      return redacted.text;
    };

    let out: unknown;
    try {
      out = walk(value, screenString);
    } catch (err) {
      return block(`the guardian could not screen the output (${(err as Error).message})`);
    }
    const findings = [...counts].map(([label, n]) => (n > 1 ? `${label} ×${n}` : label));
    if (blockedBy) return block(blockedBy, findings);
    return { action: redactions > 0 ? "redact" : "pass", value: out as T, redactions, findings };
  }

  return {
    egress,
    release(value) {
      const decision = egress(value);
      if (decision.action === "block") throw guardianBlocked(decision.reason ?? "blocked by policy");
      return { value: decision.value as typeof value, decision };
    },
    screenIngress(pieces) {
      const threshold = deps.blockInjectionAt();
      const findings: string[] = [];
      let pii = 0;
      for (const piece of pieces) {
        let result;
        try {
          result = deps.screener.screen(piece.text);
        } catch (err) {
          // Fail closed on the way in too: an unscreenable goal is not run.
          throw injectionDetected(piece.where, `it could not be screened: ${(err as Error).message}`);
        }
        pii += result.pii.length;
        for (const finding of result.injection) findings.push(`${piece.where}: ${finding.category} (${finding.severity})`);
        if (threshold !== "never" && result.injection.some((f: InjectionMatch) => atLeast(f.severity, threshold))) {
          const worst = result.injection.find((f) => f.severity === result.maxSeverity) ?? result.injection[0];
          throw injectionDetected(piece.where, `${worst.category}, severity ${worst.severity}`);
        }
      }
      return { findings, pii };
    },
  };
}

/** Applies `fn` to every string in a JSON value (keys included: they leave too). */
function walk(value: unknown, fn: (text: string) => string, depth = 0): unknown {
  if (depth > 64) throw new Error("the value is nested too deeply");
  if (typeof value === "string") return fn(value);
  if (value === null || typeof value === "number" || typeof value === "boolean" || value === undefined) return value;
  if (Array.isArray(value)) return value.map((item) => walk(item, fn, depth + 1));
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[fn(key)] = walk(item, fn, depth + 1);
    return out;
  }
  throw new Error(`a ${typeof value} cannot be screened`);
}

/** An upstream model behind the guardian: prompts are screened before they leave the machine. */
export function guardedLlm(llm: OctoLlm, guardian: Guardian): OctoLlm {
  return {
    async chat(request: LlmRequest) {
      const { value } = guardian.release(request.messages);
      return llm.chat({ ...request, messages: value });
    },
    async embed(model, texts, signal) {
      const { value } = guardian.release(texts);
      return llm.embed(model, value, signal);
    },
  };
}

export const guardianInput = z.object({
  /** Text, or any JSON value (every string in it is screened). */
  value: z.unknown(),
  policy: z
    .object({
      pii: z.enum(["redact", "block", "allow"]).optional(),
      secrets: z.enum(["redact", "block"]).optional(),
      injection: z.enum(["flag", "block"]).optional(),
      redaction: z.enum(["mask", "partial", "remove"]).optional(),
    })
    .strict()
    .default({}),
});

export function createGuardianArm(guardian: Guardian): Arm<z.output<typeof guardianInput>, GuardianDecision> {
  return {
    id: "guardian",
    input: guardianInput,
    async describe(): Promise<ArmDescriptor> {
      return {
        id: "guardian",
        description: "Egress gate: screens a value for personal data, secrets and prompt injection and redacts or blocks it per policy; fails closed.",
        input_schema: inputJsonSchema(guardianInput),
        output_schema: {
          type: "object",
          properties: {
            action: { enum: ["pass", "redact", "block"] },
            value: {},
            redactions: { type: "integer" },
            findings: { type: "array", items: { type: "string" } },
            reason: { type: "string" },
          },
          required: ["action", "value", "redactions", "findings"],
        },
        cost_tier: "free",
        model: null,
        upstream: null,
        plannable: false,
        available: true,
      };
    },
    async run(input) {
      const decision = guardian.egress(input.value, input.policy);
      return { output: decision, text: decision.action === "block" ? `blocked: ${decision.reason}` : JSON.stringify(decision.value), discrete: decision.action };
    },
  };
}
