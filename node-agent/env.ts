/**
 * A container's environment as the kubelet builds it: envFrom sources first, then `env` in
 * order (later names win), `$(VAR)` references expanded against what came before, and the
 * same expansion applied to command and args. ConfigMaps and Secrets are fetched by the
 * caller beforehand, so this stays a pure function.
 */
import type { Container, PodView } from './pod-view.ts';

/** Data of referenced ConfigMaps/Secrets by name; null when the object does not exist. */
export interface EnvSources {
  readonly configMaps: ReadonlyMap<string, Readonly<Record<string, string>> | null>;
  /** Secret values already base64-decoded. */
  readonly secrets: ReadonlyMap<string, Readonly<Record<string, string>> | null>;
}

/** Facts about the pod that `fieldRef` can read but the spec does not hold. */
export interface PodRuntimeFacts {
  readonly podIP: string;
  readonly hostIP: string;
  readonly nodeName: string;
}

/** A container that cannot start because its environment cannot be built. */
export class CreateContainerConfigError extends Error {
  override name = 'CreateContainerConfigError';
}

export function referencedConfigMaps(container: Container): string[] {
  const names = new Set<string>();
  for (const source of container.envFrom) if (source.configMapRef) names.add(source.configMapRef.name);
  for (const variable of container.env) {
    const ref = variable.valueFrom?.configMapKeyRef;
    if (ref) names.add(ref.name);
  }
  return [...names];
}

export function referencedSecrets(container: Container): string[] {
  const names = new Set<string>();
  for (const source of container.envFrom) if (source.secretRef) names.add(source.secretRef.name);
  for (const variable of container.env) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref) names.add(ref.name);
  }
  return [...names];
}

const envNamePattern = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

export function resolveEnv(
  pod: PodView,
  container: Container,
  sources: EnvSources,
  facts: PodRuntimeFacts,
  base: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return resolveEnvDetailed(pod, container, sources, facts, base).env;
}

/**
 * Where a variable's final value came from. `template`: written in the pod spec as is (the same
 * for every pod of a template); `pod`: differs from pod to pod (agent variables, fieldRef,
 * expansions of those); `secret`/`configMap`: one key of that object; `derived`: an expansion
 * that copied a Secret or ConfigMap value into another variable (`$(PASSWORD)` in a value).
 */
export type EnvOrigin =
  | { readonly kind: 'template' | 'pod' }
  | { readonly kind: 'secret' | 'configMap'; readonly source: string; readonly key: string }
  | { readonly kind: 'derived'; readonly from: readonly string[] };

export interface ResolvedEnv {
  readonly env: Record<string, string>;
  readonly origins: Record<string, EnvOrigin>;
}

/** `resolveEnv` that also says where each variable came from, for runtimes that pass Secret values by reference. */
export function resolveEnvDetailed(
  pod: PodView,
  container: Container,
  sources: EnvSources,
  facts: PodRuntimeFacts,
  base: Readonly<Record<string, string>> = {},
): ResolvedEnv {
  const env: Record<string, string> = { ...base };
  const origins: Record<string, EnvOrigin> = Object.fromEntries(Object.keys(base).map((name) => [name, { kind: 'pod' } as const]));
  for (const source of container.envFrom) {
    const [kind, ref, map] = source.configMapRef
      ? (['configmap', source.configMapRef, sources.configMaps] as const)
      : source.secretRef
        ? (['secret', source.secretRef, sources.secrets] as const)
        : [undefined, undefined, undefined];
    if (!kind || !ref || !map) continue;
    const data = map.get(ref.name);
    if (!data) {
      if (ref.optional) continue;
      throw new CreateContainerConfigError(`${kind} "${ref.name}" not found`);
    }
    for (const [key, value] of Object.entries(data)) {
      const name = `${source.prefix}${key}`;
      // The kubelet skips keys that are not valid variable names rather than failing the pod.
      if (!envNamePattern.test(name)) continue;
      env[name] = value;
      origins[name] = { kind: kind === 'secret' ? 'secret' : 'configMap', source: ref.name, key };
    }
  }
  for (const variable of container.env) {
    const resolved = resolveVariable(pod, variable, sources, facts, env, origins);
    if (resolved === undefined) continue;
    env[variable.name] = resolved.value;
    origins[variable.name] = resolved.origin;
  }
  return { env, origins };
}

/** The variables `$(NAME)` references in `text` would substitute (defined ones only). */
export function referencedVariables(text: string, env: Readonly<Record<string, string>>): string[] {
  const names: string[] = [];
  for (let index = 0; index < text.length; index += 1) {
    if (text[index] !== '$' || index + 1 >= text.length) continue;
    const next = text[index + 1];
    if (next === '$') {
      index += 1;
      continue;
    }
    if (next !== '(') continue;
    const close = text.indexOf(')', index + 2);
    if (close < 0) continue;
    const name = text.slice(index + 2, close);
    if (env[name] !== undefined) names.push(name);
    index = close;
  }
  return names;
}

/** True for origins whose value must never be written where it can be read as plain text. */
export function isSensitiveOrigin(origin: EnvOrigin | undefined): boolean {
  return origin !== undefined && origin.kind !== 'template' && origin.kind !== 'pod';
}

function resolveVariable(
  pod: PodView,
  variable: Container['env'][number],
  sources: EnvSources,
  facts: PodRuntimeFacts,
  soFar: Readonly<Record<string, string>>,
  origins: Readonly<Record<string, EnvOrigin>>,
): { value: string; origin: EnvOrigin } | undefined {
  if (variable.value !== undefined) {
    const references = referencedVariables(variable.value, soFar);
    const sensitive = references.filter((name) => isSensitiveOrigin(origins[name]));
    const origin: EnvOrigin = sensitive.length > 0 ? { kind: 'derived', from: sensitive } : references.length > 0 ? { kind: 'pod' } : { kind: 'template' };
    return { value: expandReferences(variable.value, soFar), origin };
  }
  const from = variable.valueFrom;
  if (!from) return { value: '', origin: { kind: 'template' } };
  const keyRef = from.configMapKeyRef ?? from.secretKeyRef;
  if (keyRef) {
    const kind = from.configMapKeyRef ? 'configmap' : 'secret';
    const data = (from.configMapKeyRef ? sources.configMaps : sources.secrets).get(keyRef.name);
    if (!data) {
      if (keyRef.optional) return undefined;
      throw new CreateContainerConfigError(`${kind} "${keyRef.name}" not found`);
    }
    const value = data[keyRef.key];
    if (value === undefined) {
      if (keyRef.optional) return undefined;
      throw new CreateContainerConfigError(`couldn't find key ${keyRef.key} in ${kind} ${pod.metadata.namespace}/${keyRef.name}`);
    }
    return { value, origin: { kind: kind === 'secret' ? 'secret' : 'configMap', source: keyRef.name, key: keyRef.key } };
  }
  if (from.fieldRef) return { value: fieldValue(pod, from.fieldRef.fieldPath, facts), origin: { kind: 'pod' } };
  if (from.resourceFieldRef) return { value: '0', origin: { kind: 'pod' } };
  return { value: '', origin: { kind: 'template' } };
}

export function fieldValue(pod: PodView, fieldPath: string, facts: PodRuntimeFacts): string {
  const mapKey = /^metadata\.(labels|annotations)\['([^']*)'\]$/.exec(fieldPath);
  if (mapKey) {
    const map = mapKey[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations;
    return map[mapKey[2] ?? ''] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace;
    case 'metadata.uid':
      return pod.metadata.uid;
    case 'metadata.labels':
      return formatMap(pod.metadata.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata.annotations);
    case 'spec.nodeName':
      return pod.spec.nodeName ?? facts.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? 'default';
    case 'status.hostIP':
    case 'status.hostIPs':
      return facts.hostIP;
    case 'status.podIP':
    case 'status.podIPs':
      return facts.podIP;
    default:
      throw new CreateContainerConfigError(`unsupported fieldRef fieldPath ${JSON.stringify(fieldPath)}`);
  }
}

function formatMap(map: Readonly<Record<string, string>>): string {
  return Object.entries(map)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}="${value}"`)
    .join('\n');
}

/**
 * `$(NAME)` becomes the variable's value when it is defined, and stays as written when not;
 * `$$` escapes a dollar sign. This is the kubelet's expansion rule for env, command and args.
 */
export function expandReferences(text: string, env: Readonly<Record<string, string>>): string {
  let result = '';
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (char !== '$' || index + 1 >= text.length) {
      result += char;
      continue;
    }
    const next = text[index + 1];
    if (next === '$') {
      result += '$';
      index += 1;
      continue;
    }
    if (next === '(') {
      const close = text.indexOf(')', index + 2);
      if (close > 0) {
        const name = text.slice(index + 2, close);
        const value = env[name];
        result += value !== undefined ? value : `$(${name})`;
        index = close;
        continue;
      }
    }
    result += char;
  }
  return result;
}

/** Decodes a Secret's `data` (base64) merged with its `stringData`, as the API would store it. */
export function secretValues(secret: { readonly [field: string]: unknown }): Record<string, string> {
  const values: Record<string, string> = {};
  if (secret.data && typeof secret.data === 'object') {
    for (const [key, value] of Object.entries(secret.data)) {
      if (typeof value === 'string') values[key] = Buffer.from(value, 'base64').toString('utf8');
    }
  }
  if (secret.stringData && typeof secret.stringData === 'object') {
    for (const [key, value] of Object.entries(secret.stringData)) {
      if (typeof value === 'string') values[key] = value;
    }
  }
  return values;
}

/** A ConfigMap's `data` (binaryData is not text and cannot be an environment variable). */
export function configMapValues(configMap: { readonly [field: string]: unknown }): Record<string, string> {
  const values: Record<string, string> = {};
  if (configMap.data && typeof configMap.data === 'object') {
    for (const [key, value] of Object.entries(configMap.data)) {
      if (typeof value === 'string') values[key] = value;
    }
  }
  return values;
}
