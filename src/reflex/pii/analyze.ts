/**
 * The PII analyser: reads the lexer's events in text order and turns candidates into matches.
 * Context words update "last seen" positions; digit runs, secret prefixes, IBAN shapes, "@" and hex
 * separators each go to their own small checker. Nothing here scans the whole text except
 * configured custom patterns.
 */
import * as lx from "../lexer.js";
import type { LexResult } from "../lexer.js";
import type { Vocabulary } from "../vocab.js";
import {
  CTX_CLASS_COUNT, CTX_DOB, CTX_HOOKS, CTX_LICENSE, CTX_MEDICAL, CTX_NEGATIVE, CTX_PASSPORT, CTX_PEM, CTX_SECRET,
  CTX_SECRET_WORD, PII_CONTEXT_WORDS,
} from "./context.js";
import { classifyRun, NumberRun, type NumberContext } from "./numbers.js";
import {
  ASSIGNED_SECRET, PEM_FOOTER, PEM_HEADER, plausibleSecret, RULES_BY_PREFIX, RULES_BY_WORD, SLACK_WEBHOOK,
  type SecretRule,
} from "./secrets.js";
import type { BuiltinPiiType, CustomPiiPattern, PiiDetectorOptions, PiiMatch, PiiType } from "./types.js";
import { base58CheckValid, bech32Valid, ibanValid, ipv6Groups } from "./validators.js";

// Rebound locally: see lexer.ts on why hot code avoids imported bindings.
const STRIDE = lx.EVENT_STRIDE;
const EV_WORD = lx.EV_WORD;
const EV_NUM = lx.EV_NUM;
const EV_PREFIX = lx.EV_PREFIX;
const EV_IBAN = lx.EV_IBAN;
const EV_HEXSEP = lx.EV_HEXSEP;
const EV_AT = lx.EV_AT;

/** Words the PII analyser needs in the shared vocabulary. */
export const PII_VOCABULARY: readonly string[] = [...PII_CONTEXT_WORDS.keys()];

const CONTEXT_WINDOW = 48;
const NEGATIVE_WINDOW = 32;
const NEVER = -1_000_000;

/** After "passport", "driver's license", "MRN": the identifier that follows, skipping filler words. */
const ID_AFTER =
  /[\s:#.'’-]{0,10}(?:(?:number|numbers|no|num|nr|id|is|was|of|my|the|reads|card|s)(?![A-Za-z0-9])[\s:#.-]{0,10}){0,6}((?=[A-Z]{0,20}\d)[A-Z0-9]{1,20}(?![A-Z0-9])(?:[- ](?=[A-Z]{0,20}\d)[A-Z0-9]{1,20}(?![A-Z0-9])){0,3})/diy;

const MONTH = "(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]{0,6}\\.?";
/** After "born", "DOB", "birthday": a date written with a month name. */
const DOB_TEXT = new RegExp(
  `[\\s:,-]{0,6}(?:(?:is|was|on|of|date|the)\\s+){0,3}((?:${MONTH}\\s+\\d{1,2}(?:st|nd|rd|th)?,?\\s+\\d{4})|(?:\\d{1,2}(?:st|nd|rd|th)?\\s+(?:of\\s+)?${MONTH},?\\s+\\d{4}))`,
  "diy",
);

const MAC = /[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}(?![0-9A-Za-z:-])/y;
const ETH = /0x[0-9a-fA-F]{40}(?![0-9A-Za-z])/y;
const BTC_LEGACY = /[13][1-9A-HJ-NP-Za-km-z]{25,34}(?![0-9A-Za-z])/y;
const BTC_BECH32 = /bc1[02-9ac-hj-np-z]{11,71}(?![0-9A-Za-z])/y;
const URL_CREDENTIALS = /[a-z][a-z0-9+.-]{1,20}:\/\/[^\s:@\/]{1,64}:([^\s:@\/]{1,128})$/i;
const KEY_QUALIFIER = /(?:api|secret|access|private|client|auth|signing|encryption|master|subscription)[_\- ]?$/i;

/** RFC 2606/6761 names and the usual placeholders ("name@domain.tld", "you@yourcompany.com"). */
const RESERVED_EMAIL_DOMAIN = /(?:^|\.)(?:example\.(?:com|org|net)|example|test|invalid|localhost|local|tld|domain\.[a-z]+|your-?(?:domain|company|site)\.[a-z]+)$/i;

export interface PiiAnalyzer {
  analyze(lex: LexResult): PiiMatch[];
}

interface CompiledCustom {
  name: string;
  re: RegExp;
  confidence: number;
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
}
function isLocalPartChar(c: number): boolean {
  return isAlnum(c) || c === 0x2e || c === 0x5f || c === 0x25 || c === 0x2b || c === 0x2d;
}
function isDomainChar(c: number): boolean {
  return isAlnum(c) || c === 0x2e || c === 0x2d;
}

class Analyzer implements PiiAnalyzer, NumberContext {
  private readonly ctxMask: Uint32Array;
  private readonly lastCtx = new Float64Array(CTX_CLASS_COUNT);
  private readonly run = new NumberRun();
  private readonly allowed: ReadonlySet<string> | null;
  private readonly minConfidence: number;
  private readonly custom: CompiledCustom[];
  private readonly emitFn: (type: PiiType, start: number, end: number, confidence: number, subtype?: string) => void;
  // per-call state
  private text = "";
  private u: Uint16Array = new Uint16Array(0);
  private n = 0;
  private ev: Int32Array = new Int32Array(0);
  private evCount = 0;
  private e = 0;
  private out: PiiMatch[] | null = null;
  private lastRunEnd = -1;
  private nextFooter = -2; // -2: not searched yet; -1: none after `footerFrom`

  constructor(private readonly vocab: Vocabulary, options: PiiDetectorOptions) {
    this.ctxMask = new Uint32Array(Math.max(1, vocab.size));
    for (const [word, mask] of PII_CONTEXT_WORDS) {
      const id = vocab.id(word);
      if (id < 0) throw new Error(`PII context word '${word}' missing from the vocabulary`);
      this.ctxMask[id] |= mask;
    }
    this.allowed = options.types ? new Set<string>(options.types) : null;
    this.minConfidence = options.minConfidence ?? 0.5;
    this.custom = (options.custom ?? []).map(compileCustom);
    this.emitFn = (type, start, end, confidence, subtype) => this.emit(type, start, end, confidence, subtype);
  }

  analyze(lex: LexResult): PiiMatch[] {
    const ev = lex.events;
    const count = lex.eventCount;
    const ctxMask = this.ctxMask;
    this.text = lex.text;
    this.u = lex.units;
    this.n = lex.length;
    this.ev = ev;
    this.evCount = count;
    this.out = null;
    this.lastRunEnd = -1;
    this.nextFooter = -2;
    this.lastCtx.fill(NEVER);
    let skipUntil = 0;
    for (let e = 0; e < count; e++) {
      const o = e * STRIDE;
      const kind = ev[o];
      const start = ev[o + 1];
      const end = ev[o + 2];
      if (kind === EV_WORD) {
        let m = ctxMask[ev[o + 3]];
        if (m === 0) continue;
        const mask = m;
        for (let b = 0; m !== 0; b++, m >>>= 1) if (m & 1) this.lastCtx[b] = end;
        if (start < skipUntil) continue;
        this.e = e;
        if (mask & (CTX_PASSPORT | CTX_LICENSE | CTX_MEDICAL)) skipUntil = Math.max(skipUntil, this.idAfter(mask, end));
        if (mask & CTX_DOB) skipUntil = Math.max(skipUntil, this.textualDob(end));
        if (mask & CTX_SECRET) skipUntil = Math.max(skipUntil, this.assignedSecret(start, end));
        if (mask & CTX_PEM) skipUntil = Math.max(skipUntil, this.privateKey(start));
        if (mask & CTX_HOOKS) skipUntil = Math.max(skipUntil, this.slackWebhook(start));
        if (mask & CTX_SECRET_WORD) skipUntil = Math.max(skipUntil, this.secretAt(RULES_BY_WORD.get(this.text.slice(start, end)), start));
        continue;
      }
      if (start < skipUntil) continue;
      this.e = e;
      let until = 0;
      if (kind === EV_NUM) until = this.number(start, end, ev[o + 3] === 1);
      else if (kind === EV_PREFIX) until = this.prefixed(start);
      else if (kind === EV_IBAN) until = this.iban(start);
      else if (kind === EV_HEXSEP) until = this.hexSeparated(start);
      else if (kind === EV_AT) until = this.email(start);
      if (until > skipUntil) skipUntil = until;
    }
    for (const c of this.custom) this.scanCustom(c);
    const out = this.out as PiiMatch[] | null;
    if (out === null) return [];
    return this.custom.length > 0 || out.length > 1 ? resolveOverlaps(out) : out;
  }

  // ---- NumberContext ----
  near(cls: number, pos: number, window = CONTEXT_WINDOW): boolean {
    const at = this.lastCtx[31 - Math.clz32(cls)];
    return pos >= at && pos - at <= window;
  }

  nearest(classes: number, pos: number): number {
    let best = 0;
    let bestAt = NEVER;
    for (let b = 0, m = classes; m !== 0; b++, m >>>= 1) {
      if ((m & 1) === 0) continue;
      const at = this.lastCtx[b];
      if (at > bestAt && pos >= at && pos - at <= CONTEXT_WINDOW) {
        bestAt = at;
        best = 1 << b;
      }
    }
    return best;
  }

  negative(pos: number, end: number, positive: number): boolean {
    const at = this.lastCtx[31 - Math.clz32(CTX_NEGATIVE)];
    if (positive !== 0 && this.lastCtx[31 - Math.clz32(positive)] > at) return false;
    if (at > this.lastRunEnd && pos >= at && pos - at <= NEGATIVE_WINDOW) return true;
    if (positive !== 0) return false;
    // "425-46-1469 as the batch code": the naming word may follow the number.
    const ev = this.ev;
    for (let e = this.e + 1; e < this.evCount; e++) {
      const o = e * STRIDE;
      if (ev[o + 1] > end + 24) return false;
      if (ev[o] === EV_WORD && (this.ctxMask[ev[o + 3]] & CTX_NEGATIVE) !== 0) return true;
    }
    return false;
  }

  dobAfter(pos: number): boolean {
    const ev = this.ev;
    for (let e = this.e + 1; e < this.evCount; e++) {
      const o = e * STRIDE;
      if (ev[o + 1] > pos + 30) return false;
      if (ev[o] === EV_WORD && (this.ctxMask[ev[o + 3]] & CTX_DOB) !== 0) return true;
    }
    return false;
  }

  // ---- emit ----
  private emit(type: PiiType, start: number, end: number, confidence: number, subtype?: string): void {
    if (confidence < this.minConfidence) return;
    if (this.allowed !== null && type !== "custom" && !this.allowed.has(type)) return;
    const m: PiiMatch = { type, start, end, text: this.text.slice(start, end), confidence: Math.round(confidence * 100) / 100 };
    if (subtype !== undefined) m.subtype = subtype;
    (this.out ??= []).push(m);
  }

  // ---- checkers; each returns the offset up to which later events are already accounted for ----
  private number(start: number, tokenEnd: number, glued: boolean): number {
    const u = this.u;
    if (tokenEnd - start <= 4 && tokenEnd < this.n && (u[tokenEnd] === 0x3a || u[tokenEnd] === 0x2d)) {
      const hex = this.hexSeparated(start);
      if (hex > 0) return hex;
    }
    if (glued) return this.crypto(start);
    const run = this.run;
    run.parse(u, this.n, start);
    classifyRun(this.text, run, this, this.emitFn);
    this.lastRunEnd = run.end;
    return run.end;
  }

  private crypto(start: number): number {
    const t = this.text;
    if (t.charCodeAt(start) === 0x30 && (t.charCodeAt(start + 1) | 0x20) === 0x78) {
      ETH.lastIndex = start;
      const m = ETH.exec(t);
      if (m) {
        this.emit("ethereum_address", start, start + m[0].length, 0.85);
        return start + m[0].length;
      }
    }
    const c = t.charCodeAt(start);
    if (c === 0x31 || c === 0x33) {
      BTC_LEGACY.lastIndex = start;
      const m = BTC_LEGACY.exec(t);
      if (m && base58CheckValid(m[0])) {
        this.emit("bitcoin_address", start, start + m[0].length, 0.95);
        return start + m[0].length;
      }
    }
    return 0;
  }

  private prefixed(start: number): number {
    const t = this.text;
    const key = t.slice(start, start + 2);
    if (key === "bc") {
      BTC_BECH32.lastIndex = start;
      const m = BTC_BECH32.exec(t);
      if (m && bech32Valid(m[0])) {
        this.emit("bitcoin_address", start, start + m[0].length, 0.95);
        return start + m[0].length;
      }
      return 0;
    }
    return this.secretAt(RULES_BY_PREFIX.get(key), start);
  }

  private secretAt(rules: readonly SecretRule[] | undefined, start: number): number {
    if (!rules) return 0;
    const t = this.text;
    for (const r of rules) {
      const end = matchSecret(r, t, start);
      if (end > 0) {
        this.emit(r.type, start, end, placeholderKey(t.slice(start, end)) ? 0.3 : r.confidence, r.subtype);
        return end;
      }
    }
    // No key here. Inside a key-alphabet run longer than any key, no later anchor can start one either:
    // skip the whole run, so "sk-sk-sk-…" costs one scan instead of one regex per "sk".
    const u = this.u;
    let p = start;
    while (p < this.n && (isAlnum(u[p]) || u[p] === 0x2d || u[p] === 0x5f)) p++;
    return p - start > 300 ? p : 0;
  }

  private iban(start: number): number {
    const u = this.u;
    const n = this.n;
    // Collect up to 34 alphanumerics, allowing single spaces/dashes between groups (printed form).
    let compact = "";
    let p = start;
    const ends: number[] = [];
    while (p < n && compact.length < 34) {
      const c = u[p];
      if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a)) {
        compact += String.fromCharCode(c);
        p++;
        ends.push(p);
      } else if ((c === 0x20 || c === 0x2d) && p + 1 < n && ((u[p + 1] >= 0x30 && u[p + 1] <= 0x39) || (u[p + 1] >= 0x41 && u[p + 1] <= 0x5a))) {
        p++;
      } else break;
    }
    // Try the longest valid prefix first: trailing words in capitals may have been swept in.
    for (let len = compact.length; len >= 15; len--) {
      if (ibanValid(compact.slice(0, len))) {
        const stop = ends[len - 1];
        if (stop < n && isAlnum(u[stop])) continue;
        this.emit("iban", start, stop, 0.95);
        return stop;
      }
    }
    return 0;
  }

  private hexSeparated(start: number): number {
    const t = this.text;
    MAC.lastIndex = start;
    const mac = MAC.exec(t);
    if (mac) {
      const end = start + mac[0].length;
      this.emit("mac_address", start, end, 0.8);
      return end;
    }
    // IPv6: hex groups with ':' (and a dotted IPv4 tail)
    const u = this.u;
    let p = start;
    let colons = 0;
    while (p < this.n && p - start < 45) {
      const c = u[p];
      if (c === 0x3a) colons++;
      else if (!((c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66) || c === 0x2e)) break;
      p++;
    }
    if (colons < 2) return 0;
    // From here on the run is hex and colons: whatever it is, later events inside it need no second
    // look, so failures return the run's end too (keeps "ab:ab:ab:…" linear).
    const runEnd = p;
    let end = p;
    while (end > start && (u[end - 1] === 0x2e || (u[end - 1] === 0x3a && u[end - 2] !== 0x3a))) end--;
    if (end < this.n && (isAlnum(u[end]) || u[end] === 0x5f)) return runEnd;
    const s = t.slice(start, end);
    const groups = ipv6Groups(s);
    if (groups < 0) return runEnd;
    const compressed = s.includes("::");
    if (!compressed && groups !== 8) return runEnd;
    if (compressed && (groups < 2 || s.length < 6)) return runEnd;
    const lower = s.toLowerCase();
    const conf = lower.startsWith("2001:db8") ? 0.4 : lower.startsWith("fe80") || lower.startsWith("fc") || lower.startsWith("fd") ? 0.6 : 0.85;
    this.emit("ipv6", start, end, conf);
    return end;
  }

  private email(at: number): number {
    const u = this.u;
    const n = this.n;
    // "scheme://user:password@host": the password is the secret, and this is no mailbox. (Only worth a
    // regex when a ':' sits right before the would-be local part.)
    let lp = at;
    while (lp > 0 && at - lp < 130 && isLocalPartChar(u[lp - 1])) lp--;
    const cred = lp > 0 && u[lp - 1] === 0x3a ? URL_CREDENTIALS.exec(this.text.slice(Math.max(0, at - 200), at)) : null;
    if (cred) {
      const pw = cred[1];
      if (plausibleSecret(pw) || pw.length >= 8) this.emit("secret", at - pw.length, at, 0.85, "url_credentials");
      let b = at + 1;
      while (b < n && isDomainChar(u[b])) b++;
      return b;
    }
    let a = at;
    while (a > 0 && at - a < 64 && isLocalPartChar(u[a - 1])) a--;
    while (a < at && (u[a] === 0x2e || u[a] === 0x2d)) a++;
    if (a === at || (a > 0 && isLocalPartChar(u[a - 1]) && at - a >= 64)) return 0;
    let b = at + 1;
    let lastDot = -1;
    while (b < n && b - at <= 253 && isDomainChar(u[b])) {
      if (u[b] === 0x2e) {
        if (u[b - 1] === 0x2e || b === at + 1) return 0;
        lastDot = b;
      }
      b++;
    }
    while (b > at + 1 && (u[b - 1] === 0x2e || u[b - 1] === 0x2d)) b--;
    if (lastDot >= b - 1) {
      lastDot = -1;
      for (let i = b - 1; i > at; i--) if (u[i] === 0x2e) {
        lastDot = i;
        break;
      }
    }
    if (lastDot < 0) return 0;
    const tldLen = b - lastDot - 1;
    if (tldLen < 2 || tldLen > 24) return 0;
    for (let i = lastDot + 1; i < b; i++) if (!((u[i] | 0x20) >= 0x61 && (u[i] | 0x20) <= 0x7a)) return 0;
    const domain = this.text.slice(at + 1, b);
    let conf = 0.95;
    if (RESERVED_EMAIL_DOMAIN.test(domain)) conf = 0.3;
    // git@github.com:owner/repo is an SSH remote, not a mailbox
    else if (b < n && u[b] === 0x3a && this.text.slice(a, at) === "git") conf = 0.3;
    this.emit("email", a, b, conf);
    return b;
  }

  private idAfter(mask: number, end: number): number {
    ID_AFTER.lastIndex = end;
    const m = ID_AFTER.exec(this.text);
    if (!m || !m.indices) return 0;
    const [s, e] = m.indices[1];
    const id = m[1];
    const compact = id.replace(/[- ]/g, "");
    const digits = compact.replace(/\D/g, "").length;
    let type: BuiltinPiiType | null = null;
    // The nearest of the three words decides; "driver's license" beats an earlier "passport".
    const at = (cls: number) => this.lastCtx[31 - Math.clz32(cls)];
    const which = [CTX_PASSPORT, CTX_LICENSE, CTX_MEDICAL].filter((c) => mask & c).sort((x, y) => at(y) - at(x))[0];
    if (which === CTX_PASSPORT && compact.length >= 6 && compact.length <= 10 && digits >= 2 && !/[- ]/.test(id)) type = "passport";
    else if (which === CTX_LICENSE && compact.length >= 5 && compact.length <= 16 && digits >= 3) type = "drivers_license";
    else if (which === CTX_MEDICAL && compact.length >= 5 && compact.length <= 12 && digits >= 4) type = "medical_record";
    if (type === null) return 0;
    this.emit(type, s, e, 0.8);
    return e;
  }

  private textualDob(end: number): number {
    DOB_TEXT.lastIndex = end;
    const m = DOB_TEXT.exec(this.text);
    if (!m || !m.indices) return 0;
    const [s, e] = m.indices[1];
    this.emit("date_of_birth", s, e, 0.85);
    return e;
  }

  private assignedSecret(start: number, end: number): number {
    const t = this.text;
    const word = t.slice(start, end).toLowerCase();
    if (word === "key" && !KEY_QUALIFIER.test(t.slice(Math.max(0, start - 16), start))) return 0;
    ASSIGNED_SECRET.lastIndex = end;
    const m = ASSIGNED_SECRET.exec(t);
    if (!m) return 0;
    const value = m[1];
    if (!plausibleSecret(value)) return 0;
    const vEnd = ASSIGNED_SECRET.lastIndex;
    const vStart = vEnd - value.length;
    // A value of a known format ("OPENAI_API_KEY=sk-proj-…") is reported as that format.
    const known = this.secretAt(RULES_BY_PREFIX.get(value.slice(0, 2)), vStart) || this.secretAt(RULES_BY_WORD.get(/^[a-z]+/.exec(value)?.[0] ?? ""), vStart);
    if (known > 0) return known;
    this.emit("secret", vStart, vEnd, /\d/.test(value) && /[A-Za-z]/.test(value) ? 0.8 : 0.7, word);
    return vEnd;
  }

  private privateKey(wordStart: number): number {
    if (wordStart < 5) return 0;
    const t = this.text;
    PEM_HEADER.lastIndex = wordStart - 5;
    const h = PEM_HEADER.exec(t);
    if (!h) return 0;
    const headerEnd = wordStart - 5 + h[0].length;
    // Find the footer once and reuse it for later headers: total work stays linear in the text.
    if (this.nextFooter === -2 || (this.nextFooter >= 0 && this.nextFooter < headerEnd)) {
      PEM_FOOTER.lastIndex = headerEnd;
      const f = PEM_FOOTER.exec(t);
      this.nextFooter = f ? f.index : -1;
    }
    let end = headerEnd;
    if (this.nextFooter >= 0) {
      PEM_FOOTER.lastIndex = this.nextFooter;
      const f = PEM_FOOTER.exec(t);
      if (f) end = f.index + f[0].length;
    }
    this.emit("private_key", wordStart - 5, end, 0.99, "pem");
    return end;
  }

  private slackWebhook(wordStart: number): number {
    const t = this.text;
    SLACK_WEBHOOK.lastIndex = wordStart;
    const m = SLACK_WEBHOOK.exec(t);
    if (!m) return 0;
    const start = t.startsWith("https://", wordStart - 8) ? wordStart - 8 : wordStart;
    const end = wordStart + m[0].length;
    this.emit("api_key", start, end, 0.95, "slack_webhook");
    return end;
  }

  private scanCustom(c: CompiledCustom): void {
    const re = c.re;
    re.lastIndex = 0;
    for (let m = re.exec(this.text); m !== null; m = re.exec(this.text)) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      if (c.confidence >= this.minConfidence) {
        (this.out ??= []).push({
          type: "custom", subtype: c.name, start: m.index, end: m.index + m[0].length, text: m[0], confidence: c.confidence,
        });
      }
    }
  }
}

/**
 * Documentation keys ("AKIAIOSFODNN7EXAMPLE") and fill-in-the-blanks ("ghp_xxxx…", "sk_test_XXXX…"):
 * the right shape, but nobody's secret.
 */
function placeholderKey(key: string): boolean {
  if (/EXAMPLE|example|YOUR|your_?key|xxxxxx|XXXXXX|000000|123456789/.test(key)) return true;
  const body = key.slice(Math.min(8, key.length >> 1));
  return new Set(body).size <= 4;
}

function matchSecret(rule: SecretRule, text: string, start: number): number {
  rule.re.lastIndex = start;
  const m = rule.re.exec(text);
  if (!m) return 0;
  if (rule.validate && !rule.validate(m[0])) return 0;
  return start + m[0].length;
}

function compileCustom(p: CustomPiiPattern): CompiledCustom {
  const source = typeof p.regex === "string" ? p.regex : p.regex.source;
  let flags = typeof p.regex === "string" ? "" : p.regex.flags.replace(/[gy]/g, "");
  if (p.caseInsensitive && !flags.includes("i")) flags += "i";
  return { name: p.name, re: new RegExp(source, flags + "g"), confidence: p.confidence ?? 0.8 };
}

/** Sort by start; where matches overlap keep the more confident (then the longer) one. */
export function resolveOverlaps(matches: PiiMatch[]): PiiMatch[] {
  matches.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: PiiMatch[] = [];
  for (const m of matches) {
    const last = out[out.length - 1];
    if (last && m.start < last.end) {
      const better = m.confidence > last.confidence || (m.confidence === last.confidence && m.end - m.start > last.end - last.start);
      if (better) out[out.length - 1] = m;
      continue;
    }
    out.push(m);
  }
  return out;
}

export function createPiiAnalyzer(vocab: Vocabulary, options: PiiDetectorOptions = {}): PiiAnalyzer {
  return new Analyzer(vocab, options);
}
