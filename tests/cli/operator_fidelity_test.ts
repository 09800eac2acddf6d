/**
 * The broker as an operator sees it, next to Debian's Mosquitto 2.0.11 run by the same test
 * with the same mosquitto.conf: exit statuses (configuration errors 3, unreadable password or
 * ACL files 13, a listener that cannot open 1), `-p` with `-c`, and the log lines that log
 * filters (fail2ban) read: IPv4 clients of a dual-stack listener as `127.0.0.1:PORT` and
 * refused logins as `Client <unknown> disconnected, not authorised.`, and the lines of every
 * way a connection ends; SIGTERM and SIGINT, which close clients without DISCONNECT. Then
 * `--test-config`, which must find what a start would fail on.
 */

import assert from "node:assert/strict";
import { MOSQUITTO_BROKER, MOSQUITTO_PUB, runCommand } from "../auth/mosquitto_tools.ts";
import { makeCertificates } from "../fixtures/certs.ts";
import { ended, runMidge, startLoggedMidge } from "../fixtures/midge_process.ts";
import { accepts, freePort } from "../fixtures/net.ts";
import { interopTest, sleep } from "../interop/helpers.ts";
import { encodePacket } from "../../src/codec/mod.ts";
import { hexBytes } from "../fixtures/packets.ts";
import { connect, RawClient } from "../integration/harness.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const MOSQUITTO = "/usr/sbin/mosquitto";

/** `mosquitto` or `midge` started with `args`, in the background. */
function spawnBroker(broker: "mosquitto" | "midge", args: string[]): Deno.ChildProcess {
  const [command, argv] = broker === "mosquitto"
    ? [MOSQUITTO, args]
    : [Deno.execPath(), ["run", "-A", MAIN, ...args]];
  return new Deno.Command(command, {
    args: argv,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/** Wait (at most 10 s) until 127.0.0.1:`port` accepts; false if `child` ended first. */
async function listening(child: Deno.ChildProcess, port: number): Promise<boolean> {
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + 10_000;
  for (let i = 0; i < 1000 && Date.now() < deadline && !exited; i++) {
    if (await accepts(port)) return true;
    await sleep(10);
  }
  return false;
}

/** Stop `child` with SIGTERM (SIGKILL after 5 s) and wait for it. */
async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    // already ended
  }
  const late = setTimeout(() => ended(child), 5000);
  await child.status;
  clearTimeout(late);
}

/** The exit status of `broker -c conf`, which must end by itself within 15 s. */
async function exitStatus(broker: "mosquitto" | "midge", conf: string): Promise<number> {
  const [command, args] = broker === "mosquitto"
    ? [MOSQUITTO, ["-c", conf]]
    : [Deno.execPath(), ["run", "-A", MAIN, "-c", conf]];
  return (await runCommand(command, args, { env: { NO_COLOR: "1" } })).code;
}

/** Each case: a mosquitto.conf (PORT and DIR are filled in) and the exit status both give. */
const EXIT_CASES: { name: string; conf: string; status: number }[] = [
  { name: "an unknown option", conf: "listener PORT 127.0.0.1\nbogus_option 1\n", status: 3 },
  { name: "a bad value", conf: "listener PORT 127.0.0.1\nmax_keepalive abc\n", status: 3 },
  {
    name: "an include_dir that does not exist",
    conf: "listener PORT 127.0.0.1\ninclude_dir DIR/nowhere\n",
    status: 3,
  },
  {
    name: "a password_file that cannot be read",
    conf: "listener PORT 127.0.0.1\npassword_file DIR/missing\n",
    status: 13,
  },
  {
    name: "an acl_file that cannot be read",
    conf: "listener PORT 127.0.0.1\nallow_anonymous true\nacl_file DIR/missing\n",
    status: 13,
  },
  {
    name: "an acl_file with a bad line",
    conf: "listener PORT 127.0.0.1\nallow_anonymous true\nacl_file DIR/bad.acl\n",
    status: 3,
  },
  {
    name: "a port in use",
    conf: "listener BUSY 127.0.0.1\nallow_anonymous true\n",
    status: 1,
  },
];

interopTest({
  name:
    "exit statuses match Mosquitto's: config errors 3, unreadable security files 13, start failures 1",
  needs: [MOSQUITTO_BROKER],
  async fn() {
    const dir = await Deno.makeTempDir();
    const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      await Deno.writeTextFile(`${dir}/bad.acl`, "user a\ntopic read x\nbogus line\n");
      const conf = `${dir}/mosquitto.conf`;
      for (const c of EXIT_CASES) {
        const text = c.conf.replaceAll("PORT", `${freePort()}`).replaceAll("DIR", dir)
          .replaceAll("BUSY", `${(busy.addr as Deno.NetAddr).port}`);
        await Deno.writeTextFile(conf, `user root\n${text}`);
        const statuses = {
          mosquitto: await exitStatus("mosquitto", conf),
          midge: await exitStatus("midge", conf),
        };
        assert.deepEqual(statuses, { mosquitto: c.status, midge: c.status }, c.name);
      }
    } finally {
      busy.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

interopTest({
  name: "-p with -c: the file's listeners win, -p is the port of local only mode, as Mosquitto",
  needs: [MOSQUITTO_BROKER],
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      for (const broker of ["mosquitto", "midge"] as const) {
        const [filePort, flagPort] = [freePort(), freePort()];
        const withListener = `${dir}/listener.conf`;
        await Deno.writeTextFile(
          withListener,
          `user root\nlistener ${filePort} 127.0.0.1\nallow_anonymous true\n`,
        );
        let child = spawnBroker(broker, ["-c", withListener, "-p", `${flagPort}`]);
        try {
          assert.ok(await listening(child, filePort), `${broker}: the file's listener`);
          assert.equal(await accepts(flagPort), false, `${broker}: -p ignored`);
        } finally {
          await stop(child);
        }
        const noListener = `${dir}/local.conf`;
        await Deno.writeTextFile(noListener, "user root\nallow_anonymous true\n");
        child = spawnBroker(broker, ["-c", noListener, "-p", `${flagPort}`]);
        try {
          assert.ok(await listening(child, flagPort), `${broker}: local only mode on -p's port`);
        } finally {
          await stop(child);
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** The log lines a login filter reads, ports masked, in order. */
function loginLines(log: string): string[] {
  return log.split("\n")
    .map((line) => line.replace(/^\d+: /, "").replace(/:\d+ on port \d+\.$/, ":PORT on port P."))
    .filter((line) => /^New connection from |^Client .*not authorised/.test(line));
}

/**
 * Start Mosquitto, then Midge, each from `listenerLines(port)` with its log going to a file in
 * `dir`; drive each with `drive(port)`, stop it, and keep the lines `pick` takes from its log.
 */
async function logsOfBoth(
  dir: string,
  listenerLines: (port: number) => string,
  drive: (port: number) => Promise<void>,
  pick: (log: string) => string[],
): Promise<Record<"mosquitto" | "midge", string[]>> {
  const logs = { mosquitto: [] as string[], midge: [] as string[] };
  for (const broker of ["mosquitto", "midge"] as const) {
    const port = freePort();
    const log = `${dir}/${broker}.log`;
    const conf = `${dir}/${broker}.conf`;
    await Deno.writeTextFile(conf, `user root\n${listenerLines(port)}log_dest file ${log}\n`);
    const child = spawnBroker(broker, ["-c", conf]);
    try {
      assert.ok(await listening(child, port), `${broker} listens`);
      await drive(port);
    } finally {
      await stop(child);
    }
    logs[broker] = pick(await Deno.readTextFile(log));
  }
  return logs;
}

interopTest({
  name:
    "refused logins are logged as Mosquitto logs them, IPv4 clients of a dual-stack listener unmapped",
  needs: [MOSQUITTO_BROKER, MOSQUITTO_PUB],
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const passwords = `${dir}/passwords`;
      // alice:secret, made by mosquitto_passwd
      await runCommand("mosquitto_passwd", ["-b", "-c", passwords, "alice", "secret"]);
      const logs = await logsOfBoth(
        dir,
        (port) => `listener ${port}\nallow_anonymous false\npassword_file ${passwords}\n`,
        async (port) => {
          for (const version of ["mqttv311", "mqttv5"]) {
            for (const login of [["-u", "alice", "-P", "wrong"], ["-u", "bob", "-P", "x"], []]) {
              await runCommand("mosquitto_pub", [
                ...["-h", "127.0.0.1", "-p", `${port}`, "-V", version, "-t", "t", "-m", "m"],
                ...login,
              ]);
            }
          }
        },
        loginLines,
      );
      const connected = "New connection from 127.0.0.1:PORT on port P.";
      const refused = [connected, "Client <unknown> disconnected, not authorised."];
      // The first connection is `listening`'s, which sends nothing.
      const expected = [connected, ...Array(6).fill(refused).flat()];
      assert.deepEqual(logs.mosquitto, expected, "Mosquitto's lines");
      assert.deepEqual(logs.midge, logs.mosquitto);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("--test-config finds what a start would fail on: security files, certificates, places to write", async () => {
  const certs = await makeCertificates();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.acl`, "topic read x\nbogus line\n");
    await Deno.writeTextFile(`${dir}/junk.pem`, "not a certificate\n");
    const tls = (cert: string, key: string) =>
      `listener ${freePort()} 127.0.0.1\ncertfile ${cert}\nkeyfile ${key}\n`;
    const cases: [string, string, RegExp][] = [
      ["password file", `password_file ${dir}/missing\n`, /missing: cannot read: /],
      ["ACL file", `acl_file ${dir}/bad.acl\n`, /bad\.acl:2: unknown keyword "bogus"/],
      [
        "key of another certificate",
        tls(certs.server.cert, certs.client.key),
        /keyfile: ".*" is not the key of certfile/,
      ],
      ["certificate", tls(`${dir}/junk.pem`, certs.server.key), /junk\.pem" holds no PEM cert/],
      ["certificate file", tls(`${dir}/none.pem`, certs.server.key), /certfile: cannot read/],
      [
        "persistence_location",
        `persistence true\npersistence_location ${dir}/no/such/dir/\n`,
        /persistence database .*no\/such\/dir\/.*: cannot create it in /,
      ],
      ["pid_file", `pid_file ${dir}/no/such/midge.pid\n`, /pid_file .*midge\.pid: cannot create/],
      ["log file", `log_dest file ${dir}/no/such/midge.log\n`, /log file .*midge\.log: cannot/],
    ];
    const conf = `${dir}/broker.conf`;
    for (const [what, text, reason] of cases) {
      await Deno.writeTextFile(conf, `allow_anonymous true\n${text}`);
      const checked = await runMidge(["-c", conf, "--test-config"]);
      assert.equal(checked.code, 1, `${what}: ${checked.stdout}${checked.stderr}`);
      assert.match(checked.stderr, reason, what);
      assert.match(checked.stderr, /1 problem with the files it names; .* not valid\./, what);
      assert.notEqual(await exitStatus("midge", conf), 0, `${what}: a start fails too`);
    }
    // Everything in place: valid, and nothing was written (no store, no pid file). A password
    // line a start leaves out (and logs) is shown, but a start goes on, so the file is valid.
    await Deno.writeTextFile(`${dir}/passwords`, "no colon here\n");
    await Deno.writeTextFile(
      conf,
      `persistence true\npersistence_location ${dir}/\npid_file ${dir}/midge.pid\n` +
        `password_file ${dir}/passwords\n` + tls(certs.server.cert, certs.server.key),
    );
    const valid = await runMidge(["-c", conf, "--test-config"]);
    assert.equal(valid.code, 0, valid.stderr);
    assert.match(valid.stderr, /^warning: .*passwords:1: No ':' after the username, /m);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["bad.acl", "broker.conf", "junk.pem", "passwords"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(certs.dir, { recursive: true });
  }
});

Deno.test("a warning is logged with Mosquitto's 'Warning: ' prefix, a bad password line with 'Error: '", async () => {
  const dir = await Deno.makeTempDir();
  const passwords = `${dir}/passwords`;
  await Deno.writeTextFile(passwords, "no colon here\nu:$6$abc\n");
  const midge = await startLoggedMidge(
    `per_listener_settings true\nlistener ${freePort()} 127.0.0.1\nallow_anonymous false\n` +
      `listener ${freePort()} 127.0.0.1\npassword_file ${passwords}\n`,
  );
  try {
    const log = await midge.log();
    assert.match(log, /^\d+: Warning: allow_anonymous is false on port \d+ and there is no /m);
    assert.match(log, /^\d+: Warning: .*passwords:1: No ':' after the username, ignoring line\.$/m);
    assert.match(log, /^\d+: Error: .*passwords:2: Unable to decode password salt for user u, /m);
  } finally {
    await midge.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Write `bytes` to 127.0.0.1:`port`, then read until the broker closes or `waitMs` pass. */
async function talk(port: number, bytes: Uint8Array[], waitMs = 300): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    for (const b of bytes) await conn.write(b);
    const buf = new Uint8Array(4096);
    const timer = setTimeout(() => conn.close(), waitMs);
    try {
      while (await conn.read(buf) !== null) { /* what the broker answers is not the point */ }
      clearTimeout(timer);
      conn.close();
    } catch {
      // closed by the timer
    }
  } catch {
    conn.close();
  }
  await sleep(150); // the broker's line for this client, before the next one's
}

/** CONNECT bytes of `version` for `clientId`, with `keepAlive` and an optional will payload. */
function connectBytes(
  version: 3 | 4 | 5,
  clientId: string,
  options: { keepAlive?: number; willPayload?: number } = {},
): Uint8Array {
  const will = options.willPayload === undefined ? undefined : {
    topic: "w",
    payload: new Uint8Array(options.willPayload),
    qos: 0 as const,
    retain: false,
  };
  return encodePacket({
    type: "connect",
    protocolVersion: version,
    clientId,
    clean: true,
    keepAlive: options.keepAlive ?? 60,
    ...(will === undefined ? {} : { will }),
  }, version);
}

/** Each case: the bytes a client sends, and how long it stays (ms). */
const CLOSE_CASES: [Uint8Array[], number?][] = [
  [[hexBytes("30 04 00 01 61 78")]], // PUBLISH before CONNECT
  [[]], // a socket that closes before CONNECT
  [[connectBytes(4, "lost")]], // closes after CONNECT without DISCONNECT
  // Keep alive runs out: Midge closes at 1.5 s, Mosquitto 2.0.11 checks every 5 s or so.
  [[connectBytes(4, "ka", { keepAlive: 1 })], 8000],
  [[connectBytes(5, "wild"), hexBytes("30 06 00 03 61 2f 23 00")]], // a wildcard topic name
  [[connectBytes(4, "malf"), hexBytes("36 05 00 01 61 00 01")]], // QoS 3
  [[connectBytes(5, "dup"), hexBytes("30 0c 00 01 61 08 03 00 01 62 03 00 01 63")]],
  [[
    connectBytes(4, "reuse"),
    hexBytes("34 06 00 01 61 00 07 78"), // QoS 2, id 7, "x"
    hexBytes("34 06 00 01 61 00 07 79"), // id 7 again, "y", before PUBREL
  ]],
  [[connectBytes(4, "bigwill", { willPayload: 50 })]], // over message_size_limit 10
];

/** The lines of `log` that say how a client's connection ended, without timestamps. */
function closeLines(log: string): string[] {
  return log.split("\n").map((line) => line.replace(/^\d+: /, ""))
    .filter((line) => /^(Client |Bad socket |Reused message )/.test(line));
}

interopTest({
  name:
    "how connections end is logged in Mosquitto's words: before CONNECT, lost, keep alive, protocol errors, a repeated property, a reused id, a will too large",
  needs: [MOSQUITTO_BROKER],
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const logs = await logsOfBoth(
        dir,
        (port) => `listener ${port} 127.0.0.1\nallow_anonymous true\nmessage_size_limit 10\n`,
        async (port) => {
          await sleep(150);
          for (const [bytes, waitMs] of CLOSE_CASES) await talk(port, bytes, waitMs);
        },
        closeLines,
      );
      const closed = "Client <unknown> closed its connection.";
      assert.deepEqual(logs.mosquitto, [
        closed, // `listening`'s probe
        "Client <unknown> disconnected due to protocol error.",
        closed,
        "Client lost closed its connection.",
        "Client ka has exceeded timeout, disconnecting.",
        "Client wild disconnected due to protocol error.",
        "Client malf disconnected due to malformed packet.",
        "Bad socket read/write on client dup: Duplicate property in property list",
        "Reused message ID 7 from reuse detected. Clearing from storage.",
        "Client reuse closed its connection.",
        "Client <unknown> disconnected due to oversize payload.",
      ], "Mosquitto's lines");
      assert.deepEqual(logs.midge, logs.mosquitto);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Clients of each protocol version connected to 127.0.0.1:`port`. */
async function connectedClients(port: number): Promise<RawClient[]> {
  const clients = [];
  for (const version of [5, 4, 3] as const) {
    const { client, connack } = await connect(port, {
      protocolVersion: version,
      clientId: `v${version}`,
    });
    assert.equal(connack.reasonCode, 0);
    clients.push(client);
  }
  return clients;
}

interopTest({
  name:
    "SIGTERM and SIGINT close 5.0, 3.1.1 and 3.1 clients without DISCONNECT, as Mosquitto does (MQTT 5.0 §3.14: the server may send one)",
  needs: [MOSQUITTO_BROKER],
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      for (const broker of ["mosquitto", "midge"] as const) {
        for (const signal of ["SIGTERM", "SIGINT"] as const) {
          const port = freePort();
          const conf = `${dir}/${broker}.conf`;
          await Deno.writeTextFile(
            conf,
            `user root\nlistener ${port} 127.0.0.1\nallow_anonymous true\n`,
          );
          const child = spawnBroker(broker, ["-c", conf]);
          const clients: RawClient[] = [];
          try {
            assert.ok(await listening(child, port), `${broker} listens`);
            clients.push(...await connectedClients(port));
            child.kill(signal);
            for (const [i, client] of clients.entries()) {
              await client.expectClosed(5000);
              assert.deepEqual(client.takeAll(), [], `${broker}, ${signal}, client ${i}`);
            }
            assert.equal((await child.status).code, 0, `${broker}, ${signal}`);
          } finally {
            for (const client of clients) await client.close();
            await stop(child);
          }
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
