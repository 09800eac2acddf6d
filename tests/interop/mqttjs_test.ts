/**
 * Interop: MQTT.js 5 (npm:mqtt), in-process, against Midge, in MQTT 3.1.1 (protocolVersion 4)
 * and 5.0: QoS flows, retained messages, wills, persistent sessions, shared subscriptions, and
 * the 5.0 features (properties, topic aliases both ways, subscription identifiers, no local,
 * retain handling, retain as published, receive maximum).
 *
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import mqtt, {
  type IClientOptions,
  type IConnackPacket,
  type IPublishPacket,
  type MqttClient,
} from "../fixtures/npm/mqtt.ts";
import mqttPacket from "../fixtures/npm/mqtt_packet.ts";
import { type InteropContext, sleep, until, withBroker } from "./helpers.ts";

/** A message as an MQTT.js client saw it. */
interface Got {
  /** The topic MQTT.js reports (aliases resolved). */
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  /** The PUBLISH as decoded (its `topic` is "" when the broker used an alias). */
  packet: IPublishPacket;
}

/** A connected MQTT.js client and what it has received. */
interface Peer {
  client: MqttClient;
  messages: Got[];
  /** Session present flag of the CONNACK. */
  sessionPresent: boolean;
  /** The CONNACK. */
  connack: IConnackPacket;
  /** Wait until `count` messages have arrived; returns their payloads. */
  waitFor(count: number): Promise<string[]>;
}

/** End `client` cleanly; a client that cannot (its socket is gone) is ended by force. */
async function closeClient(client: MqttClient): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), 2000);
  });
  const result = await Promise.race([client.endAsync(), late]);
  clearTimeout(timer);
  if (result === "late") await client.endAsync(true);
  // MQTT.js's in-memory store closes the stream it replays outgoing messages from on a 0 ms
  // timer (mqtt/build/lib/store.js) started after CONNACK; let it fire before the test ends, or
  // the op sanitizer reports it in a short test.
  await sleep(5);
}

/**
 * Connect an MQTT.js client to the test broker, its message handler attached before CONNACK
 * (so messages of a resumed session are not missed), closed when the test ends.
 */
async function open(ctx: InteropContext, options: IClientOptions): Promise<Peer> {
  const client = mqtt.connect({
    host: "127.0.0.1",
    port: ctx.broker.port,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  });
  ctx.defer(() => closeClient(client));
  const messages: Got[] = [];
  client.on("message", (topic, payload, packet) => {
    messages.push({
      topic,
      payload: payload.toString(),
      qos: packet.qos,
      retain: packet.retain,
      packet,
    });
  });
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    client.once("connect", resolve);
    client.once("error", reject);
  });
  return {
    client,
    messages,
    sessionPresent: connack.sessionPresent,
    connack,
    async waitFor(count) {
      await until(() => messages.length >= count, `${count} messages`, {
        describe: () => JSON.stringify(messages.map((m) => [m.topic, m.payload])),
      });
      return messages.map((m) => m.payload);
    },
  };
}

function numbered(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i + 1}`);
}

const VERSIONS = [4, 5] as const;
const NAME = { 4: "MQTT.js 3.1.1", 5: "MQTT.js 5.0" } as const;

for (const v of VERSIONS) {
  Deno.test(
    `${NAME[v]}: 20 messages at each of QoS 0, 1, 2 arrive once, in order, at that ` +
      `QoS`,
    () =>
      withBroker(async (ctx) => {
        const sub = await open(ctx, { protocolVersion: v, clientId: "sub" });
        const granted = await sub.client.subscribeAsync({
          "q/0": { qos: 0 },
          "q/1": { qos: 1 },
          "q/2": { qos: 2 },
        });
        assert.deepEqual(granted.map((g) => [g.topic, g.qos]), [["q/0", 0], ["q/1", 1], [
          "q/2",
          2,
        ]]);
        const pub = await open(ctx, { protocolVersion: v, clientId: "pub" });
        const sends: Promise<unknown>[] = [];
        for (const qos of [0, 1, 2] as const) {
          for (const p of numbered(`q${qos}`, 20)) {
            sends.push(pub.client.publishAsync(`q/${qos}`, p, { qos }));
          }
        }
        await Promise.all(sends);
        await sub.waitFor(60);
        await sleep(100); // room for a duplicate
        assert.equal(sub.messages.length, 60);
        for (const qos of [0, 1, 2]) {
          const got = sub.messages.filter((m) => m.topic === `q/${qos}`);
          assert.deepEqual(
            got.map((m) => [m.payload, m.qos, m.retain]),
            numbered(`q${qos}`, 20).map((p) => [p, qos, false]),
          );
        }
      }),
  );

  Deno.test(
    `${NAME[v]}: retained messages: later subscribers get the newest with retain ` +
      `set; an empty one clears [MQTT-3.3.1-5] [MQTT-3.3.1-6]`,
    () =>
      withBroker(async (ctx) => {
        const pub = await open(ctx, { protocolVersion: v, clientId: "pub" });
        await pub.client.publishAsync("ret/t", "first", { qos: 1, retain: true });
        await pub.client.publishAsync("ret/t", "kept", { qos: 1, retain: true });
        const late = await open(ctx, { protocolVersion: v, clientId: "late" });
        await late.client.subscribeAsync("ret/t", { qos: 1 });
        await late.waitFor(1);
        await pub.client.publishAsync("ret/t", "live", { qos: 1 });
        await late.waitFor(2);
        assert.deepEqual(late.messages.map((m) => [m.payload, m.qos, m.retain]), [
          ["kept", 1, true],
          [
            "live",
            1,
            false,
          ],
        ]);

        await pub.client.publishAsync("ret/t", "", { qos: 1, retain: true });
        const after = await open(ctx, { protocolVersion: v, clientId: "after" });
        await after.client.subscribeAsync("ret/#", { qos: 0 });
        await pub.client.publishAsync("ret/marker", "marker", { qos: 0 });
        await after.waitFor(1);
        await sleep(50);
        assert.deepEqual(after.messages.map((m) => [m.topic, m.payload]), [[
          "ret/marker",
          "marker",
        ]]);
      }),
  );

  Deno.test(
    `${NAME[v]}: the will of a client whose socket is destroyed is published; ` +
      `endAsync() sends none [MQTT-3.1.2-8] [MQTT-3.1.2-10]`,
    () =>
      withBroker(async (ctx) => {
        const watcher = await open(ctx, { protocolVersion: v, clientId: "watcher" });
        await watcher.client.subscribeAsync("will/#", { qos: 1 });
        const will = (id: string) => ({
          topic: `will/${id}`,
          payload: `${id} is gone`,
          qos: 1 as const,
          retain: false,
          ...(v === 5
            ? { properties: { contentType: "text/plain", userProperties: { why: id } } }
            : {}),
        });
        const polite = await open(ctx, {
          protocolVersion: v,
          clientId: "polite",
          will: will("polite"),
        });
        await polite.client.endAsync();
        const crash = await open(ctx, {
          protocolVersion: v,
          clientId: "crash",
          will: will("crash"),
        });
        crash.client.stream.destroy(); // the socket closes, no DISCONNECT
        await watcher.waitFor(1);
        await sleep(100);
        assert.deepEqual(watcher.messages.map((m) => [m.topic, m.payload, m.qos]), [[
          "will/crash",
          "crash is gone",
          1,
        ]]);
        if (v === 5) {
          const { userProperties, ...rest } = watcher.messages[0].packet.properties!;
          assert.deepEqual({ ...rest, userProperties: { ...userProperties } }, {
            contentType: "text/plain",
            userProperties: { why: "crash" },
          });
        }
      }),
  );

  Deno.test(
    `${NAME[v]}: a persistent session gets the QoS 1 and 2 messages sent while it ` +
      `was away, in order, not QoS 0 ones [MQTT-3.2.2-3]`,
    () =>
      withBroker(async (ctx) => {
        const options: IClientOptions = v === 5
          ? {
            protocolVersion: 5,
            clientId: "persist",
            clean: false,
            properties: { sessionExpiryInterval: 60 },
          }
          : { protocolVersion: 4, clientId: "persist", clean: false };
        const first = await open(ctx, options);
        assert.equal(first.sessionPresent, false);
        await first.client.subscribeAsync("sess/#", { qos: 2 });
        await first.client.endAsync();
        await ctx.logged("Client persist disconnected.");

        const pub = await open(ctx, { protocolVersion: v, clientId: "pub" });
        await pub.client.publishAsync("sess/q0", "q0", { qos: 0 });
        for (const p of numbered("q1", 5)) await pub.client.publishAsync("sess/q1", p, { qos: 1 });
        for (const p of numbered("q2", 3)) await pub.client.publishAsync("sess/q2", p, { qos: 2 });

        const second = await open(ctx, options);
        assert.equal(second.sessionPresent, true);
        await second.waitFor(8);
        await sleep(100);
        assert.deepEqual(
          second.messages.map((m) => [m.topic, m.payload, m.qos]),
          [
            ...numbered("q1", 5).map((p) => ["sess/q1", p, 1]),
            ...numbered("q2", 3).map((p) => ["sess/q2", p, 2]),
          ],
        );
      }),
  );

  Deno.test(
    `${NAME[v]}: two members of $share/g/... split 20 messages, each exactly once ` +
      `[MQTT-4.8.2-3]`,
    () =>
      withBroker(async (ctx) => {
        const a = await open(ctx, { protocolVersion: v, clientId: "a" });
        const b = await open(ctx, { protocolVersion: v, clientId: "b" });
        await a.client.subscribeAsync("$share/g/sh/t", { qos: 1 });
        await b.client.subscribeAsync("$share/g/sh/t", { qos: 1 });
        const pub = await open(ctx, { protocolVersion: v, clientId: "pub" });
        const all = numbered("s", 20);
        for (const p of all) await pub.client.publishAsync("sh/t", p, { qos: 1 });
        await until(() => a.messages.length + b.messages.length >= 20, "20 messages");
        await sleep(100);
        const got = (peer: Peer) => peer.messages.map((m) => m.payload);
        assert.ok(a.messages.length > 0 && b.messages.length > 0, JSON.stringify([got(a), got(b)]));
        const index = (p: string) => all.indexOf(p);
        for (const peer of [a, b]) {
          const order = got(peer).map(index);
          assert.deepEqual(order, [...order].sort((x, y) => x - y));
        }
        assert.deepEqual([...got(a), ...got(b)].sort((x, y) => index(x) - index(y)), all);
      }),
  );
}

Deno.test(
  "MQTT.js 5.0: publish properties are forwarded (user properties, content type, " +
    "response topic, correlation data, payload format, expiry) [MQTT-3.3.2-17] " +
    "[MQTT-3.3.2-20]",
  () =>
    withBroker(async (ctx) => {
      const sub = await open(ctx, { protocolVersion: 5, clientId: "sub" });
      await sub.client.subscribeAsync("props/t", { qos: 2 });
      const pub = await open(ctx, { protocolVersion: 5, clientId: "pub" });
      const properties = {
        payloadFormatIndicator: true,
        messageExpiryInterval: 60,
        contentType: "application/json",
        responseTopic: "props/reply",
        correlationData: Buffer.from("\u0000corr"),
        userProperties: { k: ["v1", "v2"], a: "b" },
      };
      await pub.client.publishAsync("props/t", '{"x":1}', { qos: 2, properties });
      await sub.waitFor(1);
      const got = sub.messages[0].packet.properties!;
      assert.equal(got.payloadFormatIndicator, true);
      assert.equal(got.messageExpiryInterval, 60);
      assert.equal(got.contentType, "application/json");
      assert.equal(got.responseTopic, "props/reply");
      assert.equal(new TextDecoder().decode(got.correlationData), "\u0000corr");
      assert.deepEqual({ ...got.userProperties }, { k: ["v1", "v2"], a: "b" });
    }),
);

Deno.test(
  "MQTT.js 5.0: the broker sends no topic alias, even to a client that allows them " +
    "(topicAliasMaximum), as Mosquitto 2.0",
  () =>
    withBroker(async (ctx) => {
      const sub = await open(ctx, {
        protocolVersion: 5,
        clientId: "sub",
        properties: { topicAliasMaximum: 2 },
      });
      await sub.client.subscribeAsync("alias/#", { qos: 1 });
      const pub = await open(ctx, { protocolVersion: 5, clientId: "pub" });
      const sends: [string, string][] = [["alias/a", "a1"], ["alias/a", "a2"], ["alias/b", "b1"]];
      for (const [topic, payload] of sends) {
        await pub.client.publishAsync(topic, payload, { qos: 1 });
      }
      await sub.waitFor(sends.length);
      // On the wire: the full topic every time, no alias.
      assert.deepEqual(
        sub.messages.map((m) => [m.packet.topic, m.packet.properties?.topicAlias]),
        sends.map(([topic]) => [topic, undefined]),
      );
    }),
);

Deno.test(
  "MQTT.js 5.0: a client's own topic aliases (properties.topicAlias, then " +
    "autoUseTopicAlias) are resolved by the broker [MQTT-3.3.2-12]",
  () =>
    withBroker(async (ctx) => {
      const sub = await open(ctx, { protocolVersion: 5, clientId: "sub" });
      await sub.client.subscribeAsync("in/#", { qos: 1 });
      const pub = await open(ctx, { protocolVersion: 5, clientId: "pub", autoUseTopicAlias: true });
      const wire: [string, number | undefined][] = [];
      pub.client.on("packetsend", (p) => {
        if (p.cmd === "publish") wire.push([p.topic.toString(), p.properties?.topicAlias]);
      });
      await pub.client.publishAsync("in/one", "1", { qos: 1, properties: { topicAlias: 1 } });
      await pub.client.publishAsync("", "2", { qos: 1, properties: { topicAlias: 1 } });
      await pub.client.publishAsync("in/one", "3", { qos: 1 }); // MQTT.js uses alias 1 itself
      // Alias 1 remapped to another topic [MQTT-3.3.2-12].
      await pub.client.publishAsync("in/two", "4", { qos: 1, properties: { topicAlias: 1 } });
      await pub.client.publishAsync("", "5", { qos: 1, properties: { topicAlias: 1 } });
      await sub.waitFor(5);
      assert.deepEqual(wire, [["in/one", 1], ["", 1], ["", 1], ["in/two", 1], ["", 1]]);
      assert.deepEqual(sub.messages.map((m) => [m.topic, m.payload]), [
        ["in/one", "1"],
        ["in/one", "2"],
        ["in/one", "3"],
        ["in/two", "4"],
        ["in/two", "5"],
      ]);
      // The subscriber allowed no aliases, so none were used towards it.
      assert.ok(sub.messages.every((m) => m.packet.properties?.topicAlias === undefined));
    }),
);

Deno.test(
  "MQTT.js 5.0: subscription identifiers: a copy per overlapping subscription, each with " +
    "its id and QoS [MQTT-3.3.4-3] [MQTT-3.3.4-5] [MQTT-3.8.2-1]",
  () =>
    withBroker(async (ctx) => {
      const sub = await open(ctx, { protocolVersion: 5, clientId: "sub" });
      await sub.client.subscribeAsync("sid/+", {
        qos: 1,
        properties: { subscriptionIdentifier: 3 },
      });
      await sub.client.subscribeAsync("sid/#", {
        qos: 0,
        properties: { subscriptionIdentifier: 4 },
      });
      await sub.client.subscribeAsync("sid/plain/#", { qos: 1 });
      const pub = await open(ctx, { protocolVersion: 5, clientId: "pub" });
      await pub.client.publishAsync("sid/x", "both", { qos: 1 });
      await pub.client.publishAsync("sid/x/y", "hash only", { qos: 1 });
      await pub.client.publishAsync("sid/plain/z", "plain and hash", { qos: 1 });
      await sub.waitFor(5);
      await sleep(100);
      const ids = (m: Got) => {
        const id = m.packet.properties?.subscriptionIdentifier;
        return id === undefined ? [] : Array.isArray(id) ? [...id].sort() : [id];
      };
      // As Mosquitto: the exact level's branch before '+', '+' before '#'.
      assert.deepEqual(sub.messages.map((m) => [m.payload, m.qos, ids(m)]), [
        ["both", 1, [3]],
        ["both", 0, [4]],
        ["hash only", 0, [4]],
        ["plain and hash", 1, []],
        ["plain and hash", 0, [4]],
      ]);
    }),
);

Deno.test(
  "MQTT.js 5.0: no local keeps a client's own messages from it, not from others " +
    "[MQTT-3.8.3-3]",
  () =>
    withBroker(async (ctx) => {
      const a = await open(ctx, { protocolVersion: 5, clientId: "a" });
      const b = await open(ctx, { protocolVersion: 5, clientId: "b" });
      await a.client.subscribeAsync("nl/t", { qos: 1, nl: true });
      await b.client.subscribeAsync("nl/t", { qos: 1 });
      await a.client.publishAsync("nl/t", "from a", { qos: 1 });
      await b.client.publishAsync("nl/t", "from b", { qos: 1 });
      await a.waitFor(1);
      await b.waitFor(2);
      await sleep(100);
      assert.deepEqual(a.messages.map((m) => m.payload), ["from b"]);
      assert.deepEqual(b.messages.map((m) => m.payload), ["from a", "from b"]);
    }),
);

Deno.test(
  "MQTT.js 5.0: retain handling 0 sends retained messages on every SUBSCRIBE, 1 " +
    "only on a new subscription, 2 never [MQTT-3.3.1-9] [MQTT-3.3.1-10] " +
    "[MQTT-3.3.1-11]",
  () =>
    withBroker(async (ctx) => {
      const pub = await open(ctx, { protocolVersion: 5, clientId: "pub" });
      await pub.client.publishAsync("rh/t", "retained", { qos: 1, retain: true });
      const counts: number[] = [];
      for (const rh of [0, 1, 2] as const) {
        const sub = await open(ctx, { protocolVersion: 5, clientId: `rh${rh}` });
        await sub.client.subscribeAsync("rh/t", { qos: 1, rh });
        await sub.client.subscribeAsync("rh/t", { qos: 1, rh }); // the same subscription again
        await pub.client.publishAsync("rh/t", `marker ${rh}`, { qos: 1 });
        await until(() => sub.messages.some((m) => m.payload === `marker ${rh}`), `marker ${rh}`);
        assert.ok(sub.messages.filter((m) => m.payload === "retained").every((m) => m.retain));
        counts.push(sub.messages.filter((m) => m.payload === "retained").length);
      }
      assert.deepEqual(counts, [2, 1, 0]);
    }),
);

Deno.test(
  "MQTT.js 5.0: retain as published keeps the retain flag on live messages; " +
    "without it the flag is cleared [MQTT-3.3.1-12] [MQTT-3.3.1-13]",
  () =>
    withBroker(async (ctx) => {
      const rap = await open(ctx, { protocolVersion: 5, clientId: "rap" });
      await rap.client.subscribeAsync("rap/t", { qos: 1, rap: true });
      const plain = await open(ctx, { protocolVersion: 5, clientId: "plain" });
      await plain.client.subscribeAsync("rap/t", { qos: 1 });
      const pub = await open(ctx, { protocolVersion: 5, clientId: "pub" });
      await pub.client.publishAsync("rap/t", "r", { qos: 1, retain: true });
      await pub.client.publishAsync("rap/t", "n", { qos: 1 });
      await rap.waitFor(2);
      await plain.waitFor(2);
      assert.deepEqual(rap.messages.map((m) => [m.payload, m.retain]), [["r", true], ["n", false]]);
      assert.deepEqual(plain.messages.map((m) => [m.payload, m.retain]), [["r", false], [
        "n",
        false,
      ]]);
    }),
);

Deno.test(
  "MQTT.js 5.0: the broker keeps at most receiveMaximum QoS 1 messages " +
    "unacknowledged [MQTT-3.3.4-9]",
  () =>
    withBroker(async (ctx) => {
      const sub = await open(ctx, {
        protocolVersion: 5,
        clientId: "slow",
        properties: { receiveMaximum: 2 },
      });
      // Count PUBLISH packets as they arrive on the socket, before MQTT.js handles them, and
      // PUBACKs as MQTT.js sends them.
      const parser = mqttPacket.parser({ protocolVersion: 5 });
      let onWire = 0;
      let acked = 0;
      let maxUnacked = 0;
      parser.on("packet", (p) => {
        if (p.cmd !== "publish") return;
        onWire++;
        maxUnacked = Math.max(maxUnacked, onWire - acked);
      });
      sub.client.stream.on("data", (chunk: Uint8Array) => parser.parse(chunk as never));
      sub.client.on("packetsend", (p) => {
        if (p.cmd === "puback") acked++;
      });
      // Hold the acknowledgement of what arrives until released.
      let release: (() => void) | undefined;
      const held = new Promise<void>((resolve) => release = resolve);
      sub.client.handleMessage = (_packet, callback) => {
        held.then(() => callback());
      };
      await sub.client.subscribeAsync("rm/t", { qos: 1 });
      const pub = await open(ctx, { protocolVersion: 5, clientId: "pub" });
      const all = numbered("m", 6);
      for (const p of all) await pub.client.publishAsync("rm/t", p, { qos: 1 });
      await until(() => onWire >= 2, "2 PUBLISH on the wire");
      await sleep(300);
      assert.equal(onWire, 2, "no more than receiveMaximum before an acknowledgement");
      release!();
      await sub.waitFor(6);
      assert.deepEqual(sub.messages.map((m) => m.payload), all);
      assert.equal(onWire, 6);
      assert.ok(maxUnacked <= 2, `at most 2 unacknowledged, saw ${maxUnacked}`);
    }),
);

for (const v of VERSIONS) {
  Deno.test(
    `${NAME[v]}: QoS 1 messages left unacknowledged when the connection dropped are ` +
      `sent again, DUP set, in order, to the resumed session [MQTT-4.4.0-1] ` +
      `[MQTT-3.3.1-1]`,
    () =>
      withBroker(async (ctx) => {
        const options: IClientOptions = {
          protocolVersion: v,
          clientId: "redeliver",
          clean: false,
          ...(v === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}),
        };
        const first = await open(ctx, options);
        await first.client.subscribeAsync("rd/t", { qos: 1 });
        first.client.handleMessage = () => {}; // never acknowledge
        const pub = await open(ctx, { protocolVersion: v, clientId: "pub" });
        const all = numbered("m", 3);
        for (const p of all) await pub.client.publishAsync("rd/t", p, { qos: 1 });
        const session = ctx.broker.broker.sessions.get("redeliver")!;
        await until(
          () => session.inflight.size === 3 && first.messages.length === 1,
          "3 in flight",
        );
        first.client.stream.destroy();
        await ctx.logged("Client redeliver closed its connection.");

        const second = await open(ctx, options);
        assert.equal(second.sessionPresent, true);
        await second.waitFor(3);
        await sleep(100);
        assert.deepEqual(first.messages.map((m) => [m.payload, m.packet.dup]), [["m-1", false]]);
        assert.deepEqual(
          second.messages.map((m) => [m.payload, m.packet.dup]),
          all.map((p) => [p, true]),
        );
      }),
  );

  Deno.test(
    `${NAME[v]}: a second connection with the same client id takes the session over; ` +
      `the first one's will is published [MQTT-3.1.4-3]`,
    () =>
      withBroker(async (ctx) => {
        const watcher = await open(ctx, { protocolVersion: v, clientId: "watcher" });
        await watcher.client.subscribeAsync("will/#", { qos: 1 });
        const first = await open(ctx, {
          protocolVersion: v,
          clientId: "same",
          will: { topic: "will/same", payload: "taken over", qos: 1, retain: false },
        });
        const events: string[] = [];
        first.client.on("disconnect", (p) => events.push(`disconnect ${p.reasonCode}`));
        first.client.on("close", () => events.push("close"));
        const second = await open(ctx, { protocolVersion: v, clientId: "same" });
        await until(() => events.includes("close"), "the first connection to close");
        await watcher.waitFor(1);
        // 5.0 is told why: DISCONNECT 0x8E Session taken over.
        assert.deepEqual(events, v === 5 ? ["disconnect 142", "close"] : ["close"]);
        assert.deepEqual(watcher.messages.map((m) => [m.topic, m.payload]), [[
          "will/same",
          "taken over",
        ]]);
        await second.client.subscribeAsync("after/t", { qos: 1 });
        await watcher.client.publishAsync("after/t", "to the new one", { qos: 1 });
        assert.deepEqual(await second.waitFor(1), ["to the new one"]);
      }),
  );

  Deno.test(
    `${NAME[v]}: UNSUBSCRIBE stops delivery` +
      (v === 5 ? "; UNSUBACK says 0x11 for a filter with no subscription [MQTT-3.11.3-1]" : ""),
    () =>
      withBroker(async (ctx) => {
        const sub = await open(ctx, { protocolVersion: v, clientId: "sub" });
        await sub.client.subscribeAsync(["u/a", "u/b"], { qos: 1 });
        const unsubacks: unknown[] = [];
        sub.client.on("packetreceive", (p) => {
          if (p.cmd === "unsuback") unsubacks.push((p as { granted?: number[] }).granted);
        });
        await sub.client.unsubscribeAsync(["u/a", "u/none"]);
        assert.deepEqual(unsubacks, v === 5 ? [[0, 0x11]] : [undefined]);
        const pub = await open(ctx, { protocolVersion: v, clientId: "pub" });
        await pub.client.publishAsync("u/a", "unsubscribed", { qos: 1 });
        await pub.client.publishAsync("u/b", "still subscribed", { qos: 1 });
        await sub.waitFor(1);
        await sleep(50);
        assert.deepEqual(sub.messages.map((m) => m.payload), ["still subscribed"]);
      }),
  );
}

Deno.test(
  "MQTT.js 5.0: DISCONNECT can shorten the session expiry to 0, ending the session " +
    "[MQTT-3.14.2-2]",
  () =>
    withBroker(async (ctx) => {
      const options: IClientOptions = {
        protocolVersion: 5,
        clientId: "shorten",
        clean: false,
        properties: { sessionExpiryInterval: 60 },
      };
      const first = await open(ctx, options);
      await first.client.subscribeAsync("sh/t", { qos: 1 });
      await first.client.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
      await ctx.logged("Client shorten disconnected.");
      const second = await open(ctx, options);
      assert.equal(second.sessionPresent, false);
      const kept = await open(ctx, { ...options, clientId: "kept" });
      await kept.client.subscribeAsync("sh/t", { qos: 1 });
      await kept.client.endAsync();
      await ctx.logged("Client kept disconnected.");
      assert.equal((await open(ctx, { ...options, clientId: "kept" })).sessionPresent, true);
    }),
);

Deno.test(
  "MQTT.js 3.1.1: an empty client id with a clean session is assigned one " +
    "(auto-UUID) [MQTT-3.1.3-6]",
  () =>
    withBroker(async (ctx) => {
      const peer = await open(ctx, { protocolVersion: 4, clientId: "", clean: true });
      assert.ok(peer.client.connected);
      const ids = [...ctx.broker.broker.sessions.clientIds()];
      assert.equal(ids.length, 1);
      assert.match(ids[0], /^auto-[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
    }),
);

Deno.test(
  "MQTT.js 5.0: an empty client id gets an assigned one (auto-UUID) in CONNACK " +
    "[MQTT-3.2.2-16]",
  () =>
    withBroker(async (ctx) => {
      const peer = await open(ctx, { protocolVersion: 5, clientId: "", clean: true });
      const assigned = peer.connack.properties?.assignedClientIdentifier;
      assert.match(
        assigned ?? "",
        /^auto-[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/,
      );
      assert.equal(peer.connack.properties?.topicAliasMaximum, 10);
      assert.equal(peer.connack.properties?.receiveMaximum, 20);
      assert.ok(ctx.broker.broker.sessions.has(assigned!));
    }),
);

Deno.test(
  "MQTT.js 5.0: nothing larger than the client's maximumPacketSize is sent to it " +
    "[MQTT-3.1.2-24]",
  () =>
    withBroker(async (ctx) => {
      const sub = await open(ctx, {
        protocolVersion: 5,
        clientId: "sub",
        properties: { maximumPacketSize: 200 },
      });
      await sub.client.subscribeAsync("mps/t", { qos: 1 });
      const pub = await open(ctx, { protocolVersion: 5, clientId: "pub" });
      await pub.client.publishAsync("mps/t", "small", { qos: 1 });
      await pub.client.publishAsync("mps/t", "x".repeat(500), { qos: 1 });
      await pub.client.publishAsync("mps/t", "small again", { qos: 0 });
      await sub.waitFor(2);
      await sleep(50);
      assert.deepEqual(sub.messages.map((m) => m.payload), ["small", "small again"]);
      assert.ok(sub.client.connected);
    }),
);

Deno.test("MQTT.js 5.0: keep alive 1 s: PINGREQs are answered and the client stays connected", () =>
  withBroker(async (ctx) => {
    const sub = await open(ctx, { protocolVersion: 5, clientId: "pinger", keepalive: 1 });
    let pongs = 0;
    sub.client.on("packetreceive", (p) => {
      if (p.cmd === "pingresp") pongs++;
    });
    await sub.client.subscribeAsync("ka/t", { qos: 1 });
    await sleep(2200);
    assert.ok(pongs >= 1, `PINGRESPs: ${pongs}`);
    await sub.client.publishAsync("ka/t", "still here", { qos: 1 });
    assert.deepEqual(await sub.waitFor(1), ["still here"]);
    assert.equal(
      ctx.broker.logs.filter((l) => l.includes(" as pinger ")).length,
      1,
      "no reconnect",
    );
  }));
