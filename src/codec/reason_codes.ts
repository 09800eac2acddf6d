/**
 * MQTT 5.0 reason codes, their names, which packets may carry which, and the mapping down to the
 * return codes of MQTT 3.1 / 3.1.1.
 *
 * @module
 */

import type { PacketType } from "./types.ts";

/** Every MQTT 5.0 reason code by name (MQTT 5.0 §2.4). */
export const ReasonCode = {
  Success: 0x00,
  NormalDisconnection: 0x00,
  GrantedQoS0: 0x00,
  GrantedQoS1: 0x01,
  GrantedQoS2: 0x02,
  DisconnectWithWillMessage: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  ContinueAuthentication: 0x18,
  ReAuthenticate: 0x19,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  Banned: 0x8a,
  ServerShuttingDown: 0x8b,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  AdministrativeAction: 0x98,
  PayloadFormatInvalid: 0x99,
  RetainNotSupported: 0x9a,
  QoSNotSupported: 0x9b,
  UseAnotherServer: 0x9c,
  ServerMoved: 0x9d,
  SharedSubscriptionsNotSupported: 0x9e,
  ConnectionRateExceeded: 0x9f,
  MaximumConnectTime: 0xa0,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const;

const NAMES: ReadonlyMap<number, string> = new Map([
  [0x00, "Success"],
  [0x01, "Granted QoS 1"],
  [0x02, "Granted QoS 2"],
  [0x04, "Disconnect with Will Message"],
  [0x10, "No matching subscribers"],
  [0x11, "No subscription existed"],
  [0x18, "Continue authentication"],
  [0x19, "Re-authenticate"],
  [0x80, "Unspecified error"],
  [0x81, "Malformed Packet"],
  [0x82, "Protocol Error"],
  [0x83, "Implementation specific error"],
  [0x84, "Unsupported Protocol Version"],
  [0x85, "Client Identifier not valid"],
  [0x86, "Bad User Name or Password"],
  [0x87, "Not authorized"],
  [0x88, "Server unavailable"],
  [0x89, "Server busy"],
  [0x8a, "Banned"],
  [0x8b, "Server shutting down"],
  [0x8c, "Bad authentication method"],
  [0x8d, "Keep Alive timeout"],
  [0x8e, "Session taken over"],
  [0x8f, "Topic Filter invalid"],
  [0x90, "Topic Name invalid"],
  [0x91, "Packet Identifier in use"],
  [0x92, "Packet Identifier not found"],
  [0x93, "Receive Maximum exceeded"],
  [0x94, "Topic Alias invalid"],
  [0x95, "Packet too large"],
  [0x96, "Message rate too high"],
  [0x97, "Quota exceeded"],
  [0x98, "Administrative action"],
  [0x99, "Payload format invalid"],
  [0x9a, "Retain not supported"],
  [0x9b, "QoS not supported"],
  [0x9c, "Use another server"],
  [0x9d, "Server moved"],
  [0x9e, "Shared Subscriptions not supported"],
  [0x9f, "Connection rate exceeded"],
  [0xa0, "Maximum connect time"],
  [0xa1, "Subscription Identifiers not supported"],
  [0xa2, "Wildcard Subscriptions not supported"],
]);

/** The specification's name of a reason code, or "Unknown reason code 0xNN". */
export function reasonCodeName(code: number): string {
  return NAMES.get(code) ??
    `Unknown reason code 0x${code.toString(16).padStart(2, "0")}`;
}

/** Packets that carry a reason code in MQTT 5.0. */
export type ReasonCodePacket = Exclude<
  PacketType,
  "connect" | "publish" | "subscribe" | "unsubscribe" | "pingreq" | "pingresp"
>;

const PUBACK_CODES = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
const PUBREL_CODES = [0x00, 0x92];

/** The reason codes each 5.0 packet may carry (MQTT 5.0 §3.2.2.2 to §3.15.2.1). */
const VALID_CODES: Readonly<Record<ReasonCodePacket, ReadonlySet<number>>> = {
  connack: new Set([
    0x00,
    0x80,
    0x81,
    0x82,
    0x83,
    0x84,
    0x85,
    0x86,
    0x87,
    0x88,
    0x89,
    0x8a,
    0x8c,
    0x90,
    0x95,
    0x97,
    0x99,
    0x9a,
    0x9b,
    0x9c,
    0x9d,
    0x9f,
  ]),
  puback: new Set(PUBACK_CODES),
  pubrec: new Set(PUBACK_CODES),
  pubrel: new Set(PUBREL_CODES),
  pubcomp: new Set(PUBREL_CODES),
  suback: new Set([0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2]),
  unsuback: new Set([0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91]),
  disconnect: new Set([
    0x00,
    0x04,
    0x80,
    0x81,
    0x82,
    0x83,
    0x87,
    0x89,
    0x8b,
    0x8d,
    0x8e,
    0x8f,
    0x90,
    0x93,
    0x94,
    0x95,
    0x96,
    0x97,
    0x98,
    0x99,
    0x9a,
    0x9b,
    0x9c,
    0x9d,
    0x9e,
    0x9f,
    0xa0,
    0xa1,
    0xa2,
  ]),
  auth: new Set([0x00, 0x18, 0x19]),
};

/** Whether `code` is one the specification allows in a 5.0 packet of type `packet`. */
export function isValidReasonCode(packet: ReasonCodePacket, code: number): boolean {
  return VALID_CODES[packet].has(code);
}

/** MQTT 3.1 / 3.1.1 CONNACK return codes. */
export const ConnackReturnCode = {
  Accepted: 0,
  UnacceptableProtocolVersion: 1,
  IdentifierRejected: 2,
  ServerUnavailable: 3,
  BadUserNameOrPassword: 4,
  NotAuthorized: 5,
} as const;

/**
 * The 3.x CONNACK return code for a 5.0 CONNACK reason code. Refusals with no 3.x equivalent
 * become "not authorized" when they are about who the client is (banned, bad authentication
 * method) or a will payload too large (0x95), and "server unavailable" otherwise, as
 * Mosquitto 2.0 does.
 */
export function toV3ConnackCode(reasonCode: number): number {
  switch (reasonCode) {
    case 0x00:
      return ConnackReturnCode.Accepted;
    case 0x84:
      return ConnackReturnCode.UnacceptableProtocolVersion;
    case 0x85:
      return ConnackReturnCode.IdentifierRejected;
    case 0x86:
      return ConnackReturnCode.BadUserNameOrPassword;
    case 0x87:
    case 0x8a:
    case 0x8c:
    case 0x95:
      return ConnackReturnCode.NotAuthorized;
    default:
      return ConnackReturnCode.ServerUnavailable;
  }
}

/** The 5.0 reason code for a 3.x CONNACK return code (what a 3.x client's tools report). */
export function fromV3ConnackCode(returnCode: number): number {
  switch (returnCode) {
    case 0:
      return 0x00;
    case 1:
      return 0x84;
    case 2:
      return 0x85;
    case 3:
      return 0x88;
    case 4:
      return 0x86;
    case 5:
      return 0x87;
    default:
      return -1;
  }
}

/** The 3.x SUBACK return code for a 5.0 SUBACK reason code: granted QoS, or 0x80 failure. */
export function toV3SubackCode(reasonCode: number): number {
  return reasonCode <= 0x02 ? reasonCode : 0x80;
}
