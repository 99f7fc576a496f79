/**
 * No catastrophic backtracking, no quadratic blow-up: hostile inputs of 100 KB must screen within
 * 50 ms (per 100 KB; 1 MB inputs get ten times that). The limits are generous for a shared 2-vCPU
 * machine but real: a super-linear path would blow through them by orders of magnitude.
 */
import { describe, expect, it } from "vitest";
import { createScreener } from "../../src/reflex/screen.js";

const KB100 = 100 * 1024;
const fill = (unit: string, size: number) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);

const INPUTS: Record<string, string> = {
  digits: fill("1", KB100),
  "digit-dash": fill("1-", KB100),
  "digit-space": fill("1 ", KB100),
  "digit-dot": fill("1.", KB100),
  "phone-like": fill("(555) 555-", KB100),
  "card-groups": fill("4111 ", KB100),
  "ssn-ish": fill("123-45-", KB100),
  "ip-ish": fill("255.255.", KB100),
  "hex-colons": fill("ab:", KB100),
  "at-signs": fill("a@", KB100),
  "email-local": fill("a.", KB100) + "@",
  "email-domain": "x@" + fill("a.", KB100),
  "nested-quotes": fill("\"'`", KB100),
  "quote-words": fill("\"ignore ", KB100),
  base64ish: fill("QUJDRGVmZ2hpams0NTY3", KB100),
  "base64-plus": fill("Ab+/", KB100),
  "percent-escapes": fill("%41", KB100),
  "percent-broken": fill("%4", KB100),
  braces: fill("{{", KB100),
  "dollar-braces": fill("${", KB100),
  "angle-pipes": fill("<|", KB100),
  "attack-repeated": fill("ignore all previous instructions ", KB100),
  "trigger-words": fill("ignore previous system prompt reveal your ", KB100),
  "ignore-only": fill("ignore ", KB100),
  "leet-soup": fill("1gn0r3 ", KB100),
  "zero-width": fill("a\u200b", KB100),
  homoglyphs: fill("іgnоrе ", KB100),
  "math-letters": fill("𝐢𝐠𝐧", KB100),
  "tag-chars": fill("\udb40\udc41", KB100),
  "pem-headers": fill("-----BEGIN RSA PRIVATE KEY-----\n", KB100),
  "key-value": fill("password: ", KB100),
  "passport-ctx": fill("passport number ", KB100),
  "dob-ctx": fill("born on ", KB100),
  "sk-prefix": fill("sk-", KB100),
  "long-word": fill("a", KB100),
  "cjk": fill("忽略之前的", KB100),
  "sql-quotes": fill("' or ", KB100),
  "url-query": "https://x.example/?" + fill("a=b&", KB100),
  newlines: fill("\n", KB100),
  "mixed-noise": fill("aB3$%^&*()_+=-[]{};:'\",.<>/?\\|`~ \n\t", KB100),
};

describe("adversarial inputs stay linear", () => {
  const screener = createScreener({ cache: false });
  // Warm the JIT so that the first measured call is not dominated by compilation.
  for (let i = 0; i < 30; i++) screener.screen(fill("Hello 415-555-0132, ignore previous instructions. ", 2000));

  for (const [name, text] of Object.entries(INPUTS)) {
    it(`${name} (100 KB) within 50 ms`, () => {
      // Compile the code paths this shape exercises on a small sample first: the limit is about
      // algorithmic cost (a quadratic path takes seconds here), not first-call JIT compilation.
      for (let i = 0; i < 30; i++) screener.screen(text.slice(0, 8192));
      // Best of five: a descheduled or not-yet-optimised run is noise, a super-linear path is not.
      let best = Infinity;
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        screener.screen(text);
        times.push(performance.now() - t);
        best = Math.min(best, times[i]);
      }
      if (process.env.REFLEX_TIMES) console.log(name, times.map((x) => x.toFixed(1)).join(" "));
      expect(best, `${name} took ${best.toFixed(1)} ms`).toBeLessThan(50);
    });
  }

  it("1 MB of a single character within 500 ms", () => {
    const text = "x".repeat(1024 * 1024);
    screener.screen(text.slice(0, 4096));
    let best = Infinity;
    for (let i = 0; i < 2; i++) {
      const t = performance.now();
      screener.screen(text);
      best = Math.min(best, performance.now() - t);
    }
    expect(best).toBeLessThan(500);
  });

  it("1 MB of digits and separators within 500 ms", () => {
    const text = fill("12-34 56.78/", 1024 * 1024);
    for (let i = 0; i < 5; i++) screener.screen(text.slice(0, 4096));
    const t = performance.now();
    screener.screen(text);
    expect(performance.now() - t).toBeLessThan(500);
  });
});
