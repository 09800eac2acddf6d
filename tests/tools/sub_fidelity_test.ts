/**
 * `midge sub` next to `mosquitto_sub` where the broker's timing decides what a client sees:
 * a SUBACK and a retained message arriving in one read (`-E`, `-d`, `-C`), a broker that
 * restarts (reconnection, resubscription, `-C` counted across), and a 5.0 broker's DISCONNECT.
 * Both tools run in the same test against the same broker; their outputs must be equal.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  decodePacket,
  encodePacket,
  FrameReader,
  type Packet,
  type ProtocolVersion,
} from "../../src/codec/mod.ts";
import { interopTest, MOSQUITTO_CLIENTS } from "../interop/helpers.ts";
import { startLoggedMidge } from "../fixtures/midge_process.ts";
import { accepts } from "../fixtures/net.ts";
import { connect } from "../integration/harness.ts";
import {
  type BrokerConfig,
  freePort,
  hostArgs,
  type Impl,
  MOSQUITTO_BIN,
  MOSQUITTO_BROKER,
  mosquittoConfig,
  MqttPeer,
  outcome,
  sleep,
  spawnTool,
  startMosquitto,
  type ToolProcess,
  type ToolResult,
} from "./harness.ts";

/**
 * midge sub's outcome is mosquitto_sub's `expected` one, but for the client name in -d lines
 * (each tool runs with its own name as client id).
 */
function assertSameOutcome(midge: ToolResult, expected: ReturnType<typeof outcome>): void {
  assert.deepEqual(outcome(midge), {
    ...expected,
    stdout: expected.stdout.replaceAll("Client mosquitto", "Client midge"),
  });
}

/**
 * A broker that answers CONNECT with CONNACK and SUBSCRIBE with its SUBACK followed by a
 * retained PUBLISH on `r/1` in the same write, for every connection, and notes each packet
 * it gets.
 */
class OneWriteBroker {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** The packet types received, per connection. */
  readonly received: string[][] = [];
  #listener: Deno.TcpListener;
  #conns = new Set<Deno.TcpConn>();
  #served: Promise<void>[] = [];
  #accepting: Promise<void>;

  constructor() {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#accepting = this.#accept();
  }

  async #accept(): Promise<void> {
    for (let n = 0; n < 20; n++) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // closed
      }
      this.#conns.add(conn);
      this.#served.push(this.#serve(conn));
    }
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    const seen: string[] = [];
    this.received.push(seen);
    const reader = new FrameReader();
    const buf = new Uint8Array(4096);
    let version: ProtocolVersion = 4;
    try {
      for (let reads = 0; reads < 100; reads++) {
        const n = await conn.read(buf);
        if (n === null) break;
        reader.push(buf.subarray(0, n));
        for (let frame = reader.next(); frame !== null; frame = reader.next()) {
          const bytes = frame.slice();
          if (seen.length === 0) version = bytes[8] as ProtocolVersion; // CONNECT's level
          const packet = decodePacket(bytes, version);
          seen.push(packet.type);
          if (packet.type === "connect") {
            await conn.write(encodePacket(connack(), version));
          } else if (packet.type === "subscribe") {
            const suback = encodePacket({
              type: "suback",
              packetId: packet.packetId,
              reasonCodes: [0],
            }, version);
            const retained = encodePacket({
              type: "publish",
              topic: "r/1",
              payload: new TextEncoder().encode("kept"),
              qos: 0,
              retain: true,
              dup: false,
            }, version);
            await conn.write(new Uint8Array([...suback, ...retained]));
          }
        }
      }
    } catch {
      // the tool went away
    } finally {
      this.#conns.delete(conn);
      conn.close();
    }
  }

  /** Stop listening and close every connection. */
  async close(): Promise<void> {
    this.#listener.close();
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // closed by its own loop
      }
    }
    await this.#accepting;
    await Promise.all(this.#served);
  }
}

function connack(): Packet {
  return { type: "connack", sessionPresent: false, reasonCode: 0 };
}

/** Run sub of `impl` to its end against `port` with `args`. */
async function runSub(impl: Impl, port: number, args: string[]) {
  const sub = spawnTool(impl, "sub", [...hostArgs(port), ...args]);
  return outcome(await sub.wait(10_000));
}

for (
  const [args, expected] of [
    [["-E"], { code: 0, stdout: "", stderr: "" }],
    [["-E", "-d"], {
      code: 0,
      stdout: [
        "Client e sending CONNECT",
        "Client e received CONNACK (0)",
        "Client e sending SUBSCRIBE (Mid: 1, Topic: r/#, QoS: 0, Options: 0x00)",
        "Client e received SUBACK",
        "Subscribed (mid: 1): 0",
        "Client e sending DISCONNECT",
        "",
      ].join("\n"),
      stderr: "",
    }],
    [["-d", "-C", "1"], {
      code: 0,
      stdout: [
        "Client e sending CONNECT",
        "Client e received CONNACK (0)",
        "Client e sending SUBSCRIBE (Mid: 1, Topic: r/#, QoS: 0, Options: 0x00)",
        "Client e received SUBACK",
        "Subscribed (mid: 1): 0",
        "Client e received PUBLISH (d0, q0, r1, m0, 'r/1', ... (4 bytes))",
        "kept",
        "Client e sending DISCONNECT",
        "",
      ].join("\n"),
      stderr: "",
    }],
  ] as const
) {
  interopTest({
    name: `sub ${args.join(" ")} handles a SUBACK before the retained message read with it, ` +
      "as mosquitto_sub does",
    needs: [MOSQUITTO_CLIENTS],
    fn: async () => {
      const broker = new OneWriteBroker();
      try {
        const common = ["-i", "e", "-t", "r/#", ...args];
        const reference = await runSub("mosquitto", broker.port, common);
        const midge = await runSub("midge", broker.port, common);
        assert.deepEqual(reference, expected, "mosquitto_sub");
        assert.deepEqual(midge, expected, "midge sub");
        // Midge's sub ends with DISCONNECT and answers nothing after it (mosquitto_sub -E
        // prints that it sends DISCONNECT, but exits before it reaches the socket).
        assert.deepEqual(broker.received[1], ["connect", "subscribe", "disconnect"]);
      } finally {
        await broker.close();
      }
    },
  });
}

/** Mosquitto on a port of its own, to stop and start again on the same port. */
class RestartingMosquitto {
  /** Its port on 127.0.0.1. */
  readonly port = freePort();
  #dir = Deno.makeTempDirSync({ prefix: "midge-sub-restart-" });
  #child: Deno.ChildProcess | undefined;
  #starts = 0;

  /** Start it (again) as `config` says, with a fresh log; resolves once it accepts connections. */
  async start(config: BrokerConfig = {}): Promise<void> {
    // Mosquitto, started as root, writes its log as the "mosquitto" user.
    await Deno.chmod(this.#dir, 0o777);
    const conf = `${this.#dir}/mosquitto.conf`;
    await Deno.writeTextFile(conf, mosquittoConfig(this.port, this.#log(++this.#starts), config));
    await Deno.chmod(conf, 0o644);
    this.#child = new Deno.Command(MOSQUITTO_BIN, {
      args: ["-c", conf],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    for (let i = 0; i < 250 && !(await accepts(this.port)); i++) await sleep(20);
  }

  #log(start: number): string {
    return `${this.#dir}/mosquitto-${start}.log`;
  }

  /** Wait until the current run logged the subscription `<id> <qos> <filter>`. */
  async subscribed(line: string): Promise<void> {
    for (let i = 0; i < 250; i++) {
      const log = await Deno.readTextFile(this.#log(this.#starts)).catch(() => "");
      if (log.split("\n").includes(line)) return;
      await sleep(20);
    }
    throw new Error(`Mosquitto did not log "${line}"`);
  }

  /** Stop it (SIGTERM) and wait for it to exit. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined) return;
    child.kill("SIGTERM");
    await child.status;
  }

  /** Stop it and remove its files. */
  async close(): Promise<void> {
    await this.stop();
    await Deno.remove(this.#dir, { recursive: true });
  }
}

/** Publish `payload` on `topic` at QoS 1 from a fresh peer. */
async function publishOnce(port: number, topic: string, payload: string): Promise<void> {
  const peer = await MqttPeer.connect(port);
  try {
    await peer.publish(topic, payload, { qos: 1 });
  } finally {
    await peer.close();
  }
}

for (
  const args of [
    ["-v", "-C", "2"],
    ["-d", "-v", "-C", "2"],
    ["-d", "-c", "-q", "1", "-V", "5", "-x", "60", "-v", "-C", "2"],
  ]
) {
  const qos = args.includes("-q") ? 1 : 0;
  interopTest({
    name: `sub ${args.join(" ")} reconnects after the broker restarts and resubscribes, ` +
      "as mosquitto_sub does",
    needs: [MOSQUITTO_CLIENTS, MOSQUITTO_BROKER],
    fn: async () => {
      const broker = new RestartingMosquitto();
      const tools: ToolProcess[] = [];
      try {
        await broker.start();
        for (const impl of ["mosquitto", "midge"] as const) {
          tools.push(
            spawnTool(impl, "sub", [...hostArgs(broker.port), "-i", impl, "-t", "a/#", ...args]),
          );
        }
        const subscribed = () =>
          Promise.all(
            tools.map((_, i) => broker.subscribed(`${i === 0 ? "mosquitto" : "midge"} ${qos} a/#`)),
          );
        await subscribed();
        await publishOnce(broker.port, "a/1", "before");
        for (const tool of tools) {
          await tool.waitUntil(() => tool.stdoutText().includes("before"), "before");
        }
        await broker.stop();
        // Down for more than the 1 s between attempts: at least one attempt is refused.
        await sleep(1500);
        for (const tool of tools) assert.equal(tool.exited, false, tool.describe());
        await broker.start();
        await subscribed();
        await publishOnce(broker.port, "a/1", "after");
        const [reference, midge] = await Promise.all(tools.map((t) => t.wait(10_000)));
        const expected = outcome(reference);
        assert.match(expected.stdout, /a\/1 before\n(.*\n)*a\/1 after\n/);
        assert.equal(expected.code, 0);
        assertSameOutcome(midge, expected);
      } finally {
        await Promise.all(tools.map((t) => t.kill("SIGKILL")));
        await broker.close();
      }
    },
  });
}

interopTest({
  name: "sub -V 5 -d exits 0 when a 5.0 broker sends DISCONNECT, as mosquitto_sub does",
  needs: [MOSQUITTO_CLIENTS],
  fn: async () => {
    const port = freePort();
    const midgeBroker = await startLoggedMidge(
      `listener ${port} 127.0.0.1\nallow_anonymous true\n`,
    );
    const tools: ToolProcess[] = [];
    try {
      for (const impl of ["mosquitto", "midge"] as const) {
        tools.push(
          spawnTool(impl, "sub", [...hostArgs(port), "-i", impl, "-t", "a", "-V", "5", "-d"]),
        );
      }
      // mosquitto_sub's -d lines reach a pipe only when it exits: wait for the broker's log.
      for (let i = 0;; i++) {
        const log = await midgeBroker.log();
        if (tools.every((_, n) => log.includes(`: ${n === 0 ? "mosquitto" : "midge"} 0 a\n`))) {
          break;
        }
        if (i === 250) throw new Error(`no subscriptions in Midge's log:\n${log}`);
        await sleep(20);
      }
      // A connection with the same client id takes each session over: DISCONNECT 0x8E.
      const takers = [];
      for (const id of ["mosquitto", "midge"]) {
        takers.push((await connect(port, { protocolVersion: 5, clientId: id })).client);
      }
      const [reference, midge] = await Promise.all(tools.map((t) => t.wait(10_000)));
      await Promise.all(takers.map((c) => c.close()));
      const expected = outcome(reference);
      assert.match(expected.stdout, /\nReceived DISCONNECT \(142\)\n$/);
      assert.equal(expected.code, 0);
      assertSameOutcome(midge, expected);
    } finally {
      await Promise.all(tools.map((t) => t.kill("SIGKILL")));
      await midgeBroker.close();
    }
  },
});

interopTest({
  name: "sub -U sends one UNSUBSCRIBE per filter right after SUBSCRIBE, as mosquitto_sub does",
  needs: [MOSQUITTO_CLIENTS, MOSQUITTO_BROKER],
  fn: async () => {
    const broker = await startMosquitto();
    try {
      const args = ["-i", "u", "-t", "a", "-t", "b", "-U", "a", "-U", "b", "-d", "-W", "1"];
      const reference = await runSub("mosquitto", broker.port, args);
      const midge = await runSub("midge", broker.port, args);
      assert.match(
        reference.stdout,
        /\(Mid: 1, Topic: b,.*\n.*UNSUBSCRIBE \(Mid: 2, Topic: a\)\n.*UNSUBSCRIBE \(Mid: 3, Topic: b\)\n.*received SUBACK\n/,
      );
      assert.deepEqual(midge, reference);
    } finally {
      await broker.stop();
    }
  },
});

interopTest({
  name: "sub -d reports a refusal met when reconnecting and exits with its code, as mosquitto_sub",
  needs: [MOSQUITTO_CLIENTS, MOSQUITTO_BROKER],
  fn: async () => {
    const broker = new RestartingMosquitto();
    const tools: ToolProcess[] = [];
    try {
      await broker.start();
      for (const impl of ["mosquitto", "midge"] as const) {
        tools.push(spawnTool(impl, "sub", [...hostArgs(broker.port), "-i", impl, "-t", "a", "-d"]));
      }
      await Promise.all(["mosquitto", "midge"].map((id) => broker.subscribed(`${id} 0 a`)));
      await broker.stop();
      await broker.start({ allowAnonymous: false });
      const [reference, midge] = await Promise.all(tools.map((t) => t.wait(10_000)));
      const expected = outcome(reference);
      assert.deepEqual(expected, {
        code: 5,
        stdout: [
          "Client mosquitto sending CONNECT",
          "Client mosquitto received CONNACK (0)",
          "Client mosquitto sending SUBSCRIBE (Mid: 1, Topic: a, QoS: 0, Options: 0x00)",
          "Client mosquitto received SUBACK",
          "Subscribed (mid: 1): 0",
          "Client mosquitto sending CONNECT",
          "Client mosquitto received CONNACK (5)",
          "Client mosquitto sending DISCONNECT",
          "",
        ].join("\n"),
        stderr: "Connection error: Connection Refused: not authorised.\n",
      });
      assertSameOutcome(midge, expected);
    } finally {
      await Promise.all(tools.map((t) => t.kill("SIGKILL")));
      await broker.close();
    }
  },
});
