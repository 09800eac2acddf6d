/**
 * The MQTT codec: bytes <-> typed packets for MQTT 3.1, 3.1.1 and 5.0. No I/O, no broker state.
 *
 * @module
 */

export * from "./types.ts";
export { duplicateProperty, malformed, MqttError, protocolError } from "./errors.ts";
export {
  ConnackReturnCode,
  fromV3ConnackCode,
  isValidReasonCode,
  ReasonCode,
  reasonCodeName,
  toV3ConnackCode,
  toV3SubackCode,
} from "./reason_codes.ts";
export { decodePacket, encodePacket } from "./packet.ts";
export { FrameReader, type FrameReaderOptions, MAX_PACKET_SIZE } from "./frame_reader.ts";
export { orderWithout, PROPERTY_DEFINITIONS, type PropertyContext } from "./properties.ts";
export {
  isSharedFilter,
  MAX_TOPIC_SEPARATORS,
  topicDepthProblem,
  topicFilterProblem,
  topicNameProblem,
} from "./topic.ts";
export { protocolName } from "./connect.ts";
