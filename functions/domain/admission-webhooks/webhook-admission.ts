/**
 * Calls the admission webhooks a write matches, as kube-apiserver's MutatingAdmissionWebhook and
 * ValidatingAdmissionWebhook plugins do (docs/adr/207):
 *
 * - mutating webhooks one after the other, configurations in name order and each configuration's
 *   webhooks in their order, each sent the object as the previous one left it; a `JSONPatch`
 *   answer is applied, and the caller admits the result again (defaults, validation); a webhook
 *   with `reinvocationPolicy: IfNeeded` that a later webhook's change followed is called once more;
 * - then the validating webhooks, all at once;
 * - a refusal is the webhook's status behind `admission webhook "NAME" denied the request`; a
 *   webhook that cannot be called, times out or answers nonsense fails the request with a 500
 *   (`failurePolicy: Fail`) or is skipped (`Ignore`); a dry run is refused for a webhook that may
 *   have side effects; `warnings` are handed back for the client's `Warning` headers.
 *
 * The configurations are read from the store at most once per `cacheMs` (kube-apiserver reads
 * them from an informer, as late): a process writing a configuration through admission forgets
 * what it read at once, other processes within `cacheMs`.
 */
import fastJsonPatch from 'fast-json-patch';
import type { AdmissionWebhook, MutatingWebhookConfiguration, ValidatingWebhookConfiguration } from '../../../schemas/admission-registration.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { type ApiError, InternalError, isApiError } from '../../core/errors.ts';
import { type JsonPostOptions, type JsonPostResponse, postJson } from '../../net/https-json-post.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';
import type { ObjectReader } from '../../store/store.ts';
import {
  admissionReview,
  callFailedError,
  deniedError,
  dryRunUnsupportedError,
  InvalidWebhookResponseError,
  readVerdict,
  type WebhookRequest,
} from './admission-review.ts';
import {
  isExemptFromWebhooks,
  type MatchedRequest,
  namespaceLabelsFromRequest,
  needsNamespaceLabels,
  ruleMatches,
  webhookMatches,
} from './webhook-matching.ts';
import { resolveWebhookTarget, type WebhookTarget } from './webhook-target.ts';

export type { WebhookRequest } from './admission-review.ts';

/** How a review is POSTed: HTTPS by default; tests may stand in. */
export type WebhookPoster = (url: URL, body: string, options: JsonPostOptions) => Promise<JsonPostResponse>;

export interface WebhookAdmissionOptions {
  readonly store: ObjectReader;
  readonly post?: WebhookPoster;
  /** How long the configurations read are used before they are read again. @default 1000 */
  readonly cacheMs?: number;
  /** Told of a webhook that failed and was skipped (`failurePolicy: Ignore`), for the log. */
  readonly onFailOpen?: (webhookName: string, reason: string) => void;
}

export interface MutationResult {
  /** The object as the last mutating webhook left it (the request's object when none changed it). */
  readonly object: KubeObject | undefined;
  readonly changed: boolean;
  readonly warnings: readonly string[];
}

export interface WebhookAdmission {
  /** Whether any webhook could be called for a request about this type (rules only, no selectors): lets callers skip a read. */
  mayMatch(request: Pick<MatchedRequest, 'operation' | 'type' | 'version' | 'subresource' | 'namespace'>): Promise<boolean>;
  mutate(request: WebhookRequest): Promise<MutationResult>;
  /** Resolves with the validating webhooks' warnings; rejects with the first refusal. */
  validate(request: WebhookRequest): Promise<readonly string[]>;
  /** Drops the configurations read, so the next request reads them again (after a write of one). */
  forget(): void;
}

interface Configured {
  readonly configuration: string;
  readonly webhook: AdmissionWebhook;
}

interface Configurations {
  readonly mutating: readonly Configured[];
  readonly validating: readonly Configured[];
}

function flatten(configurations: readonly KubeObject[]): Configured[] {
  return [...configurations]
    .sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : (a.metadata.name ?? '') > (b.metadata.name ?? '') ? 1 : 0))
    .flatMap((configuration) =>
      ((configuration as unknown as MutatingWebhookConfiguration | ValidatingWebhookConfiguration).webhooks ?? []).map((webhook) => ({
        configuration: configuration.metadata.name ?? '',
        webhook: webhook as AdmissionWebhook,
      })),
    );
}

function matchedRequestOf(request: WebhookRequest): MatchedRequest {
  return {
    operation: request.operation,
    type: request.type,
    version: request.type.version,
    ...(request.subresource ? { subresource: request.subresource } : {}),
    ...(request.namespace ? { namespace: request.namespace } : {}),
    ...(request.object ? { object: request.object } : {}),
    ...(request.oldObject ? { oldObject: request.oldObject } : {}),
  };
}

function failureReason(error: unknown): string {
  if (error instanceof InvalidWebhookResponseError) return error.message;
  if (isApiError(error)) return error.message;
  return `failed to call webhook: ${error instanceof Error ? error.message : String(error)}`;
}

export function createWebhookAdmission(options: WebhookAdmissionOptions): WebhookAdmission {
  const { store } = options;
  const post = options.post ?? postJson;
  const cacheMs = options.cacheMs ?? 1000;
  let cached: { readonly at: number; readonly read: Promise<Configurations> } | undefined;
  /** Bumped by `forget`, so a read that began before it is not kept. */
  let generation = 0;

  function configurations(): Promise<Configurations> {
    const now = Date.now();
    if (cached && now - cached.at < cacheMs) return cached.read;
    const startedIn = generation;
    const read = Promise.all([listAll(store, types.mutatingwebhookconfigurations), listAll(store, types.validatingwebhookconfigurations)]).then(
      ([mutating, validating]) => ({ mutating: flatten(mutating), validating: flatten(validating) }),
    );
    const entry = { at: now, read };
    cached = entry;
    read.catch(() => {
      if (cached === entry) cached = undefined;
    });
    read.then(() => {
      if (generation !== startedIn && cached === entry) cached = undefined;
    });
    return read;
  }

  /** The webhooks of `list` this request goes to, reading its namespace's labels once if a selector needs them. */
  async function matching(list: readonly Configured[], request: WebhookRequest): Promise<Configured[]> {
    if (list.length === 0 || isExemptFromWebhooks(request.type)) return [];
    const matched = matchedRequestOf(request);
    let namespaceLabels = namespaceLabelsFromRequest(matched);
    const selected: Configured[] = [];
    for (const entry of list) {
      if (!(entry.webhook.rules ?? []).some((rule) => ruleMatches(rule, matched))) continue;
      if (namespaceLabels === undefined && needsNamespaceLabels(entry.webhook, matched)) {
        const namespace = await getIfExists(store, types.namespaces, undefined, matched.namespace ?? '');
        // A namespace that is not there (yet) has no labels; NamespaceLifecycle refuses the write itself.
        namespaceLabels = namespace?.metadata.labels ?? {};
      }
      if (webhookMatches(entry.webhook, matched, namespaceLabels)) selected.push(entry);
    }
    return selected;
  }

  /** One call: the webhook's verdict, or the error the request fails with (undefined when a failure is ignored). */
  async function call(entry: Configured, request: WebhookRequest, mutating: boolean) {
    const { webhook } = entry;
    if (request.dryRun && webhook.sideEffects !== 'None' && webhook.sideEffects !== 'NoneOnDryRun') throw dryRunUnsupportedError(webhook.name);
    const timeoutMs = webhook.timeoutSeconds * 1000;
    try {
      const target: WebhookTarget = await resolveWebhookTarget(store, webhook.clientConfig, webhook.timeoutSeconds);
      const { uid, review } = admissionReview(request);
      const response = await post(target.url, JSON.stringify(review), {
        timeoutMs,
        ...(target.ca !== undefined ? { ca: target.ca } : {}),
        ...(target.serverName !== undefined ? { serverName: target.serverName } : {}),
      });
      if (response.status < 200 || response.status > 299) {
        throw new Error(`the server responded with the status code ${response.status} but did not return more information`);
      }
      return readVerdict(uid, response.body, mutating);
    } catch (error) {
      const reason = failureReason(error);
      if (webhook.failurePolicy === 'Ignore') {
        options.onFailOpen?.(webhook.name, reason);
        return undefined;
      }
      throw callFailedError(webhook.name, reason);
    }
  }

  return {
    async mayMatch(request) {
      if (isExemptFromWebhooks(request.type)) return false;
      const { mutating, validating } = await configurations();
      return [...mutating, ...validating].some(({ webhook }) => (webhook.rules ?? []).some((rule) => ruleMatches(rule, request)));
    },

    async mutate(request) {
      const { mutating } = await configurations();
      const selected = await matching(mutating, request);
      let object = request.object;
      let changed = false;
      const warnings: string[] = [];
      /** One call: whether it changed the object. */
      const invoke = async (entry: Configured): Promise<boolean> => {
        const verdict = await call(entry, { ...request, ...(object ? { object } : {}) }, true);
        if (!verdict) return false;
        warnings.push(...verdict.warnings);
        if (!verdict.allowed) throw deniedError(entry.webhook.name, verdict.status);
        if (!verdict.patch) return false;
        if (!object)
          throw new InternalError(`admission webhook "${entry.webhook.name}" attempted to modify the object, which is not supported for this operation`);
        let patched: KubeObject;
        try {
          patched = fastJsonPatch.applyPatch(structuredClone(object), verdict.patch as fastJsonPatch.Operation[], true, false).newDocument as KubeObject;
        } catch (error) {
          throw new InternalError(error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error));
        }
        const differs = JSON.stringify(patched) !== JSON.stringify(object);
        object = patched;
        changed ||= differs;
        return differs;
      };
      // `reinvocationPolicy: IfNeeded`: a webhook called before a later one changed the object is
      // called once more, in order, after the first round (kube-apiserver's single reinvocation).
      const calledBeforeAChange: Configured[] = [];
      const reinvocable: Configured[] = [];
      for (const entry of selected) {
        if (await invoke(entry)) calledBeforeAChange.push(...reinvocable.splice(0));
        if (entry.webhook.reinvocationPolicy === 'IfNeeded') reinvocable.push(entry);
      }
      for (const entry of calledBeforeAChange) await invoke(entry);
      return { object, changed, warnings };
    },

    async validate(request) {
      const { validating } = await configurations();
      const selected = await matching(validating, request);
      if (selected.length === 0) return [];
      // All at once, as kube-apiserver calls them; the first refusal in webhook order is the answer.
      const outcomes = await Promise.allSettled(selected.map((entry) => call(entry, request, false)));
      const warnings: string[] = [];
      let refusal: ApiError | undefined;
      outcomes.forEach((outcome, i) => {
        if (outcome.status === 'rejected') {
          refusal ??= isApiError(outcome.reason) ? outcome.reason : new InternalError(String(outcome.reason));
          return;
        }
        const verdict = outcome.value;
        if (!verdict) return;
        warnings.push(...verdict.warnings);
        if (!verdict.allowed) refusal ??= deniedError(selected[i]?.webhook.name ?? '', verdict.status);
      });
      if (refusal) throw refusal;
      return warnings;
    },

    forget() {
      generation++;
      cached = undefined;
    },
  };
}

/**
 * One webhook admission per store object: the API and the control loops of one process share the
 * configurations they read, and a configuration written through either is seen by both at once.
 */
const sharedByStore = new WeakMap<object, WebhookAdmission>();

export function sharedWebhookAdmission(store: ObjectReader, options: Omit<WebhookAdmissionOptions, 'store'> = {}): WebhookAdmission {
  let shared = sharedByStore.get(store);
  if (!shared) {
    shared = createWebhookAdmission({ store, ...options });
    sharedByStore.set(store, shared);
  }
  return shared;
}
