import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { PATTERN_MEANINGS } from './schemas.ts';

const CANONICAL_INTEGER = /^(0|-?[1-9]\d{0,15})$/;

/**
 * Validates with TypeBox. Bodies are checked as sent (`"name": 42` is a 400; Fastify's
 * default Ajv set-up would quietly make it "42"). URL parts are strings, so a property the
 * schema declares integer is converted first, but only from a canonical decimal: TypeBox's
 * own conversion would read `/users/1.5` as user 1.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const validator = Compile(schema);
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  const integers = Object.keys(properties).filter((key) => properties[key]!.type === 'integer');
  const convert =
    httpPart === 'body' || integers.length === 0
      ? (value: unknown) => value
      : (value: unknown) => {
          const converted = { ...(value as Record<string, unknown>) };
          for (const key of integers) {
            const raw = converted[key];
            if (typeof raw === 'string' && CANONICAL_INTEGER.test(raw)) converted[key] = Number(raw);
          }
          return converted;
        };
  return (value: unknown) => {
    const converted = convert(value);
    if (validator.Check(converted)) return { value: converted };
    const errors = validator.Errors(converted) as unknown as FastifySchemaValidationError[];
    // "must match pattern ^(?=.*[\p{L}..." tells a client nothing: say what the pattern means.
    for (const error of errors) {
      const meaning = error.keyword === 'pattern' ? PATTERN_MEANINGS[String(error.params.pattern)] : undefined;
      if (meaning) error.message = meaning;
    }
    return { error: errors };
  };
};
