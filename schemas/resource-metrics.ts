/**
 * `metrics.k8s.io/v1beta1` NodeMetrics and PodMetrics: the resource usage metrics-server serves
 * (and `kubectl top` reads), computed from what the nodes measured, never stored. Read-only:
 * get and list (with a label selector) only.
 */
import { z } from 'zod';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, kindField, objectMetaSchema, quantity, time } from './meta.ts';

const metricsV1beta1 = 'io.k8s.metrics.pkg.apis.metrics.v1beta1';
const usageSchema = z.record(z.string(), quantity).describe('Usage by resource name: cpu (cores), memory (bytes).');
const duration = z.string().meta({ id: 'io.k8s.apimachinery.pkg.apis.meta.v1.Duration' });

export const nodeMetricsSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    timestamp: time.describe('The end of the window the usage was measured over.'),
    window: duration.describe('How long the usage was measured over.'),
    usage: usageSchema,
  })
  .meta({ id: `${metricsV1beta1}.NodeMetrics`, description: 'NodeMetrics sets resource usage metrics of a node.' });
export type NodeMetrics = z.infer<typeof nodeMetricsSchema>;

const containerMetricsSchema = z
  .object({ name: z.string(), usage: usageSchema })
  .meta({ id: `${metricsV1beta1}.ContainerMetrics`, description: 'ContainerMetrics sets resource usage metrics of a container.' });

export const podMetricsSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    timestamp: time.describe('The end of the window the usage was measured over.'),
    window: duration.describe('How long the usage was measured over.'),
    containers: z.array(containerMetricsSchema).describe('Metrics of every container of the pod.'),
  })
  .meta({ id: `${metricsV1beta1}.PodMetrics`, description: 'PodMetrics sets resource usage metrics of a pod.' });
export type PodMetrics = z.infer<typeof podMetricsSchema>;

const anyName = () => [];
export const nodeMetricsRules: AnyKindRules = anyKind({ schema: nodeMetricsSchema, nameRule: anyName });
export const podMetricsRules: AnyKindRules = anyKind({ schema: podMetricsSchema, nameRule: anyName });
