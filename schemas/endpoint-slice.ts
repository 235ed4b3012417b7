/** `discovery.k8s.io/v1` EndpointSlice: one address family's endpoints behind a Service. */
import { isIP } from 'node:net';
import { z } from 'zod';
import { child, type FieldCause, immutable, index, invalid, required } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, int32, kindField, objectMetaSchema } from './meta.ts';
import { checkName, isDns1123Label, isDns1123Subdomain } from './name-rules.ts';
import { objectReferenceSchema } from './object-reference.ts';
import { protocolSchema } from './pod-spec.ts';

const discoveryV1 = 'io.k8s.api.discovery.v1';

export const addressTypes = ['IPv4', 'IPv6', 'FQDN'] as const;

const endpoint = z
  .object({
    addresses: z.array(z.string()),
    conditions: z
      .object({ ready: z.boolean().optional(), serving: z.boolean().optional(), terminating: z.boolean().optional() })
      .meta({ id: `${discoveryV1}.EndpointConditions` })
      .default(() => ({})),
    hostname: z.string().optional(),
    targetRef: objectReferenceSchema.optional(),
    deprecatedTopology: z.record(z.string(), z.string()).optional(),
    nodeName: z.string().optional(),
    zone: z.string().optional(),
    hints: z.object({ forZones: z.array(z.object({ name: z.string() })).optional(), forNodes: z.array(z.object({ name: z.string() })).optional() }).optional(),
  })
  .meta({ id: `${discoveryV1}.Endpoint` });

const endpointPort = z
  .object({ name: z.string().default(''), protocol: protocolSchema.default('TCP'), port: int32.optional(), appProtocol: z.string().optional() })
  .meta({ id: `${discoveryV1}.EndpointPort` });

export const endpointSliceSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    addressType: z.enum(addressTypes).optional(),
    endpoints: z.array(endpoint).default(() => []),
    ports: z.array(endpointPort).optional(),
  })
  .meta({ id: `${discoveryV1}.EndpointSlice`, description: 'An EndpointSlice lists a subset of the endpoints behind a Service, for one address type.' });
export type EndpointSlice = z.infer<typeof endpointSliceSchema>;

/** An EndpointSlice holds at most 1000 endpoints of at most 100 addresses each. */
const maxEndpoints = 1000;

function validateEndpointSlice(slice: EndpointSlice): FieldCause[] {
  const causes: FieldCause[] = [];
  if (!slice.addressType) causes.push(required('addressType'));
  if (slice.endpoints.length > maxEndpoints)
    causes.push({ field: 'endpoints', reason: 'FieldValueTooMany', message: `Too many: ${slice.endpoints.length}: must have at most ${maxEndpoints} items` });
  slice.endpoints.forEach((endpoint, i) => {
    const at = index('endpoints', i);
    if (endpoint.addresses.length === 0) causes.push(required(child(at, 'addresses'), 'must contain at least 1 address'));
    endpoint.addresses.forEach((address, j) => {
      const field = index(child(at, 'addresses'), j);
      if (slice.addressType === 'FQDN') causes.push(...checkName(field, address, isDns1123Subdomain));
      else if (isIP(address) !== (slice.addressType === 'IPv6' ? 6 : 4)) causes.push(invalid(field, address, `must be a valid ${slice.addressType} address`));
    });
    if (endpoint.hostname) causes.push(...checkName(child(at, 'hostname'), endpoint.hostname, isDns1123Label));
  });
  (slice.ports ?? []).forEach((port, i) => {
    const at = index('ports', i);
    if (port.name) causes.push(...checkName(child(at, 'name'), port.name, isDns1123Label));
    if (port.port !== undefined && (port.port < 1 || port.port > 65535))
      causes.push(invalid(child(at, 'port'), port.port, 'must be between 1 and 65535, inclusive'));
  });
  return causes;
}

export const endpointSliceRules: AnyKindRules = anyKind<EndpointSlice>({
  schema: endpointSliceSchema,
  nameRule: isDns1123Subdomain,
  validate: validateEndpointSlice,
  validateUpdate: (slice, old) => (slice.addressType !== old.addressType ? [immutable('addressType', slice.addressType ?? '')] : []),
});
