import { describe, expect, it } from "vitest";
import { LmxError } from "../../src/errors.js";
import { createPiiDetector } from "../../src/reflex/pii/detector.js";
import { partialMask, redact } from "../../src/reflex/pii/redact.js";
import { createTokenVault } from "../../src/reflex/pii/vault.js";

const detector = createPiiDetector();
const text = "Mail jane.roe@fastmail.com, SSN 536-22-1234, card 4539 1488 0343 6467, again jane.roe@fastmail.com.";
const matches = detector.detect(text);

describe("redaction", () => {
  it("mask replaces values with their type", () => {
    expect(redact(text, matches, { mode: "mask" }).text).toBe(
      "Mail [EMAIL], SSN [SSN], card [CREDIT_CARD], again [EMAIL].",
    );
  });

  it("partial keeps the last four letters or digits and the punctuation", () => {
    expect(redact(text, matches, { mode: "partial" }).text).toBe(
      "Mail ****.***@*******l.com, SSN ***-**-1234, card **** **** **** 6467, again ****.***@*******l.com.",
    );
    expect(partialMask("AB-12", 2, "#")).toBe("##-12");
  });

  it("hash is salted and deterministic", () => {
    const a = redact(text, matches, { mode: "hash", salt: "s1" }).text;
    const b = redact(text, matches, { mode: "hash", salt: "s1" }).text;
    const c = redact(text, matches, { mode: "hash", salt: "s2" }).text;
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(a).toMatch(/^Mail \[EMAIL:[0-9a-f]{16}\], SSN \[SSN:[0-9a-f]{16}\]/);
    // Same value, same hash: records stay joinable.
    const hashes = a.match(/\[EMAIL:[0-9a-f]{16}\]/g);
    expect(hashes?.[0]).toBe(hashes?.[1]);
    expect(() => redact(text, matches, { mode: "hash" })).toThrow(LmxError);
  });

  it("remove deletes values", () => {
    expect(redact(text, matches, { mode: "remove" }).text).toBe("Mail , SSN , card , again .");
  });

  it("reversible tokens round-trip through a model response", () => {
    const vault = createTokenVault();
    const out = redact(text, matches, { mode: "token", vault });
    expect(out.text).toBe("Mail [EMAIL_1], SSN [SSN_1], card [CREDIT_CARD_1], again [EMAIL_1].");
    expect(out.redacted).toBe(4);
    expect(out.text).not.toContain("jane");
    const modelAnswer = "I emailed [EMAIL_1] about the card [CREDIT_CARD_1]. [PHONE_9] is not ours.";
    expect(vault.restore(modelAnswer)).toBe(
      "I emailed jane.roe@fastmail.com about the card 4539 1488 0343 6467. [PHONE_9] is not ours.",
    );
    expect(vault.restore(out.text)).toBe(text);
  });

  it("restores tokens split across streamed chunks", () => {
    const vault = createTokenVault();
    const token = vault.tokenFor("EMAIL", "a@b.io");
    const restorer = vault.createRestorer();
    const chunks = ["Write to [EM", "AIL_", "1] today", ", or [x] later"];
    const out = chunks.map((c) => restorer.push(c)).join("") + restorer.flush();
    expect(token).toBe("[EMAIL_1]");
    expect(out).toBe("Write to a@b.io today, or [x] later");
  });

  it("one vault per request: tokens do not leak across vaults", () => {
    const v1 = createTokenVault();
    const v2 = createTokenVault();
    v1.tokenFor("EMAIL", "a@b.io");
    expect(v2.restore("[EMAIL_1]")).toBe("[EMAIL_1]");
    expect(v1.size).toBe(1);
    expect(v1.entries()).toEqual([{ token: "[EMAIL_1]", label: "EMAIL", value: "a@b.io" }]);
  });

  it("skips overlapping or stale matches rather than corrupting text", () => {
    const m = matches[0];
    const out = redact(text, [m, { ...m, start: m.start + 2 }, { ...m, start: 500, end: 510 }], { mode: "mask" });
    expect(out.redacted).toBe(1);
  });
});
