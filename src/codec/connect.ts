/**
 * CONNECT (MQTT 5.0 §3.1, 3.1.1 §3.1, 3.1 `MQIsdp`): the packet that opens a connection and
 * fixes its protocol version.
 *
 * @module
 */

import { malformed, MqttError, protocolError } from "./errors.ts";
import { expectFlags, finishPacket, startPacket } from "./fixed_header.ts";
import { propertiesSize, readProperties, writeProperties } from "./properties.ts";
import type { ByteReader } from "./reader.ts";
import { ReasonCode } from "./reason_codes.ts";
import { topicDepthProblem, topicNameProblem } from "./topic.ts";
import type { ConnectPacket, ProtocolVersion, QoS, Will } from "./types.ts";
import { utf8Length } from "./utf8.ts";
import { varintSize } from "./writer.ts";

const FLAG_USERNAME = 0x80;
const FLAG_PASSWORD = 0x40;
const FLAG_WILL_RETAIN = 0x20;
const FLAG_WILL = 0x04;
const FLAG_CLEAN = 0x02;
const FLAG_RESERVED = 0x01;
/** The protocol level's high bit: a bridge (Mosquitto's `try_private`), 3.1 and 3.1.1 only. */
const LEVEL_BRIDGE = 0x80;

/** Protocol name on the wire for each version. */
export function protocolName(version: ProtocolVersion): string {
  return version === 3 ? "MQIsdp" : "MQTT";
}

/**
 * Decode a CONNECT body. The version comes from the packet itself. An unknown protocol name is
 * a protocol error [MQTT-3.1.2-1]; a known name with a level Midge does not speak raises 0x84,
 * for which the broker answers CONNACK "unsupported protocol version" [MQTT-3.1.2-2]. Levels
 * 0x83 and 0x84 are a bridge's 3.1 and 3.1.1, as Mosquitto reads them; 0x85 is a protocol
 * error, as Mosquitto 2.0.11 treats it.
 */
export function decodeConnect(r: ByteReader, flags: number): ConnectPacket {
  expectFlags(flags, 0, "CONNECT");
  const name = r.utf8("protocol name");
  const level = r.u8("protocol level");
  if (name !== "MQTT" && name !== "MQIsdp") {
    throw protocolError(`unknown protocol name '${name}' [MQTT-3.1.2-1]`);
  }
  if (name === "MQTT" && level === (5 | LEVEL_BRIDGE)) {
    // As Mosquitto 2.0.11 answers it: closed, without a CONNACK.
    throw protocolError("protocol level 0x85: 5.0 has no bridge bit");
  }
  const bridge = (level & LEVEL_BRIDGE) !== 0;
  const base = level & ~LEVEL_BRIDGE;
  const expected = name === "MQIsdp" ? base === 3 : base === 4 || base === 5;
  if (!expected) {
    throw new MqttError(
      ReasonCode.UnsupportedProtocolVersion,
      `unsupported protocol level ${level} for '${name}' [MQTT-3.1.2-2]`,
    );
  }
  const version = base as ProtocolVersion;
  const connectFlags = r.u8("connect flags");
  if (connectFlags & FLAG_RESERVED) {
    throw malformed("CONNECT reserved flag is set [MQTT-3.1.2-3]");
  }
  const hasWill = (connectFlags & FLAG_WILL) !== 0;
  const willQos = (connectFlags >> 3) & 0x03;
  const willRetain = (connectFlags & FLAG_WILL_RETAIN) !== 0;
  if (willQos === 3) throw malformed("will QoS is 3 [MQTT-3.1.2-12]");
  if (!hasWill && willQos !== 0) throw malformed("will QoS set without a will [MQTT-3.1.2-11]");
  if (!hasWill && willRetain) throw malformed("will retain set without a will [MQTT-3.1.2-13]");
  const hasUsername = (connectFlags & FLAG_USERNAME) !== 0;
  const hasPassword = (connectFlags & FLAG_PASSWORD) !== 0;
  if (version === 4 && hasPassword && !hasUsername) {
    throw protocolError("password flag set without user name flag [MQTT-3.1.2-22]");
  }
  const keepAlive = r.u16("keep alive");
  const properties = version === 5 ? readProperties(r, "connect") : undefined;
  const clientId = r.utf8("client identifier");
  const packet: ConnectPacket = {
    type: "connect",
    protocolVersion: version,
    clientId,
    clean: (connectFlags & FLAG_CLEAN) !== 0,
    keepAlive,
  };
  if (bridge) packet.bridge = true;
  if (hasWill) {
    const willProperties = version === 5 ? readProperties(r, "will") : undefined;
    const topic = r.utf8("will topic");
    const problem = topicNameProblem(topic);
    if (problem !== undefined) throw malformed(`will ${problem}`);
    const tooDeep = topicDepthProblem(topic, "topic name");
    if (tooDeep !== undefined) throw new MqttError(ReasonCode.TopicNameInvalid, `will ${tooDeep}`);
    const will: Will = {
      topic,
      payload: r.binary("will payload"),
      qos: willQos as QoS,
      retain: willRetain,
    };
    if (willProperties !== undefined) will.properties = willProperties;
    packet.will = will;
  }
  if (hasUsername) packet.username = r.utf8("user name");
  if (hasPassword) packet.password = r.binary("password");
  r.expectEnd("CONNECT");
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

/** Encode a CONNECT for `packet.protocolVersion`. */
export function encodeConnect(packet: ConnectPacket): Uint8Array {
  const version = packet.protocolVersion;
  const v5 = version === 5;
  const name = protocolName(version);
  const will = packet.will;
  const propsBytes = v5 ? propertiesSize(packet.properties, "connect") : 0;
  const willPropsBytes = v5 && will ? propertiesSize(will.properties, "will") : 0;
  const clientIdBytes = utf8Length(packet.clientId);
  const willTopicBytes = will ? utf8Length(will.topic) : 0;
  const usernameBytes = packet.username !== undefined ? utf8Length(packet.username) : 0;
  let remaining = 2 + name.length + 1 + 1 + 2 + 2 + clientIdBytes;
  if (v5) remaining += varintSize(propsBytes) + propsBytes;
  if (will) {
    remaining += 2 + willTopicBytes + 2 + will.payload.length;
    if (v5) remaining += varintSize(willPropsBytes) + willPropsBytes;
  }
  if (packet.username !== undefined) remaining += 2 + usernameBytes;
  if (packet.password !== undefined) remaining += 2 + packet.password.length;

  let flags = packet.clean ? FLAG_CLEAN : 0;
  if (will) flags |= FLAG_WILL | (will.qos << 3) | (will.retain ? FLAG_WILL_RETAIN : 0);
  if (packet.username !== undefined) flags |= FLAG_USERNAME;
  if (packet.password !== undefined) flags |= FLAG_PASSWORD;

  const w = startPacket(0x10, remaining);
  w.utf8(name, name.length);
  w.u8(packet.bridge === true && !v5 ? version | LEVEL_BRIDGE : version);
  w.u8(flags);
  w.u16(packet.keepAlive);
  if (v5) writeProperties(w, packet.properties, propsBytes);
  w.utf8(packet.clientId, clientIdBytes);
  if (will) {
    if (v5) writeProperties(w, will.properties, willPropsBytes);
    w.utf8(will.topic, willTopicBytes);
    w.binary(will.payload);
  }
  if (packet.username !== undefined) w.utf8(packet.username, usernameBytes);
  if (packet.password !== undefined) w.binary(packet.password);
  return finishPacket(w);
}
