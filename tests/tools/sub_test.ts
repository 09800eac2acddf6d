/**
 * `sub` (mosquitto_sub / midge sub) against both brokers: subscriptions, -C counts, -W
 * timeouts, -E, retained messages (-R, --retained-only, --remove-retained,
 * --retain-as-published), -T filters, -U, QoS, client ids, wills, signals and connection
 * failures. Messages come from an in-process peer, published only once the broker has logged
 * the tool's subscription. Output formats are in format_golden_test.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  ALICE_SECRET,
  freePort,
  outcome,
  sleep,
  text,
  type ToolContext,
  toolMatrix,
  toolOnlyTest,
  type ToolProcess,
} from "./harness.ts";

/** Start `sub` with `-i id`, one `-t` per filter and `args`; wait for its subscriptions. */
async function subscribe(
  ctx: ToolContext,
  id: string,
  filters: string[],
  args: string[] = [],
  qos = 0,
): Promise<ToolProcess> {
  const sub = ctx.spawn("sub", [
    ...ctx.host,
    "-i",
    id,
    ...filters.flatMap((f) => ["-t", f]),
    ...(qos > 0 ? ["-q", String(qos)] : []),
    ...args,
  ]);
  for (const f of filters) await ctx.subscribed(sub, id, qos, f);
  return sub;
}

toolMatrix({
  name: "sub -C 3 exits 0 after 3 messages and prints no more",
  tool: "sub",
  fn: async (ctx) => {
    const sub = await subscribe(ctx, "count", ["c/t"], ["-C", "3", "-W", "10"]);
    const peer = await ctx.peer();
    for (const m of ["one", "two", "three", "four"]) await peer.publish("c/t", m, { qos: 1 });
    const exit = await sub.wait();
    assert.equal(text(exit.stdout), "one\ntwo\nthree\n");
    assert.equal(exit.stderr, "");
    assert.equal(exit.code, 0);
  },
});

toolMatrix({
  name: "sub with -t repeated prints the messages of every filter and only those",
  tool: "sub",
  fn: async (ctx) => {
    const sub = await subscribe(ctx, "multi", ["s/a", "s/b/#", "+/c"], ["-v", "-C", "4"]);
    const peer = await ctx.peer();
    for (const t of ["s/a", "s/x", "s/b/x", "s/b", "z/c", "s/a/deeper"]) {
      await peer.publish(t, t.toUpperCase(), { qos: 1 });
    }
    const exit = await sub.wait();
    assert.equal(text(exit.stdout), "s/a S/A\ns/b/x S/B/X\ns/b S/B\nz/c Z/C\n");
    assert.equal(exit.code, 0);
  },
});

toolMatrix({
  name: 'sub -W 1 exits 27 printing "Timed out" when no message comes',
  tool: "sub",
  fn: async (ctx) => {
    const sub = await subscribe(ctx, "wait", ["w/t"], ["-W", "1"]);
    const subscribedAt = Date.now();
    const exit = await sub.wait(5000);
    assert.deepEqual({ code: exit.code, stdout: text(exit.stdout), stderr: exit.stderr }, {
      code: 27,
      stdout: "",
      stderr: "Timed out\n",
    });
    const waited = sub.exitedAt! - subscribedAt;
    assert.ok(waited > 700 && waited < 2500, `exited ${waited} ms after subscribing`);
  },
});

toolMatrix({
  name: "sub -W counts from the connection, not from the last message: -C 5 -W 2 prints " +
    "the 2 messages that came, then times out with 27",
  tool: "sub",
  fn: async (ctx) => {
    const sub = await subscribe(ctx, "wait2", ["w/t"], ["-W", "2", "-C", "5"]);
    const subscribedAt = Date.now();
    const peer = await ctx.peer();
    await sleep(600);
    await peer.publish("w/t", "first", { qos: 1 });
    await sleep(600);
    await peer.publish("w/t", "second", { qos: 1 });
    const exit = await sub.wait(6000);
    assert.equal(text(exit.stdout), "first\nsecond\n");
    assert.equal(exit.stderr, "Timed out\n");
    assert.equal(exit.code, 27);
    const waited = sub.exitedAt! - subscribedAt;
    // A timer restarted by the message at 1.2 s would end at 3.2 s.
    assert.ok(waited > 1700 && waited < 2900, `exited ${waited} ms after subscribing`);
  },
});

toolMatrix({
  name: "sub -E exits 0 once subscribed, printing nothing; with -c -q 1 the session stays " +
    "and keeps the messages for the next sub -c",
  tool: "sub",
  fn: async (ctx) => {
    const durable = [...ctx.host, "-c", "-i", "durable", "-q", "1", "-t", "e/t"];
    const first = await ctx.run("sub", [...durable, "-E"]);
    assert.deepEqual({ code: first.code, stdout: text(first.stdout), stderr: first.stderr }, {
      code: 0,
      stdout: "",
      stderr: "",
    });
    await ctx.logged("durable 1 e/t");
    const peer = await ctx.peer();
    await peer.publish("e/t", "while away 1", { qos: 1 });
    await peer.publish("e/t", "while away 2", { qos: 2 });
    const second = await ctx.run("sub", [...durable, "-C", "2", "-W", "5", "-F", "%q %p"]);
    assert.equal(text(second.stdout), "1 while away 1\n1 while away 2\n");
    assert.equal(second.code, 0);
  },
});

toolMatrix({
  name: "sub -q 0/1/2 subscribes at that QoS and gets each message at the lower of the two",
  tool: "sub",
  fn: async (ctx) => {
    const subs = [];
    for (const qos of [0, 1, 2]) {
      subs.push(await subscribe(ctx, `q${qos}`, ["q/t"], ["-C", "3", "-F", "%q %p"], qos));
    }
    const peer = await ctx.peer();
    for (const qos of [0, 1, 2] as const) await peer.publish("q/t", `p${qos}`, { qos });
    const outputs = [];
    for (const sub of subs) outputs.push(text((await sub.wait()).stdout));
    assert.deepEqual(outputs, [
      "0 p0\n0 p1\n0 p2\n",
      "0 p0\n1 p1\n1 p2\n",
      "0 p0\n1 p1\n2 p2\n",
    ]);
  },
});

toolMatrix({
  name: "sub -C counts retained messages; -F %r shows them as retained",
  tool: "sub",
  fn: async (ctx) => {
    const peer = await ctx.peer();
    await peer.publish("r/a", "A", { qos: 1, retain: true });
    await peer.publish("r/b", "B", { qos: 1, retain: true });
    const exit = await ctx.run("sub", [...ctx.host, "-t", "r/#", "-C", "2", "-F", "%r %t %p"]);
    // The order of retained messages for a wildcard is the broker's business.
    assert.deepEqual(text(exit.stdout).split("\n").toSorted(), ["", "1 r/a A", "1 r/b B"]);
    assert.equal(exit.code, 0);
  },
});

toolMatrix({
  name: "sub -R does not print (or count) retained messages",
  tool: "sub",
  fn: async (ctx) => {
    const peer = await ctx.peer();
    await peer.publish("r/a", "stale", { qos: 1, retain: true });
    const sub = await subscribe(ctx, "fresh", ["r/#"], ["-R", "-C", "1", "-v"]);
    await peer.publish("r/b", "live", { qos: 1 });
    const exit = await sub.wait();
    assert.equal(text(exit.stdout), "r/b live\n");
    assert.equal(exit.code, 0);
  },
});

toolMatrix({
  name: "sub --retained-only prints the retained messages and exits 0 at the first live one, " +
    "without printing it",
  tool: "sub",
  fn: async (ctx) => {
    const peer = await ctx.peer();
    await peer.publish("ro/a", "RA", { qos: 1, retain: true });
    await peer.publish("ro/b", "RB", { qos: 1, retain: true });
    const sub = await subscribe(ctx, "only", ["ro/#"], ["--retained-only", "-v", "-W", "5"]);
    await sub.waitForLines(2);
    await peer.publish("ro/c", "live", { qos: 1 });
    const exit = await sub.wait();
    assert.deepEqual(text(exit.stdout).split("\n").toSorted(), ["", "ro/a RA", "ro/b RB"]);
    assert.equal(exit.stderr, "");
    assert.equal(exit.code, 0);
  },
});

toolMatrix({
  name: "sub --remove-retained clears each retained message it receives, except those -T " +
    "filters out",
  tool: "sub",
  fn: async (ctx) => {
    const peer = await ctx.peer();
    for (const t of ["a", "b", "keep"]) {
      await peer.publish(`rm/${t}`, `v-${t}`, { qos: 1, retain: true });
    }
    // mosquitto_sub 2.0.11 does not stop at -C with --remove-retained (with either broker),
    // so this one ends by -W.
    const exit = await ctx.run("sub", [
      ...[...ctx.host, "-t", "rm/#", "-T", "rm/keep", "--remove-retained", "-W", "1", "-v"],
    ]);
    // Its own clearing messages come back to it as live, empty messages.
    assert.deepEqual(text(exit.stdout).split("\n").toSorted(), [
      "",
      "rm/a (null)",
      "rm/a v-a",
      "rm/b (null)",
      "rm/b v-b",
    ]);
    assert.equal(exit.code, 27);
    const check = await ctx.peer({ clientId: "check" });
    await check.subscribe("rm/#");
    const left = await check.receive(1);
    assert.deepEqual(left.map((m) => [m.topic, m.text, m.retain]), [["rm/keep", "v-keep", true]]);
    await check.expectNoMessage(300);
  },
});

toolMatrix({
  name: "sub -T filters topics out: not printed and not counted",
  tool: "sub",
  fn: async (ctx) => {
    const sub = await subscribe(ctx, "filter", ["f/#"], [
      "-T",
      "f/x",
      "-T",
      "f/y/#",
      "-v",
      "-C",
      "2",
    ]);
    const peer = await ctx.peer();
    for (const t of ["f/x", "f/y/z", "f/y", "f/a", "f/x", "f/b", "f/c"]) {
      await peer.publish(t, t.slice(2), { qos: 1 });
    }
    const exit = await sub.wait();
    assert.equal(text(exit.stdout), "f/a a\nf/b b\n");
    assert.equal(exit.code, 0);
  },
});

toolMatrix({
  name: "sub -U unsubscribes (after subscribing): a durable session stops getting that topic",
  tool: "sub",
  fn: async (ctx) => {
    const durable = [...ctx.host, "-c", "-i", "unsub", "-q", "1"];
    assert.equal((await ctx.run("sub", [...durable, "-t", "u/a", "-t", "u/b", "-E"])).code, 0);
    const second = await ctx.run("sub", [...durable, "-t", "u/c", "-U", "u/b", "-E"]);
    assert.equal(second.code, 0, second.stderr);
    await ctx.logged("unsub u/b");
    const peer = await ctx.peer();
    for (const t of ["u/a", "u/b", "u/c"]) await peer.publish(t, t.toUpperCase(), { qos: 1 });
    const third = await ctx.run("sub", [...durable, "-t", "u/c", "-v", "-C", "2", "-W", "5"]);
    assert.equal(text(third.stdout), "u/a U/A\nu/c U/C\n");
    assert.equal(third.code, 0);
  },
});

for (const rap of [false, true]) {
  toolMatrix({
    name: `sub -V 5${rap ? " --retain-as-published" : ""} gets live messages published with ` +
      `retain ${rap ? "with the retain flag kept" : "with the retain flag cleared"}`,
    tool: "sub",
    fn: async (ctx) => {
      const sub = await subscribe(ctx, "rap", ["rap/t"], [
        ...["-V", "5", "-C", "2", "-F", "%r %p"],
        ...(rap ? ["--retain-as-published"] : []),
      ]);
      const peer = await ctx.peer();
      await peer.publish("rap/t", "with retain", { qos: 1, retain: true });
      await peer.publish("rap/t", "without", { qos: 1 });
      const exit = await sub.wait();
      assert.equal(text(exit.stdout), `${rap ? 1 : 0} with retain\n0 without\n`);
    },
  });
}

toolMatrix({
  name: "sub without -i gets a client id from the broker (auto-<UUID>), in 3.1.1 and 5.0",
  tool: "sub",
  fn: async (ctx) => {
    for (const [version, p] of [["311", "p2"], ["5", "p5"]]) {
      const exit = await ctx.run("sub", [...ctx.host, "-V", version, "-t", "x", "-E"]);
      assert.equal(exit.code, 0, exit.stderr);
      await ctx.logged(
        new RegExp(
          `^New client connected from 127\\.0\\.0\\.1:\\d+ as auto-[0-9A-F-]{36} \\(${p}, c1, k60\\)\\.$`,
        ),
      );
    }
  },
});

toolMatrix({
  name: "sub -I prefix uses prefix + process id as its client id; -k, -c and -V 31 reach " +
    "the CONNECT",
  tool: "sub",
  fn: async (ctx) => {
    const sub = ctx.spawn("sub", [...ctx.host, "-I", "pre-", "-t", "x", "-W", "5"]);
    await ctx.logged(/ as pre-\d+ \(p2, c1, k60\)\.$/, { process: sub });
    await sub.kill();
    const old = await ctx.run("sub", [
      ...ctx.host,
      "-V",
      "31",
      "-k",
      "30",
      "-c",
      "-i",
      "k",
      "-t",
      "x",
      "-E",
    ]);
    assert.equal(old.code, 0, old.stderr);
    await ctx.logged(/ as k \(p1, c0, k30\)\.$/);
  },
});

toolMatrix({
  name: "sub --will-*: the will reaches other clients when sub is killed, retained and at its QoS",
  tool: "sub",
  fn: async (ctx) => {
    const watcher = await ctx.peer({ clientId: "watcher" });
    await watcher.subscribe("will/#", 2);
    const victim = await subscribe(ctx, "victim", ["x"], [
      ...["--will-topic", "will/victim", "--will-payload", "gone", "--will-qos", "1"],
      "--will-retain",
      ...["-W", "10"],
    ]);
    await victim.kill("SIGKILL");
    const [will] = await watcher.receive(1);
    assert.deepEqual([will.topic, will.text, will.qos], ["will/victim", "gone", 1]);
    const later = await ctx.peer({ clientId: "later" });
    await later.subscribe("will/victim", 1);
    const [kept] = await later.receive(1);
    assert.deepEqual([kept.text, kept.retain], ["gone", true]);
  },
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  toolMatrix({
    name: `sub exits 0 on ${signal}, disconnecting cleanly (no will)`,
    tool: "sub",
    fn: async (ctx) => {
      const watcher = await ctx.peer({ clientId: "watcher" });
      await watcher.subscribe("will/#", 1);
      const sub = await subscribe(ctx, "sig", ["x"], ["--will-topic", "will/sig", "-W", "10"]);
      const exit = await sub.kill(signal);
      assert.deepEqual({ code: exit.code, stdout: text(exit.stdout), stderr: exit.stderr }, {
        code: 0,
        stdout: "",
        stderr: "",
      });
      await ctx.logged("Client sig disconnected.");
      await watcher.expectNoMessage(300);
    },
  });
}

for (const version of ["311", "5"]) {
  toolMatrix({
    name: `sub -d -V ${version} prints each packet sent and received around the messages`,
    tool: "sub",
    fn: async (ctx) => {
      const sub = await subscribe(ctx, "s1", ["d/t"], ["-V", version, "-d", "-C", "2"], 2);
      const peer = await ctx.peer();
      await peer.publish("d/t", "hello", { qos: 1 });
      await peer.publish("d/t", "two", { qos: 2 });
      const exit = await sub.wait();
      assert.deepEqual(outcome(exit), {
        code: 0,
        stdout: [
          "Client s1 sending CONNECT",
          "Client s1 received CONNACK (0)",
          "Client s1 sending SUBSCRIBE (Mid: 1, Topic: d/t, QoS: 2, Options: 0x00)",
          "Client s1 received SUBACK",
          "Subscribed (mid: 1): 2",
          "Client s1 received PUBLISH (d0, q1, r0, m1, 'd/t', ... (5 bytes))",
          "Client s1 sending PUBACK (m1, rc0)",
          "hello",
          "Client s1 received PUBLISH (d0, q2, r0, m2, 'd/t', ... (3 bytes))",
          "Client s1 sending PUBREC (m2, rc0)",
          "Client s1 received PUBREL (Mid: 2)",
          "Client s1 sending PUBCOMP (m2)",
          "two",
          "Client s1 sending DISCONNECT",
          "",
        ].join("\n"),
        stderr: "",
      });
    },
  });
}

// CONNACK refusals: the exit code is the CONNACK code, 3.x and 5.0 say it differently.
const REFUSED: [string, number, string][] = [
  ["31", 5, "Connection error: Connection Refused: not authorised.\n"],
  ["311", 5, "Connection error: Connection Refused: not authorised.\n"],
  ["5", 135, "Connection error: Not authorized\n"],
];

for (const [version, code, stderr] of REFUSED) {
  toolMatrix({
    name: `sub -V ${version} without credentials, refused by a broker with allow_anonymous ` +
      `false, exits ${code} printing "${stderr.trim()}"`,
    tool: "sub",
    broker: { allowAnonymous: false, passwordFile: [ALICE_SECRET] },
    fn: async (ctx) => {
      const exit = await ctx.run("sub", [...ctx.host, "-V", version, "-t", "x", "-W", "5"]);
      assert.deepEqual({ code: exit.code, stdout: text(exit.stdout), stderr: exit.stderr }, {
        code,
        stdout: "",
        stderr,
      });
    },
  });
}

toolOnlyTest({
  name: 'sub exits 1 printing "Error: Connection refused" when nothing listens on the port',
  tool: "sub",
  fn: async (ctx) => {
    const port = String(freePort());
    const exit = await ctx.run("sub", ["-h", "127.0.0.1", "-p", port, "-t", "x", "-W", "5"]);
    assert.deepEqual({ code: exit.code, stdout: text(exit.stdout), stderr: exit.stderr }, {
      code: 1,
      stdout: "",
      stderr: "Error: Connection refused\n",
    });
  },
});

// Usage errors: exit 1, the error on stderr's first line.
const USAGE_ERRORS: [string, string[], string][] = [
  ["no topic", ["-C", "1"], "Error: You must specify a topic to subscribe to."],
  [
    "-c without -i",
    ["-c", "-t", "x"],
    "Error: You must provide a client id if you are using the -c option.",
  ],
  ["an unknown option", ["-t", "x", "--bogus"], "Error: Unknown option '--bogus'."],
  ["QoS 3", ["-t", "x", "-q", "3"], "Error: Invalid QoS given: 3"],
];

for (const [what, args, message] of USAGE_ERRORS) {
  toolOnlyTest({
    name: `sub with ${what} exits 1 printing "${message}"`,
    tool: "sub",
    fn: async (ctx) => {
      const exit = await ctx.run("sub", args);
      // The line after it points at --help, naming the program: it differs by design.
      assert.equal(exit.stderr.split("\n")[0], message);
      assert.equal(text(exit.stdout), "");
      assert.equal(exit.code, 1);
    },
  });
}
