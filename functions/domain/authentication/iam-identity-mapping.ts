/**
 * Which Kubernetes user and groups an AWS IAM principal is, kept in the cluster as EKS kept it:
 * the ConfigMap `kube-system/aws-auth` (docs/adr/072):
 *
 * ```yaml
 * data:
 *   mapRoles: |
 *     - rolearn: arn:aws:iam::111122223333:role/skiff-nodes
 *       username: system:node:{{SessionName}}
 *       groups: [system:nodes]
 *     - rolearn: arn:aws:iam::111122223333:role/platform-admins
 *       username: admin:{{SessionName}}
 *       groups: [system:masters]
 *   mapUsers: |
 *     - userarn: arn:aws:iam::111122223333:user/alice
 *       username: alice
 *       groups: [team-a]
 * ```
 *
 * A role matches the role a session was assumed from (`assumed-role/NAME/SESSION` is the role
 * `NAME`; a path in the mapping's ARN is ignored, as the session's ARN carries none). Templates in
 * `username`: `{{AccountID}}`, `{{SessionName}}` (`@` becomes `-`, as EKS does) and
 * `{{SessionNameRaw}}`. For an EC2 instance role the session name is the instance ID. A principal
 * no entry names is not a user of the cluster (401).
 */
import { parse } from 'yaml';
import { z } from 'zod';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../../core/errors.ts';
import type { ObjectStore } from '../../store/store.ts';
import { AUTHENTICATED, type UserInfo } from '../authorization/user-info.ts';

export const iamMappingConfigMap = { namespace: 'kube-system', name: 'aws-auth' } as const;

/** An IAM principal as STS reported it (GetCallerIdentity). */
export interface AwsIdentity {
  /** As STS returned it, e.g. `arn:aws:sts::111122223333:assumed-role/skiff-nodes/i-0abc`. */
  readonly arn: string;
  /** The IAM entity: `arn:aws:iam::111122223333:role/skiff-nodes` for an assumed role. */
  readonly canonicalArn: string;
  readonly accountId: string;
  /** The STS session name of an assumed role (an EC2 instance ID for an instance role). */
  readonly sessionName?: string;
}

const entryFields = { username: z.string().min(1).optional(), groups: z.array(z.string().min(1)).default([]) };
const roleEntry = z.object({ rolearn: z.string().min(1), ...entryFields });
const userEntry = z.object({ userarn: z.string().min(1), ...entryFields });

export interface IamIdentityMapping {
  readonly roles: readonly z.infer<typeof roleEntry>[];
  readonly users: readonly z.infer<typeof userEntry>[];
}

export const emptyMapping: IamIdentityMapping = { roles: [], users: [] };

/**
 * Reads the ConfigMap's `mapRoles` and `mapUsers` (YAML lists). An entry that does not parse is
 * skipped and reported, so one typo does not lock everybody out.
 */
export function parseIamIdentityMapping(data: Readonly<Record<string, string>> | undefined): { mapping: IamIdentityMapping; problems: string[] } {
  const problems: string[] = [];
  const list = <T>(key: string, schema: z.ZodType<T>): T[] => {
    const text = data?.[key];
    if (!text?.trim()) return [];
    let value: unknown;
    try {
      value = parse(text);
    } catch (error) {
      problems.push(`${key}: not YAML: ${error instanceof Error ? error.message : String(error)}`);
      return [];
    }
    if (!Array.isArray(value)) {
      problems.push(`${key}: expected a list`);
      return [];
    }
    return value.flatMap((entry, index) => {
      const parsed = schema.safeParse(entry);
      if (parsed.success) return [parsed.data];
      problems.push(`${key}[${index}]: ${parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; ')}`);
      return [];
    });
  };
  return { mapping: { roles: list('mapRoles', roleEntry), users: list('mapUsers', userEntry) }, problems };
}

/** `arn:aws:iam::1:role/path/to/name` → `arn:aws:iam::1:role/name`, lower case: how role ARNs are compared. */
function roleKey(arn: string): string {
  const match = /^(arn:[^:]+:iam::\d{12}:role)\/(?:.*\/)?([^/]+)$/.exec(arn.trim());
  return (match ? `${match[1]}/${match[2]}` : arn.trim()).toLowerCase();
}

function expand(template: string, identity: AwsIdentity): string | undefined {
  let missing = false;
  const value = template.replace(/\{\{(AccountID|SessionName|SessionNameRaw)\}\}/g, (_whole, name: string) => {
    if (name === 'AccountID') return identity.accountId;
    if (!identity.sessionName) {
      missing = true;
      return '';
    }
    return name === 'SessionName' ? identity.sessionName.replaceAll('@', '-') : identity.sessionName;
  });
  return missing || value === '' ? undefined : value;
}

/** The Kubernetes user an IAM principal maps to, or undefined when no entry names it. */
export function mapIamIdentity(identity: AwsIdentity, mapping: IamIdentityMapping): UserInfo | undefined {
  const canonical = identity.canonicalArn.toLowerCase();
  const entry = canonical.includes(':role/')
    ? mapping.roles.find((role) => roleKey(role.rolearn) === roleKey(identity.canonicalArn))
    : mapping.users.find((user) => user.userarn.trim().toLowerCase() === canonical);
  if (!entry) return undefined;
  const username = expand(entry.username ?? identity.canonicalArn, identity);
  if (!username) return undefined;
  return { username, groups: [...new Set([...entry.groups, AUTHENTICATED])] };
}

/**
 * The mapping as the cluster holds it, read at most every `refreshMs` (a Lambda container reuses
 * it across requests; an edit takes effect within that time). A missing ConfigMap maps nobody.
 */
export function storedIamIdentityMapping(
  store: ObjectStore,
  options: { refreshMs?: number; now?: () => number; onProblem?: (problem: string) => void } = {},
): () => Promise<IamIdentityMapping> {
  const refreshMs = options.refreshMs ?? 30_000;
  const now = options.now ?? Date.now;
  let cached: { at: number; mapping: Promise<IamIdentityMapping> } | undefined;
  return () => {
    if (!cached || now() - cached.at >= refreshMs) {
      const mapping = store.get(types.configmaps, iamMappingConfigMap.namespace, iamMappingConfigMap.name).then(
        (object) => {
          const { mapping: parsed, problems } = parseIamIdentityMapping((object as KubeObject & { data?: Record<string, string> }).data);
          for (const problem of problems) options.onProblem?.(`${iamMappingConfigMap.namespace}/${iamMappingConfigMap.name} ${problem}`);
          return parsed;
        },
        (error: unknown) => {
          if (error instanceof NotFoundError) return emptyMapping;
          throw error;
        },
      );
      cached = { at: now(), mapping };
      mapping.catch(() => {
        if (cached?.mapping === mapping) cached = undefined;
      });
    }
    return cached.mapping;
  };
}

/** Entries a deployment declares (its administrators, its node role): written as YAML lists. */
export interface DeclaredIamEntries {
  readonly roles?: readonly { readonly rolearn: string; readonly username: string; readonly groups: readonly string[] }[];
  readonly users?: readonly { readonly userarn: string; readonly username: string; readonly groups: readonly string[] }[];
}

/**
 * Makes sure the ConfigMap holds the declared entries: creates it with them, or adds the ones
 * it lacks (matched by ARN). Entries someone added or changed by hand are left as they are.
 */
export async function ensureIamIdentityMapping(store: ObjectStore, declared: DeclaredIamEntries): Promise<void> {
  const { namespace, name } = iamMappingConfigMap;
  for (let attempt = 0; attempt < 5; attempt++) {
    let existing: (KubeObject & { data?: Record<string, string> }) | undefined;
    try {
      existing = (await store.get(types.configmaps, namespace, name)) as KubeObject & { data?: Record<string, string> };
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
    const { mapping } = parseIamIdentityMapping(existing?.data);
    const roles = [...mapping.roles];
    for (const role of declared.roles ?? [])
      if (!roles.some((r) => roleKey(r.rolearn) === roleKey(role.rolearn))) roles.push({ ...role, groups: [...role.groups] });
    const users = [...mapping.users];
    for (const user of declared.users ?? [])
      if (!users.some((u) => u.userarn.toLowerCase() === user.userarn.toLowerCase())) users.push({ ...user, groups: [...user.groups] });
    const added = roles.length > mapping.roles.length || users.length > mapping.users.length;
    if (existing && !added) return;
    const yamlList = (entries: readonly object[]) => (entries.length === 0 ? '[]\n' : `${entries.map((entry) => `- ${JSON.stringify(entry)}`).join('\n')}\n`);
    const data = { ...(existing?.data ?? {}), mapRoles: yamlList(roles), mapUsers: yamlList(users) };
    try {
      if (existing) await store.update(types.configmaps, { ...existing, data });
      else
        await store.create(types.configmaps, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'skiff' } },
          data,
        });
      return;
    } catch (error) {
      // Someone else wrote it in between: read again and merge.
      if (!(error instanceof AlreadyExistsError) && !(error instanceof ConflictError)) throw error;
    }
  }
  throw new Error(`could not write ${namespace}/${name} after 5 attempts`);
}
