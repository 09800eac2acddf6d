/**
 * How pub and sub reach a broker other than over plain TCP: TLS (a CA, a client certificate, a
 * CA that signed nothing of the server's), a Unix socket, a SOCKS5 proxy, and WebSockets
 * (`-L ws://` and `wss://`, a Midge extension). Each test runs with Mosquitto's tools and with
 * Midge's against a Mosquitto broker given the listener it needs (Midge's broker listens on TCP
 * only), with the same expectation; where the tools differ, on purpose or not yet, the test
 * pins each side and says why. Certificates are made with openssl for each test, in a
 * temporary directory that also holds the Unix socket.
 *
 * @module
 */

import assert from "node:assert/strict";
import { interopTest, MOSQUITTO_CLIENTS, type Peer } from "../interop/helpers.ts";
import {
  cellName,
  freePort,
  type Impl,
  IMPLS,
  MOSQUITTO_BROKER,
  outcome,
  type Tool,
  type ToolContext,
  toolOnlyTest,
  withToolBroker,
} from "./harness.ts";
import { makePki, OPENSSL, type Pki, Socks5Proxy } from "./transport_fixtures.ts";

const SILENT_SUCCESS = { code: 0, stdout: "", stderr: "" };

type Outcome = ReturnType<typeof outcome>;

/** Whether two runs ended alike: exit code, stdout and stderr. */
function same(a: Outcome, b: Outcome): boolean {
  return a.code === b.code && a.stdout === b.stdout && a.stderr === b.stderr;
}

/** What a transport test has besides its broker. */
interface TransportEnv {
  /** Its temporary directory (the mosquitto user may write there). */
  dir: string;
  /** A free port for the extra listener. */
  port: number;
  /** A path for a Unix socket listener. */
  socket: string;
  /** The certificates, for tests that asked for them. */
  pki?: Pki;
}

/** A transport test: one behaviour, for each implementation of the tools. */
interface TransportDefinition {
  /** The behaviour. */
  name: string;
  /** The tool named in the test name. */
  tool: Tool;
  /** Implementations to run (default both). */
  impls?: readonly Impl[];
  /** Make certificates (needs openssl). */
  pki?: boolean;
  /** Mosquitto listeners to add (lines of mosquitto.conf). */
  listeners: (env: TransportEnv) => string[];
  /** The test body. */
  fn: (ctx: ToolContext, env: TransportEnv) => Promise<void>;
}

/**
 * Register `"<name> [<tool> → Mosquitto]"` for each implementation: a temporary directory
 * (certificates when asked), a Mosquitto broker with the test's listeners, then the body;
 * everything removed afterwards.
 */
function transportTest(def: TransportDefinition): void {
  for (const impl of def.impls ?? IMPLS) {
    const needs: Peer[] = [MOSQUITTO_BROKER];
    if (impl === "mosquitto") needs.push(MOSQUITTO_CLIENTS);
    if (def.pki) needs.push(OPENSSL);
    interopTest({
      name: `${def.name} ${cellName(impl, def.tool, "mosquitto")}`,
      needs,
      fn: async () => {
        const dir = await Deno.makeTempDir({ prefix: "midge-transport-" });
        try {
          await Deno.chmod(dir, 0o777);
          const env: TransportEnv = {
            dir,
            port: freePort(),
            socket: `${dir}/mosquitto.sock`,
            pki: def.pki ? await makePki(dir) : undefined,
          };
          await withToolBroker(
            impl,
            "mosquitto",
            { mosquittoLines: def.listeners(env) },
            (ctx) => def.fn(ctx, env),
          );
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    });
  }
}

/**
 * `sub -C <count>` with `subArgs`, then one `pub` per entry of `pubs`: every message reaches
 * sub, and both exit 0 without a word on stderr.
 */
async function pubsReachSub(
  ctx: ToolContext,
  subArgs: string[],
  pubs: string[][],
): Promise<void> {
  const topic = "transport/t";
  const subOwn = ["-i", "transport-sub", "-t", topic, "-v", "-C", `${pubs.length}`];
  const sub = ctx.spawn("sub", [...subArgs, ...subOwn]);
  await ctx.subscribed(sub, "transport-sub", 0, topic);
  for (const [i, pubArgs] of pubs.entries()) {
    const pub = await ctx.run("pub", [...pubArgs, "-t", topic, "-m", `message ${i + 1}`]);
    assert.deepEqual(outcome(pub), SILENT_SUCCESS, pubArgs.join(" "));
  }
  const expected = pubs.map((_, i) => `${topic} message ${i + 1}\n`).join("");
  assert.deepEqual(outcome(await sub.wait(5000)), { ...SILENT_SUCCESS, stdout: expected });
}

/** A Mosquitto TLS listener on `env.port`, with the test's server certificate. */
function tlsListener(env: TransportEnv, ...more: string[]): string[] {
  const pki = env.pki!;
  return [
    `listener ${env.port} 127.0.0.1`,
    `cafile ${pki.ca}`,
    `certfile ${pki.serverCert}`,
    `keyfile ${pki.serverKey}`,
    ...more,
  ];
}

// TLS.

transportTest({
  name: "sub and pub --cafile reach each other over TLS, by name (localhost) and by address",
  tool: "pub",
  pki: true,
  listeners: (env) => tlsListener(env),
  fn: async (ctx, env) => {
    const tls = (host: string) => ["--cafile", env.pki!.ca, "-h", host, "-p", `${env.port}`];
    await pubsReachSub(ctx, tls("localhost"), [tls("localhost"), tls("127.0.0.1")]);
  },
});

transportTest({
  name: "sub and pub --cert --key get through a listener with require_certificate true",
  tool: "pub",
  pki: true,
  listeners: (env) => tlsListener(env, "require_certificate true"),
  fn: async (ctx, env) => {
    const pki = env.pki!;
    const args = [
      ...["--cafile", pki.ca, "--cert", pki.clientCert, "--key", pki.clientKey],
      ...["-h", "localhost", "-p", `${env.port}`],
    ];
    await pubsReachSub(ctx, args, [args]);
  },
});

/**
 * What Mosquitto's tools print and exit with when the server's certificate is refused: the
 * first when their network loop meets the failed handshake (always over a real network), the
 * second when their blocking connect does (now and then on loopback). Midge's print the first.
 */
const TLS_REFUSED = [
  { code: 8, stdout: "", stderr: "Error: A TLS error occurred.\n" },
  { code: 1, stdout: "", stderr: "Unable to connect (A TLS error occurred.).\n" },
];

for (const tool of ["pub", "sub"] as const) {
  transportTest({
    name: `${tool} --cafile with a CA that did not sign the server's certificate fails, ` +
      "as a TLS error",
    tool,
    pki: true,
    listeners: (env) => tlsListener(env),
    fn: async (ctx, env) => {
      const args = ["--cafile", env.pki!.otherCa, "-h", "localhost", "-p", `${env.port}`];
      const own = tool === "pub" ? ["-t", "t", "-m", "m"] : ["-t", "t", "-W", "5"];
      const exit = outcome(await ctx.run(tool, [...args, ...own]));
      assert.ok(TLS_REFUSED.some((e) => same(e, exit)), JSON.stringify(exit));
      await ctx.logged(/OpenSSL Error\[0\]: .*tlsv1 alert unknown ca/);
    },
  });
}

transportTest({
  name: "pub without --cert is refused by a listener with require_certificate true",
  tool: "pub",
  pki: true,
  listeners: (env) => tlsListener(env, "require_certificate true"),
  fn: async (ctx, env) => {
    const args = ["--cafile", env.pki!.ca, "-h", "localhost", "-p", `${env.port}`];
    const exit = outcome(await ctx.run("pub", [...args, "-t", "t", "-m", "m"]));
    await ctx.logged(/OpenSSL Error\[0\]: .*peer did not return a certificate/);
    if (ctx.impl === "mosquitto") {
      // Under TLS 1.3 the refusal comes after the handshake: the connection is lost (seen by
      // the network loop), or a protocol error (seen by the blocking connect).
      const lost = { code: 7, stdout: "", stderr: "Error: The connection was lost.\n" };
      const protocolError = { code: 1, stdout: "", stderr: "Error: Protocol error\n" };
      assert.ok(same(exit, lost) || same(exit, protocolError), JSON.stringify(exit));
    } else {
      // Known difference: Midge's tools report any connection lost before CONNACK with the
      // reason and exit 1 (here rustls's alert text), where Mosquitto's say "The connection
      // was lost." and exit 7.
      assert.equal(exit.code, 1, JSON.stringify(exit));
      assert.match(exit.stderr, /^Error: received fatal alert: CertificateRequired\n$/);
    }
    assert.equal(exit.stdout, "");
  },
});

// Unix sockets.

transportTest({
  name: "sub --unix PATH and pub -h PATH -p 0 reach each other through a Unix socket",
  tool: "pub",
  listeners: (env) => [`listener 0 ${env.socket}`],
  fn: async (ctx, env) => {
    await pubsReachSub(ctx, ["--unix", env.socket], [["-h", env.socket, "-p", "0"]]);
    await ctx.logged(`New connection from ${env.socket}:0 on port 0.`);
  },
});

// SOCKS5.

transportTest({
  name: "sub and pub --proxy socks5h://host:port go through a SOCKS5 proxy",
  tool: "pub",
  listeners: () => [],
  fn: async (ctx) => {
    const proxy = new Socks5Proxy();
    ctx.defer(() => proxy.close());
    const args = [
      ...["--proxy", `socks5h://127.0.0.1:${proxy.port}`],
      ...["-h", "localhost", "-p", `${ctx.broker.port}`],
    ];
    await pubsReachSub(ctx, args, [args]);
    const asked = { host: "localhost", port: ctx.broker.port };
    assert.deepEqual(proxy.requests, [asked, asked]);
  },
});

transportTest({
  name: "sub and pub --proxy socks5h://user:password@host:port authenticate to the proxy",
  tool: "pub",
  listeners: () => [],
  fn: async (ctx) => {
    const proxy = new Socks5Proxy({ username: "alice", password: "s3cret" });
    ctx.defer(() => proxy.close());
    const args = [
      ...["--proxy", `socks5h://alice:s3cret@127.0.0.1:${proxy.port}`],
      ...["-h", "127.0.0.1", "-p", `${ctx.broker.port}`],
    ];
    await pubsReachSub(ctx, args, [args]);
    const asked = { user: "alice", host: "127.0.0.1", port: ctx.broker.port };
    assert.deepEqual(proxy.requests, [asked, asked]);
    assert.deepEqual(proxy.refused, []);
  },
});

/** Refusals of a proxy that wants alice:s3cret, and what both tools print and exit with. */
const PROXY_REFUSALS: [string, (port: number) => string, string, number][] = [
  [
    "a wrong password",
    (port) => `socks5h://alice:wrong@127.0.0.1:${port}`,
    "Error: Proxy error.", // MOSQ_ERR_PROXY
    16,
  ],
  [
    "no credentials",
    (port) => `socks5h://127.0.0.1:${port}`,
    "Error: Authorisation failed.", // MOSQ_ERR_AUTH
    11,
  ],
];

for (const tool of ["pub", "sub"] as const) {
  for (const [what, proxyUrl, line, code] of PROXY_REFUSALS) {
    transportTest({
      name: `${tool} --proxy with ${what} for a user/password proxy exits ${code}`,
      tool,
      listeners: () => [],
      fn: async (ctx) => {
        const proxy = new Socks5Proxy({ username: "alice", password: "s3cret" });
        ctx.defer(() => proxy.close());
        const own = tool === "pub" ? ["-m", "m"] : ["-W", "5"];
        const exit = await ctx.run(tool, [
          ...["--proxy", proxyUrl(proxy.port), ...ctx.host, "-t", "t", ...own],
        ]);
        assert.deepEqual(outcome(exit), { code, stdout: "", stderr: `${line}\n` });
        assert.deepEqual(proxy.requests, []);
      },
    });
  }
}

transportTest({
  name: "pub --proxy fails when the proxy cannot reach the broker",
  tool: "pub",
  listeners: () => [],
  fn: async (ctx) => {
    const proxy = new Socks5Proxy();
    ctx.defer(() => proxy.close());
    const port = freePort();
    const exit = await ctx.run("pub", [
      ...["--proxy", `socks5h://127.0.0.1:${proxy.port}`],
      ...["-h", "127.0.0.1", "-p", `${port}`, "-t", "t", "-m", "m"],
    ]);
    assert.deepEqual(proxy.requests, [{ host: "127.0.0.1", port }]);
    // Known difference: mosquitto_pub reports MOSQ_ERR_NO_CONN (and mosquitto_sub exits 255,
    // mosquitto_rr 0, both silently); Midge's tools say what the proxy answered and exit 1.
    assert.deepEqual(
      outcome(exit),
      ctx.impl === "mosquitto"
        ? { code: 4, stdout: "", stderr: "Error: The client is not currently connected.\n" }
        : { code: 1, stdout: "", stderr: "Error: the proxy could not connect (SOCKS5 reply 5)\n" },
    );
  },
});

// WebSockets: Midge's tools take -L ws:// and wss://; Mosquitto 2.0.11's refuse the scheme.

/** What Mosquitto's `tool` prints for `-L ws://...` or `wss://...`. */
function unsupportedScheme(tool: Tool) {
  return {
    code: 1,
    stdout: "",
    stderr: `Error: unsupported URL scheme.\n\n\nUse 'mosquitto_${tool} --help' to see usage.\n`,
  };
}

transportTest({
  name: "sub and pub -L ws://host:port/topic talk MQTT over a WebSocket; " +
    "Mosquitto's tools refuse the scheme",
  tool: "pub",
  listeners: (env) => [`listener ${env.port} 127.0.0.1`, "protocol websockets"],
  fn: async (ctx, env) => {
    const url = `ws://127.0.0.1:${env.port}/transport/ws`;
    if (ctx.impl === "mosquitto") {
      assert.deepEqual(
        outcome(await ctx.run("pub", ["-L", url, "-m", "m"])),
        unsupportedScheme("pub"),
      );
      assert.deepEqual(outcome(await ctx.run("sub", ["-L", url])), unsupportedScheme("sub"));
      return;
    }
    const sub = ctx.spawn("sub", ["-L", url, "-i", "ws-sub", "-v", "-C", "1"]);
    await ctx.subscribed(sub, "ws-sub", 0, "transport/ws");
    assert.deepEqual(outcome(await ctx.run("pub", ["-L", url, "-m", "over ws"])), SILENT_SUCCESS);
    assert.deepEqual(outcome(await sub.wait(5000)), {
      ...SILENT_SUCCESS,
      stdout: "transport/ws over ws\n",
    });
  },
});

transportTest({
  name: "sub and pub -L wss://localhost:port/topic --cafile --cert --key talk MQTT over a " +
    "WebSocket on TLS; Mosquitto's tools refuse the scheme",
  tool: "pub",
  pki: true,
  listeners: (env) => [...tlsListener(env, "require_certificate true"), "protocol websockets"],
  fn: async (ctx, env) => {
    const pki = env.pki!;
    const url = `wss://localhost:${env.port}/transport/wss`;
    const tls = ["--cafile", pki.ca, "--cert", pki.clientCert, "--key", pki.clientKey];
    if (ctx.impl === "mosquitto") {
      const exit = await ctx.run("pub", ["-L", url, ...tls, "-m", "m"]);
      assert.deepEqual(outcome(exit), unsupportedScheme("pub"));
      return;
    }
    const sub = ctx.spawn("sub", ["-L", url, ...tls, "-i", "wss-sub", "-v", "-C", "1"]);
    await ctx.subscribed(sub, "wss-sub", 0, "transport/wss");
    const pub = await ctx.run("pub", ["-L", url, ...tls, "-m", "over wss"]);
    assert.deepEqual(outcome(pub), SILENT_SUCCESS);
    assert.deepEqual(outcome(await sub.wait(5000)), {
      ...SILENT_SUCCESS,
      stdout: "transport/wss over wss\n",
    });
  },
});

transportTest({
  name: "pub -L ws://... --proxy socks5h://user:password@... goes through the proxy (Midge only)",
  tool: "pub",
  impls: ["midge"],
  listeners: (env) => [`listener ${env.port} 127.0.0.1`, "protocol websockets"],
  fn: async (ctx, env) => {
    const proxy = new Socks5Proxy({ username: "alice", password: "s3cret" });
    ctx.defer(() => proxy.close());
    const observer = await ctx.peer();
    await observer.subscribe("transport/proxied", 0);
    const exit = await ctx.run("pub", [
      ...["-L", `ws://localhost:${env.port}/transport/proxied`, "-m", "via proxy"],
      ...["--proxy", `socks5h://alice:s3cret@127.0.0.1:${proxy.port}`],
    ]);
    assert.deepEqual(outcome(exit), SILENT_SUCCESS);
    assert.equal((await observer.receive(1))[0].text, "via proxy");
    assert.deepEqual(proxy.requests, [{ user: "alice", host: "localhost", port: env.port }]);
  },
});

// --insecure without TLS.

transportTest({
  name: "pub --insecure without TLS connects as if it were not given",
  tool: "pub",
  listeners: () => [],
  fn: async (ctx) => {
    const observer = await ctx.peer();
    await observer.subscribe("transport/insecure", 0);
    const exit = await ctx.run("pub", [
      ...[...ctx.host, "--insecure", "-t", "transport/insecure", "-m", "plain"],
    ]);
    assert.deepEqual(outcome(exit), SILENT_SUCCESS);
    assert.equal((await observer.receive(1))[0].text, "plain");
  },
});

// --insecure with TLS: the certificate names localhost and 127.0.0.1; 127.0.0.2 reaches the
// same listener under a name the certificate does not carry.

transportTest({
  name: "pub --cafile to an address the certificate does not name fails; with --insecure it " +
    "gets through",
  tool: "pub",
  pki: true,
  listeners: (env) => [
    `listener ${env.port}`,
    `cafile ${env.pki!.ca}`,
    `certfile ${env.pki!.serverCert}`,
    `keyfile ${env.pki!.serverKey}`,
  ],
  fn: async (ctx, env) => {
    const tls = ["--cafile", env.pki!.ca, "-h", "127.0.0.2", "-p", `${env.port}`];
    const refused = await ctx.run("pub", [...tls, "-t", "transport/i", "-m", "no"]);
    assert.notEqual(refused.code, 0);
    const observer = await ctx.peer();
    await observer.subscribe("transport/i", 0);
    const exit = await ctx.run("pub", [...tls, "--insecure", "-t", "transport/i", "-m", "yes"]);
    assert.deepEqual(outcome(exit), SILENT_SUCCESS);
    assert.equal((await observer.receive(1))[0].text, "yes");
  },
});

// -A: the connection comes from the address asked for.

transportTest({
  name: "pub -A 127.0.0.3 connects from that address",
  tool: "pub",
  listeners: (env) => [`listener ${env.port}`, "allow_anonymous true"],
  fn: async (ctx, env) => {
    const observer = await ctx.peer();
    await observer.subscribe("transport/a", 0);
    const exit = await ctx.run("pub", [
      ...["-A", "127.0.0.3", "-h", "127.0.0.1", "-p", `${env.port}`],
      ...["-i", "from-3", "-t", "transport/a", "-m", "bound"],
    ]);
    assert.deepEqual(outcome(exit), SILENT_SUCCESS);
    assert.equal((await observer.receive(1))[0].text, "bound");
    await ctx.logged(/^New connection from 127\.0\.0\.3:\d+ on port \d+\.$/);
  },
});

// What Deno's TLS cannot do: Midge's tools say so and exit 1 before connecting.

const NOT_AVAILABLE: [string, string[], string][] = [
  [
    "--psk",
    ["--psk", "00ff", "--psk-identity", "me"],
    "Error: TLS-PSK (--psk) is not available: Deno's TLS has no pre-shared keys.",
  ],
];

for (const tool of ["pub", "sub"] as const) {
  for (const [what, args, line] of NOT_AVAILABLE) {
    toolOnlyTest({
      name: `${tool} ${what} is refused as not available, exit 1`,
      tool,
      impls: ["midge"],
      fn: async (ctx) => {
        const own = tool === "pub" ? ["-t", "t", "-m", "m"] : ["-t", "t"];
        const port = `${freePort()}`;
        const exit = await ctx.run(tool, [...args, "-h", "127.0.0.1", "-p", port, ...own]);
        assert.deepEqual(outcome(exit), { code: 1, stdout: "", stderr: `${line}\n` });
      },
    });
  }
}
