/**
 * Jobs: kube-apiserver's Job strategy. A new Job starts with no status, and unless it asks for
 * `manualSelector`, its pods are labelled with the Job's uid and name and the Job selects them
 * by the uid (`batch.kubernetes.io/controller-uid`), so no two Jobs ever share pods. The uid (and
 * a name from `generateName`) is assigned here, as kube-apiserver assigns both before the strategy.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { jobLabels } from '../../../schemas/job.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import type { KindStrategy } from './kind-strategy.ts';

/** Kubernetes' alphabet for generated name suffixes. */
const suffixAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

function nameFrom(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += suffixAlphabet[randomInt(suffixAlphabet.length)];
  return `${prefix}${suffix}`;
}

interface JobShape {
  readonly spec?: {
    readonly manualSelector?: boolean;
    readonly selector?: unknown;
    readonly template?: { readonly metadata?: { readonly labels?: Readonly<Record<string, string>> } & Record<string, unknown> } & Record<string, unknown>;
  } & Record<string, unknown>;
}

/** `generateSelectorIfNeeded`: the uid and name labels on the template, the uid selector on the Job. */
export function withGeneratedSelector(job: KubeObject): KubeObject {
  const spec = (job as JobShape).spec ?? {};
  if (spec.manualSelector === true) return job;
  const uid = job.metadata.uid ?? '';
  const name = job.metadata.name ?? '';
  const template = spec.template ?? {};
  const labels = {
    ...template.metadata?.labels,
    [jobLabels.controllerUid]: uid,
    [jobLabels.jobName]: name,
    [jobLabels.legacyControllerUid]: uid,
    [jobLabels.legacyJobName]: name,
  };
  return {
    ...job,
    spec: {
      ...spec,
      // A selector the user sent without manualSelector is replaced, as kube-apiserver does.
      selector: { matchLabels: { [jobLabels.controllerUid]: uid } },
      template: { ...template, metadata: { ...template.metadata, labels } },
    },
  } as KubeObject;
}

export const jobStrategy: KindStrategy = {
  prepareForCreate(job) {
    const { status: _status, ...rest } = job;
    const name = job.metadata.name || nameFrom(job.metadata.generateName ?? '');
    return withGeneratedSelector({ ...rest, metadata: { ...job.metadata, name, uid: randomUUID() } } as KubeObject);
  },
};
