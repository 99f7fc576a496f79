/**
 * A small JSON Schema validator for the judge, written when ajv was only a dev dependency (it is a
 * runtime one now, for request bodies: moving the judge onto it is still to do). It covers what the
 * engine's grammars and arm schemas use: type (and type lists, integer), enum, const, properties,
 * required, additionalProperties, patternProperties-free objects, items / prefixItems, min/max items,
 * lengths, pattern, numeric bounds, multipleOf, anyOf / oneOf / allOf / not, local $ref ($defs,
 * definitions). Unknown keywords (format, annotations) are ignored, as a validator must.
 */
export interface SchemaError {
  /** JSON Pointer-ish path of the offending value ("" for the root, "/steps/0/id"). */
  path: string;
  message: string;
}

type Schema = Record<string, unknown> | boolean;

export function validateJson(value: unknown, schema: Record<string, unknown>, maxErrors = 20): SchemaError[] {
  const errors: SchemaError[] = [];
  check(value, schema, "", schema, errors, maxErrors);
  return errors.slice(0, maxErrors);
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  switch (type) {
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "array":
      return Array.isArray(value);
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "null":
      return value === null;
    default:
      return typeof value === type;
  }
}

function resolveRef(ref: string, root: Record<string, unknown>): Schema | undefined {
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (!match) return ref === "#" ? root : undefined;
  const defs = root[match[1]] as Record<string, Schema> | undefined;
  return defs?.[decodeURIComponent(match[2]).replace(/~1/g, "/").replace(/~0/g, "~")];
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}

function check(value: unknown, schema: Schema, path: string, root: Record<string, unknown>, errors: SchemaError[], max: number): void {
  if (errors.length >= max) return;
  if (schema === true) return;
  if (schema === false) {
    errors.push({ path, message: "no value is allowed here" });
    return;
  }
  const fail = (message: string) => errors.push({ path, message });

  if (typeof schema.$ref === "string") {
    const target = resolveRef(schema.$ref, root);
    if (target === undefined) fail(`unresolvable $ref '${schema.$ref}'`);
    else check(value, target, path, root, errors, max);
  }

  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((t) => matchesType(value, t))) {
      fail(`expected ${types.join(" or ")}, got ${typeOf(value)}`);
      return;
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((option) => deepEqual(option, value))) {
    fail(`must be one of ${schema.enum.map((o) => JSON.stringify(o)).join(", ")}`);
  }
  if ("const" in schema && !deepEqual(schema.const, value)) fail(`must be ${JSON.stringify(schema.const)}`);

  if (Array.isArray(schema.allOf)) for (const sub of schema.allOf as Schema[]) check(value, sub, path, root, errors, max);
  if (Array.isArray(schema.anyOf)) {
    if (!(schema.anyOf as Schema[]).some((sub) => validateSub(value, sub, path, root))) fail("matches none of the allowed alternatives (anyOf)");
  }
  if (Array.isArray(schema.oneOf)) {
    const matching = (schema.oneOf as Schema[]).filter((sub) => validateSub(value, sub, path, root)).length;
    if (matching !== 1) fail(matching === 0 ? "matches none of the alternatives (oneOf)" : `matches ${matching} alternatives, exactly one is allowed (oneOf)`);
  }
  if (schema.not !== undefined && validateSub(value, schema.not as Schema, path, root)) fail("matches a schema it must not (not)");

  if (typeof value === "string") {
    const length = [...value].length;
    if (typeof schema.minLength === "number" && length < schema.minLength) fail(`must be at least ${schema.minLength} characters`);
    if (typeof schema.maxLength === "number" && length > schema.maxLength) fail(`must be at most ${schema.maxLength} characters`);
    if (typeof schema.pattern === "string") {
      let re: RegExp | null = null;
      try {
        re = new RegExp(schema.pattern, "u");
      } catch {
        fail(`has an invalid pattern in its schema`);
      }
      if (re && !re.test(value)) fail(`must match the pattern ${schema.pattern}`);
    }
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) fail(`must be >= ${schema.minimum}`);
    if (typeof schema.maximum === "number" && value > schema.maximum) fail(`must be <= ${schema.maximum}`);
    if (typeof schema.exclusiveMinimum === "number" && value <= schema.exclusiveMinimum) fail(`must be > ${schema.exclusiveMinimum}`);
    if (typeof schema.exclusiveMaximum === "number" && value >= schema.exclusiveMaximum) fail(`must be < ${schema.exclusiveMaximum}`);
    if (typeof schema.multipleOf === "number" && schema.multipleOf > 0) {
      const q = value / schema.multipleOf;
      if (Math.abs(q - Math.round(q)) > 1e-9) fail(`must be a multiple of ${schema.multipleOf}`);
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === "number" && value.length < schema.minItems) fail(`must have at least ${schema.minItems} items`);
    if (typeof schema.maxItems === "number" && value.length > schema.maxItems) fail(`must have at most ${schema.maxItems} items`);
    const prefix = Array.isArray(schema.prefixItems) ? (schema.prefixItems as Schema[]) : [];
    value.forEach((item, i) => {
      if (i < prefix.length) check(item, prefix[i], `${path}/${i}`, root, errors, max);
      else if (schema.items !== undefined) check(item, schema.items as Schema, `${path}/${i}`, root, errors, max);
    });
    if (schema.uniqueItems === true) {
      const seen = new Set(value.map((v) => JSON.stringify(canonical(v))));
      if (seen.size !== value.length) fail("items must be unique");
    }
  }
  if (matchesType(value, "object")) {
    const object = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const key of Array.isArray(schema.required) ? (schema.required as string[]) : []) {
      if (!(key in object)) errors.push({ path: `${path}/${key}`, message: "is required" });
    }
    const keys = Object.keys(object);
    if (typeof schema.minProperties === "number" && keys.length < schema.minProperties) fail(`must have at least ${schema.minProperties} properties`);
    if (typeof schema.maxProperties === "number" && keys.length > schema.maxProperties) fail(`must have at most ${schema.maxProperties} properties`);
    for (const key of keys) {
      if (key in properties) check(object[key], properties[key], `${path}/${key}`, root, errors, max);
      else if (schema.additionalProperties === false) errors.push({ path: `${path}/${key}`, message: "is not an allowed property" });
      else if (typeof schema.additionalProperties === "object" && schema.additionalProperties !== null) {
        check(object[key], schema.additionalProperties as Schema, `${path}/${key}`, root, errors, max);
      }
    }
  }
}

function validateSub(value: unknown, schema: Schema, path: string, root: Record<string, unknown>): boolean {
  const errors: SchemaError[] = [];
  check(value, schema, path, root, errors, 1);
  return errors.length === 0;
}
