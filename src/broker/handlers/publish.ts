/**
 * PUBLISH from a client: topic aliases, limits, QoS 2 exactly-once bookkeeping, and the
 * acknowledgement; the accepted message goes on through incoming.ts (QoS 2: at PUBREL).
 *
 * @module
 */

import {
  duplicateProperty,
  MqttError,
  orderWithout,
  type Properties,
  protocolError,
  type PublishPacket,
  ReasonCode,
  topicDepthProblem,
} from "../../codec/mod.ts";
import { aclOf, isClosedToClients } from "../access.ts";
import type { ClientConnection } from "../context.ts";
import { dropReusedIncoming, holdIncoming, isResent, publishAccepted } from "../incoming.ts";
import { newMessage } from "../message.ts";
import { mountTopic } from "../mount_point.ts";

/** Properties that belong to one hop and are not forwarded (aliases, expiry, sub ids). */
const HOP_PROPERTIES = [
  "topicAlias",
  "messageExpiryInterval",
  "subscriptionIdentifiers",
] as const;

/** The properties of a PUBLISH that go on to subscribers: all but the `HOP_PROPERTIES`. */
function forwardedProperties(props: Properties | undefined): Properties | undefined {
  if (props === undefined) return undefined;
  const { topicAlias: _a, messageExpiryInterval: _e, subscriptionIdentifiers: _s, ...rest } = props;
  if (rest.order !== undefined) rest.order = orderWithout(rest.order, HOP_PROPERTIES);
  for (const _ in rest) return rest;
  return undefined;
}

/** `(d0, q1, r0, m3, 'a', ... (50 bytes))`: how Mosquitto's log lines show a PUBLISH. */
function summary(packet: PublishPacket, topic: string): string {
  return `(d${packet.dup ? 1 : 0}, q${packet.qos}, r${packet.retain ? 1 : 0}, ` +
    `m${packet.packetId ?? 0}, '${topic}', ... (${packet.payload.length} bytes))`;
}

/** Acknowledge a QoS 1 or 2 PUBLISH with `reasonCode`. */
function acknowledge(conn: ClientConnection, packet: PublishPacket, reasonCode: number): void {
  if (packet.qos === 1) conn.send({ type: "puback", packetId: packet.packetId!, reasonCode });
  else if (packet.qos === 2) {
    conn.send({ type: "pubrec", packetId: packet.packetId!, reasonCode });
  }
}

/**
 * Refuse a PUBLISH because `memory_limit` is reached: the message is dropped and the client
 * disconnected, as Mosquitto does; a 5.0 client is told why (DISCONNECT 0x97 Quota exceeded).
 * Its will is published: it did not leave with a normal DISCONNECT [MQTT-3.1.2-8].
 */
function refuseForMemory(conn: ClientConnection, packet: PublishPacket, topic: string): void {
  const broker = conn.broker;
  conn.counters.publishDropped++;
  conn.session!.refusedForMemory++;
  if (broker.memory.refuse(conn.clientId)) {
    broker.log.warning(
      `Client ${conn.clientId} disconnected due to out of memory (memory_limit): dropped ` +
        `PUBLISH on '${topic}' (q${packet.qos}, ${packet.payload.length} bytes).`,
    );
  }
  conn.disconnect(ReasonCode.QuotaExceeded, "protocol");
}

/** Handle a PUBLISH from a client. */
export function handlePublish(conn: ClientConnection, packet: PublishPacket): void {
  const broker = conn.broker;
  const options = broker.options;
  const session = conn.session!;
  const props = packet.properties;
  let topic = packet.topic;
  const counters = conn.counters;
  counters.publishReceived++;
  counters.publishBytesReceived += packet.payload.length;
  const maxQos = conn.listener.maxQos ?? 2;
  if (packet.qos > maxQos) {
    // As Mosquitto: 5.0 is told 0x9B (QoS not supported), 3.x is disconnected.
    throw new MqttError(ReasonCode.QoSNotSupported, `PUBLISH QoS ${packet.qos} above max_qos`);
  }

  if (conn.version === 5 && props !== undefined) {
    const subscriptionIds = props.subscriptionIdentifiers;
    if (subscriptionIds !== undefined) {
      // Mosquitto reads several as a repeated property: it closes without a DISCONNECT.
      if (subscriptionIds.length > 1) {
        throw duplicateProperty("subscription identifier repeated in PUBLISH");
      }
      throw protocolError("PUBLISH from a client carries a subscription identifier [MQTT-3.3.4-6]");
    }
    const alias = props.topicAlias;
    if (alias !== undefined) {
      const maxTopicAlias = conn.listener.maxTopicAlias ?? options.maxTopicAlias;
      if (alias > maxTopicAlias) {
        throw new MqttError(
          ReasonCode.TopicAliasInvalid,
          `topic alias ${alias} is above the maximum of ${maxTopicAlias} [MQTT-3.3.2-9]`,
        );
      }
      if (topic === "") {
        const known = conn.inboundAliases?.get(alias);
        if (known === undefined) throw protocolError(`topic alias ${alias} was never set`);
        topic = known;
      } else {
        (conn.inboundAliases ??= new Map()).set(alias, topic);
      }
    }
  }
  // The mount point goes before the topic (aliases hold the client's own topic); the ACL,
  // $SYS rule and routing see the mounted one, as in Mosquitto.
  topic = mountTopic(conn.listener, topic);
  // Too deep: the connection ends with a protocol error (0x82), as in Mosquitto, before the
  // topic is logged.
  const tooDeep = topicDepthProblem(topic, "topic name");
  if (tooDeep !== undefined) throw protocolError(tooDeep);
  if (broker.log.enabled("debug")) {
    broker.log.debug(`Received PUBLISH from ${conn.clientId} ${summary(packet, topic)}`);
  }

  const held = session.incomingQos2;
  if (packet.qos === 2) {
    const id = packet.packetId!;
    if (held.has(id) && isResent(held.get(id), topic, packet.payload)) {
      // The message held under this id, sent again: acknowledged, delivered once at PUBREL.
      conn.send({ type: "pubrec", packetId: id, reasonCode: 0 }); // [MQTT-4.3.3-10]
      return;
    }
    // Only 5.0 clients were told a receive maximum (CONNACK); 3.x has none, as in Mosquitto.
    if (
      conn.version === 5 && options.maxInflightMessages > 0 &&
      held.size >= options.maxInflightMessages && !held.has(id)
    ) {
      throw new MqttError(
        ReasonCode.ReceiveMaximumExceeded,
        `more than ${options.maxInflightMessages} QoS 2 messages unreleased [MQTT-3.3.4-8]`,
      );
    }
  }

  if (options.messageSizeLimit > 0 && packet.payload.length > options.messageSizeLimit) {
    broker.log.notice(`Dropped too large PUBLISH from ${conn.clientId} ${summary(packet, topic)}`);
    counters.publishDropped++;
    acknowledge(conn, packet, ReasonCode.PacketTooLarge);
    return;
  }
  if (isClosedToClients(topic)) {
    broker.log.notice(
      `Denied PUBLISH from ${conn.clientId} to '${topic}': no client may publish there.`,
    );
    broker.metrics.aclDenied.publish++;
    acknowledge(conn, packet, ReasonCode.NotAuthorized);
    return;
  }
  const acl = aclOf(options, conn.listener);
  if (
    acl !== undefined &&
    !acl.allows({ clientId: conn.clientId, username: session.username }, topic, "write")
  ) {
    // Mosquitto 2.0: logged at debug; 5.0 clients learn it from the acknowledgement (0x87),
    // 3.x clients get a normal one and the message goes nowhere.
    if (broker.log.enabled("debug")) {
      broker.log.debug(`Denied PUBLISH from ${conn.clientId} ${summary(packet, topic)}`);
    }
    broker.metrics.aclDenied.publish++;
    acknowledge(conn, packet, conn.version === 5 ? ReasonCode.NotAuthorized : 0);
    return;
  }
  if (packet.retain && !options.retainAvailable) {
    throw new MqttError(ReasonCode.RetainNotSupported, "retained messages are not available");
  }

  // memory_limit: the memory last read plus every payload accepted since. An empty payload
  // (clearing a retained message) gives memory back, so it is let in.
  const payloadBytes = packet.payload.length;
  if ((broker.memory.headroom -= payloadBytes) < 0 && payloadBytes > 0) {
    refuseForMemory(conn, packet, topic);
    return;
  }

  const expiry = props?.messageExpiryInterval;
  const message = newMessage(
    topic,
    packet.payload,
    packet.qos,
    packet.retain,
    conn.clientId,
    forwardedProperties(props),
    expiry !== undefined ? broker.now() + expiry * 1000 : undefined,
  );
  if (packet.retain) {
    message.retainSource = { username: session.username, listener: conn.listener };
  }
  if (packet.qos !== 0 && held.has(packet.packetId!)) dropReusedIncoming(conn, packet.packetId!);
  if (packet.qos === 2) {
    // Held until PUBREL, acknowledged whether or not anyone subscribes, as in Mosquitto.
    holdIncoming(conn, packet.packetId!, message);
    acknowledge(conn, packet, 0); // [MQTT-4.3.3-8]
    return;
  }
  const deliveries = publishAccepted(conn, message);
  const noSubscribers = deliveries === 0 && conn.version === 5;
  acknowledge(conn, packet, noSubscribers ? ReasonCode.NoMatchingSubscribers : 0);
}
