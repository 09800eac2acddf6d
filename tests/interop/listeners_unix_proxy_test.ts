/**
 * Unix-socket and PROXY-protocol listeners of a real Midge process (configured by
 * mosquitto.conf): mosquitto_sub and a raw client over the socket exchanging with a TCP client,
 * the socket file of a killed broker replaced at the next start; PROXY v1 and v2 headers giving
 * the address the log and the HTTP API show while ACL patterns still match the client id and
 * username, a connection without its header refused, and a header where none is expected
 * closed as a bad packet.
 *
 * @module
 */

import assert from "node:assert/strict";
import { makeCertificates } from "../fixtures/certs.ts";
import { freePort } from "../fixtures/net.ts";
import { encodeProxyHeaderV1, encodeProxyHeaderV2 } from "../fixtures/proxy_header.ts";
import { connect, RawClient, sendConnect } from "../integration/harness.ts";
import { pub, sub, subscribe } from "../integration/pubsub_helpers.ts";
import { interopTest, MOSQUITTO_CLIENTS } from "./helpers.ts";
import { withMidge } from "./listener_process.ts";

/** A raw client over the Unix socket at `path`. */
async function openUnix(path: string): Promise<RawClient> {
  return new RawClient(await Deno.connect({ transport: "unix", path }));
}

/** Run `fn` with a path for a socket in a fresh folder, removed afterwards. */
async function withSocketPath(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "midge_unix_" });
  try {
    await fn(`${dir}/midge.sock`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

interopTest({
  name: "Unix socket listener: mosquitto_sub --unix and a raw client exchange with a TCP client",
  needs: [MOSQUITTO_CLIENTS],
  fn: () =>
    withSocketPath(async (path) => {
      const tcpPort = freePort();
      const conf = `allow_anonymous true\nlistener ${tcpPort} 127.0.0.1\nlistener 0 ${path}\n`;
      await withMidge(conf, async (ctx) => {
        const watcher = ctx.spawn("mosquitto_sub", [
          ...["--unix", path, "-i", "unix-sub", "-t", "u/#", "-q", "1", "-C", "2", "-W", "10"],
          "-v",
        ]);
        await ctx.logged(/^unix-sub 1 u\/#$/);
        const { client: tcp } = await connect(tcpPort, { clientId: "tcp" });
        const unix = await openUnix(path);
        try {
          await sendConnect(unix, { clientId: "unix-raw" });
          await subscribe(tcp, sub("u/from-unix", 1));
          await subscribe(unix, sub("u/from-tcp", 1));
          await unix.send(pub("u/from-unix", "over the socket", { qos: 1, packetId: 1 }));
          await unix.expect("puback");
          const got = await tcp.expect("publish");
          assert.equal(new TextDecoder().decode(got.payload), "over the socket");
          await tcp.send(pub("u/from-tcp", "over tcp", { qos: 1, packetId: 2 }));
          const back = await unix.expect("publish");
          assert.equal(new TextDecoder().decode(back.payload), "over tcp");
          const exit = await watcher.wait();
          assert.deepEqual(exit.lines, ["u/from-unix over the socket", "u/from-tcp over tcp"]);
        } finally {
          await unix.close();
          await tcp.close();
        }
      });
    }),
});

Deno.test("A Unix socket file left by a killed broker is replaced at the next start", async () => {
  await withSocketPath(async (path) => {
    const conf = `allow_anonymous true\nlistener 0 ${path}\n`;
    await withMidge(conf, async (ctx) => {
      ctx.midge.child.kill("SIGKILL");
      await ctx.midge.child.status;
    });
    assert.ok((await Deno.lstat(path)).isSocket, "the killed broker left its socket file");
    await assert.rejects(openUnix(path).then((c) => c.close()), "nobody listens on it");
    await withMidge(conf, async () => {
      const unix = await openUnix(path);
      try {
        assert.equal((await sendConnect(unix, { clientId: "again" })).reasonCode, 0);
      } finally {
        await unix.close();
      }
    });
  });
});

/** Send a 3.1.1 CONNECT for `clientId` without waiting for an answer. */
async function sendConnectBytes(client: RawClient, clientId: string): Promise<void> {
  await client.send({ type: "connect", protocolVersion: 4, clientId, clean: true, keepAlive: 60 });
}

/** A raw client that sends `header` on connecting to `port`, then CONNECT. */
async function proxied(port: number, header: Uint8Array, clientId: string): Promise<RawClient> {
  const client = await RawClient.open(port);
  await client.sendBytes(header);
  const connack = await sendConnect(client, { clientId, username: "alice" });
  assert.equal(connack.reasonCode, 0);
  return client;
}

Deno.test("PROXY v1 and v2 headers: the log and /api/v1/clients show the spoofed address; ACL patterns on %c and %u still match", async () => {
  const [tcp, v1, v2, http] = [freePort(), freePort(), freePort(), freePort()];
  const dir = await Deno.makeTempDir();
  const acl = `${dir}/acl`;
  await Deno.writeTextFile(acl, "pattern readwrite c/%c/#\npattern readwrite u/%u/#\n");
  const conf = `allow_anonymous true\nacl_file ${acl}\n` +
    `listener ${tcp} 127.0.0.1\n` +
    `listener ${v1} 127.0.0.1\nenable_proxy_protocol 1\n` +
    `listener ${v2} 127.0.0.1\nenable_proxy_protocol 2\n` +
    `listener ${http} 127.0.0.1\nprotocol http\nhttp_open true\n`;
  try {
    await withMidge(conf, async (ctx) => {
      const destination = { hostname: "192.0.2.1", port: 1883 };
      const one = await proxied(
        v1,
        encodeProxyHeaderV1({ source: { hostname: "203.0.113.7", port: 4242 }, destination }),
        "via-v1",
      );
      const two = await proxied(
        v2,
        encodeProxyHeaderV2({
          source: { hostname: "2001:db8::5", port: 5151 },
          destination: { hostname: "2001:db8::1", port: 1883 },
        }),
        "via-v2",
      );
      try {
        await ctx.logged(/^New client connected from 203\.0\.113\.7:4242 as via-v1 /);
        await ctx.logged(
          /^New client connected from (\[2001:db8::5\]|2001:db8::5):5151 as via-v2 /,
        );
        const response = await fetch(`http://127.0.0.1:${http}/api/v1/clients`);
        const { clients } = await response.json() as {
          clients: { clientId: string; address: string }[];
        };
        const address = (id: string) => clients.find((c) => c.clientId === id)?.address;
        assert.equal(address("via-v1"), "203.0.113.7:4242");
        assert.match(address("via-v2") ?? "", /^\[?2001:db8::5\]?:5151$/);

        // %c: via-v1 may use c/via-v1/# only; %u: both (user alice) may use u/alice/#.
        const granted = await subscribe(one, [sub("c/via-v1/#", 1), sub("u/alice/#", 1)]);
        assert.deepEqual(granted.reasonCodes, [1, 1]);
        await one.send(pub("c/via-v2/x", "not mine", { qos: 1, packetId: 1 }));
        await one.expect("puback");
        await ctx.logged(/^Denied PUBLISH from via-v1 .*'c\/via-v2\/x'/);
        await one.send(pub("c/via-v1/x", "mine", { qos: 1, packetId: 2 }));
        const own = await one.next();
        const ack = await one.next();
        const mine = [own, ack].find((p) => p.type === "publish");
        assert.equal(mine?.type === "publish" && mine.topic, "c/via-v1/x");
        await two.send(pub("u/alice/n", "from alice", { qos: 1, packetId: 3 }));
        await two.expect("puback");
        const shared = await one.expect("publish");
        assert.equal(shared.topic, "u/alice/n");
        await one.expectNothing(200);
      } finally {
        await one.close();
        await two.close();
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("A PROXY listener refuses a connection without a header; a header on a plain listener is closed as a bad packet", async () => {
  const [tcp, proxy] = [freePort(), freePort()];
  const conf = `allow_anonymous true\nlistener ${tcp} 127.0.0.1\n` +
    `listener ${proxy} 127.0.0.1\nenable_proxy_protocol 2\n`;
  await withMidge(conf, async (ctx) => {
    const bare = await RawClient.open(proxy);
    try {
      await sendConnectBytes(bare, "bare");
      await bare.expectClosed(5000);
    } finally {
      await bare.close();
    }
    await ctx.logged(/^Client connection from 127\.0\.0\.1(:\d+)? denied: /);

    const spoof = await RawClient.open(tcp);
    try {
      // What a proxy sends: its header, then the client's CONNECT.
      await spoof.sendBytes(encodeProxyHeaderV2({
        source: { hostname: "203.0.113.9", port: 1 },
        destination: { hostname: "127.0.0.1", port: tcp },
      }));
      await sendConnectBytes(spoof, "spoof");
      await spoof.expectClosed(5000);
    } finally {
      await spoof.close();
    }
    await ctx.logged(/disconnected due to (malformed packet|protocol error)/);
    const { client, connack } = await connect(tcp, { clientId: "still" });
    await client.close();
    assert.equal(connack.reasonCode, 0);
  });
});

Deno.test("PROXY v2 before TLS (a balancer passing TLS through): the handshake follows the header, the log shows the client's address", async () => {
  const certs = await makeCertificates();
  const port = freePort();
  const conf = `allow_anonymous true\nlistener ${port} 127.0.0.1\n` +
    `certfile ${certs.server.cert}\nkeyfile ${certs.server.key}\nenable_proxy_protocol 2\n`;
  try {
    await withMidge(conf, async (ctx) => {
      const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
      await tcp.write(encodeProxyHeaderV2({
        source: { hostname: "198.51.100.9", port: 40404 },
        destination: { hostname: "192.0.2.1", port: 8883 },
      }));
      const client = new RawClient(
        await Deno.startTls(tcp, {
          hostname: "localhost",
          caCerts: [await Deno.readTextFile(certs.ca)],
        }),
      );
      try {
        assert.equal((await sendConnect(client, { clientId: "behind-lb" })).reasonCode, 0);
        await ctx.logged(/^New client connected from 198\.51\.100\.9:40404 as behind-lb /);
      } finally {
        await client.close();
      }
      // Without the header, the TLS hello is refused before any handshake.
      const bare = await Deno.connectTls({
        hostname: "127.0.0.1",
        port,
        caCerts: [await Deno.readTextFile(certs.ca)],
      });
      await assert.rejects(bare.handshake());
      bare.close();
      await ctx.logged(/^Client connection from 127\.0\.0\.1 denied: .*PROXY/);
    });
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
});
