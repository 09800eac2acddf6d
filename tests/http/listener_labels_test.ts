/**
 * `/metrics`, `/api/v1/stats` and `$SYS` name each MQTT listener and its transport: a broker with a
 * TCP, a Unix-socket, a TLS and a WebSocket listener shows each apart, and the Unix socket's
 * traffic is not mixed with what no listener is credited with.
 */

import assert from "node:assert/strict";
import { startHttpServer } from "../../src/http/server.ts";
import { Broker } from "../../src/broker/broker.ts";
import { defaultBrokerOptions } from "../../src/broker/options.ts";
import { Logger } from "../../src/log/logger.ts";
import { makeCertificates } from "../fixtures/certs.ts";
import { connect, RawClient, sendConnect } from "../integration/harness.ts";
import { parseExposition, sumOf } from "./prometheus_parser.ts";

Deno.test("/metrics, /api/v1/stats and $SYS name TCP, Unix-socket, TLS and WebSocket listeners with their transports", async () => {
  const certs = await makeCertificates();
  const socketPath = `${certs.dir}/midge "test".sock`; // a quote, escaped in the label
  const broker = new Broker({
    ...defaultBrokerOptions(),
    logger: new Logger({ types: [], timestamp: false, sinks: [] }),
    sysInterval: 3600,
    listeners: [
      { host: "127.0.0.1", port: 0 },
      { port: 0, socketPath },
      {
        host: "127.0.0.1",
        port: 0,
        tls: { certfile: certs.server.cert, keyfile: certs.server.key, requireCertificate: false },
      },
      { host: "127.0.0.1", port: 0, websockets: { maxFrameSize: 0 }, proxyProtocol: 1 },
    ],
  });
  await broker.start();
  const http = startHttpServer(broker, { hostname: "127.0.0.1", port: 0, open: true });
  const [tcpPort, tlsPort, wsPort] = broker.ports.filter((p) => p !== 0).map(String);
  const clients: RawClient[] = [];
  try {
    clients.push((await connect(Number(tcpPort), { clientId: "over-tcp" })).client);
    const unix = new RawClient(await Deno.connect({ transport: "unix", path: socketPath }));
    clients.push(unix);
    assert.equal((await sendConnect(unix, { clientId: "over-unix" })).reasonCode, 0);

    const text = await (await fetch(`http://127.0.0.1:${http.port}/metrics`)).text();
    const families = parseExposition(text);
    assert.deepEqual(families.get("midge_listener_info")?.samples, [
      {
        labels: { listener: tcpPort, transport: "tcp", address: "127.0.0.1", proxy: "false" },
        value: 1,
      },
      {
        labels: { listener: socketPath, transport: "unix", address: socketPath, proxy: "false" },
        value: 1,
      },
      {
        labels: { listener: tlsPort, transport: "tls", address: "127.0.0.1", proxy: "false" },
        value: 1,
      },
      {
        labels: { listener: wsPort, transport: "ws", address: "127.0.0.1", proxy: "true" },
        value: 1,
      },
    ]);
    assert.ok(text.includes(`listener="${socketPath.replaceAll('"', '\\"')}"`));
    for (const [listener, transport] of [[tcpPort, "tcp"], [socketPath, "unix"]]) {
      const labels = { listener, transport };
      assert.equal(sumOf(families, "midge_sockets_total", labels), 1, listener);
      assert.equal(
        sumOf(families, "midge_connections_total", { ...labels, protocol: "3.1.1" }),
        1,
        listener,
      );
    }
    for (const [listener, transport] of [[tlsPort, "tls"], [wsPort, "ws"]]) {
      assert.equal(sumOf(families, "midge_sockets_total", { listener, transport }), 0, listener);
    }
    // The per-listener counters carry both labels (one set per family: the parser checks);
    // nothing is credited to no listener.
    for (const [name, family] of families) {
      if (!name.endsWith("_total") || !family.labelNames?.startsWith("listener,")) continue;
      assert.match(family.labelNames, /^listener,(protocol,)?transport$/, name);
      for (const sample of family.samples) assert.notEqual(sample.labels.listener, "none", name);
    }

    const stats = await (await fetch(`http://127.0.0.1:${http.port}/api/v1/stats`)).json();
    const named = stats.listeners.map((
      l: { listener: number; name: string | null; transport: string; protocolVersion: number },
    ) => [l.listener, l.name, l.transport, l.protocolVersion]);
    assert.deepEqual(named, [
      [Number(tcpPort), tcpPort, "tcp", null],
      [0, socketPath, "unix", null],
      [Number(wsPort), wsPort, "ws", null], // the TLS listener opens last: its files are read
      [Number(tlsPort), tlsPort, "tls", null],
      [Number(tcpPort), tcpPort, "tcp", 4],
      [0, socketPath, "unix", 4],
    ]);
    const unixConnected = stats.listeners.find((
      l: { name: string; protocolVersion: number },
    ) => l.name === socketPath && l.protocolVersion === 4);
    assert.equal(unixConnected.counters.connections, 1);

    // $SYS names them too (Midge's own topics), one level per listener.
    broker.sysTree.update();
    const watcher = clients[0];
    await watcher.send({
      type: "subscribe",
      packetId: 7,
      subscriptions: [{
        topicFilter: "$SYS/broker/listeners/#",
        qos: 0,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
      }],
    });
    await watcher.expect("suback");
    const sys = new Map<string, string>();
    for (let i = 0; i < 4; i++) {
      const p = await watcher.expect("publish");
      sys.set(p.topic, new TextDecoder().decode(p.payload));
    }
    const S = "$SYS/broker/listeners/";
    assert.deepEqual(
      sys,
      new Map([
        [`${S}${tcpPort}/transport`, "tcp"],
        [`${S}${encodeURIComponent(socketPath)}/transport`, "unix"],
        [`${S}${wsPort}/transport`, "ws"],
        [`${S}${tlsPort}/transport`, "tls"],
      ]),
    );
  } finally {
    for (const c of clients) await c.close();
    await http.close();
    await broker.stop();
    await Deno.remove(certs.dir, { recursive: true });
  }
});
