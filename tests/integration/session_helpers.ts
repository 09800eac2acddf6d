/**
 * Helpers shared by the CONNECT / session and will integration tests: a broker scope that closes
 * every socket it opened (refused or not), and the few packet flows those tests repeat.
 *
 * @module
 */

import type { ConnackPacket, ProtocolVersion, QoS } from "../../src/codec/mod.ts";
import type { BrokerOptions } from "../../src/broker/options.ts";
import { text } from "../fixtures/packets.ts";
import {
  type ConnectFields,
  hex,
  RawClient,
  sendConnect,
  startBroker,
  type TestBroker,
} from "./harness.ts";

/** A test's broker, and sockets that are closed for it when the test ends. */
export interface Env {
  /** The broker with its port and captured log. */
  tb: TestBroker;
  /** Open a socket to the broker. */
  open(version?: ProtocolVersion): Promise<RawClient>;
  /**
   * Open a socket and send CONNECT (3.1.1, clean, keep alive 60, client id "test", unless
   * `fields` say otherwise); returns the CONNACK, whatever its reason code.
   */
  connect(fields?: ConnectFields): Promise<{ client: RawClient; connack: ConnackPacket }>;
}

/**
 * Run `body` against a fresh broker with `overrides`; afterwards close every socket it opened,
 * then stop the broker, whether `body` passed or not.
 */
export async function withBroker(
  overrides: Partial<BrokerOptions>,
  body: (env: Env) => Promise<void>,
): Promise<void> {
  const tb = startBroker(overrides);
  const clients: RawClient[] = [];
  const open = async (version: ProtocolVersion = 4) => {
    const client = await RawClient.open(tb.port, version);
    clients.push(client);
    return client;
  };
  const connect = async (fields: ConnectFields = {}) => {
    const client = await open(fields.protocolVersion ?? 4);
    return { client, connack: await sendConnect(client, fields) };
  };
  try {
    await body({ tb, open, connect });
  } finally {
    for (const client of clients) await client.close();
    await tb.stop();
  }
}

/** Subscribe to one filter (packet id 1) and wait for the SUBACK. */
export async function subscribe(client: RawClient, topicFilter: string, qos: QoS): Promise<void> {
  await client.send({
    type: "subscribe",
    packetId: 1,
    subscriptions: [{
      topicFilter,
      qos,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    }],
  });
  await client.expect("suback");
}

/** Publish a text payload and complete the QoS 1 or 2 flow. */
export async function publish(
  client: RawClient,
  topic: string,
  payload: string,
  qos: QoS,
  packetId = 1,
): Promise<void> {
  await client.send({
    type: "publish",
    topic,
    payload: text(payload),
    qos,
    retain: false,
    dup: false,
    packetId: qos > 0 ? packetId : undefined,
  });
  if (qos === 1) await client.expect("puback");
  if (qos === 2) {
    await client.expect("pubrec");
    await client.send({ type: "pubrel", packetId, reasonCode: 0 });
    await client.expect("pubcomp");
  }
}

/** Send DISCONNECT (5.0: with a session expiry if given) and wait for the broker to close. */
export async function disconnect(client: RawClient, sessionExpiryInterval?: number): Promise<void> {
  const properties = sessionExpiryInterval !== undefined ? { sessionExpiryInterval } : undefined;
  await client.send({ type: "disconnect", reasonCode: 0, properties });
  await client.expectClosed();
}

/** Hex of the last frame received: call right after taking the packet it carried. */
export function lastFrame(client: RawClient): string {
  return hex(client.frames[client.frames.length - 1]);
}
