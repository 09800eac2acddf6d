/**
 * A bridge's `topic` and `restart_timeout` lines: every form Mosquitto 2.0 accepts, read into
 * rules; the prefix remappings both ways; the refusals, each at its own file:line; and the same
 * lines given to the real Mosquitto 2.0.11, which must accept and refuse them alike (except
 * where Midge is stricter, said per line).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type BridgeTopic,
  localFilter,
  parseBridgeTopic,
  remoteFilter,
  toLocalTopic,
  toRemoteTopic,
} from "../../src/config/bridge_topic.ts";
import { MOSQUITTO_BROKER } from "../auth/mosquitto_tools.ts";
import { interopTest } from "../interop/helpers.ts";
import { FACTS, parse, problemsOf } from "./mosquitto_helpers.ts";
import { BRIDGE_OPTIONS } from "../../src/config/options_bridge.ts";
import { parseTomlConfig } from "../../src/config/toml.ts";
import { validateConfig } from "../../src/config/validate.ts";

function rule(fields: Partial<BridgeTopic> & { pattern: string }): BridgeTopic {
  return { direction: "out", qos: 0, localPrefix: "", remotePrefix: "", ...fields };
}

/** Accepted `topic` values and the rule each one reads as. */
const FORMS: [text: string, rule: BridgeTopic][] = [
  ["a/#", rule({ pattern: "a/#" })],
  ["a/# in", rule({ pattern: "a/#", direction: "in" })],
  ["a/# BOTH", rule({ pattern: "a/#", direction: "both" })],
  ["a/+/b both 2", rule({ pattern: "a/+/b", direction: "both", qos: 2 })],
  ["a/# in 01", rule({ pattern: "a/#", direction: "in", qos: 1 })],
  [
    "# both 2 L/ R/",
    rule({ pattern: "#", direction: "both", qos: 2, localPrefix: "L/", remotePrefix: "R/" }),
  ],
  ["x out 1 L/", rule({ pattern: "x", qos: 1, localPrefix: "L/" })],
  ['x in 1 "" R/', rule({ pattern: "x", direction: "in", qos: 1, remotePrefix: "R/" })],
  ['x in 1 L/ ""', rule({ pattern: "x", direction: "in", qos: 1, localPrefix: "L/" })],
  ['x out 0 "" ""', rule({ pattern: "x" })],
  [
    '"" out 1 here/t there/t',
    rule({ pattern: "", qos: 1, localPrefix: "here/t", remotePrefix: "there/t" }),
  ],
  ["a/#   in   1", rule({ pattern: "a/#", direction: "in", qos: 1 })],
];

const EMPTY_PATTERN =
  'an empty pattern ("") needs a local and a remote prefix (the two topics it maps)';

/** Refused `topic` values, Midge's message, and whether Mosquitto 2.0.11 refuses them too. */
const REFUSED: { text: string; message: string; mosquitto: "refuses" | string }[] = [
  {
    text: "a/# sideways",
    message: 'direction must be out, in or both, not "sideways"',
    mosquitto: "refuses",
  },
  { text: "a/# in 3", message: 'QoS must be 0, 1 or 2, not "3"', mosquitto: "refuses" },
  { text: "a/# in -1", message: 'QoS must be 0, 1 or 2, not "-1"', mosquitto: "refuses" },
  {
    text: "a/# out 0 L/# R/",
    message: 'local prefix "L/#" must not hold a wildcard',
    mosquitto: "refuses",
  },
  {
    text: "a/# out 0 L/ R/+",
    message: 'remote prefix "R/+" must not hold a wildcard',
    mosquitto: "refuses",
  },
  { text: '""', message: EMPTY_PATTERN, mosquitto: "refuses" },
  { text: '"" both 2 L/x ""', message: EMPTY_PATTERN, mosquitto: "refuses" },
  { text: '"" both 2 "" R/y', message: EMPTY_PATTERN, mosquitto: "refuses" },
  { text: '"" out 0 L', message: EMPTY_PATTERN, mosquitto: "refuses" },
  // Stricter than Mosquitto, which reads the QoS with atoi and ignores extra words.
  {
    text: "a/# in x",
    message: 'QoS must be 0, 1 or 2, not "x"',
    mosquitto: "accepts (atoi: QoS 0)",
  },
  {
    text: "a/# in 2.5",
    message: 'QoS must be 0, 1 or 2, not "2.5"',
    mosquitto: "accepts (atoi: QoS 2)",
  },
  {
    text: "a/# out 0 L/ R/ extra",
    message: "has words after the remote prefix; the form is " +
      "pattern [[[out | in | both] qos] local-prefix remote-prefix]",
    mosquitto: "accepts (ignores the extra word)",
  },
];

/** `restart_timeout` values: accepted (with what they read as) or refused (with the message). */
const RESTART_TIMEOUTS: { text: string; reads?: unknown; message?: string; mosquitto: string }[] = [
  { text: "20", reads: { kind: "constant", seconds: 20 }, mosquitto: "accepts" },
  { text: "10 30", reads: { kind: "backoff", base: 10, cap: 30 }, mosquitto: "accepts" },
  { text: "7 7", reads: { kind: "backoff", base: 7, cap: 7 }, mosquitto: "accepts" },
  {
    text: "30 10",
    message: "the backoff cap (10) is lower than its base (30)",
    mosquitto: "refuses",
  },
  {
    text: "x",
    message: 'must be one number of seconds, or two (backoff base and cap), not "x"',
    mosquitto: "accepts (atoi: 0)",
  },
  {
    text: "1 2 3",
    message: 'must be one number of seconds, or two (backoff base and cap), not "1 2 3"',
    mosquitto: "accepts (ignores the third word)",
  },
];

for (const [text, expected] of FORMS) {
  Deno.test(`parseBridgeTopic reads "${text}"`, () => {
    assert.deepEqual(parseBridgeTopic(text), expected);
  });
}

for (const { text, message } of REFUSED) {
  Deno.test(`parseBridgeTopic refuses "${text}": ${message}`, () => {
    assert.throws(() => parseBridgeTopic(text), { message });
  });
}

Deno.test("a bridge topic with prefixes maps topics both ways and subscribes with them", () => {
  const both = parseBridgeTopic("sensors/# both 1 site/a/ cloud/site-a/");
  assert.equal(localFilter(both), "site/a/sensors/#");
  assert.equal(remoteFilter(both), "cloud/site-a/sensors/#");
  assert.equal(toRemoteTopic(both, "site/a/sensors/t1"), "cloud/site-a/sensors/t1");
  assert.equal(toLocalTopic(both, "cloud/site-a/sensors/t1"), "site/a/sensors/t1");
});

Deno.test("a bridge topic with one empty prefix adds or removes the other only", () => {
  const out = parseBridgeTopic('clients/total in 0 test/org/ ""');
  assert.equal(remoteFilter(out), "clients/total");
  assert.equal(toLocalTopic(out, "clients/total"), "test/org/clients/total");
  assert.equal(toRemoteTopic(out, "test/org/clients/total"), "clients/total");
  const plain = parseBridgeTopic("a/#");
  assert.equal(localFilter(plain), "a/#");
  assert.equal(toRemoteTopic(plain, "a/b"), "a/b");
});

Deno.test('a bridge topic with an empty pattern ("") maps one topic onto another', () => {
  const one = parseBridgeTopic('"" both 2 home/temp site-7/temp');
  assert.equal(localFilter(one), "home/temp");
  assert.equal(remoteFilter(one), "site-7/temp");
  assert.equal(toRemoteTopic(one, "home/temp"), "site-7/temp");
  assert.equal(toLocalTopic(one, "site-7/temp"), "home/temp");
});

function bridgeConf(lines: string[]): string {
  return ["listener 1883", "connection cloud", "address example.com", ...lines, ""].join("\n");
}

Deno.test("every bad topic and restart_timeout line of a bridge is reported at its own line", () => {
  const text = bridgeConf([
    "topic a/# in 3",
    "topic ok/# out 1",
    "topic a/# out 0 L/# R/",
    "restart_timeout 30 10",
  ]);
  assert.deepEqual(problemsOf(() => validateConfig(parse(text), FACTS)), [
    'm.conf:4: topic: QoS must be 0, 1 or 2, not "3"',
    'm.conf:6: topic: local prefix "L/#" must not hold a wildcard',
    "m.conf:7: restart_timeout: the backoff cap (10) is lower than its base (30)",
  ]);
});

Deno.test("a TOML bridge's topic and restart_timeout are checked the same way", () => {
  const text = [
    "[[bridge]]",
    'connection = "cloud"',
    "topic = ['\"\" out 0 L']",
    'restart_timeout = "x"',
    "",
  ].join("\n");
  const problems = problemsOf(() => validateConfig(parseTomlConfig(text, "midge.toml"), FACTS));
  assert.deepEqual(problems, [
    "midge.toml:1: bridge[1].address: is required (the remote broker)",
    `midge.toml:3: bridge[1].topic: ${EMPTY_PATTERN}`,
    'midge.toml:4: bridge[1].restart_timeout: must be one number of seconds, or two (backoff base and cap), not "x"',
  ]);
});

for (const { text, reads, message } of RESTART_TIMEOUTS) {
  Deno.test(`restart_timeout ${text}: ${message ?? "accepted"}`, () => {
    const raw = parse(bridgeConf([`restart_timeout ${text}`]));
    if (message === undefined) validateConfig(raw, FACTS);
    else {
      assert.deepEqual(problemsOf(() => validateConfig(raw, FACTS)), [
        `m.conf:4: restart_timeout: ${message}`,
      ]);
    }
    if (reads !== undefined) {
      assert.deepEqual(BRIDGE_OPTIONS.restart_timeout.parse(text, true), reads);
    }
  });
}

/**
 * Whether /usr/sbin/mosquitto refuses a bridge with `line`, and its message. The listener is a
 * Unix socket in a directory that does not exist, so an accepted file fails at once on binding
 * (after the configuration was read) instead of starting a broker.
 */
async function mosquittoRefuses(dir: string, line: string): Promise<string | undefined> {
  const conf = `${dir}/m.conf`;
  await Deno.writeTextFile(
    conf,
    [
      `listener 0 ${dir}/absent/sock`,
      "allow_anonymous true",
      "connection b1",
      "address 127.0.0.1:1",
      "topic ok/#",
      line,
      "",
    ].join("\n"),
  );
  const out = await new Deno.Command("/usr/sbin/mosquitto", {
    args: ["-c", conf],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(5000),
  }).output();
  const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!said.includes("Error found at")) return undefined;
  return said.split("\n").find((l) => l.includes("Error: "))?.replace(/^.*Error: /, "");
}

interopTest({
  name: "Mosquitto 2.0.11 accepts and refuses the same topic and restart_timeout lines",
  needs: [MOSQUITTO_BROKER],
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "midge-bridge-topic-" });
    try {
      const differences: string[] = [];
      const expect = async (line: string, refuses: boolean) => {
        const said = await mosquittoRefuses(dir, line);
        if ((said !== undefined) !== refuses) {
          differences.push(
            `${line}: Mosquitto ${said === undefined ? "accepts" : `refuses (${said})`}`,
          );
        }
      };
      for (const [text] of FORMS) await expect(`topic ${text}`, false);
      for (const { text, mosquitto } of REFUSED) {
        await expect(`topic ${text}`, mosquitto === "refuses");
      }
      for (const { text, mosquitto } of RESTART_TIMEOUTS) {
        await expect(`restart_timeout ${text}`, mosquitto === "refuses");
      }
      assert.deepEqual(differences, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
