/**
 * Admission of custom resources: the rules of one served version of a CustomResourceDefinition,
 * in the shape every built-in kind's rules have. Object metadata is checked as for any kind; the
 * rest of the object (already pruned to the schema by `admit`) gets the schema's defaults and is
 * validated against it.
 */
import { z } from 'zod';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, kindField, type ObjectMeta, objectMetaSchema } from './meta.ts';
import { isDns1123Subdomain } from './name-rules.ts';
import type { CustomResourceFacts } from './resource-type.ts';
import { applyDefaults, validateValue } from './structural-schema.ts';

const customResourceSchema = z.looseObject({
  apiVersion: apiVersionField,
  kind: kindField,
  metadata: objectMetaSchema.default(() => ({})),
});

type CustomResource = { readonly metadata: ObjectMeta; readonly [field: string]: unknown };

const rulesBySchema = new WeakMap<object, AnyKindRules>();

function rulesFor(facts: CustomResourceFacts): AnyKindRules {
  return anyKind<CustomResource>({
    schema: customResourceSchema as unknown as z.ZodType<CustomResource>,
    nameRule: isDns1123Subdomain,
    defaults: (object) => {
      const { metadata, ...rest } = object;
      return { ...(applyDefaults(facts.schema, rest) as object), metadata } as CustomResource;
    },
    validate: (object) => validateValue(facts.schema, object),
  });
}

export function customResourceRules(facts: CustomResourceFacts): AnyKindRules {
  if (!facts.schema) return rulesFor(facts);
  let rules = rulesBySchema.get(facts.schema);
  if (!rules) {
    rules = rulesFor(facts);
    rulesBySchema.set(facts.schema, rules);
  }
  return rules;
}
