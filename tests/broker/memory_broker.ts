/**
 * A broker with no listener, served over in-memory pairs: the unit tests of this folder send it
 * raw packets and read its answers with no socket at all. Its clock runs with the wall clock
 * plus an offset the test moves forward, so that expiry can be reached without waiting. The
 * clients a test opens are closed, and the broker stopped, when the test's body ends.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ConnackPacket, ProtocolVersion } from "../../src/codec/mod.ts";
import { Broker } from "../../src/broker/broker.ts";
import {
  type BrokerOptions,
  defaultBrokerOptions,
  type ListenerOptions,
} from "../../src/broker/options.ts";
import { restore } from "../../src/broker/restore.ts";
import { ALL_LOG_TYPES, Logger } from "../../src/log/logger.ts";
import type { MemoryStore } from "../../src/store/memory_store.ts";
import { memoryPair, type MemoryPairOptions } from "../../src/transport/memory_pair.ts";
import { type ConnectFields, RawClient, sendConnect } from "../integration/harness.ts";

/** The listener every in-memory client counts as coming through (it is never opened). */
const MEMORY_LISTENER: ListenerOptions = { port: 1883 };

/** How a test opens a client: its in-memory pair, and the listener it counts as coming through. */
export interface OpenOptions extends MemoryPairOptions {
  /** The listener (never opened); a plain one on port 1883 when absent. */
  listener?: ListenerOptions;
}

/** How a test's broker is made. */
export interface MemoryBrokerSetup {
  /** Options over the defaults (the listeners are always none). */
  options?: Partial<BrokerOptions>;
  /** A store to restore from at start and to write to (no persistence when absent). */
  store?: MemoryStore;
}

/** What a test's body gets. */
export interface MemoryEnv {
  /** The broker. */
  broker: Broker;
  /** Every log line so far (without timestamps). */
  logs: string[];
  /** Move the broker's clock forward by `ms` (the wall clock does not move). */
  advanceClock(ms: number): void;
  /** A client over a new in-memory pair whose other end the broker serves. */
  open(version?: ProtocolVersion, options?: OpenOptions): RawClient;
  /**
   * A client that has sent CONNECT (3.1.1, clean, keep alive 60, client id "test", unless
   * `fields` say otherwise), with the CONNACK, whatever its reason code.
   */
  connect(fields?: ConnectFields): Promise<{ client: RawClient; connack: ConnackPacket }>;
  /** Like `connect` with client id `clientId`, checking that the broker accepted it. */
  client(clientId: string, fields?: ConnectFields): Promise<RawClient>;
}

/**
 * Run `body` against a fresh broker that has no listener (it is checked to have no port);
 * afterwards close every client it opened and stop the broker, whether `body` passed or not.
 */
export async function withMemoryBroker(
  setup: MemoryBrokerSetup,
  body: (env: MemoryEnv) => Promise<void>,
): Promise<void> {
  const logs: string[] = [];
  let offset = 0;
  const broker = new Broker({
    ...defaultBrokerOptions(),
    logger: new Logger({ types: ALL_LOG_TYPES, timestamp: false, sinks: [(l) => logs.push(l)] }),
    ...setup.options,
    listeners: [],
  }, () => Date.now() + offset);
  if (setup.store !== undefined) await restore(broker, setup.store);
  await broker.start();
  assert.deepEqual(broker.ports, [], "no socket is open");
  const clients: RawClient[] = [];
  const open = (version: ProtocolVersion = 4, options: OpenOptions = {}) => {
    const { listener = MEMORY_LISTENER, ...pair } = options;
    const [clientEnd, brokerEnd] = memoryPair(pair);
    broker.listeners.accept(brokerEnd, listener);
    const client = new RawClient(clientEnd, version);
    clients.push(client);
    return client;
  };
  const connect = async (fields: ConnectFields = {}) => {
    const client = open(fields.protocolVersion ?? 4);
    return { client, connack: await sendConnect(client, fields) };
  };
  const client = async (clientId: string, fields: ConnectFields = {}) => {
    const { client, connack } = await connect({ clientId, ...fields });
    assert.equal(connack.reasonCode, 0, `CONNACK of ${clientId}`);
    return client;
  };
  try {
    await body({ broker, logs, advanceClock: (ms) => offset += ms, open, connect, client });
  } finally {
    for (const client of clients) await client.close();
    await broker.stop();
  }
}
