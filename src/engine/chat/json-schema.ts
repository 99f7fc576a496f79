import type { GbnfJsonSchema } from "node-llama-cpp";
import { invalidRequest } from "../../errors.js";
import type { JsonSchema } from "../types.js";

/**
 * OpenAI callers send full JSON Schema; node-llama-cpp's grammar generator understands a subset
 * (GbnfJsonSchema) and silently turns what it does not know into `null`. This translates a schema
 * into that subset so that every output of the grammar still validates against the original:
 *   - anyOf becomes oneOf; a one-element allOf is inlined; `nullable: true` adds a null branch;
 *   - `definitions` refs become `$defs` refs;
 *   - a schema with no type (`{}`) means any JSON value, an object with no properties any object;
 *   - keywords a grammar cannot express (pattern, unknown formats, numeric bounds) are dropped, which
 *     narrows nothing, so those constraints are the one thing the grammar does not enforce.
 * Anything malformed (unknown type, non-object schema, unsupported combinator) is a 400 naming `param`.
 */

const primitiveTypes = new Set(["string", "number", "integer", "boolean", "null", "object", "array"]);
const grammarFormats = new Set(["date-time", "time", "date"]);

const anyValue = (): GbnfJsonSchema => ({
  oneOf: [
    { type: ["string", "number", "boolean", "null"] },
    { type: "object", additionalProperties: true },
    { type: "array" },
  ],
});

export function toGrammarSchema(schema: unknown, param: string): GbnfJsonSchema {
  if (!isObject(schema)) throw invalidRequest(`Invalid schema for '${param}': expected a JSON Schema object.`, param);
  const defs: Record<string, GbnfJsonSchema> = {};
  for (const key of ["$defs", "definitions"] as const) {
    const source = schema[key];
    if (source === undefined) continue;
    if (!isObject(source)) throw invalidRequest(`Invalid schema for '${param}': '${key}' must be an object.`, param);
    for (const [name, def] of Object.entries(source)) defs[name] = convert(def, `${param}.${key}.${name}`, param);
  }
  const root = convert(schema, param, param);
  if (Object.keys(defs).length === 0) return root;
  // node-llama-cpp reads $defs from the schema that holds the $ref or any ancestor; the root is an ancestor of all.
  if ("oneOf" in root || ("type" in root && (root.type === "object" || root.type === "array"))) {
    return { ...root, $defs: defs } as GbnfJsonSchema;
  }
  return { oneOf: [root], $defs: defs } as GbnfJsonSchema;
}

function convert(schema: unknown, path: string, param: string): GbnfJsonSchema {
  if (schema === true) return anyValue();
  if (!isObject(schema)) throw invalidRequest(`Invalid schema at '${path}': expected a JSON Schema object.`, param);
  const description = typeof schema.description === "string" ? { description: schema.description } : {};

  const withNull = (converted: GbnfJsonSchema): GbnfJsonSchema =>
    schema.nullable === true ? { oneOf: [converted, { type: "null" }] } : converted;

  if (typeof schema.$ref === "string") {
    const match = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(schema.$ref);
    if (!match) throw invalidRequest(`Unsupported $ref '${schema.$ref}' at '${path}': only local #/$defs/… references are supported.`, param);
    return withNull({ $ref: `#/$defs/${match[1]}`, ...description } as GbnfJsonSchema);
  }
  if ("const" in schema) {
    if (!isPrimitive(schema.const)) throw invalidRequest(`Unsupported 'const' at '${path}': only strings, numbers, booleans and null.`, param);
    return withNull({ const: schema.const, ...description });
  }
  if (Array.isArray(schema.enum)) {
    if (schema.enum.length === 0 || !schema.enum.every(isPrimitive)) {
      throw invalidRequest(`Invalid 'enum' at '${path}': expected a non-empty list of strings, numbers, booleans or null.`, param);
    }
    return withNull({ enum: schema.enum as Array<string | number | boolean | null>, ...description });
  }
  for (const combinator of ["anyOf", "oneOf"] as const) {
    const options = schema[combinator];
    if (options === undefined) continue;
    if (!Array.isArray(options) || options.length === 0) throw invalidRequest(`Invalid '${combinator}' at '${path}': expected a non-empty array.`, param);
    return withNull({ oneOf: options.map((option, i) => convert(option, `${path}.${combinator}[${i}]`, param)), ...description });
  }
  if (schema.allOf !== undefined) {
    if (!Array.isArray(schema.allOf) || schema.allOf.length !== 1) {
      throw invalidRequest(`Unsupported 'allOf' at '${path}': only a single-element allOf is supported.`, param);
    }
    return convert({ ...schema.allOf[0], ...description }, path, param);
  }

  let type = schema.type;
  if (type === undefined) {
    if (isObject(schema.properties) || schema.additionalProperties !== undefined) type = "object";
    else if (schema.items !== undefined || schema.prefixItems !== undefined) type = "array";
    else return anyValue();
  }
  if (Array.isArray(type)) {
    if (type.length === 0 || !type.every((t) => typeof t === "string" && primitiveTypes.has(t))) {
      throw invalidRequest(`Invalid 'type' at '${path}': ${JSON.stringify(type)}.`, param);
    }
    const types = [...new Set(type as string[])];
    if (types.length === 1) return convert({ ...schema, type: types[0] }, path, param);
    return { oneOf: types.map((t) => convert({ ...schema, type: t, nullable: undefined }, path, param)), ...description };
  }
  if (typeof type !== "string" || !primitiveTypes.has(type)) {
    throw invalidRequest(`Invalid 'type' at '${path}': ${JSON.stringify(type)} is not a JSON Schema type.`, param);
  }

  switch (type) {
    case "string": {
      const format = typeof schema.format === "string" && grammarFormats.has(schema.format) ? schema.format : undefined;
      if (format) return withNull({ type: "string", format: format as "date-time", ...description });
      const bounds: { minLength?: number; maxLength?: number } = {};
      if (isCount(schema.minLength)) bounds.minLength = schema.minLength;
      if (isCount(schema.maxLength)) bounds.maxLength = schema.maxLength;
      return withNull({ type: "string", ...bounds, ...description });
    }
    case "object": {
      const properties: Record<string, GbnfJsonSchema> = {};
      if (schema.properties !== undefined) {
        if (!isObject(schema.properties)) throw invalidRequest(`Invalid 'properties' at '${path}': expected an object.`, param);
        for (const [key, value] of Object.entries(schema.properties)) properties[key] = convert(value, `${path}.properties.${key}`, param);
      }
      const hasProperties = Object.keys(properties).length > 0;
      let additional: boolean | GbnfJsonSchema;
      if (schema.additionalProperties === undefined) additional = !hasProperties;
      else if (typeof schema.additionalProperties === "boolean") additional = schema.additionalProperties;
      else additional = convert(schema.additionalProperties, `${path}.additionalProperties`, param);
      const required = Array.isArray(schema.required) ? schema.required.filter((k): k is string => typeof k === "string") : undefined;
      return withNull({
        type: "object",
        properties,
        additionalProperties: additional,
        ...(required ? { required } : {}),
        ...(isCount(schema.minProperties) ? { minProperties: schema.minProperties } : {}),
        ...(isCount(schema.maxProperties) ? { maxProperties: schema.maxProperties } : {}),
        ...description,
      } as GbnfJsonSchema);
    }
    case "array": {
      const array: Record<string, unknown> = { type: "array", ...description };
      if (schema.items !== undefined && schema.items !== true) array.items = convert(schema.items, `${path}.items`, param);
      if (Array.isArray(schema.prefixItems)) {
        array.prefixItems = schema.prefixItems.map((item, i) => convert(item, `${path}.prefixItems[${i}]`, param));
      }
      if (isCount(schema.minItems)) array.minItems = schema.minItems;
      if (isCount(schema.maxItems)) array.maxItems = schema.maxItems;
      return withNull(array as GbnfJsonSchema);
    }
    default:
      return withNull({ type: type as "number", ...description });
  }
}

function isObject(value: unknown): value is JsonSchema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPrimitive(value: unknown): value is string | number | boolean | null {
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}
