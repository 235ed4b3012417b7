/** `core/v1` Endpoints: the addresses behind a Service, written by the endpoints controller. */
import { isIP } from 'node:net';
import { z } from 'zod';
import { child, type FieldCause, index, invalid, required } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, int32, kindField, objectMetaSchema } from './meta.ts';
import { checkName, isDns1123Label, isDns1123Subdomain } from './name-rules.ts';
import { objectReferenceSchema } from './object-reference.ts';
import { protocolSchema } from './pod-spec.ts';

const coreV1 = 'io.k8s.api.core.v1';

const endpointAddress = z
  .object({ ip: z.string(), hostname: z.string().optional(), nodeName: z.string().optional(), targetRef: objectReferenceSchema.optional() })
  .meta({ id: `${coreV1}.EndpointAddress` });

export const endpointPortSchema = z
  .object({ name: z.string().optional(), port: int32, protocol: protocolSchema.default('TCP'), appProtocol: z.string().optional() })
  .meta({ id: `${coreV1}.EndpointPort` });

const endpointSubset = z
  .object({
    addresses: z.array(endpointAddress).optional(),
    notReadyAddresses: z.array(endpointAddress).optional(),
    ports: z.array(endpointPortSchema).optional(),
  })
  .meta({ id: `${coreV1}.EndpointSubset` });

export const endpointsSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    subsets: z.array(endpointSubset).optional(),
  })
  .meta({ id: `${coreV1}.Endpoints`, description: 'Endpoints lists the addresses and ports behind a Service.' });
export type Endpoints = z.infer<typeof endpointsSchema>;

function validateEndpoints(endpoints: Endpoints): FieldCause[] {
  const causes: FieldCause[] = [];
  (endpoints.subsets ?? []).forEach((subset, i) => {
    const at = index('subsets', i);
    for (const list of ['addresses', 'notReadyAddresses'] as const) {
      (subset[list] ?? []).forEach((address, j) => {
        const field = index(child(at, list), j);
        if (!address.ip) causes.push(required(child(field, 'ip')));
        else if (!isIP(address.ip)) causes.push(invalid(child(field, 'ip'), address.ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
        if (address.hostname) causes.push(...checkName(child(field, 'hostname'), address.hostname, isDns1123Label));
      });
    }
    (subset.ports ?? []).forEach((port, j) => {
      const field = index(child(at, 'ports'), j);
      if (port.port < 1 || port.port > 65535) causes.push(invalid(child(field, 'port'), port.port, 'must be between 1 and 65535, inclusive'));
      if ((subset.ports ?? []).length > 1 && !port.name) causes.push(required(child(field, 'name')));
      if (port.name) causes.push(...checkName(child(field, 'name'), port.name, isDns1123Label));
    });
  });
  return causes;
}

export const endpointsRules: AnyKindRules = anyKind<Endpoints>({ schema: endpointsSchema, nameRule: isDns1123Subdomain, validate: validateEndpoints });
