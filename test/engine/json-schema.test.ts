import { Ajv } from "ajv";
import { getLlama } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import { LmxError } from "../../src/errors.js";
import { toGrammarSchema } from "../../src/engine/chat/json-schema.js";
import { adaptJsonGrammar } from "../../src/engine/chat/tools.js";

describe("JSON Schema → grammar schema", () => {
  it("translates what node-llama-cpp would get wrong", () => {
    expect(toGrammarSchema({ anyOf: [{ type: "string" }, { type: "null" }] }, "p")).toEqual({ oneOf: [{ type: "string" }, { type: "null" }] });
    expect(toGrammarSchema({ type: "string", format: "email", pattern: ".+@.+" }, "p")).toEqual({ type: "string" });
    expect(toGrammarSchema({ type: "string", format: "date" }, "p")).toEqual({ type: "string", format: "date" });
    expect(toGrammarSchema({ type: "integer", nullable: true }, "p")).toEqual({ oneOf: [{ type: "integer" }, { type: "null" }] });
    expect(toGrammarSchema({ type: "object" }, "p")).toEqual({ type: "object", properties: {}, additionalProperties: true });
    expect(toGrammarSchema({ properties: { a: { type: "boolean" } } }, "p")).toMatchObject({ type: "object", additionalProperties: false });
    expect(toGrammarSchema({}, "p")).toHaveProperty("oneOf");
    expect(toGrammarSchema({ $ref: "#/definitions/A", definitions: { A: { type: "number" } } }, "p")).toEqual({
      oneOf: [{ $ref: "#/$defs/A" }],
      $defs: { A: { type: "number" } },
    });
  });

  it("refuses malformed schemas with a 400 naming the parameter", () => {
    for (const bad of [{ type: "wat" }, { type: [] }, { enum: [] }, { allOf: [{}, {}] }, { $ref: "http://x/y" }, "string"]) {
      let error: unknown;
      try {
        toGrammarSchema(bad, "response_format.json_schema.schema");
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(LmxError);
      expect((error as LmxError).status).toBe(400);
      expect((error as LmxError).param).toBe("response_format.json_schema.schema");
    }
  });

  it("adapts node-llama-cpp's grammar text: no trailing newlines, integers without exponents", async () => {
    const llama = await getLlama({ gpu: false, maxThreads: 1, logLevel: "error" as never });
    const grammar = await llama.createGrammarForJsonSchema({ type: "object", properties: { n: { type: "integer" } } });
    const adapted = adaptJsonGrammar(grammar.grammar);
    expect(grammar.grammar).not.toBe(adapted);
    expect(adapted).not.toContain('"\\n\\n\\n\\n"');
    expect(adapted).toMatch(/^integer-number-rule ::= "-"\? \("0" \| \[1-9\] \[0-9\]\{0,15\}\)$/m);
    await llama.dispose();
  });

  it("keeps valid data valid: what the converted schema allows, the original accepts", () => {
    const original = { type: "object", properties: { a: { type: ["string", "null"] } }, required: ["a"] };
    const validate = new Ajv().compile(original);
    expect(validate({ a: null })).toBe(true);
    expect(toGrammarSchema(original, "p")).toMatchObject({ properties: { a: { oneOf: [{ type: "string" }, { type: "null" }] } } });
  });
});
