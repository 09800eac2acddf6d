/**
 * Bridges over HTTP, from the figures the bridges' owner reports to the broker: their
 * `midge_bridge_*` metrics (types, HELP, the `bridge` label), their entries in
 * `/api/v1/stats` and `/api/v1/bridges`, and nothing of them on a broker without bridges.
 */

import assert from "node:assert/strict";
import { Broker } from "../../src/broker/broker.ts";
import { defaultBrokerOptions } from "../../src/broker/options.ts";
import { takeStats } from "../../src/broker/stats.ts";
import { bridgesJson, statsJson } from "../../src/http/api.ts";
import { renderMetrics } from "../../src/http/prometheus.ts";
import { fakeBridge, T0 } from "../sys/helpers.ts";
import { withHttp } from "./http_fixture.ts";
import { parseExposition } from "./prometheus_parser.ts";

const UP = fakeBridge();
const DOWN = fakeBridge({
  name: 'odd "name"\\',
  up: false,
  address: "",
  connectedSince: 0,
  messagesOut: 0,
  bytesOut: 0,
  messagesIn: 0,
  bytesIn: 0,
  queued: 7,
  dropped: 0,
  reconnects: 0,
});

/** A snapshot of a broker whose bridges report `UP` and `DOWN`. */
function bridgedStats() {
  const broker = new Broker(defaultBrokerOptions());
  broker.bridgeStats = () => [UP, DOWN];
  return takeStats(broker);
}

Deno.test("/metrics: midge_bridge_* per bridge, gauges and counters with HELP, labelled bridge", () => {
  const families = parseExposition(renderMetrics(bridgedStats()));
  const expected: [string, "gauge" | "counter", number, number][] = [
    ["midge_bridge_up", "gauge", 1, 0],
    ["midge_bridge_messages_sent_total", "counter", 12, 0],
    ["midge_bridge_messages_received_total", "counter", 5, 0],
    ["midge_bridge_bytes_sent_total", "counter", 340, 0],
    ["midge_bridge_bytes_received_total", "counter", 67, 0],
    ["midge_bridge_queued_messages", "gauge", 3, 7],
    ["midge_bridge_messages_dropped_total", "counter", 1, 0],
    ["midge_bridge_reconnects_total", "counter", 2, 0],
  ];
  for (const [name, type, up, down] of expected) {
    const family = families.get(name);
    assert.ok(family, `${name} is there`);
    assert.equal(family.type, type, name);
    assert.ok(family.help.length > 0, `${name} has HELP`);
    assert.deepEqual(family.samples, [
      { labels: { bridge: "to-cloud" }, value: up },
      { labels: { bridge: 'odd "name"\\' }, value: down },
    ], name);
  }
  assert.deepEqual(
    [...families.keys()].filter((n) => n.startsWith("midge_bridge_")),
    expected.map(([name]) => name),
  );
});

Deno.test("/metrics: a broker without bridges has no midge_bridge_* family", () => {
  const text = renderMetrics(takeStats(new Broker(defaultBrokerOptions())));
  assert.ok(![...parseExposition(text).keys()].some((n) => n.startsWith("midge_bridge_")));
});

Deno.test("/api/v1/stats lists the bridges: up since an ISO time, or down with null", () => {
  assert.deepEqual(statsJson(bridgedStats()).bridges, [
    {
      name: "to-cloud",
      up: true,
      address: "broker.example:1883",
      connectedSince: new Date(T0).toISOString(),
      messages: { sent: 12, received: 5 },
      bytes: { sent: 340, received: 67 },
      queued: 3,
      dropped: 1,
      reconnects: 2,
    },
    {
      name: 'odd "name"\\',
      up: false,
      address: null,
      connectedSince: null,
      messages: { sent: 0, received: 0 },
      bytes: { sent: 0, received: 0 },
      queued: 7,
      dropped: 0,
      reconnects: 0,
    },
  ]);
  assert.deepEqual(statsJson(takeStats(new Broker(defaultBrokerOptions()))).bridges, []);
});

Deno.test("/api/v1/bridges answers the bridges' figures now; /api/v1/stats has them too", async () => {
  await withHttp({ open: true }, async (tb, http) => {
    const get = async (path: string) => {
      const response = await fetch(`http://127.0.0.1:${http.port}${path}`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "application/json");
      return await response.json();
    };
    assert.deepEqual(await get("/api/v1/bridges"), { bridges: [] });
    tb.broker.bridgeStats = () => [UP, DOWN];
    assert.deepEqual(await get("/api/v1/bridges"), { bridges: bridgesJson([UP, DOWN]) });
    assert.deepEqual((await get("/api/v1/stats")).bridges, bridgesJson([UP, DOWN]));
  });
});
