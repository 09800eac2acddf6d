/**
 * The packet model shared by every MQTT version Midge speaks.
 *
 * One model serves 3.1 (level 3), 3.1.1 (level 4) and 5.0 (level 5): fields that only exist in
 * 5.0 (reason codes on acks, properties) are optional or default to 0 and are simply not put on
 * the wire for older versions. Byte fields (`payload`, `password`, `correlationData`, ...) that
 * come out of the decoder are views into the frame they were decoded from: copy what you keep.
 *
 * @module
 */

/** Protocol level byte of CONNECT: 3 = MQTT 3.1 (`MQIsdp`), 4 = 3.1.1, 5 = 5.0. */
export type ProtocolVersion = 3 | 4 | 5;

/** Quality of service of a message or a subscription. */
export type QoS = 0 | 1 | 2;

/** One MQTT 5.0 user property: a name and a value, in wire order; names may repeat. */
export type UserProperty = [name: string, value: string];

/**
 * MQTT 5.0 properties. Which ones a packet may carry is checked by the codec (see
 * `properties.ts`); a packet with no properties has `properties` undefined.
 */
export interface Properties {
  /** 0x01: 0 = unspecified bytes, 1 = UTF-8 payload. PUBLISH, will. */
  payloadFormatIndicator?: number;
  /** 0x02: seconds until the message expires. PUBLISH, will. */
  messageExpiryInterval?: number;
  /** 0x03: MIME type of the payload. PUBLISH, will. */
  contentType?: string;
  /** 0x08: topic a responder should publish its answer to. PUBLISH, will. */
  responseTopic?: string;
  /** 0x09: opaque data echoed in a response. PUBLISH, will. */
  correlationData?: Uint8Array;
  /**
   * 0x0B: subscription identifiers, 1 to 268,435,455. A PUBLISH may carry several; a SUBSCRIBE
   * exactly zero or one.
   */
  subscriptionIdentifiers?: number[];
  /** 0x11: seconds a session outlives its connection. CONNECT, CONNACK, DISCONNECT. */
  sessionExpiryInterval?: number;
  /** 0x12: client id the server assigned. CONNACK. */
  assignedClientIdentifier?: string;
  /** 0x13: keep alive the server imposes, in seconds. CONNACK. */
  serverKeepAlive?: number;
  /** 0x15: name of the extended authentication method. CONNECT, CONNACK, AUTH. */
  authenticationMethod?: string;
  /** 0x16: data of the extended authentication exchange. CONNECT, CONNACK, AUTH. */
  authenticationData?: Uint8Array;
  /** 0x17: 0 or 1: may the server send reason strings and user properties on failures. */
  requestProblemInformation?: number;
  /** 0x18: seconds to wait before publishing the will. Will properties. */
  willDelayInterval?: number;
  /** 0x19: 0 or 1: does the client want response information in CONNACK. CONNECT. */
  requestResponseInformation?: number;
  /** 0x1A: basis for response topics. CONNACK. */
  responseInformation?: string;
  /** 0x1C: another server to use. CONNACK, DISCONNECT. */
  serverReference?: string;
  /** 0x1F: human-readable reason. Acks, CONNACK, DISCONNECT, AUTH. */
  reasonString?: string;
  /** 0x21: how many QoS 1/2 messages the sender will process at once, 1-65535. */
  receiveMaximum?: number;
  /** 0x22: highest topic alias the sender accepts. CONNECT, CONNACK. */
  topicAliasMaximum?: number;
  /** 0x23: topic alias, 1-65535. PUBLISH. */
  topicAlias?: number;
  /** 0x24: 0 or 1: highest QoS the server supports (2 when absent). CONNACK. */
  maximumQos?: number;
  /** 0x25: 0 or 1: does the server support retained messages. CONNACK. */
  retainAvailable?: number;
  /** 0x26: user properties in wire order. Every packet that has properties. */
  userProperties?: UserProperty[];
  /** 0x27: largest packet the sender accepts, in bytes. CONNECT, CONNACK. */
  maximumPacketSize?: number;
  /** 0x28: 0 or 1: are wildcard subscriptions supported. CONNACK. */
  wildcardSubscriptionAvailable?: number;
  /** 0x29: 0 or 1: are subscription identifiers supported. CONNACK. */
  subscriptionIdentifiersAvailable?: number;
  /** 0x2A: 0 or 1: are shared subscriptions supported. CONNACK. */
  sharedSubscriptionAvailable?: number;
  /**
   * Not a property: the identifiers of the properties in the order they were read, set by the
   * decoder only when User Properties are interleaved with other properties, an order the keys
   * cannot hold. The encoder writes the properties it lists in this order, in one run at the
   * place of the first of them in key order; a property it does not list goes at its own place.
   */
  order?: number[];
}

/** The will message carried by a CONNECT. */
export interface Will {
  /** Topic the will is published to. */
  topic: string;
  /** Will payload (may be empty). */
  payload: Uint8Array;
  /** QoS the will is published at. */
  qos: QoS;
  /** Whether the will is retained. */
  retain: boolean;
  /** Will properties (5.0 only). */
  properties?: Properties;
}

/** CONNECT (type 1): client to server, first packet of a connection. */
export interface ConnectPacket {
  type: "connect";
  /** Protocol level from the variable header; decides how the rest of the session is coded. */
  protocolVersion: ProtocolVersion;
  /** Client identifier; may be empty. */
  clientId: string;
  /** Clean session (3.x) / clean start (5.0). */
  clean: boolean;
  /** Keep alive in seconds; 0 disables it. */
  keepAlive: number;
  /**
   * A bridge's CONNECT (3.1 and 3.1.1 only): the high bit of the protocol level, which
   * Mosquitto's bridges set with `try_private`. Not encoded for 5.0, whose level 0x85
   * Mosquitto 2.0.11 refuses.
   */
  bridge?: boolean;
  /** User name, when the user name flag is set. */
  username?: string;
  /** Password bytes, when the password flag is set. */
  password?: Uint8Array;
  /** Will message, when the will flag is set. */
  will?: Will;
  /** CONNECT properties (5.0 only). */
  properties?: Properties;
}

/** CONNACK (type 2): server to client. */
export interface ConnackPacket {
  type: "connack";
  /** Whether the server resumed a stored session. */
  sessionPresent: boolean;
  /** 5.0 reason code; encoded as a 3.x return code for older versions (see `reason_codes.ts`). */
  reasonCode: number;
  /** CONNACK properties (5.0 only). */
  properties?: Properties;
}

/** PUBLISH (type 3): an application message, either direction. */
export interface PublishPacket {
  type: "publish";
  /** Topic name; empty only when a 5.0 topic alias stands for it. */
  topic: string;
  /** Application payload. */
  payload: Uint8Array;
  /** Delivery QoS. */
  qos: QoS;
  /** Retain flag. */
  retain: boolean;
  /** Duplicate delivery flag (QoS 1 and 2 only). */
  dup: boolean;
  /** Packet identifier, present exactly when qos > 0. */
  packetId?: number;
  /** PUBLISH properties (5.0 only). */
  properties?: Properties;
}

/** The four packets of the QoS 1 and QoS 2 acknowledgement flows. */
export type AckType = "puback" | "pubrec" | "pubrel" | "pubcomp";

/** PUBACK (4), PUBREC (5), PUBREL (6) or PUBCOMP (7). */
export interface AckPacket {
  type: AckType;
  /** Packet identifier being acknowledged. */
  packetId: number;
  /** 5.0 reason code; 0 (success) for 3.x. */
  reasonCode: number;
  /** Ack properties (5.0 only). */
  properties?: Properties;
}

/** One topic filter of a SUBSCRIBE with its options. */
export interface Subscription {
  /** Topic filter, possibly with wildcards or a `$share/GROUP/` prefix. */
  topicFilter: string;
  /** Maximum QoS requested. */
  qos: QoS;
  /** 5.0: do not send the subscriber its own messages. */
  noLocal: boolean;
  /** 5.0: keep the retain flag of forwarded messages as published. */
  retainAsPublished: boolean;
  /** 5.0: 0 = send retained on subscribe, 1 = only if new, 2 = never. */
  retainHandling: 0 | 1 | 2;
}

/** SUBSCRIBE (type 8): client to server. */
export interface SubscribePacket {
  type: "subscribe";
  /** Packet identifier (non-zero). */
  packetId: number;
  /** At least one subscription. */
  subscriptions: Subscription[];
  /** SUBSCRIBE properties (5.0 only). */
  properties?: Properties;
}

/** SUBACK (type 9): server to client; one reason code per subscription. */
export interface SubackPacket {
  type: "suback";
  /** Packet identifier of the SUBSCRIBE. */
  packetId: number;
  /** Granted QoS (0-2) or a failure code (>= 0x80), one per topic filter. */
  reasonCodes: number[];
  /** SUBACK properties (5.0 only). */
  properties?: Properties;
}

/** UNSUBSCRIBE (type 10): client to server. */
export interface UnsubscribePacket {
  type: "unsubscribe";
  /** Packet identifier (non-zero). */
  packetId: number;
  /** At least one topic filter. */
  topicFilters: string[];
  /** UNSUBSCRIBE properties (5.0 only). */
  properties?: Properties;
}

/** UNSUBACK (type 11): server to client. */
export interface UnsubackPacket {
  type: "unsuback";
  /** Packet identifier of the UNSUBSCRIBE. */
  packetId: number;
  /** 5.0: one reason code per topic filter; empty for 3.x, which has none on the wire. */
  reasonCodes: number[];
  /** UNSUBACK properties (5.0 only). */
  properties?: Properties;
}

/** PINGREQ (type 12): client to server. */
export interface PingreqPacket {
  type: "pingreq";
}

/** PINGRESP (type 13): server to client. */
export interface PingrespPacket {
  type: "pingresp";
}

/** DISCONNECT (type 14): either direction in 5.0, client to server in 3.x. */
export interface DisconnectPacket {
  type: "disconnect";
  /** 5.0 reason code; 0 for 3.x. */
  reasonCode: number;
  /** DISCONNECT properties (5.0 only). */
  properties?: Properties;
}

/** AUTH (type 15): 5.0 extended authentication, either direction. */
export interface AuthPacket {
  type: "auth";
  /** 0x00 success, 0x18 continue authentication, 0x19 re-authenticate. */
  reasonCode: number;
  /** AUTH properties. */
  properties?: Properties;
}

/** Any MQTT control packet. */
export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | AckPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;

/** The `type` tag of every packet. */
export type PacketType = Packet["type"];
