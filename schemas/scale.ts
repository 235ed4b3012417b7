/** `autoscaling/v1` Scale: what `/scale` subresources read and write. */
import { z } from 'zod';
import { apiVersionField, int32, kindField, objectMetaSchema } from './meta.ts';

export const scaleSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: z
      .object({ replicas: int32.optional() })
      .meta({ id: 'io.k8s.api.autoscaling.v1.ScaleSpec' })
      .default(() => ({})),
    status: z.object({ replicas: int32, selector: z.string().optional() }).meta({ id: 'io.k8s.api.autoscaling.v1.ScaleStatus' }).optional(),
  })
  .meta({
    id: 'io.k8s.api.autoscaling.v1.Scale',
    'x-kubernetes-group-version-kind': [{ group: 'autoscaling', version: 'v1', kind: 'Scale' }],
    description: 'Scale is the replica count of a scalable resource, read and written through its /scale subresource.',
  });
export type Scale = z.infer<typeof scaleSchema>;
