/**
 * The stats snapshot without sockets: retained messages and their bytes kept as they are set,
 * replaced and cleared; queued and in-flight copies counted per client; the per-listener
 * counters summed into the totals.
 */

import assert from "node:assert/strict";
import { Broker } from "../../src/broker/broker.ts";
import { newMessage } from "../../src/broker/message.ts";
import { defaultBrokerOptions } from "../../src/broker/options.ts";
import { type Delivery, newDelivery, Session } from "../../src/broker/session.ts";
import { takeStats } from "../../src/broker/stats.ts";
import { labelListener } from "../../src/broker/listener_label.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);
/** TLS settings for a label (no file is read). */
const TLS = { certfile: "c.pem", keyfile: "k.pem", requireCertificate: false };

function retain(broker: Broker, topic: string, payload: string): void {
  const message = newMessage(topic, utf8(payload), 1, true, "p");
  message.owned = true;
  broker.fanOut.setRetained(topic, message);
}

function delivery(payload: string, packetId = 0): Delivery {
  const delivery = newDelivery(newMessage("q", utf8(payload), 1, false, "p"), 1, false, undefined);
  delivery.packetId = packetId;
  return delivery;
}

Deno.test("stats: retained messages and their bytes follow set, replace and clear", () => {
  const broker = new Broker(defaultBrokerOptions());
  retain(broker, "a", "12345");
  retain(broker, "$dollar/b", "123");
  assert.deepEqual([takeStats(broker).retained, takeStats(broker).store], [2, {
    messages: 2,
    bytes: 8,
  }]);
  retain(broker, "a", "1");
  assert.deepEqual(takeStats(broker).store, { messages: 2, bytes: 4 });
  retain(broker, "a", ""); // clears
  assert.deepEqual(takeStats(broker).store, { messages: 1, bytes: 3 });
  assert.equal(takeStats(broker).retained, 1);
});

Deno.test("stats: each client's queued and in-flight copies count, with their payload bytes", () => {
  const broker = new Broker(defaultBrokerOptions());
  const one = new Session("one", 4, 60);
  const two = new Session("two", 5, 60);
  const shared = delivery("shared");
  one.enqueue(shared);
  two.enqueue({ ...shared });
  two.setInflight(delivery("flying", 7));
  broker.sessions.add(one);
  broker.sessions.add(two);
  const stats = takeStats(broker);
  assert.deepEqual(stats.store, { messages: 3, bytes: 6 + 6 + 6 });
  assert.deepEqual(stats.clients, {
    connected: 0,
    disconnected: 2,
    total: 2,
    maximum: 0,
    expired: 0,
  });
});

Deno.test("stats: totals are the sums of the counters of every listener and version", () => {
  const broker = new Broker(defaultBrokerOptions());
  const tcp = labelListener({ port: 1883 }, { address: "::", port: 1883 });
  const tls = labelListener({ port: 8883, tls: TLS }, { address: "::", port: 8883 });
  broker.metrics.counters(tcp, 4).publishReceived += 3;
  broker.metrics.counters(tcp, 5).publishReceived += 4;
  broker.metrics.counters(tls, 4).publishReceived += 5;
  broker.metrics.counters(tcp, 0).sockets += 2;
  broker.metrics.unattributed.publishDropped += 1;
  const stats = takeStats(broker);
  assert.equal(stats.totals.publishReceived, 12);
  assert.equal(stats.totals.sockets, 2);
  assert.equal(stats.totals.publishDropped, 1);
  assert.equal(broker.metrics.publishDropped, 1);
  assert.deepEqual(
    stats.byListener.map((c) => [c.listener?.name, c.version, c.values.publishReceived]),
    [[undefined, 0, 0], ["1883", 4, 3], ["1883", 5, 4], ["8883", 4, 5], ["1883", 0, 0]],
  );
});

Deno.test("stats: counters are kept per listener name and transport; a Unix socket is not 'no listener'", () => {
  const broker = new Broker(defaultBrokerOptions());
  const unix = labelListener({ port: 0, socketPath: "/tmp/m.sock" }, { address: "", port: 0 });
  const tcp = labelListener({ port: 1883 }, { address: "::", port: 1883 });
  const wss = labelListener({ port: 1883, tls: TLS, websockets: { maxFrameSize: 0 } }, {
    address: "127.0.0.1",
    port: 1883,
  });
  assert.deepEqual([unix.name, unix.transport, unix.port], ["/tmp/m.sock", "unix", 0]);
  assert.deepEqual([wss.name, wss.transport, wss.address], ["1883", "wss", "127.0.0.1"]);
  assert.notEqual(broker.metrics.counters(unix, 0), broker.metrics.unattributed);
  assert.equal(broker.metrics.counters(undefined, 4), broker.metrics.unattributed);
  assert.notEqual(broker.metrics.counters(tcp, 4), broker.metrics.counters(wss, 4));
  assert.equal(broker.metrics.counters({ ...tcp }, 4), broker.metrics.counters(tcp, 4));
});
