/**
 * Redaction of detected PII. Modes:
 *  - mask:    "[EMAIL]" — the type, nothing of the value;
 *  - partial: keep the last `keepLast` (default 4) letters/digits, mask the others, keep separators
 *             ("***-**-6789", "**** **** **** 1111");
 *  - hash:    "[EMAIL:1f3a…]" — HMAC-SHA-256 of the value under a caller-supplied salt, so equal values
 *             stay joinable across records without being readable;
 *  - remove:  "" — the value disappears;
 *  - token:   "[EMAIL_1]" recorded in a per-request vault (vault.ts) so the model's answer can be restored.
 */
import { createHmac } from "node:crypto";
import { invalidRequest } from "../../errors.js";
import type { PiiMatch } from "./types.js";
import { createTokenVault, type TokenVault } from "./vault.js";

export type RedactionMode = "mask" | "partial" | "hash" | "remove" | "token";
export const REDACTION_MODES: readonly RedactionMode[] = ["mask", "partial", "hash", "remove", "token"];

export interface RedactOptions {
  mode: RedactionMode;
  /** Required for "hash". */
  salt?: string | Buffer;
  /** For "token": the request's vault (one is created when absent and returned in the result). */
  vault?: TokenVault;
  /** For "partial" (default 4). */
  keepLast?: number;
  /** For "partial" (default "*"). */
  maskChar?: string;
  /** Hex digits of the HMAC kept by "hash" (default 16). */
  hashLength?: number;
}

export interface RedactionResult {
  text: string;
  /** How many matches were replaced. */
  redacted: number;
  /** The vault used by "token" mode. */
  vault?: TokenVault;
}

/** The label a match is redacted under: its type, or a custom pattern's name, upper-cased. */
export function redactionLabel(m: PiiMatch): string {
  const raw = m.type === "custom" && m.subtype ? m.subtype : m.type;
  return raw.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
}

export function redact(text: string, matches: readonly PiiMatch[], options: RedactOptions): RedactionResult {
  const { mode } = options;
  if (mode === "hash" && (options.salt === undefined || options.salt.length === 0)) {
    throw invalidRequest("Redaction mode 'hash' requires a salt.", "salt", "missing_salt");
  }
  if (!REDACTION_MODES.includes(mode)) throw invalidRequest(`Unknown redaction mode '${String(mode)}'.`, "mode");
  const vault = mode === "token" ? (options.vault ?? createTokenVault()) : undefined;
  const sorted = [...matches].sort((a, b) => a.start - b.start);
  let out = "";
  let pos = 0;
  let redacted = 0;
  for (const m of sorted) {
    if (m.start < pos || m.end > text.length) continue; // overlapping or stale match: skip, never corrupt
    const value = text.slice(m.start, m.end);
    out += text.slice(pos, m.start);
    out += replacement(m, value, options, vault);
    pos = m.end;
    redacted++;
  }
  out += text.slice(pos);
  return vault ? { text: out, redacted, vault } : { text: out, redacted };
}

function replacement(m: PiiMatch, value: string, options: RedactOptions, vault: TokenVault | undefined): string {
  const label = redactionLabel(m);
  switch (options.mode) {
    case "mask":
      return `[${label}]`;
    case "remove":
      return "";
    case "partial":
      return partialMask(value, options.keepLast ?? 4, options.maskChar ?? "*");
    case "hash": {
      const digest = createHmac("sha256", options.salt as string | Buffer).update(`${m.type}:${value}`).digest("hex");
      return `[${label}:${digest.slice(0, options.hashLength ?? 16)}]`;
    }
    case "token":
      return (vault as TokenVault).tokenFor(label, value);
  }
}

/** Mask every letter/digit except the last `keep`, leaving punctuation in place. */
export function partialMask(value: string, keep: number, maskChar = "*"): string {
  let alnum = 0;
  for (const ch of value) if (/[\p{L}\p{N}]/u.test(ch)) alnum++;
  let seen = 0;
  let out = "";
  for (const ch of value) {
    if (/[\p{L}\p{N}]/u.test(ch)) {
      seen++;
      out += seen > alnum - keep ? ch : maskChar;
    } else out += ch;
  }
  return out;
}
