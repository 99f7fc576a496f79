// The judge's checks that need no model: the JSON Schema validator (checked against ajv on the same
// cases) and the quality checks.
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { qualityIssues } from "../../src/octo/arms/judge.js";
import { validateJson } from "../../src/octo/json-validate.js";

const cases: Array<{ schema: Record<string, unknown>; valid: unknown[]; invalid: unknown[] }> = [
  { schema: { type: "string", minLength: 2, maxLength: 3, pattern: "^a" }, valid: ["ab", "abc"], invalid: ["a", "abcd", "bc", 3] },
  { schema: { type: "integer", minimum: 1, exclusiveMaximum: 5, multipleOf: 2 }, valid: [2, 4], invalid: [0, 5, 6, 3, 2.5, "2"] },
  { schema: { type: ["string", "null"] }, valid: ["x", null], invalid: [1, {}] },
  { schema: { enum: ["a", 1, null] }, valid: ["a", 1, null], invalid: ["b", 2] },
  { schema: { const: { a: [1, 2] } }, valid: [{ a: [1, 2] }], invalid: [{ a: [2, 1] }] },
  {
    schema: { type: "object", properties: { a: { type: "string" }, b: { type: "array", items: { type: "number" }, minItems: 1, maxItems: 2 } }, required: ["a"], additionalProperties: false },
    valid: [{ a: "x" }, { a: "x", b: [1] }],
    invalid: [{}, { a: 1 }, { a: "x", c: 1 }, { a: "x", b: [] }, { a: "x", b: [1, 2, 3] }, { a: "x", b: ["1"] }],
  },
  { schema: { type: "array", prefixItems: [{ type: "string" }, { type: "number" }], items: { type: "boolean" } }, valid: [["a", 1], ["a", 1, true]], invalid: [[1, 1], ["a", 1, "x"]] },
  { schema: { anyOf: [{ type: "string" }, { type: "number" }] }, valid: ["a", 1], invalid: [null] },
  { schema: { oneOf: [{ type: "number" }, { type: "integer" }] }, valid: [1.5], invalid: [1, "a"] },
  { schema: { allOf: [{ type: "number" }, { minimum: 2 }] }, valid: [3], invalid: [1] },
  { schema: { not: { type: "string" } }, valid: [1], invalid: ["a"] },
  { schema: { $defs: { pos: { type: "number", minimum: 0 } }, type: "array", items: { $ref: "#/$defs/pos" }, uniqueItems: true }, valid: [[1, 2]], invalid: [[-1], [1, 1]] },
  { schema: { type: "object", additionalProperties: { type: "number" }, minProperties: 1 }, valid: [{ a: 1 }], invalid: [{}, { a: "x" }] },
];

describe("validateJson", () => {
  const ajv = new Ajv2020({ strict: false });
  for (const [i, { schema, valid, invalid }] of cases.entries()) {
    it(`case ${i + 1}: ${JSON.stringify(schema).slice(0, 60)}`, () => {
      const check = ajv.compile(schema);
      for (const value of valid) {
        expect(check(value), `ajv: ${JSON.stringify(value)}`).toBe(true);
        expect(validateJson(value, schema), JSON.stringify(value)).toEqual([]);
      }
      for (const value of invalid) {
        expect(check(value), `ajv: ${JSON.stringify(value)}`).toBe(false);
        expect(validateJson(value, schema).length, JSON.stringify(value)).toBeGreaterThan(0);
      }
    });
  }

  it("names the path of each problem", () => {
    expect(validateJson({ steps: [{ id: 1 }] }, { type: "object", properties: { steps: { type: "array", items: { type: "object", properties: { id: { type: "string" } }, required: ["id", "arm"] } } } })).toEqual([
      { path: "/steps/0/arm", message: "is required" },
      { path: "/steps/0/id", message: "expected string, got number" },
    ]);
  });
});

describe("quality checks", () => {
  it("flags empty, cut-off and repetitive outputs and the arm's own problems", () => {
    expect(qualityIssues("", false, []).map((i) => i.message)).toEqual(["The output is empty."]);
    expect(qualityIssues("text", true, ["The check failed."]).map((i) => i.severity)).toEqual(["error", "error"]);
    const repeated = qualityIssues(Array(8).fill("same line").join("\n"), false, []);
    expect(repeated).toEqual([expect.objectContaining({ severity: "warning", kind: "quality" })]);
    expect(qualityIssues("A fine answer.", false, [])).toEqual([]);
  });
});
