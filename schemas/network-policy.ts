/**
 * `networking.k8s.io/v1` NetworkPolicy: which traffic may reach (ingress) and leave (egress) the
 * pods a policy selects. Validation and defaults are kube-apiserver's; enforcement is the node
 * agents' (docs/adr/209).
 */
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { child, type FieldCause, forbidden, index, invalid, notSupported, required } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, int32, intOrString, kindField, labelSelectorSchema, objectMetaSchema, validateLabelSelector } from './meta.ts';
import { checkName, isDns1123Subdomain, isPortName } from './name-rules.ts';

const networkingV1 = 'io.k8s.api.networking.v1';
const protocols = ['TCP', 'UDP', 'SCTP'] as const;
const policyTypes = ['Ingress', 'Egress'] as const;

const ipBlockSchema = z
  .object({
    cidr: z.string().default('').describe('The addresses this peer covers, e.g. 192.168.1.0/24 or 2001:db8::/64.'),
    except: z.array(z.string()).optional().describe('Ranges inside cidr that are not covered; each must lie strictly within cidr.'),
  })
  .meta({ id: `${networkingV1}.IPBlock`, description: 'A CIDR range (with exceptions) a rule allows traffic from or to.' });

const peerSchema = z
  .object({
    podSelector: labelSelectorSchema.optional().describe("Pods of the policy's namespace (or of the namespaces namespaceSelector selects); empty selects all."),
    namespaceSelector: labelSelectorSchema.optional().describe('Namespaces by their labels; empty selects all.'),
    ipBlock: ipBlockSchema.optional(),
  })
  .meta({ id: `${networkingV1}.NetworkPolicyPeer`, description: 'A peer to allow traffic from or to: pods, namespaces, or an IP block.' });

const portSchema = z
  .object({
    protocol: z.string().default('TCP').describe('TCP, UDP or SCTP; defaults to TCP.'),
    port: intOrString.optional().describe("A port number or the name of a pod's container port; absent matches every port."),
    endPort: int32.optional().describe('With a numeric port, the last port of the allowed range (inclusive).'),
  })
  .meta({ id: `${networkingV1}.NetworkPolicyPort`, description: 'A port (or port range) a rule allows traffic on.' });

const atomic = { 'x-kubernetes-list-type': 'atomic' } as const;

export const networkPolicySpecSchema = z
  .object({
    podSelector: labelSelectorSchema
      .default(() => ({}))
      .describe("The pods this policy applies to; an empty selector selects every pod of the policy's namespace."),
    ingress: z
      .array(
        z
          .object({ ports: z.array(portSchema).meta(atomic).optional(), from: z.array(peerSchema).meta(atomic).optional() })
          .meta({ id: `${networkingV1}.NetworkPolicyIngressRule`, description: 'Traffic allowed to the selected pods: it must match both ports and from.' }),
      )
      .meta(atomic)
      .optional()
      .describe('Ingress rules; traffic to a selected pod is allowed when it matches a rule of any policy selecting it.'),
    egress: z
      .array(
        z
          .object({ ports: z.array(portSchema).meta(atomic).optional(), to: z.array(peerSchema).meta(atomic).optional() })
          .meta({ id: `${networkingV1}.NetworkPolicyEgressRule`, description: 'Traffic allowed out of the selected pods: it must match both ports and to.' }),
      )
      .meta(atomic)
      .optional()
      .describe('Egress rules; traffic from a selected pod is allowed when it matches a rule of any policy selecting it.'),
    policyTypes: z
      .array(z.string())
      .meta(atomic)
      .optional()
      .describe('Ingress, Egress or both; defaults to Ingress, plus Egress when the policy has egress rules.'),
  })
  .meta({ id: `${networkingV1}.NetworkPolicySpec`, description: 'The pods a NetworkPolicy selects and the traffic it allows them.' });

export const networkPolicySchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: networkPolicySpecSchema.default(() => ({ podSelector: {} })),
  })
  .meta({ id: `${networkingV1}.NetworkPolicy`, description: 'A NetworkPolicy describes what network traffic is allowed for a set of pods.' });
export type NetworkPolicy = z.infer<typeof networkPolicySchema>;
export type NetworkPolicySpec = NetworkPolicy['spec'];
export type NetworkPolicyPeer = z.infer<typeof peerSchema>;
export type NetworkPolicyPort = z.infer<typeof portSchema>;

/** `SetDefaults_NetworkPolicy`: a policy without policyTypes is about Ingress, and Egress too when it has egress rules. */
function defaultNetworkPolicy(policy: NetworkPolicy): NetworkPolicy {
  if ((policy.spec.policyTypes ?? []).length > 0) return policy;
  const types = (policy.spec.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  return { ...policy, spec: { ...policy.spec, policyTypes: types } };
}

const cidrMessage = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';

interface ParsedCidr {
  readonly address: string;
  readonly prefixLength: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** `address/prefix`, IPv4 or IPv6, as Go's net.ParseCIDR reads it (no leading zeros in an IPv4 octet). */
export function parseAnyCidr(text: string): ParsedCidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const version = isIP(address);
  if (version === 0 || !/^\d{1,3}$/.test(prefixText)) return undefined;
  if (version === 4 && address.split('.').some((octet) => octet.length > 1 && octet.startsWith('0'))) return undefined;
  const prefixLength = Number(prefixText);
  if (prefixLength > (version === 4 ? 32 : 128)) return undefined;
  return { address, prefixLength, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** `ValidateIPBlock`: a valid cidr, and each except a valid CIDR strictly inside it. */
function validateIpBlock(block: z.infer<typeof ipBlockSchema>, field: string): FieldCause[] {
  if (!block.cidr) return [required(child(field, 'cidr'), '')];
  const cidr = parseAnyCidr(block.cidr);
  if (!cidr) return [invalid(child(field, 'cidr'), block.cidr, cidrMessage)];
  const range = new BlockList();
  range.addSubnet(cidr.address, cidr.prefixLength, cidr.family);
  const causes: FieldCause[] = [];
  (block.except ?? []).forEach((text, i) => {
    const at = index(child(field, 'except'), i);
    const except = parseAnyCidr(text);
    if (!except) causes.push(invalid(at, text, cidrMessage));
    else if (except.family !== cidr.family || except.prefixLength <= cidr.prefixLength || !range.check(except.address, except.family)) {
      causes.push(invalid(at, text, 'must be a strict subset of `cidr`'));
    }
  });
  return causes;
}

/** `ValidateNetworkPolicyPort`. */
function validatePort(port: NetworkPolicyPort, field: string): FieldCause[] {
  const causes: FieldCause[] = [];
  if (!(protocols as readonly string[]).includes(port.protocol)) causes.push(notSupported(child(field, 'protocol'), port.protocol, protocols));
  const endPort = port.endPort;
  if (typeof port.port === 'number') {
    if (port.port < 1 || port.port > 65535) causes.push(invalid(child(field, 'port'), port.port, 'must be between 1 and 65535, inclusive'));
    if (endPort !== undefined) {
      if (endPort < port.port) causes.push(invalid(child(field, 'endPort'), endPort, 'must be greater than or equal to `port`'));
      if (endPort < 1 || endPort > 65535) causes.push(invalid(child(field, 'endPort'), endPort, 'must be between 1 and 65535, inclusive'));
    }
  } else if (typeof port.port === 'string') {
    if (endPort !== undefined) causes.push(invalid(child(field, 'endPort'), endPort, 'may not be specified when `port` is non-numeric'));
    causes.push(...checkName(child(field, 'port'), port.port, isPortName));
  } else if (endPort !== undefined) {
    causes.push(invalid(child(field, 'endPort'), endPort, 'may not be specified when `port` is not specified'));
  }
  return causes;
}

/** `ValidateNetworkPolicyPeer`: at least one of the three, and ipBlock alone. */
function validatePeer(peer: NetworkPolicyPeer, field: string): FieldCause[] {
  const causes: FieldCause[] = [];
  if (peer.podSelector) causes.push(...validateLabelSelector(peer.podSelector, child(field, 'podSelector')));
  if (peer.namespaceSelector) causes.push(...validateLabelSelector(peer.namespaceSelector, child(field, 'namespaceSelector')));
  if (peer.ipBlock) causes.push(...validateIpBlock(peer.ipBlock, child(field, 'ipBlock')));
  const peers = [peer.podSelector, peer.namespaceSelector, peer.ipBlock].filter((p) => p !== undefined).length;
  if (peers === 0) causes.push(required(field, 'must specify a peer'));
  else if (peers > 1 && peer.ipBlock) causes.push(forbidden(field, 'may not specify both ipBlock and another peer'));
  return causes;
}

/** `ValidateNetworkPolicySpec`. */
function validateNetworkPolicy(policy: NetworkPolicy): FieldCause[] {
  const spec = policy.spec;
  const causes = validateLabelSelector(spec.podSelector, 'spec.podSelector');
  const rules = [
    ...(spec.ingress ?? []).map((rule, i) => ({ at: index('spec.ingress', i), ports: rule.ports, peers: rule.from, peerField: 'from' })),
    ...(spec.egress ?? []).map((rule, i) => ({ at: index('spec.egress', i), ports: rule.ports, peers: rule.to, peerField: 'to' })),
  ];
  for (const rule of rules) {
    (rule.ports ?? []).forEach((port, j) => {
      causes.push(...validatePort(port, index(child(rule.at, 'ports'), j)));
    });
    (rule.peers ?? []).forEach((peer, j) => {
      causes.push(...validatePeer(peer, index(child(rule.at, rule.peerField), j)));
    });
  }
  const types = spec.policyTypes ?? [];
  if (types.length > policyTypes.length) {
    const rendered = `[]networking.PolicyType{${types.map((t) => JSON.stringify(t)).join(', ')}}`;
    causes.push(invalid('spec.policyTypes', types, 'may not specify more than two policyTypes', rendered));
    return causes;
  }
  types.forEach((type, i) => {
    if (!(policyTypes as readonly string[]).includes(type)) causes.push(notSupported(index('spec.policyTypes', i), type, policyTypes));
  });
  return causes;
}

export const networkPolicyRules: AnyKindRules = anyKind<NetworkPolicy>({
  schema: networkPolicySchema,
  nameRule: isDns1123Subdomain,
  defaults: defaultNetworkPolicy,
  validate: validateNetworkPolicy,
});
