/**
 * Reading the fields of a JSON request body, checked one by one: an unknown field, or a
 * field of the wrong type, is a 400 that names the field and what was expected.
 */
import { ApiProblem } from './problem.js';

/** The fields of a JSON object body, after checking that no unknown field is present. */
export class BodyFields {
  private constructor(private readonly fields: Record<string, unknown>) {}

  /**
   * Wraps a parsed body (undefined: an empty one).
   * @throws ApiProblem 400 when it is not an object or has a field not in `known`.
   */
  static of(body: unknown, known: readonly string[]): BodyFields {
    if (body === undefined) return new BodyFields({});
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ApiProblem('bad-request', 'the request body must be a JSON object');
    }
    for (const name of Object.keys(body)) {
      if (!known.includes(name)) {
        throw new ApiProblem(
          'bad-request',
          `unknown field "${name}" in the request body (known: ${known.join(', ')})`,
        );
      }
    }
    return new BodyFields(body as Record<string, unknown>);
  }

  private invalid(name: string, expected: string): ApiProblem {
    return new ApiProblem(
      'bad-request',
      `field ${name}: expected ${expected}, got ${JSON.stringify(this.fields[name])}`,
    );
  }

  /** A string field, if present. */
  string(name: string): string | undefined {
    const value = this.fields[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw this.invalid(name, 'a string');
    return value;
  }

  /** A string field that must be present. */
  requiredString(name: string): string {
    const value = this.string(name);
    if (value === undefined) throw new ApiProblem('bad-request', `field ${name} is required`);
    return value;
  }

  /** A boolean field, if present. */
  boolean(name: string): boolean | undefined {
    const value = this.fields[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw this.invalid(name, 'true or false');
    return value;
  }

  /** An integer field in [min, max], if present. */
  integer(name: string, min: number, max: number): number | undefined {
    const value = this.fields[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw this.invalid(name, `an integer ${min}-${max}`);
    }
    return value;
  }

  /** One of `values`, if present. */
  oneOf<const T extends string>(name: string, values: readonly T[]): T | undefined {
    const value = this.fields[name];
    if (value === undefined) return undefined;
    if (!values.includes(value as T)) throw this.invalid(name, `one of ${values.join(', ')}`);
    return value as T;
  }

  /** A list of [name, value] string pairs, if present. */
  pairs(name: string): [string, string][] | undefined {
    const value = this.fields[name];
    if (value === undefined) return undefined;
    const isPair = (p: unknown) =>
      Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string';
    if (!Array.isArray(value) || !value.every(isPair)) {
      throw this.invalid(name, 'a list of [name, value] string pairs');
    }
    return value as [string, string][];
  }

  /** A base64 string field decoded, if present. */
  base64(name: string): Buffer | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    return decodeBase64(value, `field ${name}`);
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes strict base64 (padded, standard alphabet; Node's decoder skips junk silently).
 * @throws ApiProblem 400 naming `what`.
 */
export function decodeBase64(text: string, what: string): Buffer {
  if (!BASE64.test(text)) throw new ApiProblem('bad-request', `${what}: not valid base64`);
  return Buffer.from(text, 'base64');
}
