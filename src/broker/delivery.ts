/**
 * Per-subscriber delivery: QoS, packet ids (given at queue time), the in-flight window (max_inflight_messages and
 * the client's receive maximum), the queue and its limits, message expiry, subscription
 * identifiers and the client's maximum packet size; no outbound topic aliases, as Mosquitto.
 * Messages without per-subscriber properties go out as one shared encoding per variant.
 *
 * @module
 */

import { encodePacket, type Properties, type QoS } from "../codec/mod.ts";
import { mayRead } from "./access.ts";
import { queueSent } from "./flow_control.ts";
import type { BrokerContext } from "./context.ts";
import { keepMessage, type Message, packetIdOffset, sharedEncoding } from "./message.ts";
import { unmountTopic } from "./mount_point.ts";
import { type Delivery, newDelivery, type Session, type SessionConnection } from "./session.ts";

/** QoS 1/2 messages that may be in flight to the client of `conn`. */
function inflightLimit(broker: BrokerContext, conn: SessionConnection): number {
  const max = broker.options.maxInflightMessages;
  return max > 0 && conn.listener.bridge === undefined
    ? Math.min(max, conn.clientReceiveMaximum)
    : conn.clientReceiveMaximum;
}

/**
 * Deliver `message` to `session` at `qos` with `retain`: now if the client is connected and
 * its window allows, else into its queue. Returns false when the message was dropped.
 */
export function deliver(
  broker: BrokerContext,
  session: Session,
  message: Message,
  qos: QoS,
  retain: boolean,
  subscriptionIds: number[] | undefined,
): boolean {
  if (message.expiresAt !== undefined && message.expiresAt <= broker.now()) return false;
  const delivery = newDelivery(message, qos, retain, subscriptionIds);
  const conn = session.connection;
  if (qos === 0) {
    if (conn !== undefined) return sendQos0(broker, conn, delivery);
    if (!broker.options.queueQos0Messages) return false;
    return enqueue(broker, session, delivery);
  }
  if (
    conn !== undefined && session.queuedCount === 0 &&
    session.inflight.size < inflightLimit(broker, conn)
  ) {
    return startInflight(broker, conn, session, delivery);
  }
  return enqueue(broker, session, delivery);
}

function enqueue(broker: BrokerContext, session: Session, delivery: Delivery): boolean {
  const o = broker.options;
  const maxMessages = session.listener?.bridge?.queueLimit ?? o.maxQueuedMessages;
  const full = (maxMessages > 0 && session.queuedCount >= maxMessages) ||
    (o.maxQueuedBytes > 0 &&
      session.queuedBytes + delivery.message.payload.length > o.maxQueuedBytes);
  // A full queue drops the message.
  if (full) {
    broker.countersOf(session).publishDropped++;
    session.dropped++;
    if (session.queuedCount > 0 && !session.droppingLogged) {
      session.droppingLogged = true;
      broker.log.notice(`Outgoing messages are being dropped for client ${session.clientId}.`);
    }
    return false;
  }
  session.enqueue(delivery);
  keepMessage(delivery.message);
  broker.observer.queued(session, delivery);
  return true;
}

function sendQos0(broker: BrokerContext, conn: SessionConnection, delivery: Delivery): boolean {
  if (conn.out.pendingBytes > broker.options.maxOutputBytes) {
    conn.counters.publishDropped++;
    conn.session!.dropped++;
    return false;
  }
  return writePublish(broker, conn, delivery, 0, false);
}

function startInflight(
  broker: BrokerContext,
  conn: SessionConnection,
  session: Session,
  delivery: Delivery,
): boolean {
  // A queued delivery has its packet id; one sent at once gets it now.
  const packetId = delivery.packetId || session.allocatePacketId();
  if (packetId === undefined) return enqueue(broker, session, delivery);
  // Encoded first, so that keeping the message copies its payload once (keepMessage).
  if (sharesEncoding(conn, delivery)) {
    sharedEncoding(delivery.message, conn.version, delivery.qos, delivery.retain);
  }
  keepMessage(delivery.message);
  delivery.packetId = packetId;
  delivery.state = "publish";
  session.setInflight(delivery);
  broker.observer.sent(session, delivery);
  if (!writePublish(broker, conn, delivery, packetId, false)) {
    session.deleteInflight(packetId);
    broker.observer.done(session, delivery);
    return false;
  }
  return true;
}

/**
 * Write one PUBLISH to `conn`. Shared bytes when nothing in it is particular to this client;
 * otherwise encoded for it: behind a mount point, with the topic the client knows (a topic
 * outside it is not sent). A packet larger than the client's maximum packet size is dropped
 * and counted [MQTT-3.1.2-24].
 */
function writePublish(
  broker: BrokerContext,
  conn: SessionConnection,
  delivery: Delivery,
  packetId: number,
  dup: boolean,
): boolean {
  const { message, qos, retain } = delivery;
  const mount = conn.listener.mountPoint;
  let bytes: Uint8Array;
  let idOffset = 0;
  if (sharesEncoding(conn, delivery)) {
    bytes = sharedEncoding(message, conn.version, qos, retain);
    if (qos > 0) idOffset = packetIdOffset(bytes);
  } else {
    const topic = mount === undefined ? message.topic : unmountTopic(mount, message.topic);
    if (topic === undefined) return false;
    bytes = encodeParticular(broker, conn, delivery, { topic, packetId, dup });
  }
  if (bytes.length > conn.clientMaximumPacketSize) {
    conn.counters.publishDropped++;
    broker.log.debug(
      `Dropped PUBLISH to ${conn.clientId} of ${bytes.length} bytes: over its maximum packet size.`,
    );
    return false;
  }
  if (idOffset > 0 || dup) conn.out.pushPublish(bytes, idOffset, packetId, dup);
  else conn.out.push(bytes);
  const counters = conn.counters;
  counters.publishSent++;
  counters.messagesSent++;
  counters.publishBytesSent += message.payload.length;
  if (broker.log.enabled("debug")) {
    broker.log.debug(
      `Sending PUBLISH to ${conn.clientId} (d${dup ? 1 : 0}, q${qos}, r${retain ? 1 : 0}, ` +
        `m${packetId}, '${message.topic}', ... (${message.payload.length} bytes))`,
    );
  }
  return true;
}

/**
 * Whether `delivery` goes to `conn` as the message's shared encoding: nothing in it is
 * particular to this client (no mount point; for 5.0, no subscription identifiers and no
 * expiry left to count down).
 */
function sharesEncoding(conn: SessionConnection, delivery: Delivery): boolean {
  if (conn.listener.mountPoint !== undefined) return false;
  return conn.version !== 5 ||
    (delivery.subscriptionIds === undefined && delivery.message.expiresAt === undefined);
}

/** How one PUBLISH encoded for its client differs from the message: its own topic and id. */
interface ParticularFields {
  /** The topic as the client knows it (its mount point taken off). */
  topic: string;
  /** Packet id (ignored at QoS 0). */
  packetId: number;
  /** DUP flag. */
  dup: boolean;
}

/** The PUBLISH of `delivery` for `conn` alone; 5.0 properties only for a 5.0 client. */
function encodeParticular(
  broker: BrokerContext,
  conn: SessionConnection,
  delivery: Delivery,
  fields: ParticularFields,
): Uint8Array {
  const { message, qos, retain } = delivery;
  const { packetId, dup } = fields;
  // Placed as Mosquitto places them: subscription identifiers first, then what the publisher
  // sent in its order, then the expiry left. No topic alias: Mosquitto 2.0 never sends one.
  const properties: Properties | undefined = conn.version === 5
    ? { subscriptionIdentifiers: delivery.subscriptionIds, ...message.properties }
    : undefined;
  if (properties !== undefined && message.expiresAt !== undefined) {
    // The expiry sent is what is left of it [MQTT-3.3.2-6].
    properties.messageExpiryInterval = Math.max(
      0,
      Math.ceil((message.expiresAt - broker.now()) / 1000),
    );
  }
  return encodePacket({
    type: "publish",
    topic: fields.topic,
    payload: message.payload,
    qos,
    retain,
    dup,
    packetId: qos > 0 ? packetId : undefined,
    properties,
  }, conn.version);
}

/** Send queued deliveries while the in-flight window has room. */
export function fillInflight(
  broker: BrokerContext,
  conn: SessionConnection,
  session: Session,
): void {
  const limit = inflightLimit(broker, conn);
  // Messages in flight before a resume that did not fit its window go first, in order.
  while (
    session.heldResendCount > 0 && session.inflight.size - session.heldResendCount < limit &&
    !conn.closed
  ) {
    const packetId = session.takeHeldResend()!;
    const outgoing = session.inflight.get(packetId);
    if (outgoing?.state === "publish") writePublish(broker, conn, outgoing, packetId, true);
  }
  while (session.queuedCount > 0 && session.inflight.size < limit && !conn.closed) {
    const delivery = session.dequeue()!;
    if (sendable(broker, session, delivery)) {
      if (delivery.qos > 0) {
        startInflight(broker, conn, session, delivery);
        continue;
      }
      writePublish(broker, conn, delivery, 0, false); // queued QoS 0
    }
    broker.observer.done(session, delivery);
  }
  if (session.queuedCount === 0) session.droppingLogged = false;
  queueSent(session, broker.options);
}

/**
 * Whether a queued delivery is still to be sent: not expired, and readable by the session's
 * user now (the ACL, or the user of a resumed session, may have changed since it was routed;
 * such a denial is counted).
 */
function sendable(broker: BrokerContext, session: Session, delivery: Delivery): boolean {
  const { expiresAt, topic } = delivery.message;
  if (expiresAt !== undefined && expiresAt <= broker.now()) return false;
  if (mayRead(broker.options, session, topic)) return true;
  broker.metrics.aclDenied.read++;
  return false;
}

/**
 * A session resumed on `conn`: resend what is in flight, in order, PUBLISH with DUP set and
 * PUBREL for those past PUBREC [MQTT-4.4.0-1], then send from the queue. PUBLISH packets past
 * the connection's receive maximum wait, in order, until acknowledgements make room
 * [MQTT-3.3.4-9] (a client may come back with a smaller one than it left with).
 */
export function resumeDelivery(
  broker: BrokerContext,
  conn: SessionConnection,
  session: Session,
): void {
  const limit = inflightLimit(broker, conn);
  let unacknowledged = 0;
  const held: number[] = [];
  for (const outgoing of session.inflight.values()) {
    if (outgoing.state !== "publish") {
      conn.send({ type: "pubrel", packetId: outgoing.packetId, reasonCode: 0 });
      unacknowledged++;
    } else if (!mayRead(broker.options, session, outgoing.message.topic)) {
      // Not for this user (the session was resumed under another one, or the ACL changed).
      broker.metrics.aclDenied.read++;
      session.deleteInflight(outgoing.packetId);
      broker.observer.done(session, outgoing);
    } else if (held.length === 0 && unacknowledged < limit) {
      writePublish(broker, conn, outgoing, outgoing.packetId, true);
      unacknowledged++;
    } else {
      held.push(outgoing.packetId);
    }
  }
  session.holdResends(held);
  fillInflight(broker, conn, session);
}
