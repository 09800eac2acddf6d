/**
 * Brokers over a `MemoryStore` for the persistence tests. A "crash" is a copy of the store's
 * data taken at any moment: the memory store changes its data only when a commit completes, so
 * the copy is exactly what a broker killed at that moment would find on disk.
 *
 * @module
 */

import { Broker } from "../../src/broker/broker.ts";
import { type BrokerOptions, defaultBrokerOptions } from "../../src/broker/options.ts";
import { restore, type RestoreSummary } from "../../src/broker/restore.ts";
import { MemoryStore, type MemoryStoreData } from "../../src/store/memory_store.ts";
import { ALL_LOG_TYPES, Logger } from "../../src/log/logger.ts";
import { connect, type ConnectFields, RawClient } from "./harness.ts";

/** A broker restored from (and writing to) a memory store, and the clients opened to it. */
export interface StoredBroker {
  /** The broker. */
  broker: Broker;
  /** Its port. */
  port: number;
  /** Its store. */
  store: MemoryStore;
  /** The store's records. */
  data: MemoryStoreData;
  /** What `restore` found. */
  restored: RestoreSummary;
  /** Log lines (no timestamps). */
  logs: string[];
  /** Connect a client (closed with the broker). */
  connect(fields?: ConnectFields): Promise<RawClient>;
}

/** Brokers started by one test, all stopped at its end. */
export class Brokers {
  #started: { sb: StoredBroker; clients: RawClient[] }[] = [];

  /** Start a broker over `data` (empty when not given). */
  async start(
    data: MemoryStoreData = new Map(),
    overrides: Partial<BrokerOptions> = {},
  ): Promise<StoredBroker> {
    const logs: string[] = [];
    const broker = new Broker({
      ...defaultBrokerOptions(),
      listeners: [{ host: "127.0.0.1", port: 0 }],
      logger: new Logger({ types: ALL_LOG_TYPES, timestamp: false, sinks: [(l) => logs.push(l)] }),
      ...overrides,
    });
    const store = new MemoryStore(data);
    const restored = await restore(broker, store);
    await broker.start();
    const clients: RawClient[] = [];
    const sb: StoredBroker = {
      broker,
      port: broker.ports[0],
      store,
      data,
      restored,
      logs,
      connect: async (fields = {}) => {
        const { client, connack } = await connect(broker.ports[0], fields);
        clients.push(client);
        if (connack.reasonCode !== 0) throw new Error(`refused: ${connack.reasonCode}`);
        return client;
      },
    };
    this.#started.push({ sb, clients });
    return sb;
  }

  /** What a broker killed now would find: a copy of the committed records. */
  static crash(sb: StoredBroker): MemoryStoreData {
    return new Map(sb.data);
  }

  /** Close every client and stop every broker. */
  async stopAll(): Promise<void> {
    for (const { sb, clients } of this.#started) {
      for (const c of clients) await c.close();
      await sb.broker.stop();
    }
    this.#started = [];
  }
}

/** Run `body` with a `Brokers`, stopping them all afterwards. */
export async function withBrokers(body: (brokers: Brokers) => Promise<void>): Promise<void> {
  const brokers = new Brokers();
  try {
    await body(brokers);
  } finally {
    await brokers.stopAll();
  }
}

/** Keys of the store's records of kind `kind` ("s", "u", "d", "i", "m", "r"). */
export function keysOf(data: MemoryStoreData, kind: string): string[] {
  return [...data.keys()].filter((k) => k.startsWith(`${kind}/`)).sort();
}
