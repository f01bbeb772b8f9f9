import type { EventClass } from '../event/event-type';
import { transformerStorage, validatorStorage, type ValidationMetadataLike } from './compiled/interop';

/** A JSON Schema (draft 2020-12 subset) as plain data. */
export type JsonSchema = { readonly [key: string]: unknown };

/** Schemas of a class and of every class it nests, by class name, for `components.schemas`. */
export type SchemaSet = Record<string, JsonSchema>;

type Mutable = Record<string, unknown>;

// What each class-validator constraint says about a value, in JSON Schema words.
const CONSTRAINTS: Record<string, (args: readonly unknown[], schema: Mutable) => void> = {
  isInt: (_a, s) => (s.type = 'integer'),
  isNumber: (_a, s) => (s.type = 'number'),
  isString: (_a, s) => (s.type = 'string'),
  isBoolean: (_a, s) => (s.type = 'boolean'),
  isDate: (_a, s) => Object.assign(s, { type: 'string', format: 'date-time' }),
  isArray: (_a, s) => (s.type = 'array'),
  isObject: (_a, s) => (s.type = 'object'),
  isIn: (a, s) => (s.enum = [...(a[0] as unknown[])]),
  // a numeric TypeScript enum also maps values back to names: keep the named members only
  isEnum: (a, s) => (s.enum = Object.entries(a[0] as Record<string, unknown>).filter(([k]) => Number.isNaN(Number.parseInt(k, 10))).map(([, v]) => v)),
  isPositive: (_a, s) => (s.exclusiveMinimum = 0),
  isNegative: (_a, s) => (s.exclusiveMaximum = 0),
  min: (a, s) => (s.minimum = a[0]),
  max: (a, s) => (s.maximum = a[0]),
  minLength: (a, s) => (s.minLength = a[0]),
  maxLength: (a, s) => (s.maxLength = a[0]),
  isLength: (a, s) => Object.assign(s, { minLength: a[0], ...(a[1] !== undefined ? { maxLength: a[1] } : {}) }),
  matches: (a, s) => (s.pattern = a[0] instanceof RegExp ? a[0].source : String(a[0])),
  isUuid: (_a, s) => Object.assign(s, { type: 'string', format: 'uuid' }),
  isEmail: (_a, s) => Object.assign(s, { type: 'string', format: 'email' }),
  isIso8601: (_a, s) => Object.assign(s, { type: 'string', format: 'date-time' }),
  isNotEmpty: (_a, s) => (s.not = { enum: ['', null] }),
  arrayMinSize: (a, s) => (s.minItems = a[0]),
  arrayMaxSize: (a, s) => (s.maxItems = a[0]),
};

/**
 * JSON Schemas for an event class and the classes it nests, read from the class-validator and
 * class-transformer decorators it already carries. Constraints without a JSON Schema word
 * (custom validators) are listed in `x-constraints` so nothing is silently left out.
 */
export function jsonSchemasOf(target: EventClass, into: SchemaSet = {}): SchemaSet {
  const name = target.name;
  if (into[name]) return into;
  const schema: Mutable = { type: 'object', properties: {}, required: [] as string[], additionalProperties: true };
  into[name] = schema;
  const byProperty = new Map<string, ValidationMetadataLike[]>();
  for (const m of validatorStorage().getTargetValidationMetadatas(target, '', true, false)) {
    byProperty.set(m.propertyName, [...(byProperty.get(m.propertyName) ?? []), m]);
  }
  const properties = schema.properties as Mutable;
  for (const [property, metadatas] of byProperty) {
    const value: Mutable = {};
    const items: Mutable = {};
    const unknown: string[] = [];
    let optional = false;
    for (const m of metadatas) {
      if (m.type === 'conditionalValidation') {
        optional = true;
        continue;
      }
      if (m.type === 'nestedValidation') {
        const nested = transformerStorage.findTypeMetadata(target, property)?.typeFunction?.();
        if (typeof nested === 'function' && nested !== Date) {
          jsonSchemasOf(nested as EventClass, into);
          Object.assign(m.each ? items : value, { $ref: `#/components/schemas/${(nested as EventClass).name}` });
          if (m.each) value.type = 'array';
        }
        continue;
      }
      const apply = m.name ? CONSTRAINTS[m.name] : undefined;
      if (apply) apply(m.constraints ?? [], m.each ? items : value);
      else if (m.type !== 'isDefined' && m.type !== 'whitelistValidation') unknown.push(constraintName(m));
    }
    if (Object.keys(items).length > 0) Object.assign(value, { type: 'array', items });
    if (unknown.length > 0) value['x-constraints'] = unknown;
    properties[property] = value;
    if (!optional) (schema.required as string[]).push(property);
  }
  return into;
}

/** A custom constraint's name is on its @ValidatorConstraint class, not on the property's metadata. */
function constraintName(m: ValidationMetadataLike): string {
  if (m.name) return m.name;
  const named = m.constraintCls ? validatorStorage().getTargetValidatorConstraints(m.constraintCls).find((c) => c.name)?.name : undefined;
  return named ?? m.type;
}
