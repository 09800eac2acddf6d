/**
 * Interop: WebSocket listeners (`protocol websockets`, with and without TLS) of a real Midge
 * process against MQTT.js, Paho and headless Chromium, each exchanging QoS 1 messages both
 * ways with a raw client on the same broker's plain TCP listener.
 *
 * @module
 */

import assert from "node:assert/strict";
import mqtt, { type IClientOptions } from "../fixtures/npm/mqtt.ts";
import { makeCertificates, type TestCertificates } from "../fixtures/certs.ts";
import { freePort } from "../fixtures/net.ts";
import { connect, type RawClient } from "../integration/harness.ts";
import { pub, sub, subscribe } from "../integration/pubsub_helpers.ts";
import { CHROMIUM, withBrowser } from "../http/status_page_fixture.ts";
import { interopTest, PAHO, PYTHON, sleep } from "./helpers.ts";
import { type MidgeContext, withMidge } from "./listener_process.ts";

/** The ports of `withListeners`: plain MQTT over TCP, ws and wss. */
interface Ports {
  tcp: number;
  ws: number;
  wss: number;
}

/** A Midge with a TCP, a ws and a wss listener, and a raw client connected over TCP. */
async function withListeners(
  fn: (ctx: MidgeContext, ports: Ports, tcp: RawClient, certs: TestCertificates) => Promise<void>,
): Promise<void> {
  const certs = await makeCertificates();
  const ports = { tcp: freePort(), ws: freePort(), wss: freePort() };
  const conf = [
    "allow_anonymous true",
    `listener ${ports.tcp} 127.0.0.1`,
    `listener ${ports.ws} 127.0.0.1`,
    "protocol websockets",
    `listener ${ports.wss} 127.0.0.1`,
    "protocol websockets",
    `certfile ${certs.server.cert}`,
    `keyfile ${certs.server.key}`,
    "",
  ].join("\n");
  try {
    await withMidge(conf, async (ctx) => {
      const { client } = await connect(ports.tcp, { clientId: "tcp-peer" });
      try {
        await fn(ctx, ports, client, certs);
      } finally {
        await client.close();
      }
    });
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
}

/** Publish `payload` on `topic` at QoS 1 from the raw client and take its PUBACK. */
async function tcpPublish(tcp: RawClient, topic: string, payload: string, id: number) {
  await tcp.send(pub(topic, payload, { qos: 1, packetId: id }));
  assert.equal((await tcp.expect("puback")).packetId, id);
}

/** The raw client's next message, at QoS 1, acknowledged; its topic and payload. */
async function tcpReceive(tcp: RawClient): Promise<string> {
  const message = await tcp.expect("publish", 5000);
  assert.equal(message.qos, 1);
  await tcp.send({ type: "puback", packetId: message.packetId!, reasonCode: 0 });
  return `${message.topic} ${new TextDecoder().decode(message.payload)}`;
}

/** MQTT.js at `url` and the raw client exchange one QoS 1 message each way. */
async function mqttJsRoundTrip(
  tcp: RawClient,
  url: string,
  options: IClientOptions = {},
): Promise<void> {
  await subscribe(tcp, sub("ws/from-js", 1));
  const client = await mqtt.connectAsync(url, {
    clientId: "mqttjs-ws",
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  });
  try {
    const got = new Promise<string>((resolve) => {
      client.on("message", (topic, payload) => resolve(`${topic} ${payload}`));
    });
    await client.subscribeAsync("ws/to-js", { qos: 1 });
    await client.publishAsync("ws/from-js", "from mqtt.js", { qos: 1 });
    assert.equal(await tcpReceive(tcp), "ws/from-js from mqtt.js");
    await tcpPublish(tcp, "ws/to-js", "from tcp", 7);
    assert.equal(await got, "ws/to-js from tcp");
  } finally {
    await client.endAsync();
    // MQTT.js closes its replay stream on a 0 ms timer; let it fire (see mqttjs_test.ts).
    await sleep(5);
  }
}

Deno.test("MQTT.js over ws://…/mqtt and over wss:// with the CA exchanges QoS 1 messages with a TCP client", async () => {
  await withListeners(async (_ctx, ports, tcp, certs) => {
    await mqttJsRoundTrip(tcp, `ws://127.0.0.1:${ports.ws}/mqtt`);
    await mqttJsRoundTrip(tcp, `wss://127.0.0.1:${ports.wss}/mqtt`, {
      ca: await Deno.readTextFile(certs.ca),
    });
  });
});

/** Paho's websockets.py over `port` (wss when `cafile` is given) against the raw client. */
async function pahoRoundTrip(
  ctx: MidgeContext,
  tcp: RawClient,
  port: number,
  cafile = "-",
): Promise<void> {
  await subscribe(tcp, sub("ws/from-paho", 1));
  const script = new URL("./paho/websockets.py", import.meta.url).pathname;
  const paho = ctx.spawn(PYTHON, ["-B", script, String(port), cafile]);
  await paho.waitForLines(1, 10_000);
  assert.equal(await tcpReceive(tcp), "ws/from-paho from paho");
  await tcpPublish(tcp, "ws/to-paho", "from tcp", 9);
  const exit = await paho.wait();
  assert.equal(exit.code, 0, paho.describe());
  assert.deepEqual(exit.lines.toSorted(), ["acked", "got from tcp", "subscribed"]);
}

interopTest({
  name:
    "Paho over ws and over wss (tls_set with the CA) exchanges QoS 1 messages with a TCP client",
  needs: [PAHO],
  fn: () =>
    withListeners(async (ctx, ports, tcp, certs) => {
      await pahoRoundTrip(ctx, tcp, ports.ws);
      await ctx.logged(/^New client connected from 127\.0\.0\.1:\d+ as paho-ws /);
      await pahoRoundTrip(ctx, tcp, ports.wss, certs.ca);
    }),
});

/**
 * Runs in the page: open `new WebSocket(url, "mqtt")`, send a hand-encoded CONNECT and a
 * SUBSCRIBE to ws/to-browser (QoS 1), and resolve on the SUBACK. The socket and a reader of
 * whole MQTT packets stay on `window.mqtt` for `BROWSER_EXCHANGE`.
 */
const BROWSER_SUBSCRIBE = `async (url) => {
  const text = (s) => [s.length >> 8, s.length & 255, ...new TextEncoder().encode(s)];
  const packet = (first, body) => new Uint8Array([first, body.length, ...body]);
  const ws = new WebSocket(url, "mqtt");
  ws.binaryType = "arraybuffer";
  let bytes = [];
  const waiting = [];
  const packets = [];
  ws.onmessage = (event) => {
    bytes.push(...new Uint8Array(event.data));
    while (bytes.length >= 2 && bytes.length >= 2 + bytes[1]) {
      packets.push(bytes.slice(0, 2 + bytes[1]));
      bytes = bytes.slice(2 + bytes[1]);
    }
    while (packets.length > 0 && waiting.length > 0) waiting.shift()(packets.shift());
  };
  const next = () => new Promise((resolve) =>
    packets.length > 0 ? resolve(packets.shift()) : waiting.push(resolve));
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  window.mqtt = { ws, next, text, packet, protocol: ws.protocol };
  ws.send(packet(0x10, [...text("MQTT"), 4, 2, 0, 60, ...text("browser")]));
  const connack = await next();
  ws.send(packet(0x82, [0, 1, ...text("ws/to-browser"), 1]));
  const suback = await next();
  return { protocol: ws.protocol, connack, suback };
}`;

/**
 * Runs in the page after `BROWSER_SUBSCRIBE`: take a QoS 1 PUBLISH and answer its PUBACK, then
 * publish "from browser" on ws/from-browser at QoS 1 and resolve with what came and the PUBACK.
 */
const BROWSER_EXCHANGE = `async () => {
  const { ws, next, text, packet } = window.mqtt;
  const publish = await next();
  const topicLength = (publish[2] << 8) | publish[3];
  const id = publish.slice(4 + topicLength, 6 + topicLength);
  ws.send(packet(0x40, id));
  const decode = (bytes) => new TextDecoder().decode(new Uint8Array(bytes));
  const got = { first: publish[0], topic: decode(publish.slice(4, 4 + topicLength)),
    payload: decode(publish.slice(6 + topicLength)) };
  ws.send(packet(0x32, [...text("ws/from-browser"), 0, 5, ...new TextEncoder().encode("from browser")]));
  const puback = await next();
  ws.close();
  return { got, puback };
}`;

interopTest({
  name: "Chromium's WebSocket (subprotocol mqtt) subscribes, takes a QoS 1 PUBLISH from a TCP " +
    "client with PUBACK, and publishes one back",
  needs: [CHROMIUM],
  fn: () =>
    withListeners(async (_ctx, ports, tcp) => {
      await subscribe(tcp, sub("ws/from-browser", 1));
      await withBrowser(async (browser) => {
        const page = await browser.newPage();
        const opened = await page.evaluate(
          `(${BROWSER_SUBSCRIBE})("ws://127.0.0.1:${ports.ws}")`,
        ) as { protocol: string; connack: number[]; suback: number[] };
        assert.deepEqual(opened, {
          protocol: "mqtt",
          connack: [0x20, 2, 0, 0],
          suback: [0x90, 3, 0, 1, 1],
        });
        const exchange = page.evaluate(`(${BROWSER_EXCHANGE})()`);
        await tcpPublish(tcp, "ws/to-browser", "from tcp", 11);
        assert.equal(await tcpReceive(tcp), "ws/from-browser from browser");
        assert.deepEqual(await exchange, {
          got: { first: 0x32, topic: "ws/to-browser", payload: "from tcp" },
          puback: [0x40, 2, 0, 5],
        });
      });
    }),
});
