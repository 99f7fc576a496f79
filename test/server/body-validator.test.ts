import { describe, expect, it } from "vitest";
import { z, ZodError } from "zod";
import { bodyValidator, compileFastPath } from "../../src/server/body-validator.js";
import { chatCompletionRules, chatCompletionSchema, completionSchema, embeddingSchema } from "../../src/server/routes/v1/schemas.js";

const chat = {
  model: "m",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: [{ type: "text", text: "Hi" }], name: "ann" },
    { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "get", arguments: "{}" } }] },
    { role: "tool", content: "42", tool_call_id: "c1" },
  ],
  max_tokens: 16,
  temperature: 0.7,
  top_p: null,
  seed: 3,
  stop: ["\n", "END"],
  logit_bias: { "2": -100 },
  stream: true,
  stream_options: { include_usage: true },
  tools: [{ type: "function", function: { name: "get", description: "d", parameters: { type: "object", properties: {} } } }],
  tool_choice: { type: "function", function: { name: "get" } },
  response_format: { type: "json_schema", json_schema: { name: "out", schema: { type: "object" }, strict: true } },
  logprobs: true,
  top_logprobs: 2,
};
const completion = { model: "m", prompt: ["a", "b"], max_tokens: 0, echo: true, suffix: null, logprobs: 2, n: 2, top_k: 40, min_p: 0.05, repeat_penalty: 1.1 };
const embedding = { model: "m", input: [[1, 2], [3]], encoding_format: "base64", dimensions: 8 };

/** Values a client may put anywhere: each is tried in place of every field. */
const oddValues: unknown[] = [null, 0, -1, 1.5, 1e300, 2 ** 53, "", "x", "5m", [], [1], ["a"], {}, { type: "text" }, true];

/** The body with one field (at any depth, one level into arrays) replaced or removed, for every field. */
function* variants(body: Record<string, unknown>): Generator<unknown> {
  yield body;
  for (const key of Object.keys(body)) {
    const { [key]: _removed, ...rest } = body;
    yield rest;
    for (const value of oddValues) yield { ...body, [key]: value };
    const field = body[key];
    if (Array.isArray(field) && typeof field[0] === "object" && field[0] !== null) {
      for (const inner of variants(field[0] as Record<string, unknown>)) yield { ...body, [key]: [inner, ...field.slice(1)] };
    } else if (typeof field === "object" && field !== null && !Array.isArray(field)) {
      for (const inner of variants(field as Record<string, unknown>)) yield { ...body, [key]: inner };
    }
  }
  yield { ...body, unknown_field: 1 };
}

function outcome(parse: (body: unknown) => unknown, body: unknown): { value: unknown } | { error: string } {
  try {
    return { value: parse(body) };
  } catch (err) {
    if (!(err instanceof ZodError)) throw err;
    return { error: JSON.stringify({ path: err.issues[0].path, code: err.issues[0].code, message: err.issues[0].message }) };
  }
}

describe("body validator", () => {
  const cases = [
    { name: "chat", schema: chatCompletionSchema, body: chat },
    { name: "completion", schema: completionSchema, body: completion },
    { name: "embedding", schema: embeddingSchema, body: embedding },
  ] as const;

  for (const { name, schema, body } of cases) {
    it(`${name}: the compiled check accepts only what zod accepts unchanged, and the validator answers as zod does`, () => {
      const fast = compileFastPath(schema);
      expect(fast, "the schema has a fast path").not.toBeNull();
      expect(fast!(structuredClone(body))).toBe(true);
      const validate = bodyValidator(schema);
      let checked = 0;
      let fastAccepted = 0;
      for (const variant of variants(body as Record<string, unknown>)) {
        const zod = schema.safeParse(structuredClone(variant), { reportInput: true });
        if (fast!(structuredClone(variant))) {
          fastAccepted++;
          expect(zod.success, JSON.stringify(variant)).toBe(true);
          expect(zod.data).toEqual(variant);
        }
        const expected = outcome((b) => {
          const r = schema.safeParse(b, { reportInput: true });
          if (!r.success) throw r.error;
          return r.data;
        }, structuredClone(variant));
        expect(outcome(validate, structuredClone(variant)), JSON.stringify(variant)).toEqual(expected);
        checked++;
      }
      expect(checked).toBeGreaterThan(50);
      expect(fastAccepted).toBeGreaterThan(10);
    });
  }

  it("returns a valid body itself, without copying it", () => {
    const received = structuredClone(chat);
    expect(bodyValidator(chatCompletionSchema, chatCompletionRules)(received)).toBe(received);
  });

  it("strips unknown fields through zod, as before", () => {
    const parsed = bodyValidator(completionSchema)({ model: "m", prompt: "p", store: true, metadata: { a: 1 } });
    expect(parsed).toEqual({ model: "m", prompt: "p" });
  });

  it("leaves refined fields to zod: keep_alive is checked by its refinement", () => {
    const validate = bodyValidator(completionSchema);
    expect(validate({ model: "m", prompt: "p", keep_alive: "5m" }).keep_alive).toBe("5m");
    expect(() => validate({ model: "m", prompt: "p", keep_alive: "soon" })).toThrow(/duration/);
  });

  it("checks rules across fields after parsing, with zod's kind of error", () => {
    const validate = bodyValidator(chatCompletionSchema, chatCompletionRules);
    const base = { model: "m", messages: [{ role: "user", content: "hi" }] };
    expect(validate(base)).toEqual(base);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ top_logprobs: 2 }, "top_logprobs"],
      [{ tool_choice: "required" }, "tool_choice"],
      [{ tools: chat.tools, tool_choice: { type: "function", function: { name: "other" } } }, "tool_choice"],
      [{ tools: [chat.tools[0], chat.tools[0]] }, "tools.1.function.name"],
    ];
    for (const [fields, path] of cases) {
      try {
        validate({ ...base, ...fields });
        expect.unreachable(`${JSON.stringify(fields)} was accepted`);
      } catch (err) {
        expect(err).toBeInstanceOf(ZodError);
        expect((err as ZodError).issues[0].path.join(".")).toBe(path);
      }
    }
  });

  it("gives no fast path to a schema that changes its input or refines the whole body", () => {
    expect(compileFastPath(z.object({ a: z.number().default(1) }))).toBeNull();
    expect(compileFastPath(z.object({ a: z.string().transform((s) => s.length) }))).toBeNull();
    expect(compileFastPath(z.object({ a: z.number() }).refine((o) => o.a > 0))).toBeNull();
    expect(compileFastPath(z.object({ a: z.bigint() }))).toBeNull();
  });

  it("defers formats to zod (ajv alone does not check them)", () => {
    const fast = compileFastPath(z.object({ mail: z.email().optional(), n: z.number() }))!;
    expect(fast({ n: 1 })).toBe(true);
    expect(fast({ n: 1, mail: "a@b.co" })).toBe(false);
    expect(() => bodyValidator(z.object({ mail: z.email() }))({ mail: "not an address" })).toThrow(ZodError);
  });

  it("refuses a body that is not a JSON object", () => {
    const validate = bodyValidator(completionSchema);
    for (const body of [undefined, null, "text", 3, [1]]) expect(() => validate(body)).toThrow(/must be a JSON object/);
  });
});
