/**
 * The JSONPath of printer columns and scale paths, as Kubernetes' `k8s.io/client-go/util/jsonpath`
 * reads the simple forms CRDs use: `.spec.replicas`, `.status.conditions[0].type`,
 * `.items[*].name`, `.metadata.labels['app.kubernetes.io/name']` (also `["..."]`), and filters
 * `[?(@.type=="Ready")]`. Optional surrounding `{}`. Returns every value the path reaches.
 */
type Step = { readonly field: string } | { readonly index: number } | { readonly all: true } | { readonly filter: { path: string[]; value: string } };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parse(path: string): Step[] {
  let text = path.trim();
  if (text.startsWith('{') && text.endsWith('}')) text = text.slice(1, -1).trim();
  if (text.startsWith('$')) text = text.slice(1);
  const steps: Step[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i];
    if (char === '.') {
      i++;
      let name = '';
      while (i < text.length && text[i] !== '.' && text[i] !== '[') name += text[i++];
      if (name === '*') steps.push({ all: true });
      else if (name !== '') steps.push({ field: name });
    } else if (char === '[') {
      const end = text.indexOf(']', i);
      if (end < 0) throw new Error(`unclosed [ in ${path}`);
      let inner = text.slice(i + 1, end);
      if (inner.startsWith('?(')) {
        // A filter may contain ']' only inside quotes; read up to the ')]' that closes it.
        const close = text.indexOf(')]', i);
        if (close < 0) throw new Error(`unclosed filter in ${path}`);
        inner = text.slice(i + 3, close);
        const match = /^@((?:\.[\w-]+)+)\s*==\s*(?:"([^"]*)"|'([^']*)'|([\w.-]+))$/.exec(inner.trim());
        if (!match) throw new Error(`unsupported filter ${inner}`);
        steps.push({ filter: { path: (match[1] ?? '').split('.').filter(Boolean), value: match[2] ?? match[3] ?? match[4] ?? '' } });
        i = close + 2;
        continue;
      }
      inner = inner.trim();
      if (inner === '*') steps.push({ all: true });
      else if (/^-?\d+$/.test(inner)) steps.push({ index: Number(inner) });
      else if (/^'.*'$|^".*"$/.test(inner)) steps.push({ field: inner.slice(1, -1) });
      else throw new Error(`unsupported subscript [${inner}] in ${path}`);
      i = end + 1;
    } else {
      throw new Error(`unexpected ${char} in ${path}`);
    }
  }
  return steps;
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const name of path) current = isObject(current) ? current[name] : undefined;
  return current;
}

export function evaluateJsonPath(object: unknown, path: string): unknown[] {
  let current: unknown[] = [object];
  for (const step of parse(path)) {
    const next: unknown[] = [];
    for (const value of current) {
      if ('field' in step) {
        if (isObject(value) && Object.hasOwn(value, step.field)) next.push(value[step.field]);
      } else if ('index' in step) {
        if (Array.isArray(value)) {
          const item = value[step.index < 0 ? value.length + step.index : step.index];
          if (item !== undefined) next.push(item);
        }
      } else if ('all' in step) {
        if (Array.isArray(value)) next.push(...value);
        else if (isObject(value)) next.push(...Object.values(value));
      } else if (Array.isArray(value)) {
        next.push(...value.filter((item) => String(valueAt(item, step.filter.path)) === step.filter.value));
      }
    }
    current = next;
  }
  return current;
}

/** Whether a path parses (for CRD validation of printer columns). */
export function isSimpleJsonPath(path: string): boolean {
  try {
    parse(path);
    return true;
  } catch {
    return false;
  }
}
