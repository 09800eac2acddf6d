/**
 * One bridge link: a connection to the remote broker and one to this broker, and the relay
 * between them. The relay passes the flow of messages through packet by packet with the same
 * packet identifiers: a message this broker sends the bridge goes to the remote broker under
 * the identifier this broker gave it, and is acknowledged here only when the remote broker has
 * acknowledged it there (and the same the other way). So neither end forgets a message before
 * the other end holds it: while the link is down, this broker keeps what the bridge has not
 * taken in the bridge's session (queued, in flight, in its store with persistence) and sends
 * it again, in order, when the link is back; the remote broker does the same for its side.
 * QoS 2 stays exactly once because both brokers see one PUBLISH, PUBREL and identifier each.
 *
 * @module
 */

import type { BridgeEnd, ListenerOptions } from "../broker/options.ts";
import type { Properties, PublishPacket, QoS, Subscription } from "../codec/mod.ts";
import type { BridgeTopic } from "../config/bridge_topic.ts";
import { localFilter, remoteFilter, toLocalTopic, toRemoteTopic } from "../config/bridge_topic.ts";
import { filterMatches } from "../auth/acl_file.ts";
import { type FlowPacket, MqttClient } from "../client/mqtt_client.ts";
import type { Conn } from "../transport/conn.ts";
import { memoryPair } from "../transport/memory_pair.ts";
import { FlowWindow } from "./flow_window.ts";
import type { BridgeHost } from "./host.ts";
import type { BridgeSettings } from "./settings.ts";

/**
 * Messages in flight where no broker names a smaller number: from a 5.0 remote broker to the
 * bridge (the receive maximum it is told), and from this broker to a bridge whose remote speaks
 * 3.x.
 */
const DEFAULT_WINDOW = 1000;
/**
 * Unreleased QoS 2 messages in flight to a remote broker spoken to over 3.x, which names no
 * receive maximum. Mosquitto lets a 3.x client hold `max_inflight_messages` (20 by default)
 * of them; past that it answers PUBREC "quota exceeded", which 3.1.1 cannot carry, and
 * forgets the message. QoS 1 messages have no such quota: up to `DEFAULT_WINDOW` go.
 */
const V3_QOS2_WINDOW = 20;
/** Bytes waiting toward the remote broker beyond which QoS 0 messages are dropped. */
const QOS0_BACKLOG_BYTES = 4 * 1024 * 1024;
/** A session that never expires (5.0). */
const NEVER_EXPIRES = 0xffffffff;
/** How long each CONNECT may wait for its CONNACK. */
const CONNACK_TIMEOUT_MS = 10_000;

/** Traffic over a bridge, each way. */
export class LinkCounters {
  /** Messages sent to the remote broker. */
  messagesOut = 0;
  /** Their payload bytes. */
  bytesOut = 0;
  /** Messages received from the remote broker. */
  messagesIn = 0;
  /** Their payload bytes. */
  bytesIn = 0;
  /**
   * Messages not sent to the remote broker: too large for it, or QoS 0 while it did not keep
   * up.
   */
  dropped = 0;
}

/** A rule's side of the remapping, made once per link. */
interface Route {
  readonly filter: string;
  readonly rule: BridgeTopic;
}

/** An open link; `ended` resolves with the reason it ended. */
export interface Link {
  /** Resolves when either side has gone, with what ended it. */
  readonly ended: Promise<string>;
  /** When a message last passed, either way (ms). */
  readonly lastActivity: number;
  /** Close both sides: DISCONNECT to the remote broker, the local session kept. */
  close(): Promise<void>;
}

/** The local side's end as the broker sees it. */
function localEnd(settings: BridgeSettings): ListenerOptions & { bridge: BridgeEnd } {
  const trusted = settings.localUsername === undefined;
  return { port: 0, bridge: { name: settings.name, queueLimit: settings.queueLimit, trusted } };
}

/**
 * Connect the bridge's local session on `host` and subscribe it, then close it at once: from
 * then on this broker keeps what it matches while the remote broker is away (store and
 * forward), even before the first link. Nothing it was sent is acknowledged; its window is one
 * message, so a resumed session (after a restart) keeps the rest queued, not in flight: in
 * flight, they would all be sent again at once on the next link, past its window.
 */
export async function primeLocalSession(
  host: BridgeHost,
  settings: BridgeSettings,
): Promise<void> {
  const local = await connectLocal(host, settings, 1);
  try {
    await subscribeLocal(host, settings, local);
  } finally {
    await local.disconnect();
  }
}

/**
 * Open a link over `remoteConn` (already connected to the remote broker): CONNECT there,
 * subscribe to what comes in, then connect and subscribe here, then relay. Throws when either
 * side refuses; `onUp` runs once both sides are connected.
 */
export async function openLink(
  host: BridgeHost,
  settings: BridgeSettings,
  remoteConn: Conn,
  counters: LinkCounters,
): Promise<Link> {
  const busy = host.sessions.get(settings.localClientId)?.inflight;
  const remote = await connectRemote(settings, remoteConn, firstFreeIds(busy));
  let local: MqttClient | undefined;
  try {
    if (settings.notifications && !settings.notificationsLocalOnly) {
      // QoS 0: a QoS 1 message would take a packet identifier the relay's messages may hold
      // on the remote broker (its resumed session), and count against its quota of them.
      await remote.publish(settings.notificationTopic, new TextEncoder().encode("1"), {
        qos: 0,
        retain: true,
      });
    }
    await subscribeRemote(host, settings, remote);
    const window = remote.version === 5
      ? remote.connack.properties?.receiveMaximum ?? 65535 // absent: no limit but the id space
      : DEFAULT_WINDOW;
    local = await connectLocal(host, settings, window);
    await subscribeLocal(host, settings, local);
  } catch (error) {
    remote.close();
    local?.close();
    throw error;
  }
  return relay(settings, remote, local, counters);
}

/**
 * Where the remote client's own requests (SUBSCRIBE, UNSUBSCRIBE, the notification) start
 * numbering: clear of the identifiers this broker has in flight to the bridge, which are the
 * remote broker's in-flight identifiers too once relayed.
 */
function firstFreeIds(busy: ReadonlyMap<number, unknown> | undefined): number {
  const OWN_REQUESTS = 4;
  let start = 1;
  for (let tries = 0; busy !== undefined && tries < 65535 / OWN_REQUESTS; tries++) {
    let clear = true;
    for (let id = start; id < start + OWN_REQUESTS; id++) clear &&= !busy.has(id);
    if (clear) break;
    start += OWN_REQUESTS;
  }
  return start;
}

function connectRemote(
  settings: BridgeSettings,
  conn: Conn,
  nextPacketId: number,
): Promise<MqttClient> {
  const v5 = settings.protocolVersion === 5;
  const properties: Properties = {};
  if (v5) {
    properties.sessionExpiryInterval = settings.cleanSession ? 0 : NEVER_EXPIRES;
    properties.receiveMaximum = DEFAULT_WINDOW;
  }
  const willed = settings.notifications && !settings.notificationsLocalOnly;
  return MqttClient.connect(conn, {
    protocolVersion: settings.protocolVersion,
    clientId: settings.remoteClientId,
    clean: settings.cleanSession,
    keepAlive: settings.keepAlive,
    bridge: settings.tryPrivate && !v5 ? true : undefined,
    username: settings.remoteUsername,
    password: settings.remotePassword === undefined
      ? undefined
      : new TextEncoder().encode(settings.remotePassword),
    will: willed
      ? {
        topic: settings.notificationTopic,
        payload: new TextEncoder().encode("0"),
        qos: 1,
        retain: true,
      }
      : undefined,
    properties: v5 ? properties : undefined,
  }, { timeoutMs: CONNACK_TIMEOUT_MS, relay: true, nextPacketId });
}

function connectLocal(
  host: BridgeHost,
  settings: BridgeSettings,
  window: number,
): Promise<MqttClient> {
  const [ours, broker] = memoryPair({ capacity: 1024 * 1024 });
  host.attachBridge(broker, localEnd(settings));
  return MqttClient.connect(ours, {
    protocolVersion: 5,
    clientId: settings.localClientId,
    clean: settings.localCleanSession,
    keepAlive: 0,
    username: settings.localUsername,
    password: settings.localPassword === undefined
      ? undefined
      : new TextEncoder().encode(settings.localPassword),
    properties: {
      sessionExpiryInterval: settings.localCleanSession ? 0 : NEVER_EXPIRES,
      receiveMaximum: window,
    },
  }, { timeoutMs: CONNACK_TIMEOUT_MS, relay: true });
}

/** Subscribe on the remote broker to what comes in; unsubscribe what only goes out. */
async function subscribeRemote(
  host: BridgeHost,
  settings: BridgeSettings,
  remote: MqttClient,
): Promise<void> {
  const v5 = settings.protocolVersion === 5;
  const incoming = settings.topics.filter((t) => t.direction !== "out");
  if (incoming.length > 0) {
    const subscriptions = incoming.map((rule): Subscription => ({
      topicFilter: remoteFilter(rule),
      qos: rule.qos,
      noLocal: v5, // no echo of what the bridge sent (a 3.x remote: try_private)
      retainAsPublished: true,
      retainHandling: 0,
    }));
    const suback = await remote.subscribe(subscriptions);
    suback.reasonCodes.forEach((code, i) => {
      if (code >= 0x80) {
        host.log.warning(
          `Bridge ${settings.name}: the remote broker refused the subscription to ` +
            `${subscriptions[i].topicFilter} (reason ${code}).`,
        );
      }
    });
  }
  const outOnly = settings.topics.filter((t) => t.direction === "out").map(remoteFilter);
  if (settings.attemptUnsubscribe && outOnly.length > 0) await remote.unsubscribe(outOnly);
}

/**
 * Subscribe the local session to what goes out, and take back subscriptions a resumed
 * session holds that the configuration no longer names.
 */
async function subscribeLocal(
  host: BridgeHost,
  settings: BridgeSettings,
  local: MqttClient,
): Promise<void> {
  const outgoing = settings.topics.filter((t) => t.direction !== "in");
  const filters = new Set(outgoing.map(localFilter));
  const stale = [...host.sessions.get(settings.localClientId)?.subscriptions.keys() ?? []]
    .filter((f) => !filters.has(f));
  if (stale.length > 0) await local.unsubscribe(stale);
  if (outgoing.length === 0) return;
  const suback = await local.subscribe(outgoing.map((rule) => ({
    topicFilter: localFilter(rule),
    qos: rule.qos,
    noLocal: true, // what came in over the bridge does not go back out over it
    retainAsPublished: settings.outgoingRetain,
    retainHandling: 0,
  })));
  suback.reasonCodes.forEach((code, i) => {
    if (code >= 0x80) {
      host.log.warning(
        `Bridge ${settings.name}: topic ${localFilter(outgoing[i])} refused here ` +
          `(reason ${code}).`,
      );
    }
  });
}

/** Relay between `remote` and `local` until either ends. */
function relay(
  settings: BridgeSettings,
  remote: MqttClient,
  local: MqttClient,
  counters: LinkCounters,
): Link {
  const outRoutes = routes(settings.topics, "in", localFilter);
  const inRoutes = routes(settings.topics, "out", remoteFilter);
  const maxPacketOut = smallestLimit(
    settings.maxPacketSize,
    remote.connack.properties?.maximumPacketSize ?? 0,
  );
  let lastActivity = Date.now();
  const ended = Promise.race([
    remote.closed.then((e) => `the remote broker: ${e?.message ?? "closed"}`),
    local.closed.then((e) => `this broker: ${e?.message ?? "closed"}`),
  ]);
  // This broker's receive maximum holds for the bridge too; a 3.x remote does not heed it.
  const toLocal = new FlowWindow(
    local.connack.properties?.receiveMaximum ?? 65535,
    (packet) => local.send(packet),
  );
  const toRemote = new FlowWindow(
    remote.connack.properties?.receiveMaximum ?? 65535,
    (packet) => remote.send(packet),
    remote.version === 5 ? undefined : V3_QOS2_WINDOW,
  );
  const outward = (packet: FlowPacket) => {
    if (packet.type !== "publish") {
      toLocal.answered(packet);
      return remote.send(packet);
    }
    lastActivity = Date.now();
    const route = pick(outRoutes, packet.topic);
    const topic = route === undefined ? undefined : toRemoteTopic(route.rule, packet.topic);
    const tooBig = maxPacketOut > 0 &&
      packet.payload.length + (topic?.length ?? 0) + 16 > maxPacketOut;
    if (
      topic === undefined || tooBig ||
      (packet.qos === 0 && remote.pendingBytes > QOS0_BACKLOG_BYTES)
    ) {
      counters.dropped++;
      return settle(local, packet);
    }
    counters.messagesOut++;
    counters.bytesOut += packet.payload.length;
    toRemote.publish(forwarded(packet, topic, settings.outgoingRetain && packet.retain));
  };
  const inward = (packet: FlowPacket) => {
    if (packet.type !== "publish") {
      toRemote.answered(packet);
      return local.send(packet);
    }
    lastActivity = Date.now();
    const route = pick(inRoutes, packet.topic);
    if (route === undefined) return settle(remote, packet);
    counters.messagesIn++;
    counters.bytesIn += packet.payload.length;
    toLocal.publish(forwarded(packet, toLocalTopic(route.rule, packet.topic), packet.retain));
  };
  local.relayFlow(outward);
  remote.relayFlow(inward);
  void ended.then(() => {
    remote.close();
    void local.disconnect();
  });
  return {
    ended,
    get lastActivity() {
      return lastActivity;
    },
    async close() {
      await Promise.all([remote.disconnect(), local.disconnect()]);
    },
  };
}

/**
 * The packet size limit out to the remote broker: as in Mosquitto, `bridge_max_packet_size`
 * (any protocol version) and a 5.0 remote's own maximum, the smaller of those set; 0 = none.
 */
function smallestLimit(own: number, remote: number): number {
  if (own === 0 || remote === 0) return own + remote;
  return Math.min(own, remote);
}

/** The rules of a direction (all but `except`), with the filter each matches on its side. */
function routes(
  topics: readonly BridgeTopic[],
  except: BridgeTopic["direction"],
  filterOf: (rule: BridgeTopic) => string,
): Route[] {
  return topics.filter((t) => t.direction !== except).map((rule) => ({
    filter: filterOf(rule),
    rule,
  }));
}

/** The first route whose filter matches `topic`; the only one without matching. */
function pick(routes: readonly Route[], topic: string): Route | undefined {
  if (routes.length === 1) return routes[0];
  return routes.find((r) => filterMatches(r.filter, topic));
}

/** Acknowledge a PUBLISH that goes no further, so its sender forgets it. */
function settle(sender: MqttClient, packet: PublishPacket): void {
  if (packet.qos === 1) sender.send({ type: "puback", packetId: packet.packetId!, reasonCode: 0 });
  if (packet.qos === 2) sender.send({ type: "pubrec", packetId: packet.packetId!, reasonCode: 0 });
}

/** `packet` under `topic`, as the other side is sent it: the same QoS and identifier. */
function forwarded(packet: PublishPacket, topic: string, retain: boolean): PublishPacket {
  const properties = packet.properties === undefined ? undefined : passedOn(packet.properties);
  return { ...packet, topic, retain, properties, qos: packet.qos as QoS };
}

/** A message's properties without those that belong to one connection. */
function passedOn(properties: Properties): Properties | undefined {
  if (properties.topicAlias === undefined && properties.subscriptionIdentifiers === undefined) {
    return properties;
  }
  const { topicAlias: _alias, subscriptionIdentifiers: _ids, ...rest } = properties;
  return rest;
}
