/**
 * What an operator scrapes, over real sockets: every `/metrics` family keeps one set of label
 * names whatever the broker has seen (listeners of two transports, clients of each protocol, a
 * refused CONNECT, a bridge, a drop no listener is credited with); refused logins and ACL
 * denials move their counters in `/metrics` and `/api/v1/stats`; Prometheus' standard
 * `process_*` figures are there, read from `/proc`, and without `/proc` the ones Deno knows.
 */

import assert from "node:assert/strict";
import { AclFile } from "../../src/auth/acl_file.ts";
import { ReasonCode } from "../../src/codec/mod.ts";
import { startHttpServer } from "../../src/http/server.ts";
import { readDescriptorLimit } from "../../src/transport/connection_gate.ts";
import { connect, RawClient, sendConnect, startBroker } from "../integration/harness.ts";
import { expectAck, pub, sub, subscribe, sync, utf8 } from "../integration/pubsub_helpers.ts";
import { passwordFile } from "./http_fixture.ts";
import { parseExposition, sumOf } from "./prometheus_parser.ts";

/** The broker's users, and what the ACL lets them do. */
const USERS = { ops: "ops-secret", reader: "reader-secret" };
const ACL = "user ops\ntopic readwrite #\nuser reader\ntopic read open/#\ntopic write open/#\n";

Deno.test("/metrics: every family keeps one label set with two transports, each protocol, a refused CONNECT, a bridge and a drop credited to no listener", async () => {
  const dir = await Deno.makeTempDir();
  const socketPath = `${dir}/midge.sock`;
  const tb = startBroker({
    sysInterval: 3600,
    listeners: [{ host: "127.0.0.1", port: 0 }, { port: 0, socketPath }],
  });
  const http = startHttpServer(tb.broker, { hostname: "127.0.0.1", port: 0, open: true });
  const clients: RawClient[] = [];
  try {
    tb.broker.bridgeStats = () => [{
      name: "upstream",
      up: true,
      address: "127.0.0.1:1883",
      connectedSince: Date.now(),
      messagesOut: 2,
      bytesOut: 10,
      messagesIn: 1,
      bytesIn: 5,
      queued: 0,
      dropped: 0,
      reconnects: 0,
    }];
    for (const protocolVersion of [3, 4, 5] as const) {
      const { client } = await connect(tb.port, {
        clientId: `c${protocolVersion}`,
        protocolVersion,
      });
      clients.push(client);
      await client.send(pub("t/x", "hello"));
      await sync(client);
    }
    const unix = new RawClient(await Deno.connect({ transport: "unix", path: socketPath }));
    clients.push(unix);
    assert.equal((await sendConnect(unix, { clientId: "over-unix" })).reasonCode, 0);
    // Refused before CONNECT is accepted: counted without a protocol.
    const refused = await connect(tb.port, { clientId: "", protocolVersion: 3 });
    clients.push(refused.client);
    assert.equal(refused.connack.reasonCode, ReasonCode.ClientIdentifierNotValid);
    // What a restored session whose listener is gone would drop.
    tb.broker.metrics.unattributed.publishDropped++;

    const response = await fetch(`http://127.0.0.1:${http.port}/metrics`);
    const families = parseExposition(await response.text()); // throws on a second label set
    const messages = families.get("midge_messages_received_total")!;
    assert.equal(messages.labelNames, "listener,protocol,transport");
    const protocols = new Set(messages.samples.map((s) => s.labels.protocol));
    assert.deepEqual([...protocols].sort(), ["3.1", "3.1.1", "5.0", "none"]);
    assert.equal(families.get("midge_sockets_total")!.labelNames, "listener,transport");
    assert.equal(
      sumOf(families, "midge_publish_messages_dropped_total", {
        listener: "none",
        transport: "none",
        protocol: "none",
      }),
      1,
    );
    assert.equal(families.get("midge_bridge_up")!.labelNames, "bridge");
    for (const [name, family] of families) {
      assert.ok(family.samples.length > 0, `${name} has samples`);
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await http.close();
    await tb.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("refused logins and ACL denials move midge_logins_refused_total and midge_acl_denied_total, and /api/v1/stats", async () => {
  const tb = startBroker({
    sysInterval: 3600,
    allowAnonymous: false,
    clientIdPrefixes: "c-",
    passwordFile: await passwordFile(USERS),
    aclFile: AclFile.parse(ACL, "acl"),
  });
  const http = startHttpServer(tb.broker, { hostname: "127.0.0.1", port: 0, open: true });
  const clients: RawClient[] = [];
  const login = async (username: string | undefined, password: string, prefix = "c-") => {
    const { client, connack } = await connect(tb.port, {
      protocolVersion: 5,
      clientId: `${prefix}${username}-${password}`,
      username,
      password: utf8(password),
    });
    clients.push(client);
    return { client, code: connack.reasonCode };
  };
  try {
    assert.equal((await login("ops", "guess")).code, ReasonCode.NotAuthorized);
    assert.equal((await login("ops", "again")).code, ReasonCode.NotAuthorized);
    assert.equal((await login("nobody", "x")).code, ReasonCode.NotAuthorized);
    assert.equal((await login(undefined, "")).code, ReasonCode.NotAuthorized);
    assert.equal((await login("ops", USERS.ops, "x-")).code, ReasonCode.NotAuthorized);

    const { client: ops } = await login("ops", USERS.ops);
    const { client: reader } = await login("reader", USERS.reader);
    await ops.send(pub("secret/kept", "retained", { retain: true, qos: 1, packetId: 1 }));
    await expectAck(ops, "puback");
    await subscribe(reader, sub("#")); // granted, as Mosquitto 2.0.11 does; the retained one withheld
    await ops.send(pub("secret/live", "not for reader", { qos: 1, packetId: 2 }));
    await expectAck(ops, "puback");
    await reader.send(pub("secret/x", "denied", { qos: 1, packetId: 3 }));
    assert.equal((await expectAck(reader, "puback")).reasonCode, ReasonCode.NotAuthorized);
    await reader.send(pub("$SYS/broker/x", "closed to clients", { qos: 1, packetId: 4 }));
    assert.equal((await expectAck(reader, "puback")).reasonCode, ReasonCode.NotAuthorized);
    await sync(reader);

    const base = `http://127.0.0.1:${http.port}`;
    const families = parseExposition(await (await fetch(`${base}/metrics`)).text());
    const refused = (reason: string) => sumOf(families, "midge_logins_refused_total", { reason });
    assert.equal(refused("bad_password"), 2);
    assert.equal(refused("unknown_user"), 1);
    assert.equal(refused("no_username"), 1);
    assert.equal(refused("client_id_prefix"), 1);
    assert.equal(refused("no_certificate_identity"), 0);
    const denied = (action: string) => sumOf(families, "midge_acl_denied_total", { action });
    assert.equal(denied("publish"), 2);
    assert.equal(denied("read"), 2); // the retained message and the live one
    const stats = await (await fetch(`${base}/api/v1/stats`)).json();
    assert.equal(stats.loginsRefused.bad_password, 2);
    assert.deepEqual(stats.aclDenied, { publish: 2, read: 2 });
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await http.close();
    await tb.stop();
  }
});

Deno.test("/metrics has Prometheus' process_* figures, read from /proc on Linux", async () => {
  const tb = startBroker({ sysInterval: 3600 });
  const http = startHttpServer(tb.broker, { hostname: "127.0.0.1", port: 0, open: true });
  try {
    const scrape = async () =>
      parseExposition(await (await fetch(`http://127.0.0.1:${http.port}/metrics`)).text());
    const families = await scrape();
    const value = (name: string) => {
      const family = families.get(name);
      assert.ok(family !== undefined, `${name} is there`);
      assert.equal(family.labelNames, "", `${name} has no labels`);
      return family.samples[0].value;
    };
    assert.equal(families.get("process_cpu_seconds_total")?.type, "counter");
    for (const name of ["resident_memory_bytes", "virtual_memory_bytes", "start_time_seconds"]) {
      assert.equal(families.get(`process_${name}`)?.type, "gauge", name);
    }
    const rss = Deno.memoryUsage().rss;
    assert.ok(Math.abs(value("process_resident_memory_bytes") - rss) < rss / 2);
    assert.ok(value("process_virtual_memory_bytes") > value("process_resident_memory_bytes"));
    assert.ok(value("process_cpu_seconds_total") > 0);
    const started = value("process_start_time_seconds");
    // Before this runtime began (`deno test` may type-check first), within the last hour; /proc's
    // boot time is in whole seconds.
    assert.ok(
      started <= performance.timeOrigin / 1000 + 1 && started > Date.now() / 1000 - 3600,
      `started ${started}, now ${Date.now() / 1000}, time origin ${performance.timeOrigin / 1000}`,
    );
    assert.equal(value("process_max_fds"), readDescriptorLimit());
    // A socket more is a descriptor more.
    const open = value("process_open_fds");
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const again = await scrape();
      assert.ok(again.get("process_open_fds")!.samples[0].value > open);
    } finally {
      listener.close();
    }
  } finally {
    await http.close();
    await tb.stop();
  }
});

Deno.test("without access to /proc the process figures are what Deno knows, and the rest is left out", async () => {
  const script = `import { readProcessFigures } from ${
    JSON.stringify(new URL("../../src/http/process_figures.ts", import.meta.url).href)
  };\nconsole.log(JSON.stringify(readProcessFigures()));\n`;
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/figures.ts`, script);
    // No --allow-read: /proc is out of reach (Deno asks for --allow-all there anyway).
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", `--allow-read=${dir}`, `${dir}/figures.ts`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    const figures = JSON.parse(new TextDecoder().decode(output.stdout));
    assert.ok(figures.residentBytes > 0 && figures.cpuSeconds > 0, JSON.stringify(figures));
    assert.ok(Math.abs(figures.startTimeSeconds - Date.now() / 1000) < 60);
    assert.deepEqual(
      [figures.virtualBytes, figures.openFds, figures.maxFds],
      [undefined, undefined, undefined],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
