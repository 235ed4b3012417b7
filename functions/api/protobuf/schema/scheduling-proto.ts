/**
 * Message definitions for scheduling.k8s.io/v1 (PriorityClass, which \`kubectl create
 * priorityclass\` sends as protobuf). Written for Skiff from the field numbers of Kubernetes'
 * wire format; see \`apimachinery-proto.ts\` for \`(emit_zero)\`.
 */

export const schedulingV1Proto = `
syntax = "proto2";
package k8s.io.api.scheduling.v1;

message PriorityClass {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  optional int32 value = 2 [(emit_zero) = true];
  optional bool globalDefault = 3;
  optional string description = 4;
  optional string preemptionPolicy = 5 [(emit_zero) = true];
}
`;
