/**
 * `pub` (mosquitto_pub / midge pub) against both brokers: each way of giving the payload (-m,
 * -f, -n, -s, -l) at each QoS, retained messages, --repeat, v5 properties, -d output, what
 * reaches the CONNECT, connection failures and usage errors; that QoS 1 and 2 wait for their
 * acknowledgements (against a scripted broker). An in-process peer subscribed before each run
 * checks what arrived. (10,000 lines through `pub -l` are in stream_test.ts.)
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  ALICE_SECRET,
  freePort,
  type MqttPeer,
  outcome,
  type Received,
  ScriptedBroker,
  toolMatrix,
  toolOnlyTest,
  type ToolProcess,
} from "./harness.ts";

const encoder = new TextEncoder();

const SILENT_SUCCESS = { code: 0, stdout: "", stderr: "" };

/** The next message of `observer`; fails at once if `tool` exits unsuccessfully first. */
async function receiveWhileRunning(observer: MqttPeer, tool: ToolProcess): Promise<Received[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return await observer.receive(1, 100);
    } catch (error) {
      if (tool.exited && tool.code !== 0) throw new Error(`it failed\n${tool.describe()}`);
      if (Date.now() > deadline) throw error;
    }
  }
}

for (const qos of [0, 1, 2] as const) {
  toolMatrix({
    name: `pub -m -q ${qos} delivers one message at QoS ${qos} and exits 0 silently`,
    tool: "pub",
    fn: async (ctx) => {
      const observer = await ctx.peer();
      await observer.subscribe("p/t", 2);
      const exit = await ctx.run("pub", [...ctx.host, "-t", "p/t", "-m", "hello", "-q", `${qos}`]);
      assert.deepEqual(outcome(exit), SILENT_SUCCESS);
      const [m] = await observer.receive(1);
      assert.deepEqual([m.topic, m.text, m.qos, m.retain], ["p/t", "hello", qos, false]);
      await observer.expectNoMessage(200);
    },
  });
}

toolMatrix({
  name: "pub -f FILE sends the whole file, binary and all, as one message",
  tool: "pub",
  fn: async (ctx) => {
    const bytes = new Uint8Array(70_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 8)) & 0xff;
    const file = await Deno.makeTempFile({ prefix: "midge-pub-" });
    ctx.defer(() => Deno.remove(file));
    await Deno.writeFile(file, bytes);
    const observer = await ctx.peer();
    await observer.subscribe("p/f", 1);
    const exit = await ctx.run("pub", [...ctx.host, "-t", "p/f", "-f", file, "-q", "1"]);
    assert.deepEqual(outcome(exit), SILENT_SUCCESS);
    const [m] = await observer.receive(1);
    assert.equal(m.payload.length, bytes.length);
    assert.ok(m.payload.every((b, i) => b === bytes[i]), "payload differs from the file");
  },
});

toolMatrix({
  name: "pub -n and pub -m '' send a zero-length message",
  tool: "pub",
  fn: async (ctx) => {
    const observer = await ctx.peer();
    await observer.subscribe("p/n", 1);
    assert.deepEqual(
      outcome(await ctx.run("pub", [...ctx.host, "-t", "p/n", "-n"])),
      SILENT_SUCCESS,
    );
    assert.deepEqual(
      outcome(await ctx.run("pub", [...ctx.host, "-t", "p/n", "-m", "", "-q", "1"])),
      SILENT_SUCCESS,
    );
    const got = await observer.receive(2);
    assert.deepEqual(got.map((m) => [m.topic, m.payload.length, m.qos]), [["p/n", 0, 0], [
      "p/n",
      0,
      1,
    ]]);
  },
});

toolMatrix({
  name: "pub -s sends all of stdin, newlines and binary bytes included, as one message",
  tool: "pub",
  fn: async (ctx) => {
    const input = new Uint8Array([
      ...encoder.encode("line one\nline two\r\n"),
      ...[0, 1, 2, 0xfe, 0xff],
      ...encoder.encode("\n\nend"),
    ]);
    const observer = await ctx.peer();
    await observer.subscribe("p/s", 2);
    const exit = await ctx.run("pub", [...ctx.host, "-t", "p/s", "-s", "-q", "2"], {
      stdin: input,
    });
    assert.deepEqual(outcome(exit), SILENT_SUCCESS);
    const [m] = await observer.receive(1);
    assert.deepEqual(m.payload, input);
    assert.equal(m.qos, 2);
  },
});

for (const qos of [0, 1, 2] as const) {
  toolMatrix({
    name: `pub -l -q ${qos} sends one message per line: empty lines as empty messages, a ` +
      `carriage return kept, the last line without a newline too`,
    tool: "pub",
    fn: async (ctx) => {
      const observer = await ctx.peer();
      await observer.subscribe("p/l", 2);
      const exit = await ctx.run("pub", [...ctx.host, "-t", "p/l", "-l", "-q", `${qos}`], {
        stdin: "one\n\ntwo\r\nthree",
      });
      assert.deepEqual(outcome(exit), SILENT_SUCCESS);
      const got = await observer.receive(4);
      assert.deepEqual(got.map((m) => [m.text, m.qos]), [
        ["one", qos],
        ["", qos],
        ["two\r", qos],
        ["three", qos],
      ]);
      await observer.expectNoMessage(200);
    },
  });
}

toolMatrix({
  name: "pub -l sends lines longer than 64 KiB whole",
  tool: "pub",
  fn: async (ctx) => {
    const observer = await ctx.peer();
    await observer.subscribe("p/long", 1);
    const long = "x".repeat(100_000);
    const exit = await ctx.run("pub", [...ctx.host, "-t", "p/long", "-l", "-q", "1"], {
      stdin: `short\n${long}\nlast\n`,
    });
    assert.deepEqual(outcome(exit), SILENT_SUCCESS);
    const got = await observer.receive(3);
    assert.deepEqual(got.map((m) => m.payload.length), [5, 100_000, 4]);
    assert.equal(got[1].text, long);
  },
});

toolMatrix({
  name: "pub -r retains the message for later subscribers; pub -r -n clears it",
  tool: "pub",
  fn: async (ctx) => {
    const args = [...ctx.host, "-t", "p/r", "-r"];
    assert.deepEqual(
      outcome(await ctx.run("pub", [...args, "-m", "kept", "-q", "1"])),
      SILENT_SUCCESS,
    );
    const later = await ctx.peer({ clientId: "later" });
    await later.subscribe("p/r", 1);
    const [m] = await later.receive(1);
    assert.deepEqual([m.text, m.retain, m.qos], ["kept", true, 1]);
    assert.deepEqual(outcome(await ctx.run("pub", [...args, "-n"])), SILENT_SUCCESS);
    // The live clearing message reaches the existing subscriber with retain clear.
    const [cleared] = await later.receive(1);
    assert.deepEqual([cleared.payload.length, cleared.retain], [0, false]);
    const after = await ctx.peer({ clientId: "after" });
    await after.subscribe("p/r", 1);
    await after.expectNoMessage(300);
  },
});

toolMatrix({
  name: "pub --repeat 3 --repeat-delay 0.3 sends the message 3 times, 0.3 s apart",
  tool: "pub",
  fn: async (ctx) => {
    const observer = await ctx.peer();
    await observer.subscribe("p/rep", 1);
    const pub = ctx.spawn("pub", [
      ...[...ctx.host, "-t", "p/rep", "-m", "again", "-q", "1"],
      ...["--repeat", "3", "--repeat-delay", "0.3"],
    ]);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [m] = await receiveWhileRunning(observer, pub);
      assert.equal(m.text, "again");
      times.push(Date.now());
    }
    const exit = await pub.wait();
    assert.deepEqual(outcome(exit), SILENT_SUCCESS);
    await observer.expectNoMessage(200);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    assert.ok(gaps.every((g) => g > 250 && g < 1000), `gaps ${gaps}`);
  },
});

toolMatrix({
  name: "pub --repeat 5 without a delay sends the message 5 times",
  tool: "pub",
  fn: async (ctx) => {
    const observer = await ctx.peer();
    await observer.subscribe("p/rep", 1);
    const exit = await ctx.run("pub", [...ctx.host, "-t", "p/rep", "-m", "m", "--repeat", "5"]);
    assert.deepEqual(outcome(exit), SILENT_SUCCESS);
    assert.equal((await observer.receive(5)).length, 5);
    await observer.expectNoMessage(200);
  },
});

toolMatrix({
  name: "pub -V 5 -D publish ... sends the properties",
  tool: "pub",
  fn: async (ctx) => {
    const observer = await ctx.peer();
    await observer.subscribe("p/props", 1);
    const exit = await ctx.run("pub", [
      ...[...ctx.host, "-V", "5", "-t", "p/props", "-m", "pay", "-q", "1"],
      ...["-D", "publish", "user-property", "k", "v", "-D", "publish", "user-property", "k", "2"],
      ...["-D", "publish", "content-type", "text/plain"],
      ...["-D", "publish", "response-topic", "resp/t"],
      ...["-D", "publish", "correlation-data", "c-1"],
      ...["-D", "publish", "message-expiry-interval", "3600"],
      ...["-D", "publish", "payload-format-indicator", "1"],
    ]);
    assert.deepEqual(outcome(exit), SILENT_SUCCESS);
    const [m] = await observer.receive(1);
    const p = m.properties ?? {};
    assert.deepEqual(p.userProperties, [["k", "v"], ["k", "2"]]);
    assert.equal(p.contentType, "text/plain");
    assert.equal(p.responseTopic, "resp/t");
    assert.equal(new TextDecoder().decode(p.correlationData), "c-1");
    assert.ok(p.messageExpiryInterval === 3600 || p.messageExpiryInterval === 3599);
    assert.equal(p.payloadFormatIndicator, 1);
  },
});

toolMatrix({
  name: "pub -V 31 -i -k -c: the protocol level, client id, keep alive and clean flag reach " +
    "the broker; without -i the broker assigns auto-<UUID>",
  tool: "pub",
  fn: async (ctx) => {
    const exit = await ctx.run("pub", [
      ...[...ctx.host, "-V", "31", "-i", "old-one", "-k", "30", "-c", "-t", "p/x", "-m", "x"],
    ]);
    assert.deepEqual(outcome(exit), SILENT_SUCCESS);
    await ctx.logged(/ as old-one \(p1, c0, k30\)\.$/);
    for (const [version, p] of [["311", "p2"], ["5", "p5"]]) {
      const anon = await ctx.run("pub", [...ctx.host, "-V", version, "-t", "p/x", "-m", "x"]);
      assert.deepEqual(outcome(anon), SILENT_SUCCESS);
      await ctx.logged(new RegExp(` as auto-[0-9A-F-]{36} \\(${p}, c1, k60\\)\\.$`));
    }
  },
});

toolMatrix({
  name: "pub with only -p connects to localhost",
  tool: "pub",
  fn: async (ctx) => {
    const observer = await ctx.peer();
    await observer.subscribe("p/local", 0);
    const exit = await ctx.run("pub", ["-p", String(ctx.broker.port), "-t", "p/local", "-m", "l"]);
    assert.deepEqual(outcome(exit), SILENT_SUCCESS);
    assert.equal((await observer.receive(1))[0].text, "l");
  },
});

// -d: libmosquitto's debug lines, on stdout.
const DEBUG_GOLDENS: [string, string[], string][] = [
  ["-q 0", ["-q", "0"], "Client p1 sending PUBLISH (d0, q0, r0, m1, 'p/d', ... (5 bytes))\n"],
  [
    "-q 1",
    ["-q", "1"],
    "Client p1 sending PUBLISH (d0, q1, r0, m1, 'p/d', ... (5 bytes))\n" +
    "Client p1 received PUBACK (Mid: 1, RC:0)\n",
  ],
  [
    "-q 2 -r",
    ["-q", "2", "-r"],
    "Client p1 sending PUBLISH (d0, q2, r1, m1, 'p/d', ... (5 bytes))\n" +
    "Client p1 received PUBREC (Mid: 1)\n" +
    "Client p1 sending PUBREL (m1)\n" +
    "Client p1 received PUBCOMP (Mid: 1, RC:0)\n",
  ],
];

for (const version of ["311", "5"]) {
  for (const [what, args, publish] of DEBUG_GOLDENS) {
    toolMatrix({
      name: `pub -d -V ${version} ${what} prints each packet sent and received`,
      tool: "pub",
      fn: async (ctx) => {
        const observer = await ctx.peer();
        await observer.subscribe("p/d", 2); // a subscriber, so a v5 PUBACK says 0, not 16
        const exit = await ctx.run("pub", [
          ...[...ctx.host, "-V", version, "-i", "p1", "-t", "p/d", "-m", "hello", "-d", ...args],
        ]);
        assert.deepEqual(outcome(exit), {
          code: 0,
          stdout: "Client p1 sending CONNECT\nClient p1 received CONNACK (0)\n" + publish +
            "Client p1 sending DISCONNECT\n",
          stderr: "",
        });
      },
    });
  }
}

toolMatrix({
  name: 'pub -d without -i names the client "(null)" (the broker assigns its id)',
  tool: "pub",
  fn: async (ctx) => {
    const exit = await ctx.run("pub", [...ctx.host, "-t", "p/d", "-m", "hi", "-d"]);
    assert.deepEqual(outcome(exit), {
      code: 0,
      stdout: "Client (null) sending CONNECT\nClient (null) received CONNACK (0)\n" +
        "Client (null) sending PUBLISH (d0, q0, r0, m1, 'p/d', ... (2 bytes))\n" +
        "Client (null) sending DISCONNECT\n",
      stderr: "",
    });
  },
});

// CONNACK refusals: the exit code is the CONNACK code; 3.x and 5.0 say it differently.
const REFUSED: [string, number, string][] = [
  [
    "31",
    5,
    "Connection error: Connection Refused: not authorised.\nError: The connection was refused.\n",
  ],
  [
    "311",
    5,
    "Connection error: Connection Refused: not authorised.\nError: The connection was refused.\n",
  ],
  [
    "5",
    135,
    "Connection error: Not authorized\n" +
    "Error: A network protocol error occurred when communicating with the broker.\n",
  ],
];

for (const [version, code, stderr] of REFUSED) {
  toolMatrix({
    name: `pub -V ${version} without credentials, refused by a broker with allow_anonymous ` +
      `false, exits ${code}`,
    tool: "pub",
    broker: { allowAnonymous: false, passwordFile: [ALICE_SECRET] },
    fn: async (ctx) => {
      const exit = await ctx.run("pub", [...ctx.host, "-V", version, "-t", "x", "-m", "x"]);
      assert.deepEqual(outcome(exit), { code, stdout: "", stderr });
    },
  });
}

toolMatrix({
  name: "pub with a username but no password file is refused when allow_anonymous is false " +
    "(Mosquitto 2.0 lets nobody in then), exit 5",
  tool: "pub",
  broker: { allowAnonymous: false },
  fn: async (ctx) => {
    const exit = await ctx.run("pub", [...ctx.host, "-u", "bob", "-t", "x", "-m", "x"]);
    assert.deepEqual(outcome(exit), { code: 5, stdout: "", stderr: REFUSED[1][2] });
  },
});

toolOnlyTest({
  name: 'pub exits 1 printing "Error: Connection refused" when nothing listens on the port',
  tool: "pub",
  fn: async (ctx) => {
    const exit = await ctx.run("pub", [
      "-h",
      "127.0.0.1",
      "-p",
      `${freePort()}`,
      "-t",
      "x",
      "-m",
      "x",
    ]);
    assert.deepEqual(outcome(exit), { code: 1, stdout: "", stderr: "Error: Connection refused\n" });
  },
});

for (const qos of [1, 2] as const) {
  toolOnlyTest({
    name: `pub -q ${qos} exits only after the broker's ${qos === 1 ? "PUBACK" : "PUBCOMP"}, ` +
      "even when it comes late",
    tool: "pub",
    fn: async (ctx) => {
      const broker = new ScriptedBroker(700);
      try {
        const exit = await ctx.run("pub", [
          ...["-h", "127.0.0.1", "-p", `${broker.port}`, "-t", "x", "-m", "x", "-q", `${qos}`],
        ]);
        assert.deepEqual(outcome(exit), SILENT_SUCCESS);
        const steps = broker.steps().filter((s) => s !== "closed");
        assert.deepEqual(
          steps,
          qos === 1 ? ["CONNECT", "CONNACK sent", "PUBLISH q1", "PUBACK sent", "DISCONNECT"] : [
            "CONNECT",
            "CONNACK sent",
            "PUBLISH q2",
            "PUBREC sent",
            "PUBREL",
            "PUBCOMP sent",
            "DISCONNECT",
          ],
        );
      } finally {
        await broker.close();
      }
    },
  });
}

// Usage errors: exit 1 and the error on stderr's first line (what follows it names the
// program, which differs by design).
const USAGE_ERRORS: [string, string[], string][] = [
  ["no topic", ["-m", "x"], "Error: Both topic and message must be supplied."],
  ["no message", ["-t", "x"], "Error: Both topic and message must be supplied."],
  [
    "-m and -n",
    ["-t", "x", "-m", "a", "-n"],
    "Error: Only one type of message can be sent at once.",
  ],
  [
    "-m and -l",
    ["-t", "x", "-m", "a", "-l"],
    "Error: Only one type of message can be sent at once.",
  ],
  ["QoS 3", ["-t", "x", "-m", "a", "-q", "3"], "Error: Invalid QoS given: 3"],
  [
    "a wildcard topic",
    ["-t", "a/#", "-m", "x"],
    "Error: Invalid publish topic 'a/#', does it contain '+' or '#'?",
  ],
  ["--repeat -1", ["-t", "x", "-m", "a", "--repeat", "-1"], "Error: --repeat argument must be >0."],
  [
    "a missing -f file",
    ["-t", "x", "-f", "/nonexistent/file"],
    'Error: Unable to open file "/nonexistent/file".',
  ],
  ["-V 4", ["-t", "x", "-m", "a", "-V", "4"], "Error: Invalid protocol version argument given."],
  ["an unknown option", ["-t", "x", "-m", "a", "--bogus"], "Error: Unknown option '--bogus'."],
  [
    "a property not allowed in CONNECT",
    ["-t", "x", "-m", "a", "-D", "connect", "content-type", "x"],
    "Error: content-type property not allowed for connect in --property argument.",
  ],
];

for (const [what, args, message] of USAGE_ERRORS) {
  toolOnlyTest({
    name: `pub with ${what} exits 1 printing "${message}"`,
    tool: "pub",
    fn: async (ctx) => {
      const exit = await ctx.run("pub", ["-p", "1", ...args]);
      assert.equal(exit.stderr.split("\n")[0], message);
      assert.equal(exit.code, 1);
    },
  });
}
