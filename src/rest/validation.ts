// How requests are validated against the route schemas: bodies strictly (a value of the wrong JSON
// type is an error, never converted), query strings strictly too (they are text: an integer is
// written in digits, nothing else), then converted to the schema's types.
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import { Ajv, type Options, type SchemaObject } from 'ajv';

const COMMON: Options = { allErrors: true, removeAdditional: false, useDefaults: false, strict: false };
// `{"name":123}` is a bad name, not the name "123"; `"tags":"x"` is not `["x"]`.
const bodies = new Ajv({ ...COMMON, coerceTypes: false });
const queries = new Ajv({ ...COMMON, coerceTypes: true });

/** A whole number as people write one in a URL: no sign tricks, exponent, fraction or spaces. */
const DIGITS = /^(0|[1-9][0-9]*)$/;

type ValidationIssue = FastifySchemaValidationError;

type Validator = ((data: unknown) => boolean) & { errors?: ValidationIssue[] | null };

/** Query strings: integers must be digits before they are converted (`page=1e17`, `limit=0x10` are errors). */
function queryValidator(schema: SchemaObject): Validator {
  const validate = queries.compile(schema);
  const properties = (schema.properties ?? {}) as Record<string, { type?: string }>;
  const integers = Object.keys(properties).filter((key) => properties[key]?.type === 'integer');
  const check: Validator = (data) => {
    const query = data as Record<string, unknown>;
    const bad = integers.filter(
      (key) => query[key] !== undefined && !(typeof query[key] === 'string' && DIGITS.test(query[key])),
    );
    if (bad.length > 0) {
      check.errors = bad.map((key) => ({
        keyword: 'type',
        schemaPath: `#/properties/${key}/type`,
        instancePath: `/${key}`,
        message: 'must be a whole number written in digits',
        params: {},
      }));
      return false;
    }
    const ok = validate(data);
    check.errors = validate.errors as ValidationIssue[] | null;
    return ok;
  };
  return check;
}

export const validatorCompiler: FastifySchemaCompiler<SchemaObject> = ({ schema, httpPart }) =>
  httpPart === 'querystring' ? queryValidator(schema) : bodies.compile(schema);
