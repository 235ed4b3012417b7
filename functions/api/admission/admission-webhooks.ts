/**
 * The admission webhooks as the last plugin of the request pipeline (docs/adr/120, 207): the
 * mutating webhooks after the built-in plugins' mutations, the object admitted again (defaults and
 * validation) when one changed it, then the validating webhooks after the built-in validations,
 * as kube-apiserver orders MutatingAdmissionWebhook and ValidatingAdmissionWebhook. Each is told
 * the user who asked; their warnings go to the client's `Warning` headers.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import type { WebhookAdmission, WebhookRequest } from '../../domain/admission-webhooks/webhook-admission.ts';
import type { Admission } from '../../domain/object-admission/admission.ts';
import type { AdmissionAttributes, AdmissionPlugin } from './request-admission.ts';

function webhookRequestOf(attributes: AdmissionAttributes): WebhookRequest {
  // kube-apiserver's attributes of a request about a Namespace carry its name as their namespace.
  const namespace = attributes.type.id === types.namespaces.id && !attributes.namespace ? attributes.name : attributes.namespace;
  return {
    operation: attributes.operation,
    type: attributes.type,
    ...(attributes.subresource ? { subresource: attributes.subresource } : {}),
    ...(namespace ? { namespace } : {}),
    name: attributes.name,
    ...(attributes.object ? { object: attributes.object } : {}),
    ...(attributes.oldObject ? { oldObject: attributes.oldObject } : {}),
    user: attributes.user,
    dryRun: attributes.dryRun,
  };
}

export function admissionWebhooksPlugin(webhooks: WebhookAdmission, admission: Admission): AdmissionPlugin {
  return {
    name: 'AdmissionWebhooks',
    async admit(attributes): Promise<KubeObject | undefined> {
      const mutated = await webhooks.mutate(webhookRequestOf(attributes));
      for (const warning of mutated.warnings) attributes.warn?.(warning);
      if (!mutated.changed || !mutated.object) return undefined;
      // Only the object itself, its status or its ephemeral containers are written as sent; other
      // subresources' bodies (an Eviction, a binding) are requests, not what is stored.
      const subresource = attributes.subresource;
      if (subresource !== undefined && subresource !== 'status' && subresource !== 'ephemeralcontainers') return undefined;
      return admission.readmit(attributes.type, mutated.object, attributes.oldObject, subresource);
    },
    async validate(attributes) {
      for (const warning of await webhooks.validate(webhookRequestOf(attributes))) attributes.warn?.(warning);
    },
  };
}
