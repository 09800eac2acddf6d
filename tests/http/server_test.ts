/**
 * The HTTP listener in-process: basic auth against a password file written by `midge passwd
 * -b`, `open`, methods and unknown paths, the JSON of the API routes, the status page, and
 * `/health` going from 200 to 503 while the broker stops or its store cannot write.
 */

import assert from "node:assert/strict";
import { basic, passwordFile, withHttp } from "./http_fixture.ts";
import { Session } from "../../src/broker/session.ts";
import { MAX_LIST_ENTRIES } from "../../src/http/api.ts";
import { type HttpServer, startHttpServer } from "../../src/http/server.ts";
import { statusPage, statusPageSecurityPolicy } from "../../src/http/status_page.ts";
import { startBroker, waitFor } from "../integration/harness.ts";
import { withBrokers } from "../integration/persistence_helpers.ts";
import { expectAck, pub, sub, subscribe, sync } from "../integration/pubsub_helpers.ts";
import { CountingClients } from "../sys/helpers.ts";

const ROUTES = ["/", "/metrics", "/api/v1/stats", "/api/v1/clients", "/api/v1/subscriptions"];

/** GET `path` (or another method); the status, headers and body text. */
async function request(
  http: HttpServer,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: string }> {
  const response = await fetch(`http://127.0.0.1:${http.port}${path}`, init);
  return { status: response.status, headers: response.headers, body: await response.text() };
}

Deno.test("HTTP: every route but /health needs basic auth with a user of the password file", async () => {
  const passwords = await passwordFile({ alice: "s3cret" });
  await withHttp({ passwords }, async (tb, http) => {
    for (const path of ROUTES) {
      for (
        const headers of [
          {},
          basic("alice", "wrong-pass"),
          basic("mallory", "s3cret"),
          { authorization: "Bearer s3cret" },
          { authorization: "Basic not base64!" },
          { authorization: `Basic ${btoa("alice")}` }, // no colon
        ] as HeadersInit[]
      ) {
        const r = await request(http, path, { headers });
        assert.equal(r.status, 401, `${path} with ${JSON.stringify(headers)}`);
        assert.equal(r.headers.get("www-authenticate"), 'Basic realm="Midge"');
      }
      assert.equal((await request(http, path, { headers: basic("alice", "s3cret") })).status, 200);
    }
    // Unknown paths are not told apart from known ones without credentials.
    assert.equal((await request(http, "/nope")).status, 401);
    assert.equal((await request(http, "/nope", { headers: basic("alice", "s3cret") })).status, 404);
    const health = await request(http, "/health");
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { status: "ok" });
    // A line feed in a user name cannot forge a log line.
    assert.equal(
      (await request(http, "/metrics", { headers: basic("eve\nforged", "x") })).status,
      401,
    );
    assert.ok(tb.logs.some((l) => l.includes("user 'eve?forged'")));
    // Refusals with a user name are logged, never with the password.
    assert.ok(tb.logs.some((l) => l.includes("not authorised (bad password, user 'alice')")));
    assert.ok(tb.logs.some((l) => l.includes("not authorised (unknown user, user 'mallory')")));
    assert.equal(tb.logs.some((l) => l.includes("wrong-pass") || l.includes("s3cret")), false);
  });
});

Deno.test("HTTP: open serves every route without credentials; neither open nor passwords is refused", async () => {
  await withHttp({ open: true }, async (_tb, http) => {
    for (const path of ROUTES) assert.equal((await request(http, path)).status, 200, path);
  });
  const tb = startBroker();
  try {
    assert.throws(
      () => startHttpServer(tb.broker, { hostname: "127.0.0.1", port: 0 }),
      /needs a password file/,
    );
  } finally {
    await tb.stop();
  }
});

Deno.test("HTTP: GET and HEAD only (405 with Allow); HEAD has the headers and no body", async () => {
  await withHttp({ open: true }, async (_tb, http) => {
    const post = await request(http, "/api/v1/stats", { method: "POST", body: "{}" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    const head = await request(http, "/metrics", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.match(head.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  });
});

Deno.test("HTTP: / is the status page, as HTML, with a policy that runs only its own scripts", async () => {
  await withHttp({ open: true }, async (_tb, http) => {
    const page = await request(http, "/");
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(page.headers.get("content-security-policy"), statusPageSecurityPolicy());
    assert.equal(page.body, statusPage());
  });
});

Deno.test("HTTP: /api/v1/stats has every field, numbers where numbers are due", async () => {
  await withHttp({ open: true }, async (tb, http) => {
    const c = new CountingClients(tb.port);
    try {
      const { client } = await c.connect("one");
      await c.send(client, {
        type: "subscribe",
        packetId: 1,
        subscriptions: [sub("a/#", 1), sub("$share/g/b", 0)],
      });
      await client.expect("suback");
      await c.send(client, pub("a/r", "kept", { qos: 1, packetId: 1, retain: true }));
      await client.expect("publish"); // its own message, left unacknowledged
      await expectAck(client, "puback");
      const stats = JSON.parse((await request(http, "/api/v1/stats")).body);
      assert.equal(stats.version, "0.1.0");
      assert.equal(typeof stats.uptimeSeconds, "number");
      assert.ok(Math.abs(Date.parse(stats.time) - Date.now()) < 5000, stats.time);
      assert.deepEqual(stats.clients, {
        connected: 1,
        disconnected: 0,
        total: 1,
        maximum: 1,
        expired: 0,
      });
      assert.deepEqual(stats.messages, { received: 3, sent: 4 }); // CONNACK SUBACK PUBLISH PUBACK
      assert.deepEqual(stats.publish, {
        received: 1,
        sent: 1,
        dropped: 0,
        bytesReceived: 4,
        bytesSent: 4,
      });
      assert.equal(stats.bytes.received, c.bytesSent);
      assert.equal(stats.bytes.sent, c.received().bytes);
      assert.equal(stats.subscriptions, 1);
      assert.equal(stats.sharedSubscriptions, 1);
      assert.equal(stats.retained, 1);
      assert.equal(stats.store.messages, 2); // the retained message, and its copy in flight
      assert.equal(stats.store.bytes, 8);
      assert.ok(stats.heap.current > 0 && stats.heap.maximum >= stats.heap.current);
      assert.deepEqual(Object.keys(stats.load), ["1min", "5min", "15min"]);
      for (const window of Object.values(stats.load) as Record<string, number>[]) {
        assert.deepEqual(Object.keys(window).sort(), [
          "bytesReceived",
          "bytesSent",
          "connections",
          "messagesReceived",
          "messagesSent",
          "publishDropped",
          "publishReceived",
          "publishSent",
          "sockets",
        ]);
        for (const v of Object.values(window)) assert.equal(v, Math.round(v * 100) / 100);
      }
      assert.deepEqual(stats.persistence, { enabled: false });
      const mine = stats.listeners.filter((l: { listener: number }) => l.listener === tb.port);
      assert.deepEqual(mine.map((l: { protocolVersion: number | null }) => l.protocolVersion), [
        null,
        4,
      ]);
      assert.equal(mine[0].counters.sockets, 1);
      assert.equal(mine[1].counters.connections, 1);
    } finally {
      await c.closeAll();
    }
  });
});

Deno.test("HTTP: /api/v1/clients and /api/v1/subscriptions describe each session", async () => {
  await withHttp({ open: true }, async (tb, http) => {
    const c = new CountingClients(tb.port);
    try {
      const { client: v5 } = await c.connect("five", {
        protocolVersion: 5,
        keepAlive: 30,
        properties: { sessionExpiryInterval: 600 },
      });
      await subscribe(v5, [
        sub("x/#", 2, { noLocal: true, retainAsPublished: true, retainHandling: 1 }),
      ], {
        subscriptionIdentifiers: [7],
      });
      const { client: away } = await c.connect("away", { clean: false, protocolVersion: 3 });
      await subscribe(away, sub("y", 1));
      await away.send({ type: "disconnect", reasonCode: 0 });
      await away.expectClosed();
      const { client: p } = await c.connect("p");
      await c.send(p, pub("y", "queued", { qos: 1, packetId: 1 }));
      await expectAck(p, "puback");
      await sync(v5);
      const { clients, total, truncated } = JSON.parse(
        (await request(http, "/api/v1/clients")).body,
      );
      assert.equal(total, 3);
      assert.equal(truncated, false);
      const five = clients.find((x: { clientId: string }) => x.clientId === "five");
      assert.equal(typeof five.connectedSince, "string");
      assert.ok(Math.abs(Date.parse(five.connectedSince) - Date.now()) < 5000);
      assert.match(five.address, /^127\.0\.0\.1:[0-9]+$/);
      assert.deepEqual({ ...five, connectedSince: "", address: "" }, {
        clientId: "five",
        connected: true,
        protocolVersion: 5,
        address: "",
        listener: tb.port,
        username: null,
        keepAlive: 30,
        persistent: true,
        subscriptions: 1,
        queued: 0,
        inflight: 0,
        dropped: 0,
        refusedForMemory: 0,
        connectedSince: "",
      });
      const gone = clients.find((x: { clientId: string }) => x.clientId === "away");
      assert.ok(Math.abs(Date.parse(gone.disconnectedAt) - Date.now()) < 5000);
      assert.deepEqual({ ...gone, disconnectedAt: "" }, {
        clientId: "away",
        connected: false,
        protocolVersion: 3,
        address: null,
        listener: tb.port,
        username: null,
        keepAlive: null,
        persistent: true,
        subscriptions: 1,
        queued: 1,
        inflight: 0,
        dropped: 0,
        refusedForMemory: 0,
        disconnectedAt: "",
      });
      const subs = JSON.parse((await request(http, "/api/v1/subscriptions")).body);
      assert.deepEqual(subs, {
        subscriptions: [
          {
            clientId: "five",
            filter: "x/#",
            qos: 2,
            noLocal: true,
            retainAsPublished: true,
            retainHandling: 1,
            subscriptionId: 7,
          },
          {
            clientId: "away",
            filter: "y",
            qos: 1,
            noLocal: false,
            retainAsPublished: false,
            retainHandling: 0,
            subscriptionId: null,
          },
        ],
        total: 2,
        truncated: false,
      });
    } finally {
      await c.closeAll();
    }
  });
});

Deno.test(`HTTP: the lists stop at ${MAX_LIST_ENTRIES} entries and say they were truncated`, async () => {
  await withHttp({ open: true }, async (tb, http) => {
    for (let i = 0; i <= MAX_LIST_ENTRIES; i++) {
      const session = new Session(`s${i}`, 4, 3600);
      session.disconnectedAt = tb.broker.now(); // away since now: the sweep must not expire it
      session.setSubscription("t", {
        session,
        filter: "t",
        qos: 0,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
        subscriptionId: undefined,
      });
      tb.broker.sessions.add(session);
    }
    const clients = JSON.parse((await request(http, "/api/v1/clients")).body);
    assert.equal(clients.clients.length, MAX_LIST_ENTRIES);
    assert.equal(clients.total, MAX_LIST_ENTRIES + 1);
    assert.equal(clients.truncated, true);
    const subs = JSON.parse((await request(http, "/api/v1/subscriptions")).body);
    assert.equal(subs.subscriptions.length, MAX_LIST_ENTRIES);
    assert.equal(subs.total, MAX_LIST_ENTRIES + 1);
    assert.equal(subs.truncated, true);
    for (const session of [...tb.broker.sessions.values()]) tb.broker.sessions.end(session);
  });
});

Deno.test("HTTP: /health is 200, then 503 with a reason once the broker is stopping", async () => {
  const tb = startBroker();
  const http = startHttpServer(tb.broker, { hostname: "127.0.0.1", port: 0, open: true });
  try {
    assert.equal((await request(http, "/health")).status, 200);
    const stopped = tb.broker.stop();
    const during = await request(http, "/health");
    assert.equal(during.status, 503);
    assert.deepEqual(JSON.parse(during.body), {
      status: "unavailable",
      reason: "the broker is stopping",
    });
    await stopped;
  } finally {
    await http.close();
  }
});

Deno.test("HTTP: /health is 503 while persistence fails to write, 200 once it writes again", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start();
    const http = startHttpServer(a.broker, { hostname: "127.0.0.1", port: 0, open: true });
    try {
      const s = await a.connect({ clientId: "s", clean: false });
      await subscribe(s, sub("t", 1));
      const p = await a.connect({ clientId: "p" });
      a.store.failCommits(1, new Error("disk full"));
      await p.send(pub("t", "kept", { qos: 1, packetId: 1 }));
      await waitFor(() => a.logs.some((l) => l.includes("disk full")), "the failed write");
      const failing = await request(http, "/health");
      assert.equal(failing.status, 503);
      assert.match(JSON.parse(failing.body).reason, /persistence/);
      await expectAck(p, "puback", 3000); // the retry wrote it
      assert.equal((await request(http, "/health")).status, 200);
    } finally {
      await http.close();
    }
  });
});
