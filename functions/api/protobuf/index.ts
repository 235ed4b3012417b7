/** Kubernetes protobuf bodies: see `protobuf-codec.ts`. */
export { decodeProtobufObject, encodeProtobufObject, isProtobufContentType, PROTOBUF_CONTENT_TYPE } from './protobuf-codec.ts';
