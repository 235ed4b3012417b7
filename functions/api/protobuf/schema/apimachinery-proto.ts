/**
 * Message definitions for the apimachinery packages (meta/v1, runtime, resource, intstr),
 * written for Skiff from the field numbers of Kubernetes' wire format.
 *
 * Two custom field options carry what protobuf cannot express but Go's JSON encoding needs:
 * - `(inline)`: the Go field is an embedded struct (`json:",inline"`); its fields are
 *   flattened into the parent JSON object.
 * - `(emit_zero)`: the Go field is a pointer or has no `omitempty`, so a zero value that
 *   arrives on the wire still appears in JSON (`replicas: 0`, `controller: false`).
 * Every other scalar is `omitempty`: a zero value is dropped, exactly like Go does.
 */

export const runtimeProto = `
syntax = "proto2";
package k8s.io.apimachinery.pkg.runtime;

message TypeMeta {
  optional string apiVersion = 1;
  optional string kind = 2;
}

message Unknown {
  optional TypeMeta typeMeta = 1;
  optional bytes raw = 2;
  optional string contentEncoding = 3;
  optional string contentType = 4;
}

message RawExtension {
  optional bytes raw = 1;
}
`;

export const resourceProto = `
syntax = "proto2";
package k8s.io.apimachinery.pkg.api.resource;

message Quantity {
  optional string string = 1;
}
`;

export const intstrProto = `
syntax = "proto2";
package k8s.io.apimachinery.pkg.util.intstr;

message IntOrString {
  optional int64 type = 1;
  optional int32 intVal = 2;
  optional string strVal = 3;
}
`;

export const metaV1Proto = `
syntax = "proto2";
package k8s.io.apimachinery.pkg.apis.meta.v1;

message Time {
  optional int64 seconds = 1;
  optional int32 nanos = 2;
}

message MicroTime {
  optional int64 seconds = 1;
  optional int32 nanos = 2;
}

message FieldsV1 {
  optional bytes Raw = 1;
}

message ObjectMeta {
  optional string name = 1;
  optional string generateName = 2;
  optional string namespace = 3;
  optional string selfLink = 4;
  optional string uid = 5;
  optional string resourceVersion = 6;
  optional int64 generation = 7;
  optional Time creationTimestamp = 8;
  optional Time deletionTimestamp = 9;
  optional int64 deletionGracePeriodSeconds = 10 [(emit_zero) = true];
  map<string, string> labels = 11;
  map<string, string> annotations = 12;
  repeated OwnerReference ownerReferences = 13;
  repeated string finalizers = 14;
  repeated ManagedFieldsEntry managedFields = 17;
}

message OwnerReference {
  optional string apiVersion = 5 [(emit_zero) = true];
  optional string kind = 1 [(emit_zero) = true];
  optional string name = 3 [(emit_zero) = true];
  optional string uid = 4 [(emit_zero) = true];
  optional bool controller = 6 [(emit_zero) = true];
  optional bool blockOwnerDeletion = 7 [(emit_zero) = true];
}

message ManagedFieldsEntry {
  optional string manager = 1;
  optional string operation = 2;
  optional string apiVersion = 3;
  optional Time time = 4;
  optional string fieldsType = 6;
  optional FieldsV1 fieldsV1 = 7;
  optional string subresource = 8;
}

message LabelSelector {
  map<string, string> matchLabels = 1;
  repeated LabelSelectorRequirement matchExpressions = 2;
}

message LabelSelectorRequirement {
  optional string key = 1 [(emit_zero) = true];
  optional string operator = 2 [(emit_zero) = true];
  repeated string values = 3;
}

message Condition {
  optional string type = 1 [(emit_zero) = true];
  optional string status = 2 [(emit_zero) = true];
  optional int64 observedGeneration = 3;
  optional Time lastTransitionTime = 4;
  optional string reason = 5 [(emit_zero) = true];
  optional string message = 6 [(emit_zero) = true];
}

message Preconditions {
  optional string uid = 1 [(emit_zero) = true];
  optional string resourceVersion = 2 [(emit_zero) = true];
}

message DeleteOptions {
  optional int64 gracePeriodSeconds = 1 [(emit_zero) = true];
  optional Preconditions preconditions = 2;
  optional bool orphanDependents = 3 [(emit_zero) = true];
  optional string propagationPolicy = 4 [(emit_zero) = true];
  repeated string dryRun = 5;
}
`;
