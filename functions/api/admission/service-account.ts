/** The ServiceAccount admission plugin of the API: pods being created get their account's token volume (functions/domain/pods/service-account-admission.ts). */
import { types } from '../../../schemas/registry.ts';
import { admitPodServiceAccount } from '../../domain/pods/service-account-admission.ts';
import type { AdmissionPlugin } from './request-admission.ts';

export const serviceAccountAdmissionPlugin: AdmissionPlugin = {
  name: 'ServiceAccount',
  async admit(attributes, store) {
    if (attributes.operation !== 'CREATE' || attributes.type.id !== types.pods.id || attributes.subresource || !attributes.object) return undefined;
    return admitPodServiceAccount(attributes.object, store);
  },
};
