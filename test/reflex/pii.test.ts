import { describe, expect, it } from "vitest";
import { createPiiDetector } from "../../src/reflex/pii/detector.js";

const detector = createPiiDetector();
const types = (text: string) => detector.detect(text).map((m) => [m.type, m.text]);

describe("PII detection", () => {
  it("finds each built-in type", () => {
    expect(types("mail jane.roe@fastmail.com")).toEqual([["email", "jane.roe@fastmail.com"]]);
    expect(types("call (415) 555-2671")).toEqual([["phone", "(415) 555-2671"]]);
    expect(types("or +44 20 7946 0958")).toEqual([["phone", "+44 20 7946 0958"]]);
    expect(types("card 4539 1488 0343 6467")).toEqual([["credit_card", "4539 1488 0343 6467"]]);
    expect(types("SSN 536-22-1234")).toEqual([["ssn", "536-22-1234"]]);
    expect(types("ITIN 912-70-1234")).toEqual([["itin", "912-70-1234"]]);
    expect(types("IBAN DE89 3704 0044 0532 0130 00")).toEqual([["iban", "DE89 3704 0044 0532 0130 00"]]);
    expect(types("routing number 021000021, account number 1234567890")).toEqual([
      ["routing_number", "021000021"], ["bank_account", "1234567890"],
    ]);
    expect(types("from 93.184.216.34")).toEqual([["ipv4", "93.184.216.34"]]);
    expect(types("from 2a03:2880:f12f:83:face:b00c::25de")).toEqual([["ipv6", "2a03:2880:f12f:83:face:b00c::25de"]]);
    expect(types("mac 00:1A:2B:3C:4D:5E")).toEqual([["mac_address", "00:1A:2B:3C:4D:5E"]]);
    expect(types("DOB: 03/14/1985")).toEqual([["date_of_birth", "03/14/1985"]]);
    expect(types("born March 14, 1985")).toEqual([["date_of_birth", "March 14, 1985"]]);
    expect(types("passport number X12345678")).toEqual([["passport", "X12345678"]]);
    expect(types("driver's license D1234567")).toEqual([["drivers_license", "D1234567"]]);
    expect(types("MRN: 00482913")).toEqual([["medical_record", "00482913"]]);
    expect(types("btc 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")).toEqual([["bitcoin_address", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"]]);
    expect(types("eth 0x742d35Cc6634C0532925a3b844Bc454e4438f44e")).toEqual([["ethereum_address", "0x742d35Cc6634C0532925a3b844Bc454e4438f44e"]]);
  });

  it("finds secrets by prefix and labels the provider", () => {
    const found = detector.detect(
      "AKIAZ7QHK2LMNB3XW4PQ ghp_4fR9qLm2ZxT8vB1nK7cW3yH6pD0sJ5aE2uI9 sk_live_4eC39HqLyjWDarjtT1zdp7dc xoxb-1234-5678-abcdefghijkl",
    );
    expect(found.map((m) => m.subtype)).toEqual(["aws_access_key", "github_token", "stripe_key", "slack_token"]);
    expect(found.every((m) => m.type === "api_key")).toBe(true);
    const pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----";
    expect(types(`key:\n${pem}\nthanks`)).toEqual([["private_key", pem]]);
    expect(types("password: Hunter2!xyz")).toEqual([["secret", "Hunter2!xyz"]]);
  });

  it("gives higher confidence when context or checksums agree", () => {
    const plain = detector.detect("ref 536-22-1234")[0];
    const withCtx = detector.detect("SSN 536-22-1234")[0];
    expect(withCtx.confidence).toBeGreaterThan(plain?.confidence ?? 0);
    // A Luhn-failing card-shaped number is not a card at all.
    expect(types("4539 1488 0343 6468")).toEqual([]);
  });

  it("does not report numbers that are not personal data", () => {
    for (const t of [
      "Order #4829103847 shipped on 2024-03-15 for $1,234.56",
      "upgrade from 2.3.1 to 10.0.19045.3803",
      "call extension 4521",
      "SSN 666-12-3456 is never issued",
      "meeting on 03/14/2025 at 10:30",
      "send an email to the address on file",
      "docs: user@example.com",
      "AKIAIOSFODNN7EXAMPLE is the AWS documentation key",
    ]) expect(types(t), t).toEqual([]);
  });

  it("reports offsets in UTF-16 code units", () => {
    const text = "😀 ünïcödé — mail: zoë@exämple-mail.de? no: zoe@mail.de";
    const [m] = detector.detect(text);
    expect(m.text).toBe("zoe@mail.de");
    expect(text.slice(m.start, m.end)).toBe(m.text);
    expect(m.start).toBe(text.indexOf("zoe@mail.de"));
  });

  it("applies options: types, minConfidence, custom patterns", () => {
    const only = createPiiDetector({ types: ["email"] });
    expect(only.detect("a@b.io and 536-22-1234").map((m) => m.type)).toEqual(["email"]);
    const strict = createPiiDetector({ minConfidence: 0.9 });
    expect(strict.detect("ref 536-22-1234")).toEqual([]);
    const custom = createPiiDetector({ custom: [{ name: "employee_id", regex: "EMP-\\d{6}", confidence: 0.9 }] });
    expect(custom.detect("badge EMP-004211 expired")).toEqual([
      { type: "custom", subtype: "employee_id", start: 6, end: 16, text: "EMP-004211", confidence: 0.9 },
    ]);
  });

  it("handles empty and whitespace-only input", () => {
    expect(detector.detect("")).toEqual([]);
    expect(detector.detect("   \n\t ")).toEqual([]);
  });
});
