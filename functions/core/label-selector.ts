/**
 * Kubernetes label selectors: the string syntax of `?labelSelector=` / `kubectl -l`, and the
 * `LabelSelector` object of workload specs, both turned into one matcher.
 */
import { BadRequestError } from './errors.ts';

export type LabelOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** Sorted. One value for `=`; empty for Exists/DoesNotExist. */
  readonly values: readonly string[];
  /** Written as `k=v` / `k!=v` rather than `k in (v)` / `k notin (v)`. */
  readonly equality?: boolean;
}

export interface LabelSelector {
  /** Sorted by key. Empty matches everything. */
  readonly requirements: readonly LabelRequirement[];
  /** false only for the selector that matches nothing (a missing `LabelSelector` object). */
  readonly matchesAny: boolean;
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
  toString(): string;
}

/** The `LabelSelector` object of Kubernetes specs (`spec.selector` of a Deployment). */
export interface LabelSelectorObject {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: string; readonly values?: readonly string[] }[];
}

const nameRe = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const dnsSubdomainRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function keyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !dnsSubdomainRe.test(prefix))) {
    return `prefix part must be a lowercase RFC 1123 subdomain (got "${prefix}")`;
  }
  if (name.length === 0 || name.length > 63 || !nameRe.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)";
  }
  return undefined;
}

function valueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !nameRe.test(value)) {
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)";
  }
  return undefined;
}

function requirement(key: string, operator: LabelOperator, values: readonly string[], equality = false): LabelRequirement {
  const keyError = keyProblem(key);
  if (keyError) throw new BadRequestError(`unable to parse requirement: invalid label key "${key}": ${keyError}`);
  if ((operator === 'In' || operator === 'NotIn') && values.length === 0) {
    throw new BadRequestError(`unable to parse requirement: for 'in', 'notin' operators, values set can't be empty`);
  }
  if ((operator === 'Exists' || operator === 'DoesNotExist') && values.length > 0) {
    throw new BadRequestError(`unable to parse requirement: values set must be empty for exists and does not exist`);
  }
  if (operator === 'Gt' || operator === 'Lt') {
    if (values.length !== 1 || !/^-?\d+$/.test(values[0] ?? '')) {
      throw new BadRequestError(`unable to parse requirement: for 'Gt', 'Lt' operators, exactly one integer value is required`);
    }
  } else {
    for (const value of values) {
      const valueError = valueProblem(value);
      if (valueError) throw new BadRequestError(`unable to parse requirement: invalid label value: "${value}": ${valueError}`);
    }
  }
  return { key, operator, values: [...new Set(values)].sort(), ...(equality ? { equality } : {}) };
}

function requirementMatches(r: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'In':
      return value !== undefined && r.values.includes(value);
    case 'NotIn':
      return value === undefined || !r.values.includes(value);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || !/^-?\d+$/.test(value)) return false;
      const bound = Number(r.values[0]);
      return r.operator === 'Gt' ? Number(value) > bound : Number(value) < bound;
    }
  }
}

function requirementString(r: LabelRequirement): string {
  switch (r.operator) {
    case 'In':
      return r.equality && r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(',')})`;
    case 'NotIn':
      return r.equality && r.values.length === 1 ? `${r.key}!=${r.values[0]}` : `${r.key} notin (${r.values.join(',')})`;
    case 'Exists':
      return r.key;
    case 'DoesNotExist':
      return `!${r.key}`;
    case 'Gt':
      return `${r.key}>${r.values[0]}`;
    case 'Lt':
      return `${r.key}<${r.values[0]}`;
  }
}

function selectorOf(requirements: readonly LabelRequirement[], matchesAny = true): LabelSelector {
  const sorted = [...requirements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    requirements: sorted,
    matchesAny,
    matches: (labels) => matchesAny && sorted.every((r) => requirementMatches(r, labels ?? {})),
    toString: () => sorted.map(requirementString).join(','),
  };
}

export const everything: LabelSelector = selectorOf([]);
export const nothing: LabelSelector = selectorOf([], false);

/**
 * Parses `app=web,tier!=db,env in (a,b),env notin (c),release,!legacy,replicas>2`.
 * An empty or absent string selects everything. Bad syntax is a BadRequestError.
 */
export function parseLabelSelector(text: string | undefined): LabelSelector {
  if (text === undefined || text.trim() === '') return everything;
  const tokens = new Tokens(text);
  const requirements: LabelRequirement[] = [];
  for (;;) {
    requirements.push(parseRequirement(tokens));
    tokens.skipSpace();
    if (tokens.done()) break;
    tokens.expect(',');
  }
  return selectorOf(requirements);
}

/** The matcher of a `LabelSelector` object. Absent selects nothing, `{}` everything (as Kubernetes). */
export function labelSelectorFromObject(selector: LabelSelectorObject | undefined | null): LabelSelector {
  if (!selector) return nothing;
  const requirements: LabelRequirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) requirements.push(requirement(key, 'In', [value], true));
  for (const expression of selector.matchExpressions ?? []) {
    const operator = expression.operator;
    if (operator !== 'In' && operator !== 'NotIn' && operator !== 'Exists' && operator !== 'DoesNotExist') {
      throw new BadRequestError(`"${operator}" is not a valid label selector operator`);
    }
    requirements.push(requirement(expression.key, operator, expression.values ?? []));
  }
  return selectorOf(requirements);
}

/** `{ matchLabels: { app: 'web' } }` → `app=web`, the form of `?labelSelector=` and `kubectl -l`. */
export function labelSelectorString(selector: LabelSelectorObject): string {
  return labelSelectorFromObject(selector).toString();
}

class Tokens {
  private position = 0;
  constructor(private readonly text: string) {}

  done(): boolean {
    return this.position >= this.text.length;
  }

  skipSpace(): void {
    while (!this.done() && /\s/.test(this.text[this.position] ?? '')) this.position++;
  }

  peek(length = 1): string {
    return this.text.slice(this.position, this.position + length);
  }

  expect(literal: string): void {
    this.skipSpace();
    if (this.peek(literal.length) !== literal) this.fail(`expected "${literal}"`);
    this.position += literal.length;
  }

  /** A key or value: anything up to whitespace or an operator character. */
  word(): string {
    this.skipSpace();
    const start = this.position;
    while (!this.done() && !/[\s,=!()<>]/.test(this.text[this.position] ?? '')) this.position++;
    return this.text.slice(start, this.position);
  }

  fail(why: string): never {
    throw new BadRequestError(`unable to parse requirement: ${why} at position ${this.position} in "${this.text}"`);
  }
}

function parseRequirement(tokens: Tokens): LabelRequirement {
  tokens.skipSpace();
  if (tokens.peek() === '!') {
    tokens.expect('!');
    const key = tokens.word();
    if (!key) tokens.fail('expected a label key after "!"');
    return requirement(key, 'DoesNotExist', []);
  }
  const key = tokens.word();
  if (!key) tokens.fail('expected a label key');
  tokens.skipSpace();
  if (tokens.done() || tokens.peek() === ',') return requirement(key, 'Exists', []);
  for (const [literal, operator] of [
    ['==', 'In'],
    ['!=', 'NotIn'],
    ['=', 'In'],
  ] as const) {
    if (tokens.peek(literal.length) === literal) {
      tokens.expect(literal);
      return requirement(key, operator, [tokens.word()], true);
    }
  }
  for (const [literal, operator] of [
    ['>', 'Gt'],
    ['<', 'Lt'],
  ] as const) {
    if (tokens.peek() === literal) {
      tokens.expect(literal);
      return requirement(key, operator, [tokens.word()]);
    }
  }
  const keyword = tokens.word();
  if (keyword !== 'in' && keyword !== 'notin') tokens.fail(`expected one of =, ==, !=, in, notin after "${key}"`);
  tokens.expect('(');
  const values: string[] = [];
  tokens.skipSpace();
  if (tokens.peek() !== ')') {
    for (;;) {
      values.push(tokens.word());
      tokens.skipSpace();
      if (tokens.peek() === ')') break;
      tokens.expect(',');
    }
  }
  tokens.expect(')');
  return requirement(key, keyword === 'in' ? 'In' : 'NotIn', values);
}
