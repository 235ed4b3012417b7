/** `kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations`: kube-apiserver's columns (name, the number of webhooks, age). */
import { ageSince } from './human-duration.ts';
import { ageColumn, column, type KindPrinter, nameColumn, nameOf } from './kind-printer.ts';

function webhooksColumnPrinter(kind: string): KindPrinter {
  return {
    columns: [nameColumn, column('Webhooks', `Webhooks indicates the number of webhooks in the ${kind}`, { type: 'integer' }), ageColumn],
    print(configuration, now) {
      const webhooks = (configuration as { webhooks?: unknown }).webhooks;
      return { cells: [nameOf(configuration), Array.isArray(webhooks) ? webhooks.length : 0, ageSince(configuration.metadata.creationTimestamp, now)] };
    },
  };
}

export const mutatingWebhookConfigurationPrinter = webhooksColumnPrinter('MutatingWebhookConfiguration');
export const validatingWebhookConfigurationPrinter = webhooksColumnPrinter('ValidatingWebhookConfiguration');
