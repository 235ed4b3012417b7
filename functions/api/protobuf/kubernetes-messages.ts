/**
 * The protobuf message types of every kind Skiff decodes, built once from the definitions in
 * `schema/` and looked up by `apiVersion` + `kind`.
 */
import protobuf from 'protobufjs';
import { authenticationV1Proto, authorizationV1Proto, rbacV1Proto, serviceAccountProto } from './schema/access-apis-proto.ts';
import { intstrProto, metaV1Proto, resourceProto, runtimeProto } from './schema/apimachinery-proto.ts';
import { batchV1Proto } from './schema/batch-v1-proto.ts';
import { coreV1Proto } from './schema/core-v1-proto.ts';
import { appsV1Proto, autoscalingV1Proto, coordinationV1Proto, discoveryV1Proto, networkingV1Proto, policyV1Proto } from './schema/group-apis-proto.ts';
import { schedulingV1Proto } from './schema/scheduling-proto.ts';

function buildRoot(): protobuf.Root {
  const root = new protobuf.Root();
  for (const source of [
    runtimeProto,
    resourceProto,
    intstrProto,
    metaV1Proto,
    coreV1Proto,
    appsV1Proto,
    batchV1Proto,
    coordinationV1Proto,
    networkingV1Proto,
    discoveryV1Proto,
    autoscalingV1Proto,
    policyV1Proto,
    schedulingV1Proto,
    serviceAccountProto,
    rbacV1Proto,
    authorizationV1Proto,
    authenticationV1Proto,
  ]) {
    // keepCase: Kubernetes' field names are already the JSON names (`apiVersion`, `Port`, `Raw`).
    protobuf.parse(source, root, { keepCase: true });
  }
  root.resolveAll();
  return root;
}

// Built on first use: parsing the definitions takes tens of milliseconds, which a Lambda cold
// start serving only JSON should not pay.
let builtRoot: protobuf.Root | undefined;
function root(): protobuf.Root {
  builtRoot ??= buildRoot();
  return builtRoot;
}

/** The `runtime.Unknown` envelope every Kubernetes protobuf body is wrapped in. */
export function unknownEnvelope(): protobuf.Type {
  return root().lookupType('k8s.io.apimachinery.pkg.runtime.Unknown');
}

/** Fully qualified names of the messages that have their own JSON form. */
export const wellKnown = {
  time: '.k8s.io.apimachinery.pkg.apis.meta.v1.Time',
  microTime: '.k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime',
  fieldsV1: '.k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1',
  quantity: '.k8s.io.apimachinery.pkg.api.resource.Quantity',
  intOrString: '.k8s.io.apimachinery.pkg.util.intstr.IntOrString',
  rawExtension: '.k8s.io.apimachinery.pkg.runtime.RawExtension',
} as const;

const messageNameByKind: Readonly<Record<string, string>> = {
  'v1/Namespace': 'k8s.io.api.core.v1.Namespace',
  'v1/Node': 'k8s.io.api.core.v1.Node',
  'v1/Pod': 'k8s.io.api.core.v1.Pod',
  'v1/Service': 'k8s.io.api.core.v1.Service',
  'v1/Endpoints': 'k8s.io.api.core.v1.Endpoints',
  'v1/ConfigMap': 'k8s.io.api.core.v1.ConfigMap',
  'v1/Secret': 'k8s.io.api.core.v1.Secret',
  'v1/Event': 'k8s.io.api.core.v1.Event',
  'v1/ResourceQuota': 'k8s.io.api.core.v1.ResourceQuota',
  'apps/v1/Deployment': 'k8s.io.api.apps.v1.Deployment',
  'apps/v1/ReplicaSet': 'k8s.io.api.apps.v1.ReplicaSet',
  'batch/v1/Job': 'k8s.io.api.batch.v1.Job',
  'batch/v1/CronJob': 'k8s.io.api.batch.v1.CronJob',
  'coordination.k8s.io/v1/Lease': 'k8s.io.api.coordination.v1.Lease',
  'networking.k8s.io/v1/Ingress': 'k8s.io.api.networking.v1.Ingress',
  'networking.k8s.io/v1/IngressClass': 'k8s.io.api.networking.v1.IngressClass',
  'networking.k8s.io/v1/NetworkPolicy': 'k8s.io.api.networking.v1.NetworkPolicy',
  'discovery.k8s.io/v1/EndpointSlice': 'k8s.io.api.discovery.v1.EndpointSlice',
  'autoscaling/v1/Scale': 'k8s.io.api.autoscaling.v1.Scale',
  'autoscaling/v1/HorizontalPodAutoscaler': 'k8s.io.api.autoscaling.v1.HorizontalPodAutoscaler',
  'v1/ServiceAccount': 'k8s.io.api.core.v1.ServiceAccount',
  'policy/v1/PodDisruptionBudget': 'k8s.io.api.policy.v1.PodDisruptionBudget',
  'rbac.authorization.k8s.io/v1/Role': 'k8s.io.api.rbac.v1.Role',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'k8s.io.api.rbac.v1.ClusterRole',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'k8s.io.api.rbac.v1.RoleBinding',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'k8s.io.api.rbac.v1.ClusterRoleBinding',
  'authorization.k8s.io/v1/SubjectAccessReview': 'k8s.io.api.authorization.v1.SubjectAccessReview',
  'authorization.k8s.io/v1/LocalSubjectAccessReview': 'k8s.io.api.authorization.v1.LocalSubjectAccessReview',
  'authorization.k8s.io/v1/SelfSubjectAccessReview': 'k8s.io.api.authorization.v1.SelfSubjectAccessReview',
  'authorization.k8s.io/v1/SelfSubjectRulesReview': 'k8s.io.api.authorization.v1.SelfSubjectRulesReview',
  'authentication.k8s.io/v1/TokenRequest': 'k8s.io.api.authentication.v1.TokenRequest',
  'authentication.k8s.io/v1/TokenReview': 'k8s.io.api.authentication.v1.TokenReview',
  'authentication.k8s.io/v1/SelfSubjectReview': 'k8s.io.api.authentication.v1.SelfSubjectReview',
  // Subresource bodies: pods/binding and pods/eviction.
  'v1/Binding': 'k8s.io.api.core.v1.Binding',
  'policy/v1/Eviction': 'k8s.io.api.policy.v1.Eviction',
  'scheduling.k8s.io/v1/PriorityClass': 'k8s.io.api.scheduling.v1.PriorityClass',
  // DeleteOptions is registered in every group; clients stamp either form.
  'v1/DeleteOptions': 'k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions',
  'meta.k8s.io/v1/DeleteOptions': 'k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions',
};

/** The message type of `apiVersion`/`kind`, or undefined when Skiff does not decode it. */
export function messageTypeOf(apiVersion: string, kind: string): protobuf.Type | undefined {
  const name = messageNameByKind[`${apiVersion}/${kind}`];
  return name === undefined ? undefined : root().lookupType(name);
}

/** The kinds `messageTypeOf` knows, as `apiVersion/kind`. */
export const decodableKinds: readonly string[] = Object.keys(messageNameByKind);
