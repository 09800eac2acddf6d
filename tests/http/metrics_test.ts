/**
 * `GET /metrics`: the Prometheus text format, read back with a strict parser (which is itself
 * shown to refuse what the format forbids), and its values equal to `$SYS` after traffic from
 * 3.1, 3.1.1 and 5.0 clients, with the `listener` and `protocol` labels.
 */

import assert from "node:assert/strict";
import { startHttpServer } from "../../src/http/server.ts";
import { escapeLabelValue, renderMetrics } from "../../src/http/prometheus.ts";
import { takeStats } from "../../src/broker/stats.ts";
import { sysValues } from "../../src/broker/sys_tree.ts";
import { Broker } from "../../src/broker/broker.ts";
import { defaultBrokerOptions } from "../../src/broker/options.ts";
import { Logger } from "../../src/log/logger.ts";
import { ReasonCode } from "../../src/codec/mod.ts";
import { startBroker } from "../integration/harness.ts";
import { expectAck, pub, sub, subscribe, sync } from "../integration/pubsub_helpers.ts";
import { CountingClients, drainPublishes } from "../sys/helpers.ts";
import { ExpositionError, parseExposition, sumOf } from "./prometheus_parser.ts";

Deno.test("the Prometheus parser of these tests refuses what the text format forbids", () => {
  const ok = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1"} 2\n';
  assert.equal(parseExposition(ok).get("a_total")?.samples[0].value, 2);
  const bad: [string, string][] = [
    ["no final line feed", ok.slice(0, -1)],
    ["a sample before its TYPE", "a_total 1\n# HELP a_total A.\n# TYPE a_total counter\n"],
    ["TYPE without HELP", "# TYPE g gauge\ng 1\n"],
    ["a counter not ending in _total", "# HELP c C.\n# TYPE c counter\nc 1\n"],
    ["a negative counter", "# HELP a_total A.\n# TYPE a_total counter\na_total -1\n"],
    ["a bad metric name", "# HELP g G.\n# TYPE g gauge\n1g 1\n"],
    ["a bad label name", '# HELP g G.\n# TYPE g gauge\ng{1x="a"} 1\n'],
    ["a reserved label name", '# HELP g G.\n# TYPE g gauge\ng{__x="a"} 1\n'],
    ["an unknown escape", '# HELP g G.\n# TYPE g gauge\ng{x="a\\t"} 1\n'],
    ["an unquoted label", "# HELP g G.\n# TYPE g gauge\ng{x=a} 1\n"],
    ["a value that is not a number", "# HELP g G.\n# TYPE g gauge\ng one\n"],
    ["the same series twice", "# HELP g G.\n# TYPE g gauge\ng 1\ng 2\n"],
    [
      "samples apart",
      '# HELP g G.\n# TYPE g gauge\ng{a="1"} 1\n# HELP h H.\n# TYPE h gauge\nh 1\ng{a="2"} 1\n',
    ],
    ["a second TYPE", "# HELP g G.\n# TYPE g gauge\n# TYPE g gauge\ng 1\n"],
    ["two label sets in a family", '# HELP g G.\n# TYPE g gauge\ng{a="1"} 1\ng{a="2",b="1"} 1\n'],
    ["a family with and without labels", '# HELP g G.\n# TYPE g gauge\ng{a="1"} 1\ng 1\n'],
    ["an empty label value", '# HELP g G.\n# TYPE g gauge\ng{a=""} 1\n'],
  ];
  for (const [what, text] of bad) {
    assert.throws(() => parseExposition(text), ExpositionError, what);
  }
});

Deno.test("label values are escaped: backslash, double quote, line feed", () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const stats = takeStats(new Broker(defaultBrokerOptions()));
  const text = renderMetrics({ ...stats, version: 'x"y\\z\n' });
  const info = parseExposition(text).get("midge_info")!;
  assert.equal(info.samples[0].labels.version, 'x"y\\z\n');
});

Deno.test("/metrics is Prometheus text 0.0.4 whose counters equal $SYS after traffic, by listener and protocol", async () => {
  const tb = startBroker({ sysInterval: 3600 });
  const http = startHttpServer(tb.broker, { hostname: "127.0.0.1", port: 0, open: true });
  const c = new CountingClients(tb.port);
  const port = String(tb.port);
  try {
    const { client: s5 } = await c.connect("s5", { protocolVersion: 5 });
    await subscribe(s5, sub("m/#", 1));
    const { client: p4 } = await c.connect("p4");
    const { client: p3 } = await c.connect("p3", { protocolVersion: 3 });
    for (let i = 1; i <= 3; i++) {
      await c.send(p4, pub("m/4", `four-${i}`, { qos: 1, packetId: i }));
      await expectAck(p4, "puback");
    }
    await c.send(p3, pub("m/3", "three", { retain: true }));
    await sync(p3);
    for (let i = 0; i < 4; i++) {
      const m = await s5.expect("publish");
      if (m.qos === 1) await c.send(s5, { type: "puback", packetId: m.packetId!, reasonCode: 0 });
    }
    await sync(s5);
    // A 3.1 client with an empty id is refused: its traffic stays "before CONNECT".
    const { connack } = await c.connect("", { protocolVersion: 3 });
    assert.equal(connack.reasonCode, ReasonCode.ClientIdentifierNotValid);

    const response = await fetch(`http://127.0.0.1:${http.port}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const families = parseExposition(await response.text());
    tb.broker.sysTree.update(); // no MQTT traffic since the scrape: the same counters
    const { client: w } = await c.connect("watcher");
    await subscribe(w, sub("$SYS/broker/#"));
    const sys = await drainPublishes(w);
    const value = (topic: string) => Number(sys.get(`$SYS/broker/${topic}`)?.payload);

    const pairs: [string, string][] = [
      ["midge_messages_received_total", "messages/received"],
      ["midge_messages_sent_total", "messages/sent"],
      ["midge_publish_messages_received_total", "publish/messages/received"],
      ["midge_publish_messages_sent_total", "publish/messages/sent"],
      ["midge_publish_messages_dropped_total", "publish/messages/dropped"],
      ["midge_publish_bytes_received_total", "publish/bytes/received"],
      ["midge_publish_bytes_sent_total", "publish/bytes/sent"],
      ["midge_bytes_received_total", "bytes/received"],
      ["midge_bytes_sent_total", "bytes/sent"],
      ["midge_subscriptions", "subscriptions/count"],
      ["midge_shared_subscriptions", "shared_subscriptions/count"],
      ["midge_retained_messages", "retained messages/count"],
      ["midge_store_messages", "store/messages/count"],
      ["midge_store_bytes", "store/messages/bytes"],
      ["midge_clients_connected", "clients/connected"],
      ["midge_clients_disconnected", "clients/disconnected"],
      ["midge_clients_sessions", "clients/total"],
      ["midge_clients_maximum", "clients/maximum"],
      ["midge_clients_expired_total", "clients/expired"],
    ];
    for (const [metric, topic] of pairs) {
      assert.equal(sumOf(families, metric), value(topic), `${metric} = $SYS/broker/${topic}`);
    }
    // By listener and protocol.
    const by = (metric: string, protocol?: string) =>
      sumOf(
        families,
        metric,
        protocol === undefined ? { listener: port } : { listener: port, protocol },
      );
    assert.equal(by("midge_publish_messages_received_total", "3.1.1"), 3);
    assert.equal(by("midge_publish_messages_received_total", "3.1"), 1);
    assert.equal(by("midge_publish_messages_received_total", "5.0"), 0);
    assert.equal(by("midge_publish_messages_sent_total", "5.0"), 4);
    assert.equal(by("midge_publish_bytes_received_total", "3.1.1"), 3 * "four-1".length);
    assert.equal(by("midge_connections_total", "5.0"), 1);
    assert.equal(by("midge_connections_total", "3.1.1"), 1);
    assert.equal(by("midge_connections_total", "3.1"), 1);
    assert.equal(by("midge_sockets_total"), 4);
    // p4: CONNECT and 3 PUBLISH; p3: CONNECT, PUBLISH, PINGREQ.
    assert.equal(by("midge_messages_received_total", "3.1.1"), 4);
    assert.equal(by("midge_messages_received_total", "3.1"), 3);
    // The refused CONNECT and its CONNACK: protocol "none".
    const before = families.get("midge_messages_received_total")!.samples.filter((s) =>
      s.labels.listener === port && s.labels.protocol === "none"
    );
    assert.deepEqual(before.map((s) => s.value), [1]);
    const info = families.get("midge_info")!;
    assert.equal(info.type, "gauge");
    assert.deepEqual(info.samples, [{ labels: { version: "0.1.0" }, value: 1 }]);
  } finally {
    await c.closeAll();
    await http.close();
    await tb.stop();
  }
});

Deno.test("/metrics counts the log lines its destinations dropped", () => {
  const logger = new Logger({ sinks: [{ write: () => {}, dropped: 7 }, () => {}] });
  const stats = takeStats(new Broker({ ...defaultBrokerOptions(), logger }));
  const families = parseExposition(renderMetrics(stats));
  assert.equal(families.get("midge_log_lines_dropped_total")!.type, "counter");
  assert.equal(sumOf(families, "midge_log_lines_dropped_total"), 7);
});

Deno.test("/metrics and $SYS count what a damaged store lost at start-up, by kind", () => {
  const stats = takeStats(new Broker(defaultBrokerOptions()));
  const lost = { sessions: 1, subscriptions: 2, messages: 3, retained: 4, other: 5 };
  stats.persistence = { enabled: true, failing: false, lost };
  const families = parseExposition(renderMetrics(stats));
  assert.equal(families.get("midge_persistence_damaged_records")!.type, "gauge");
  assert.equal(sumOf(families, "midge_persistence_damaged_records"), 15);
  const sys = new Map(sysValues(stats));
  for (const [kind, n] of Object.entries(lost)) {
    assert.equal(sys.get(`$SYS/broker/store/damaged/${kind}`), `${n}`);
  }
});
