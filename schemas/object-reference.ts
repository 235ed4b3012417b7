/** `core/v1` ObjectReference: how Events, Endpoints and EndpointSlices point at other objects. */
import { z } from 'zod';

export const objectReferenceSchema = z
  .object({
    kind: z.string().optional(),
    namespace: z.string().optional(),
    name: z.string().optional(),
    uid: z.string().optional(),
    apiVersion: z.string().optional(),
    resourceVersion: z.string().optional(),
    fieldPath: z.string().optional(),
  })
  .meta({ id: 'io.k8s.api.core.v1.ObjectReference' });
export type ObjectReference = z.infer<typeof objectReferenceSchema>;
