/** `meta.k8s.io/v1` Table, what `kubectl get` asks for, and the PartialObjectMetadata in its rows. */
import { z } from 'zod';
import { int32, listMetaSchema, objectMetaSchema, opaqueObject } from './meta.ts';

const metaV1 = 'io.k8s.apimachinery.pkg.apis.meta.v1';

export const partialObjectMetadataSchema = z
  .object({ apiVersion: z.string().optional(), kind: z.string().optional(), metadata: objectMetaSchema.optional() })
  .meta({ id: `${metaV1}.PartialObjectMetadata` });

export const tableColumnDefinitionSchema = z
  .object({ name: z.string(), type: z.string(), format: z.string(), description: z.string(), priority: int32 })
  .meta({ id: `${metaV1}.TableColumnDefinition` });

export const tableRowSchema = z
  .object({
    cells: z.array(z.unknown()),
    conditions: z.array(z.object({ type: z.string(), status: z.string(), reason: z.string().optional(), message: z.string().optional() })).optional(),
    object: opaqueObject.optional(),
  })
  .meta({ id: `${metaV1}.TableRow` });

export const tableSchema = z
  .object({
    apiVersion: z.string().optional(),
    kind: z.string().optional(),
    metadata: listMetaSchema.optional(),
    columnDefinitions: z.array(tableColumnDefinitionSchema),
    rows: z.array(tableRowSchema),
  })
  .meta({ id: `${metaV1}.Table` });
export type Table = z.infer<typeof tableSchema>;
