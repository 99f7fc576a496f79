/**
 * API keys and other secrets with well-known shapes. Each rule is anchored, so only the rules for an
 * anchor that occurs run, as sticky regexes at its start — no scan of the whole text:
 *  - `prefix`: two case-sensitive characters starting a first word that contains a capital or digit
 *    ("AKIA…", "AIza…", "bc1…"); the lexer reports such words (SECRET_PREFIXES);
 *  - `word`: a lower-case first word ("sk" in "sk-proj-…", "ghp" in "ghp_…"), recognised through the
 *    vocabulary like any context word (SECRET_WORDS).
 */
import type { PiiType } from "./types.js";

export interface SecretRule {
  subtype: string;
  type: PiiType;
  /** Two-character case-sensitive prefix of a first word with capitals or digits. */
  prefix?: string;
  /** Or: the lower-case first word. */
  word?: string;
  /** Sticky regex matched at the token start. */
  re: RegExp;
  confidence: number;
  /** Extra validation of the matched text. */
  validate?: (match: string) => boolean;
}

const ALNUM_END = "(?![A-Za-z0-9])";
const B64URL_END = "(?![A-Za-z0-9_-])";

export const SECRET_RULES: readonly SecretRule[] = [
  { subtype: "aws_access_key", type: "api_key", prefix: "AK", re: new RegExp(`AKIA[A-Z0-9]{16}${ALNUM_END}`, "y"), confidence: 0.95 },
  { subtype: "aws_access_key", type: "api_key", prefix: "AS", re: new RegExp(`ASIA[A-Z0-9]{16}${ALNUM_END}`, "y"), confidence: 0.95 },
  { subtype: "aws_access_key", type: "api_key", prefix: "AB", re: new RegExp(`ABIA[A-Z0-9]{16}${ALNUM_END}`, "y"), confidence: 0.9 },
  { subtype: "aws_access_key", type: "api_key", prefix: "AC", re: new RegExp(`ACCA[A-Z0-9]{16}${ALNUM_END}`, "y"), confidence: 0.9 },
  { subtype: "google_api_key", type: "api_key", prefix: "AI", re: new RegExp(`AIza[0-9A-Za-z_-]{35}${B64URL_END}`, "y"), confidence: 0.95 },
  { subtype: "github_token", type: "api_key", word: "gh*", re: new RegExp(`gh[pousr]_[A-Za-z0-9]{36,251}${ALNUM_END}`, "y"), confidence: 0.97 },
  { subtype: "github_token", type: "api_key", word: "github", re: new RegExp(`github_pat_[A-Za-z0-9_]{60,255}${ALNUM_END}`, "y"), confidence: 0.97 },
  { subtype: "gitlab_token", type: "api_key", word: "glpat", re: new RegExp(`glpat-[A-Za-z0-9_-]{20,100}${B64URL_END}`, "y"), confidence: 0.95 },
  { subtype: "anthropic_key", type: "api_key", word: "sk", re: new RegExp(`sk-ant-[a-z]{2,8}\\d{0,3}-[A-Za-z0-9_-]{32,256}${B64URL_END}`, "y"), confidence: 0.97 },
  { subtype: "stripe_key", type: "api_key", word: "sk", re: new RegExp(`sk_(?:live|test)_[A-Za-z0-9]{16,256}${ALNUM_END}`, "y"), confidence: 0.95 },
  { subtype: "stripe_key", type: "api_key", word: "rk", re: new RegExp(`rk_(?:live|test)_[A-Za-z0-9]{16,256}${ALNUM_END}`, "y"), confidence: 0.95 },
  // Publishable keys are meant to be public; still worth knowing about, below the default threshold.
  { subtype: "stripe_publishable_key", type: "api_key", word: "pk", re: new RegExp(`pk_(?:live|test)_[A-Za-z0-9]{16,256}${ALNUM_END}`, "y"), confidence: 0.45 },
  {
    subtype: "openai_key", type: "api_key", word: "sk",
    re: new RegExp(`sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,256}${B64URL_END}`, "y"), confidence: 0.9,
    // "sk-learn-style-names" are words; a key mixes digits and letters.
    validate: (m) => /\d/.test(m) && /[A-Za-z]{2}/.test(m.slice(3)),
  },
  { subtype: "slack_token", type: "api_key", word: "xox*", re: new RegExp(`xox[abposre]-[A-Za-z0-9-]{10,256}${ALNUM_END}`, "y"), confidence: 0.95 },
  { subtype: "slack_app_token", type: "api_key", word: "xapp", re: new RegExp(`xapp-\\d-[A-Za-z0-9-]{20,256}${ALNUM_END}`, "y"), confidence: 0.95 },
  { subtype: "huggingface_token", type: "api_key", word: "hf", re: new RegExp(`hf_[A-Za-z0-9]{30,128}${ALNUM_END}`, "y"), confidence: 0.9 },
  { subtype: "npm_token", type: "api_key", word: "npm", re: new RegExp(`npm_[A-Za-z0-9]{36}${ALNUM_END}`, "y"), confidence: 0.9 },
  { subtype: "sendgrid_key", type: "api_key", prefix: "SG", re: new RegExp(`SG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}${B64URL_END}`, "y"), confidence: 0.95 },
  { subtype: "twilio_key", type: "api_key", prefix: "SK", re: new RegExp(`SK[0-9a-f]{32}${ALNUM_END}`, "y"), confidence: 0.8 },
  {
    subtype: "jwt", type: "jwt", prefix: "ey",
    re: new RegExp(`eyJ[A-Za-z0-9_-]{8,2048}\\.eyJ[A-Za-z0-9_-]{8,8192}\\.[A-Za-z0-9_-]{10,1024}${B64URL_END}`, "y"), confidence: 0.9,
  },
];

/** Two-character prefixes the lexer should report (plus "bc" for bech32 bitcoin addresses). */
export const SECRET_PREFIXES: readonly string[] = [
  ...new Set([...SECRET_RULES.flatMap((r) => (r.prefix ? [r.prefix] : [])), "bc"]),
];

/** "gh*" stands for ghp gho ghu ghs ghr; "xox*" for the Slack token kinds. */
function expandWord(w: string): string[] {
  if (w === "gh*") return ["ghp", "gho", "ghu", "ghs", "ghr"];
  if (w === "xox*") return ["xoxa", "xoxb", "xoxp", "xoxo", "xoxs", "xoxr", "xoxe"];
  return [w];
}

/** Lower-case first words of secret formats, for the vocabulary. */
export const SECRET_WORDS: readonly string[] = [...new Set(SECRET_RULES.flatMap((r) => (r.word ? expandWord(r.word) : [])))];

export const RULES_BY_PREFIX: ReadonlyMap<string, readonly SecretRule[]> = groupBy((r) => (r.prefix ? [r.prefix] : []));
export const RULES_BY_WORD: ReadonlyMap<string, readonly SecretRule[]> = groupBy((r) => (r.word ? expandWord(r.word) : []));

function groupBy(keys: (r: SecretRule) => string[]): Map<string, SecretRule[]> {
  const m = new Map<string, SecretRule[]>();
  for (const r of SECRET_RULES) {
    for (const k of keys(r)) {
      const list = m.get(k) ?? [];
      list.push(r);
      m.set(k, list);
    }
  }
  return m;
}

/** "-----BEGIN RSA PRIVATE KEY-----", matched from 5 characters before the word "BEGIN". */
export const PEM_HEADER = /-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----/y;
export const PEM_FOOTER = /-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----/g;

export const SLACK_WEBHOOK = /hooks\.slack\.com\/services\/T[A-Z0-9]{6,16}\/B[A-Z0-9]{6,16}\/[A-Za-z0-9]{16,64}/y;

/**
 * `password: hunter2!`, `api_key = "…"`, `"client_secret": "…"`, `my password is …` — matched right
 * after the context word. Group 1 is the value.
 */
export const ASSIGNED_SECRET = /["']?[ \t]*(?::=|=>|[:=]|[ \t]+(?:is|was)[ \t]+)[ \t]*["'`]?([^\s"'`,;<>(){}[\]]{6,200})/y;

const PLACEHOLDER = /^(?:x{3,}|\*{3,}|\.{3,}|<.*|\$.*|%.*|your[-_]?.*|none|null|nil|undefined|true|false|required|optional|redacted|hidden|example.*|placeholder|changeme|secret|password|token|env\b.*|process\.env.*|os\.environ.*|config\..*|settings\..*|self\..*|this\..*|[a-z]+\(.*)$/i;

/** A value that looks like a real secret rather than prose or a placeholder. */
export function plausibleSecret(value: string): boolean {
  if (PLACEHOLDER.test(value) || /\.\.\.|…|xxxx|\*\*\*\*|[<>]|\{\{|\$\{/i.test(value)) return false;
  const lower = /[a-z]/.test(value);
  const upper = /[A-Z]/.test(value);
  const digit = /\d/.test(value);
  const symbol = /[^A-Za-z0-9]/.test(value);
  const classes = (lower ? 1 : 0) + (upper ? 1 : 0) + (digit ? 1 : 0) + (symbol ? 1 : 0);
  // "is required", "was changed", "is_valid": one class of letters is a word, not a secret.
  if (classes < 2) return value.length >= 32 && digit;
  if (!digit && !symbol && /^[A-Z]?[a-z]+$/.test(value)) return false;
  return true;
}
