/**
 * `$SYS/broker/...` over real sockets: the values after scripted traffic (counted again on the
 * client side), retained for a late subscriber, republished only when changed (the uptime
 * always), invisible to `#`, closed to clients' PUBLISH, and the load averages on a clock the
 * test moves.
 */

import assert from "node:assert/strict";
import { type PublishPacket, ReasonCode } from "../../src/codec/mod.ts";
import { sysValues } from "../../src/broker/sys_tree.ts";
import { takeStats } from "../../src/broker/stats.ts";
import { RawClient, startBroker, waitFor } from "../integration/harness.ts";
import { expectAck, pub, sub, subscribe, sync } from "../integration/pubsub_helpers.ts";
import { CountingClients, drainPublishes, startClockedBroker, T0 } from "./helpers.ts";

const S = "$SYS/broker/";

Deno.test("$SYS values after scripted traffic are exact, and a late subscriber gets them at once, retained", async () => {
  const tb = startClockedBroker({ sysInterval: 3600, maxQueuedMessages: 1 });
  const c = new CountingClients(tb.port);
  try {
    // Five clients connected at once: clients/maximum 5.
    const { client: s } = await c.connect("sub");
    const { client: shared } = await c.connect("shared", { protocolVersion: 5 });
    const { client: p } = await c.connect("pub", { protocolVersion: 3 });
    const { client: away } = await c.connect("away", { clean: false });
    const { client: gone } = await c.connect("gone", {
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 1 },
    });
    for (
      const [client, filter, qos] of [[s, "t/#", 1], [shared, "$share/g/t/#", 0], [
        away,
        "t/#",
        1,
      ]] as const
    ) {
      await c.send(client, { type: "subscribe", packetId: 1, subscriptions: [sub(filter, qos)] });
      await client.expect("suback");
    }
    await c.send(away, { type: "disconnect", reasonCode: 0 });
    await c.send(gone, { type: "disconnect", reasonCode: 0 });
    await away.expectClosed();
    await gone.expectClosed();

    // Three messages: one QoS 0 retained, two QoS 1 (the second retained). "away" queues the
    // first QoS 1 message (max_queued_messages 1) and drops the second; "sub" acknowledges the
    // first and leaves the second in flight.
    await c.send(p, pub("t/a", "one", { retain: true }));
    await c.send(p, pub("t/b", "two!", { qos: 1, packetId: 1 }));
    await expectAck(p, "puback");
    await c.send(p, pub("t/c", "three", { qos: 1, packetId: 2, retain: true }));
    await expectAck(p, "puback");
    const [, b] = [await s.expect("publish"), await s.expect("publish")];
    await c.send(s, { type: "puback", packetId: b.packetId!, reasonCode: 0 });
    await s.expect("publish"); // t/c, left unacknowledged
    for (let i = 0; i < 3; i++) await shared.expect("publish");
    await c.send(s, { type: "pingreq" });
    await s.expect("pingresp");

    // "gone" expires after its second (the sweep runs on the test's clock).
    tb.clock.now = T0 + 2500;
    await waitFor(() => tb.broker.metrics.clientsExpired === 1, "the session to expire");
    tb.broker.sysTree.update();
    const sent = c.received();

    // Only now does a watcher subscribe: its values are those of the update, retained.
    const watcherClients = new CountingClients(tb.port);
    try {
      const { client: w } = await watcherClients.connect("watcher");
      await w.send({ type: "subscribe", packetId: 1, subscriptions: [sub("$SYS/#", 0)] });
      await w.expect("suback");
      const sys = await drainPublishes(w);
      const value = (topic: string) => {
        const m = sys.get(S + topic);
        assert.ok(m !== undefined, `no ${S}${topic}`);
        assert.equal(m.retain, true, `${topic} is retained`);
        return m.payload;
      };
      assert.equal(value("version"), "midge version 0.1.0");
      assert.equal(value("uptime"), "2 seconds");
      assert.equal(value("clients/connected"), "3");
      assert.equal(value("clients/active"), "3");
      assert.equal(value("clients/total"), "4"); // sub, shared, pub, away
      assert.equal(value("clients/disconnected"), "1");
      assert.equal(value("clients/inactive"), "1");
      assert.equal(value("clients/maximum"), "5");
      assert.equal(value("clients/expired"), "1");
      assert.equal(value("subscriptions/count"), "2");
      assert.equal(value("shared_subscriptions/count"), "1");
      assert.equal(value("retained messages/count"), "2");
      // Retained t/a and t/c, t/b queued for away, t/c in flight to sub.
      assert.equal(value("store/messages/count"), "4");
      assert.equal(value("messages/stored"), "4");
      assert.equal(value("store/messages/bytes"), `${3 + 5 + 4 + 5}`);
      assert.equal(value("publish/messages/received"), "3");
      assert.equal(value("publish/bytes/received"), `${3 + 4 + 5}`);
      assert.equal(value("publish/messages/dropped"), "1");
      assert.equal(value("publish/messages/sent"), `${sent.publishes}`);
      assert.equal(sent.publishes, 6);
      assert.equal(value("publish/bytes/sent"), `${sent.publishBytes}`);
      assert.equal(value("messages/received"), `${c.packetsSent}`);
      assert.equal(value("messages/sent"), `${sent.packets}`);
      assert.equal(value("bytes/received"), `${c.bytesSent}`);
      assert.equal(value("bytes/sent"), `${sent.bytes}`);
      assert.match(value("heap/current"), /^[1-9][0-9]*$/);
      assert.ok(Number(value("heap/maximum")) >= Number(value("heap/current")));
      for (const topic of sys.keys()) {
        if (topic.startsWith(`${S}load/`)) {
          assert.match(value(topic.slice(S.length)), /^\d+\.\d\d$/);
        }
      }
      // Every topic an update makes, and the version: nothing else, nothing missing.
      const expected = sysValues(takeStats(tb.broker)).map(([topic]) => topic);
      assert.deepEqual([...sys.keys()].sort(), [...expected, `${S}version`].sort());
    } finally {
      await watcherClients.closeAll();
    }
  } finally {
    await c.closeAll();
    await tb.stop();
  }
});

Deno.test("$SYS is republished only where a value changed, the uptime always, the version never", async () => {
  const tb = startClockedBroker({ sysInterval: 3600 });
  const c = new CountingClients(tb.port);
  try {
    const { client: w } = await c.connect("watcher");
    await c.send(w, { type: "subscribe", packetId: 1, subscriptions: [sub("$SYS/#", 0)] });
    await w.expect("suback");
    const first = await drainPublishes(w); // retained, from the update made at start
    assert.ok(first.size > 50);
    tb.broker.sysTree.update(); // the watcher connected and subscribed since
    const changes = await drainPublishes(w);
    assert.equal(changes.get(`${S}clients/connected`)?.payload, "1");
    assert.equal(changes.has(`${S}version`), false);

    // Since then the watcher only received messages.
    tb.clock.now += 1000;
    tb.broker.sysTree.update();
    const second = await drainPublishes(w);
    // What the watcher did and received since the first update changed; nothing else did.
    assert.equal(second.get(`${S}uptime`)?.payload, "1 seconds");
    assert.equal(second.get(`${S}uptime`)?.retain, false); // live, not retain-as-published
    for (
      const unchanged of [
        "version",
        "clients/total",
        "clients/connected",
        "clients/maximum",
        "clients/expired",
        "subscriptions/count",
        "shared_subscriptions/count",
        "retained messages/count",
        "store/messages/count",
        "publish/messages/received",
        "publish/messages/dropped",
        "messages/received",
        "bytes/received",
      ]
    ) {
      assert.equal(second.has(S + unchanged), false, `${unchanged} was published again`);
    }
    for (const changed of ["messages/sent", "bytes/sent", "publish/messages/sent"]) {
      assert.ok(second.has(S + changed), `${changed} was not published again`);
    }

    // The clock stands still: the uptime is the same, and published all the same.
    const { client: u } = await c.connect("uptime");
    await c.send(u, { type: "subscribe", packetId: 1, subscriptions: [sub(`${S}uptime`, 0)] });
    await u.expect("suback");
    assert.equal((await drainPublishes(u)).get(`${S}uptime`)?.retain, true);
    tb.broker.sysTree.update();
    const third = await drainPublishes(u);
    assert.deepEqual([...third.entries()], [[`${S}uptime`, {
      payload: "1 seconds",
      retain: false,
    }]]);
  } finally {
    await c.closeAll();
    await tb.stop();
  }
});

Deno.test("$SYS: '#' and '+/broker/uptime' do not match it [MQTT-4.7.2-1]; '$SYS/broker/+' does", async () => {
  const tb = startClockedBroker({ sysInterval: 3600 });
  const c = new CountingClients(tb.port);
  try {
    const { client: all } = await c.connect("all");
    await subscribe(all, [sub("#"), sub("+/broker/uptime"), sub("+/#")]);
    const { client: direct } = await c.connect("direct");
    await subscribe(direct, sub(`${S}+`));
    const retained = await drainPublishes(direct);
    assert.deepEqual([...retained.keys()].sort(), [`${S}uptime`, `${S}version`]);
    tb.clock.now += 3000;
    tb.broker.sysTree.update();
    assert.equal((await drainPublishes(direct)).get(`${S}uptime`)?.payload, "3 seconds");
    await all.expectNothing(200);
  } finally {
    await c.closeAll();
    await tb.stop();
  }
});

Deno.test("$SYS: a client's PUBLISH there is refused and replaces no value [MQTT-4.7.2-1]", async () => {
  const tb = startClockedBroker({ sysInterval: 3600 });
  const c = new CountingClients(tb.port);
  try {
    const { client: p5 } = await c.connect("p5", { protocolVersion: 5 });
    await c.send(p5, pub(`${S}uptime`, "forever", { qos: 1, packetId: 7, retain: true }));
    const ack = await expectAck(p5, "puback");
    assert.equal(ack.reasonCode, ReasonCode.NotAuthorized);
    const { client: p4 } = await c.connect("p4");
    await c.send(p4, pub(`${S}clients/total`, "99", { retain: true }));
    await sync(p4);
    const { client: w } = await c.connect("watcher");
    await subscribe(w, sub("$SYS/#"));
    const sys = await drainPublishes(w);
    assert.equal(sys.get(`${S}uptime`)?.payload, "0 seconds");
    assert.equal(sys.get(`${S}clients/total`)?.payload, "0");
    assert.equal(tb.broker.fanOut.retained.size, 0);
  } finally {
    await c.closeAll();
    await tb.stop();
  }
});

Deno.test("$SYS: sys_interval 0 publishes nothing; a reload to 1 starts it; the timer publishes", async () => {
  const tb = startBroker({ sysInterval: 0 });
  const c = new CountingClients(tb.port);
  try {
    const { client: w } = await c.connect("watcher");
    await subscribe(w, sub("$SYS/#"));
    await w.expectNothing(300);
    tb.broker.reconfigure({ ...tb.broker.options, sysInterval: 1 });
    const first = await drainPublishes(w, 200);
    assert.equal(first.get(`${S}version`)?.payload, "midge version 0.1.0");
    assert.equal(first.get(`${S}uptime`)?.payload, "0 seconds");
    // The timer's next update, about a second later.
    const next = await w.expect("publish", 2500) as PublishPacket;
    assert.equal(next.topic, `${S}uptime`);
    assert.equal(new TextDecoder().decode(next.payload), "1 seconds");
    tb.broker.reconfigure({ ...tb.broker.options, sysInterval: 0 });
    await drainPublishes(w, 100);
    await w.expectNothing(1300);
  } finally {
    await c.closeAll();
    await tb.stop();
  }
});

/** The `$SYS/broker/load/...` values a subscriber has now, as numbers. */
async function loads(w: RawClient): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [topic, m] of await drainPublishes(w)) {
    if (topic.startsWith(`${S}load/`)) out.set(topic.slice(S.length + 5), Number(m.payload));
  }
  return out;
}

function near(actual: number | undefined, expected: number, what: string): void {
  assert.ok(actual !== undefined, `${what}: not published`);
  assert.ok(
    Math.abs(actual - expected) <= 0.011,
    `${what}: ${actual}, expected ${expected.toFixed(3)}`,
  );
}

Deno.test("$SYS load averages: events per minute smoothed over 1, 5 and 15 minutes, on the broker's clock", async () => {
  const tb = startClockedBroker({ sysInterval: 3600 });
  const c = new CountingClients(tb.port);
  try {
    // 120 PUBLISH packets and one CONNECT at T0, nobody subscribed (keep alive 0: the clock
    // jumps by minutes).
    const { client: p } = await c.connect("pub", { keepAlive: 0 });
    for (let i = 0; i < 120; i++) await c.send(p, pub("load/t", "x"));
    await sync(p);
    tb.clock.now = T0 + 60_000;
    tb.broker.sysTree.update(); // nobody subscribed yet: the values are kept, retained
    const { client: w } = await c.connect("watcher", { keepAlive: 0 });
    await subscribe(w, sub(`${S}load/#`));
    const after1 = await loads(w);
    // 120 per minute for one minute: 120 * (1 - e^(-60/window)).
    near(after1.get("publish/received/1min"), 120 * (1 - Math.exp(-1)), "publish/received/1min");
    near(after1.get("publish/received/5min"), 120 * (1 - Math.exp(-0.2)), "5min");
    near(after1.get("publish/received/15min"), 120 * (1 - Math.exp(-1 / 15)), "15min");
    near(after1.get("connections/1min"), 1 - Math.exp(-1), "connections/1min");
    near(after1.get("sockets/1min"), 1 - Math.exp(-1), "sockets/1min");
    near(after1.get("publish/dropped/1min"), 0, "publish/dropped/1min");

    // A quiet minute: each decays by e^(-60/window).
    tb.clock.now = T0 + 120_000;
    tb.broker.sysTree.update();
    const after2 = await loads(w);
    near(
      after2.get("publish/received/1min"),
      120 * (1 - Math.exp(-1)) * Math.exp(-1),
      "publish/received/1min after a quiet minute",
    );
    near(
      after2.get("publish/received/15min"),
      120 * (1 - Math.exp(-1 / 15)) * Math.exp(-1 / 15),
      "publish/received/15min after a quiet minute",
    );
    // The watcher's CONNECT came in the second minute.
    near(
      after2.get("connections/1min"),
      (1 - Math.exp(-1)) * Math.exp(-1) + (1 - Math.exp(-1)),
      "connections/1min",
    );
  } finally {
    await c.closeAll();
    await tb.stop();
  }
});
