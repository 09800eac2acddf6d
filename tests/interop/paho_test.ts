/**
 * Interop: Eclipse Paho Python 1.6 (the one installed for /usr/bin/python3) against Midge, in
 * MQTT 3.1.1 and 5.0. Each scenario is a script in tests/interop/paho/ run as
 * `/usr/bin/python3 SCRIPT PORT VERSION`, which prints one JSON object of what its clients
 * saw; the assertions are here.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type InteropContext, interopTest, PAHO, PYTHON, withBroker } from "./helpers.ts";

const VERSIONS = ["311", "5"] as const;
type Version = typeof VERSIONS[number];

/** A message as the scripts report it. */
interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  /** 5.0 only: Paho's Properties.json() (binary data as hex). */
  properties?: Record<string, unknown>;
}

/** Run `paho/<script>` against the broker and return the JSON it printed. */
async function runPaho<T>(ctx: InteropContext, script: string, version: Version): Promise<T> {
  const path = new URL(`./paho/${script}`, import.meta.url).pathname;
  // -B: no __pycache__ left next to the scripts.
  const exit = await ctx.run(PYTHON, ["-B", path, ctx.port, version], { timeoutMs: 20_000 });
  const last = exit.lines.at(-1);
  assert.ok(last !== undefined, `${script} printed nothing; stderr: ${exit.stderr}`);
  return JSON.parse(last) as T;
}

/** The message as 3.1.1 reports it, or with `properties` for 5.0. */
function msg(
  version: Version,
  topic: string,
  payload: string,
  qos: number,
  retain: boolean,
  properties: Record<string, unknown> = {},
): Received {
  const m: Received = { topic, payload, qos, retain };
  if (version === "5") m.properties = properties;
  return m;
}

function numbered(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i + 1}`);
}

for (const version of VERSIONS) {
  interopTest({
    name: `Paho ${version}: QoS 0, 1 and 2 subscriptions are granted and 20 messages at each ` +
      `QoS arrive, at that QoS, in order, once`,
    needs: [PAHO],
    fn: () =>
      withBroker(async (ctx) => {
        const r = await runPaho<{ granted: number[]; received: Received[] }>(
          ctx,
          "pubsub.py",
          version,
        );
        assert.deepEqual(r.granted, [0, 1, 2]);
        assert.equal(r.received.length, 60, JSON.stringify(r.received));
        for (const qos of [0, 1, 2]) {
          const topic = `paho/${version}/q${qos}`;
          assert.deepEqual(
            r.received.filter((m) => m.topic === topic),
            numbered(`q${qos}`, 20).map((p) => ({ topic, payload: p, qos, retain: false })),
          );
        }
      }),
  });

  interopTest({
    name: `Paho ${version}: a retained message reaches a later subscriber with retain set, ` +
      `the newest replaces it and an empty one clears it [MQTT-3.3.1-5] [MQTT-3.3.1-6]`,
    needs: [PAHO],
    fn: () =>
      withBroker(async (ctx) => {
        const r = await runPaho<{ late: Received[]; after_clear: Received[] }>(
          ctx,
          "retained.py",
          version,
        );
        const topic = `ret/${version}`;
        assert.deepEqual(r.late, [
          { topic, payload: "kept", qos: 1, retain: true },
          { topic, payload: "live", qos: 1, retain: false }, // [MQTT-3.3.1-9]
        ]);
        assert.deepEqual(r.after_clear, [
          { topic: "ret/marker", payload: "marker", qos: 0, retain: false },
        ]);
      }),
  });

  interopTest({
    name: `Paho ${version}: the will of a client whose socket closes is published, with its ` +
      `properties; one that sent DISCONNECT is not [MQTT-3.1.2-8] [MQTT-3.1.2-10]`,
    needs: [PAHO],
    fn: () =>
      withBroker(async (ctx) => {
        const r = await runPaho<{ watched: Received[] }>(ctx, "will.py", version);
        assert.deepEqual(r.watched, [
          msg(version, `will/crash-${version}`, "gone away", 1, false, {
            ContentType: "text/plain",
            UserProperty: [["reason", "crash"]],
          }),
          msg(version, "will/marker", "end", 0, false),
        ]);
      }),
  });

  interopTest({
    name:
      `Paho ${version}: a persistent session (${
        version === "5" ? "clean_start=False, session expiry 60" : "clean_session=False"
      }) is resumed with the QoS 1 and 2 messages sent meanwhile; a clean one is not ` +
      `[MQTT-3.2.2-2] [MQTT-3.2.2-3]`,
    needs: [PAHO],
    fn: () =>
      withBroker(async (ctx) => {
        type Run = { present: boolean[]; received: Received[] };
        const r = await runPaho<{ persistent: Run; transient: Run }>(ctx, "session.py", version);
        const topic = `sess/paho-persist-${version}`;
        assert.deepEqual(r.persistent, {
          present: [false, true],
          received: [
            ...numbered("q1", 5).map((p) => ({ topic: `${topic}/q1`, payload: p, qos: 1 })),
            ...numbered("q2", 3).map((p) => ({ topic: `${topic}/q2`, payload: p, qos: 2 })),
          ].map((m) => ({ ...m, retain: false })),
        });
        assert.deepEqual(r.transient, { present: [false, false], received: [] });
      }),
  });

  interopTest({
    name: `Paho ${version}: two members of $share/g/... split 20 messages, each exactly once ` +
      `[MQTT-4.8.2-3]`,
    needs: [PAHO],
    fn: () =>
      withBroker(async (ctx) => {
        const r = await runPaho<{ a: string[]; b: string[] }>(ctx, "shared.py", version);
        const all = numbered("s", 20);
        const index = (p: string) => all.indexOf(p);
        assert.ok(r.a.length > 0 && r.b.length > 0, `both members get some: ${JSON.stringify(r)}`);
        for (const member of [r.a, r.b]) {
          const order = member.map(index);
          assert.deepEqual(order, [...order].sort((x, y) => x - y), "each member in order");
        }
        assert.deepEqual([...r.a, ...r.b].sort((x, y) => index(x) - index(y)), all);
      }),
  });
}

interopTest({
  name: "Paho 5: user properties, content type, response topic, correlation data, payload " +
    "format and the subscription id are forwarded; message expiry counts down, and a message " +
    "that expires while its subscriber is offline is dropped, as is an expired retained message " +
    "[MQTT-3.3.2-5] [MQTT-3.3.2-6]",
  needs: [PAHO],
  fn: () =>
    withBroker(async (ctx) => {
      type Result = { live: Received; offline: Received[]; retained: Received[]; waited: number };
      const r = await runPaho<Result>(
        ctx,
        "properties.py",
        "5",
      );
      assert.deepEqual(r.live, {
        topic: "props/t",
        payload: '{"x": 1}',
        qos: 1,
        retain: false,
        properties: {
          PayloadFormatIndicator: 1,
          MessageExpiryInterval: 60,
          ContentType: "application/json",
          ResponseTopic: "props/reply",
          CorrelationData: "0001636f7272", // Paho reports binary data in hex
          UserProperty: [["k", "v1"], ["k", "v2"], ["a", "b"]],
          SubscriptionIdentifier: [9],
        },
      });
      assert.equal(r.offline.length, 1, `only "long" is left: ${JSON.stringify(r.offline)}`);
      const [long] = r.offline;
      assert.equal(long.payload, "long");
      const left = long.properties?.MessageExpiryInterval as number;
      // Sent with 60 s, held about 2 s: what is left is forwarded [MQTT-3.3.2-6].
      assert.ok(left >= 60 - Math.ceil(r.waited) && left <= 58, `expiry left: ${left}`);
      assert.deepEqual(long.properties?.SubscriptionIdentifier, [9]);
      // Of two retained messages, the one whose expiry passed is gone.
      assert.deepEqual(
        r.retained.map((m) => [m.topic, m.payload, m.retain]),
        [["props/retained/long", "retained long", true]],
      );
      const retainedLeft = r.retained[0].properties?.MessageExpiryInterval as number;
      assert.ok(retainedLeft >= 60 - Math.ceil(r.waited) && retainedLeft <= 58, `${retainedLeft}`);
    }),
});
