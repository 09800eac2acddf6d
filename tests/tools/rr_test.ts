/**
 * `rr` (mosquitto_rr / midge rr) against both brokers: a request answered by an in-process
 * responder (v5 response topic and correlation data, or a fixed topic in 3.1.1), the output
 * options, -W timeouts, connection failures and usage errors.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  ALICE_SECRET,
  freePort,
  type MqttPeer,
  outcome,
  type ToolContext,
  toolMatrix,
  toolOnlyTest,
} from "./harness.ts";

const decoder = new TextDecoder();

/** A request as the responder saw it. */
interface Request {
  topic: string;
  text: string;
  qos: number;
  responseTopic: string | undefined;
  correlation: string | undefined;
}

/** A running responder: what it saw, and how to stop it. */
interface Responder {
  requests: Request[];
  stop(): Promise<void>;
}

/**
 * Answer every request on `topic` with "answer to <payload>" on its response topic (or on
 * `fallbackTopic` when it has none), at QoS 1, echoing the correlation data.
 */
async function respond(
  ctx: ToolContext,
  topic: string,
  options: { version?: 4 | 5; fallbackTopic?: string } = {},
): Promise<Responder> {
  const peer: MqttPeer = await ctx.peer({ clientId: "responder", version: options.version ?? 5 });
  await peer.subscribe(topic, 2);
  const requests: Request[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      let got;
      try {
        got = await peer.receive(1, 50);
      } catch {
        continue; // nothing yet
      }
      const m = got[0];
      const p = m.properties ?? {};
      const correlation = p.correlationData;
      requests.push({
        topic: m.topic,
        text: m.text,
        qos: m.qos,
        responseTopic: p.responseTopic,
        correlation: correlation === undefined ? undefined : decoder.decode(correlation),
      });
      const to = p.responseTopic ?? options.fallbackTopic;
      if (to === undefined) continue;
      await peer.publish(to, `answer to ${m.text}`, {
        qos: 1,
        properties: correlation ? { correlationData: correlation } : undefined,
      });
    }
  })();
  const stop = async () => {
    running = false;
    await loop;
  };
  ctx.defer(stop);
  return { requests, stop };
}

toolMatrix({
  name: "rr sends the request with a response topic and prints the answer, then exits 0",
  tool: "rr",
  fn: async (ctx) => {
    const responder = await respond(ctx, "rr/req");
    const exit = await ctx.run("rr", [
      ...[...ctx.host, "-t", "rr/req", "-e", "rr/resp", "-m", "question", "-W", "5"],
    ]);
    assert.deepEqual(outcome(exit), { code: 0, stdout: "answer to question\n", stderr: "" });
    assert.deepEqual(responder.requests, [{
      topic: "rr/req",
      text: "question",
      qos: 0,
      responseTopic: "rr/resp",
      correlation: undefined,
    }]);
  },
});

for (const qos of [1, 2]) {
  toolMatrix({
    name: `rr -q ${qos} -D publish correlation-data sends the request at QoS ${qos} with the ` +
      "correlation data, and -F shows the answer's",
    tool: "rr",
    fn: async (ctx) => {
      const responder = await respond(ctx, "rr/req");
      const exit = await ctx.run("rr", [
        ...[...ctx.host, "-t", "rr/req", "-e", "rr/resp", "-m", "q", "-q", `${qos}`, "-W", "5"],
        ...["-D", "publish", "correlation-data", "c-42", "-F", "%t|%p|%q|%D"],
      ]);
      assert.deepEqual(outcome(exit), {
        code: 0,
        stdout: `rr/resp|answer to q|1|c-42\n`,
        stderr: "",
      });
      assert.deepEqual(responder.requests.map((r) => [r.qos, r.correlation]), [[qos, "c-42"]]);
    },
  });
}

toolMatrix({
  name: 'rr -v prints "topic payload"; -N prints no newline',
  tool: "rr",
  fn: async (ctx) => {
    await respond(ctx, "rr/req");
    const base = [...ctx.host, "-t", "rr/req", "-e", "rr/resp", "-m", "x", "-W", "5"];
    assert.deepEqual(outcome(await ctx.run("rr", [...base, "-v"])), {
      code: 0,
      stdout: "rr/resp answer to x\n",
      stderr: "",
    });
    assert.deepEqual(outcome(await ctx.run("rr", [...base, "-N"])), {
      code: 0,
      stdout: "answer to x",
      stderr: "",
    });
  },
});

toolMatrix({
  name: "rr -V 311 sends the request without properties and prints what comes on -e",
  tool: "rr",
  fn: async (ctx) => {
    const responder = await respond(ctx, "rr/req", { version: 4, fallbackTopic: "rr/fixed" });
    const exit = await ctx.run("rr", [
      ...[...ctx.host, "-V", "311", "-t", "rr/req", "-e", "rr/fixed", "-m", "old", "-W", "5"],
    ]);
    assert.deepEqual(outcome(exit), { code: 0, stdout: "answer to old\n", stderr: "" });
    assert.deepEqual(responder.requests.map((r) => [r.text, r.responseTopic]), [[
      "old",
      undefined,
    ]]);
    await ctx.logged(/ as auto-[0-9A-F-]{36} \(p2, c1, k60\)\.$/);
  },
});

toolMatrix({
  name: 'rr -W 1 exits 27 printing "Timed out" when no answer comes',
  tool: "rr",
  fn: async (ctx) => {
    const started = Date.now();
    const exit = await ctx.run("rr", [
      ...ctx.host,
      "-t",
      "rr/req",
      "-e",
      "rr/resp",
      "-m",
      "x",
      "-W",
      "1",
    ]);
    assert.deepEqual(outcome(exit), { code: 27, stdout: "", stderr: "Timed out\n" });
    const took = Date.now() - started;
    assert.ok(took > 800 && took < 4000, `took ${took} ms`);
  },
});

// CONNACK refusals. mosquitto_rr words a 3.x refusal as the 5.0 reason code of the same
// number ("Unknown reason" for 5).
const REFUSED: [string, number, string][] = [
  ["311", 5, "Connection error: Unknown reason\n"],
  ["5", 135, "Connection error: Not authorized\n"],
];

for (const [version, code, stderr] of REFUSED) {
  toolMatrix({
    name: `rr -V ${version} without credentials, refused by a broker with allow_anonymous ` +
      `false, exits ${code}`,
    tool: "rr",
    broker: { allowAnonymous: false, passwordFile: [ALICE_SECRET] },
    fn: async (ctx) => {
      const exit = await ctx.run("rr", [
        ...[...ctx.host, "-V", version, "-t", "x", "-e", "y", "-m", "x", "-W", "5"],
      ]);
      assert.deepEqual(outcome(exit), { code, stdout: "", stderr });
    },
  });
}

toolOnlyTest({
  name: 'rr exits 1 printing "Error: Connection refused" when nothing listens on the port',
  tool: "rr",
  fn: async (ctx) => {
    const exit = await ctx.run("rr", [
      ...["-h", "127.0.0.1", "-p", `${freePort()}`, "-t", "x", "-e", "y", "-m", "x", "-W", "5"],
    ]);
    assert.deepEqual(outcome(exit), { code: 1, stdout: "", stderr: "Error: Connection refused\n" });
  },
});

const USAGE_ERRORS: [string, string[], string][] = [
  [
    "no -e",
    ["-t", "x", "-m", "a"],
    "Error: All of topic, message, and response topic must be supplied.",
  ],
  [
    "no -t",
    ["-e", "x", "-m", "a"],
    "Error: All of topic, message, and response topic must be supplied.",
  ],
  [
    "no message",
    ["-t", "x", "-e", "y"],
    "Error: All of topic, message, and response topic must be supplied.",
  ],
  ["-l", ["-t", "x", "-e", "y", "-m", "a", "-l"], "Error: Unknown option '-l'."],
  [
    "a wildcard -e",
    ["-t", "x", "-e", "y/#", "-m", "a"],
    "Error: Invalid response topic 'y/#', does it contain '+' or '#'?",
  ],
  [
    "a wildcard -t",
    ["-t", "x/#", "-e", "y", "-m", "a"],
    "Error: Invalid publish topic 'x/#', does it contain '+' or '#'?",
  ],
  ["QoS 3", ["-t", "x", "-e", "y", "-m", "a", "-q", "3"], "Error: Invalid QoS given: 3"],
];

for (const [what, args, message] of USAGE_ERRORS) {
  toolOnlyTest({
    name: `rr with ${what} exits 1 printing "${message}"`,
    tool: "rr",
    fn: async (ctx) => {
      const exit = await ctx.run("rr", ["-p", "1", ...args]);
      assert.equal(exit.stderr.split("\n")[0], message);
      assert.equal(exit.code, 1);
    },
  });
}
