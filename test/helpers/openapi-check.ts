/**
 * A strict structural check of an OpenAPI 3.1 document (no validator is installed, and
 * adding one for a test is not worth a dependency), and a JSON Schema check of values for the
 * keywords the admin API's document uses. Both return a list of problems, empty when fine.
 */

type Json = Record<string, unknown>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const SCHEMA_KEYWORDS = new Set([
  'type',
  '$ref',
  'description',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'enum',
  'minimum',
  'maximum',
  'oneOf',
  'format',
  'default',
]);
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean', 'null']);

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Resolves a local `$ref` (`#/components/...`), or undefined when it points nowhere. */
export function resolveRef(doc: Json, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const key of ref.slice(2).split('/')) {
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

/** Problems of a schema object (keywords known, types valid, refs resolve), recursively. */
function checkSchema(doc: Json, schema: unknown, at: string, out: string[]): void {
  if (!isObject(schema)) return void out.push(`${at}: a schema must be an object`);
  for (const key of Object.keys(schema)) {
    if (!SCHEMA_KEYWORDS.has(key)) out.push(`${at}: unexpected keyword ${key}`);
  }
  if (typeof schema.$ref === 'string' && resolveRef(doc, schema.$ref) === undefined) {
    out.push(`${at}: $ref ${schema.$ref} does not resolve`);
  }
  const types = schema.type === undefined ? [] : [schema.type].flat();
  for (const type of types) if (!TYPES.has(type as string)) out.push(`${at}: bad type ${type}`);
  if (Array.isArray(schema.required)) {
    for (const name of schema.required) {
      if (!isObject(schema.properties) || !(name in schema.properties)) {
        out.push(`${at}: required ${name} is not a property`);
      }
    }
  }
  for (const [name, sub] of Object.entries(isObject(schema.properties) ? schema.properties : {})) {
    checkSchema(doc, sub, `${at}.properties.${name}`, out);
  }
  if (schema.items !== undefined) checkSchema(doc, schema.items, `${at}.items`, out);
  if (isObject(schema.additionalProperties)) {
    checkSchema(doc, schema.additionalProperties, `${at}.additionalProperties`, out);
  }
  for (const [i, sub] of ((schema.oneOf ?? []) as unknown[]).entries()) {
    checkSchema(doc, sub, `${at}.oneOf[${i}]`, out);
  }
  for (const [i, sub] of ((schema.prefixItems ?? []) as unknown[]).entries()) {
    checkSchema(doc, sub, `${at}.prefixItems[${i}]`, out);
  }
}

function checkParameters(doc: Json, path: string, op: Json, at: string, out: string[]): void {
  const params = (op.parameters ?? []) as Json[];
  const inPath = new Set(params.filter((p) => p.in === 'path').map((p) => p.name));
  const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
  for (const name of templated) {
    if (!inPath.has(name)) out.push(`${at}: path parameter {${name}} is not declared`);
  }
  const seen = new Set<string>();
  for (const p of params) {
    const key = `${p.in}:${p.name}`;
    if (seen.has(key)) out.push(`${at}: parameter ${key} declared twice`);
    seen.add(key);
    if (!['path', 'query', 'header', 'cookie'].includes(p.in as string)) {
      out.push(`${at}: parameter ${p.name} has a bad "in"`);
    }
    if (p.in === 'path' && (p.required !== true || !templated.includes(p.name as string))) {
      out.push(`${at}: path parameter ${p.name} must be required and in the template`);
    }
    checkSchema(doc, p.schema, `${at}.parameters.${p.name}.schema`, out);
  }
}

function checkContent(doc: Json, content: unknown, at: string, out: string[]): void {
  if (content === undefined) return;
  if (!isObject(content)) return void out.push(`${at}: content must be an object`);
  for (const [type, media] of Object.entries(content)) {
    if (!/^[a-z]+\/[a-z0-9.+-]+$/.test(type)) out.push(`${at}: bad media type ${type}`);
    checkSchema(doc, (media as Json).schema, `${at}.${type}.schema`, out);
  }
}

function checkOperation(doc: Json, path: string, op: Json, at: string, out: string[]): void {
  if (typeof op.operationId !== 'string') out.push(`${at}: no operationId`);
  if (typeof op.summary !== 'string') out.push(`${at}: no summary`);
  checkParameters(doc, path, op, at, out);
  if (op.requestBody !== undefined) {
    checkContent(doc, (op.requestBody as Json).content, `${at}.requestBody`, out);
  }
  if (!isObject(op.responses) || Object.keys(op.responses).length === 0) {
    return void out.push(`${at}: no responses`);
  }
  for (const [status, response] of Object.entries(op.responses)) {
    if (!/^[1-5][0-9][0-9]$/.test(status)) out.push(`${at}: bad response status ${status}`);
    if (typeof (response as Json).description !== 'string') {
      out.push(`${at}.responses.${status}: no description`);
    }
    checkContent(doc, (response as Json).content, `${at}.responses.${status}.content`, out);
  }
}

/** Problems of an OpenAPI 3.1 document (empty when it is well formed). */
export function checkOpenApi31(doc: Json): string[] {
  const out: string[] = [];
  if (typeof doc.openapi !== 'string' || !/^3\.1\.\d+$/.test(doc.openapi)) {
    out.push('openapi must be 3.1.x');
  }
  const info = doc.info as Json | undefined;
  if (!isObject(info) || typeof info.title !== 'string' || typeof info.version !== 'string') {
    out.push('info.title and info.version are required strings');
  }
  if (!isObject(doc.paths)) return [...out, 'paths must be an object'];
  const operationIds = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!path.startsWith('/')) out.push(`paths: ${path} must start with /`);
    for (const [method, op] of Object.entries(item as Json)) {
      const at = `${method.toUpperCase()} ${path}`;
      if (!METHODS.includes(method)) out.push(`${at}: not an HTTP method`);
      checkOperation(doc, path, op as Json, at, out);
      const id = (op as Json).operationId as string;
      if (operationIds.has(id)) out.push(`${at}: operationId ${id} is not unique`);
      operationIds.add(id);
    }
  }
  const schemes = ((doc.components as Json)?.securitySchemes ?? {}) as Json;
  for (const requirement of (doc.security ?? []) as Json[]) {
    for (const name of Object.keys(requirement)) {
      if (!(name in schemes)) out.push(`security: scheme ${name} is not defined`);
    }
  }
  for (const [name, schema] of Object.entries(((doc.components as Json)?.schemas ?? {}) as Json)) {
    checkSchema(doc, schema, `components.schemas.${name}`, out);
  }
  return out;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Problems of `value` against `schema` (the keywords of SCHEMA_KEYWORDS). */
export function validateValue(doc: Json, schema: Json, value: unknown, at = '$'): string[] {
  if (typeof schema.$ref === 'string') {
    return validateValue(doc, resolveRef(doc, schema.$ref) as Json, value, at);
  }
  if (Array.isArray(schema.oneOf)) {
    const passing = schema.oneOf.filter(
      (s) => validateValue(doc, s as Json, value, at).length === 0,
    );
    return passing.length === 1 ? [] : [`${at}: matches ${passing.length} of oneOf`];
  }
  const out: string[] = [];
  const actual = typeOf(value);
  const types = schema.type === undefined ? [] : [schema.type].flat();
  const typeOk =
    types.length === 0 ||
    types.includes(actual) ||
    (actual === 'integer' && types.includes('number'));
  if (!typeOk) return [`${at}: expected ${types.join('|')}, got ${actual}`];
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) out.push(`${at}: not in enum`);
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum)
      out.push(`${at}: below minimum`);
    if (typeof schema.maximum === 'number' && value > schema.maximum)
      out.push(`${at}: above maximum`);
  }
  if (isObject(value)) {
    const props = (schema.properties ?? {}) as Record<string, Json>;
    for (const name of (schema.required ?? []) as string[]) {
      if (!(name in value)) out.push(`${at}: missing ${name}`);
    }
    for (const [name, v] of Object.entries(value)) {
      if (name in props) out.push(...validateValue(doc, props[name]!, v, `${at}.${name}`));
      else if (schema.additionalProperties === false) out.push(`${at}: unexpected field ${name}`);
      else if (isObject(schema.additionalProperties)) {
        out.push(...validateValue(doc, schema.additionalProperties, v, `${at}.${name}`));
      }
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems)
      out.push(`${at}: too short`);
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems)
      out.push(`${at}: too long`);
    const prefix = (schema.prefixItems ?? []) as Json[];
    for (const [i, item] of value.entries()) {
      const sub = prefix[i] ?? (schema.items as Json | undefined);
      if (sub !== undefined) out.push(...validateValue(doc, sub, item, `${at}[${i}]`));
    }
  }
  return out;
}
