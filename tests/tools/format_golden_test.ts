/**
 * Golden output of `sub`: the default payload-only output, -v, -N, and -F format strings
 * (every specifier, flags, widths and precisions, escapes, JSON with and without --pretty,
 * v5 properties, times). The goldens are the bytes mosquitto_sub 2.0.11 prints; each case also
 * runs Mosquitto's own mosquitto_sub next to the tool under test on the same messages and
 * checks that both printed the same bytes (times masked).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Properties, QoS } from "../../src/codec/mod.ts";
import { text, type ToolContext, toolMatrix, toolOnlyTest } from "./harness.ts";

/** A message published for a case. */
interface Message {
  /** Topic (under "g/"). */
  topic: string;
  /** Payload. */
  payload: string | Uint8Array;
  /** QoS of the publish (default 1). */
  qos?: QoS;
  /** 5.0 properties. */
  properties?: Properties;
}

/** One golden case. */
interface GoldenCase {
  /** What it shows. */
  name: string;
  /** Output options of sub (-v, -N, -F ..., --pretty). */
  args: string[];
  /** Messages retained before sub subscribes (it gets them with retain set). */
  retained?: Message[];
  /** Messages published once sub has subscribed. */
  messages: Message[];
  /** Expected stdout; with `times`, as text with the times replaced by <I>, <U>, <TST>. */
  golden: string | Uint8Array;
  /** Expected stderr (default empty). */
  stderr?: string;
  /** sub -q (default 0). */
  qos?: QoS;
  /** sub -V (default 311). */
  version?: "31" | "311" | "5";
  /** Mask time values (checked to be now, in the time zone of `TZ`). */
  times?: boolean;
  /** Extra environment (TZ). */
  env?: Record<string, string>;
  /** Applied to stdout text before comparing (e.g. an expiry that may tick down a second). */
  normalise?: (s: string) => string;
}

const encoder = new TextEncoder();

const HELLO: Message[] = [
  { topic: "g/a", payload: "hello" },
  { topic: "g/empty", payload: "" },
  { topic: "g/b c", payload: "a\nb\0c" },
  { topic: "g/d", payload: "x" },
];

/** Time patterns in sub output, each with how to read it as an instant and an offset. */
const TIME_PATTERNS: { tag: string; re: RegExp }[] = [
  // %j / %J "tst": local time, a literal Z, then the offset (as Mosquitto 2.0.11 prints it)
  { tag: "<TST>", re: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z[+-]\d{4}/g },
  // %I
  { tag: "<I>", re: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}/g },
  // %U
  { tag: "<U>", re: /\d{10}\.\d{9}/g },
];

/** The UTC offset of `timeZone` at `date`, as "+0100". */
function offsetOf(timeZone: string, date: Date): string {
  const name = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" })
    .formatToParts(date).find((p) => p.type === "timeZoneName")!.value; // "GMT+01:00" or "GMT"
  const m = /GMT([+-]\d\d):(\d\d)/.exec(name);
  return m ? `${m[1]}${m[2]}` : "+0000";
}

/** Check that a masked time value is within 10 minutes of now and in `timeZone`. */
function checkTime(tag: string, value: string, timeZone: string): void {
  let ms: number;
  if (tag === "<U>") {
    ms = Number(value) * 1000;
  } else {
    const m = /^(.{19})(\.\d+)?Z?([+-]\d\d)(\d\d)$/.exec(value)!;
    ms = Date.parse(`${m[1]}${(m[2] ?? "").slice(0, 4)}${m[3]}:${m[4]}`);
    assert.equal(`${m[3]}${m[4]}`, offsetOf(timeZone, new Date(ms)), `offset of ${value}`);
  }
  assert.ok(Math.abs(ms - Date.now()) < 600_000, `${value} is not now`);
}

/** Replace the times in `s` by their tags, checking each. */
function maskTimes(s: string, timeZone: string): string {
  for (const { tag, re } of TIME_PATTERNS) {
    s = s.replace(re, (value) => {
      checkTime(tag, value, timeZone);
      return tag;
    });
  }
  return s;
}

async function runGolden(ctx: ToolContext, c: GoldenCase): Promise<void> {
  const peer = await ctx.peer();
  const qosOf = (m: Message) => m.qos ?? 1;
  for (const m of c.retained ?? []) {
    await peer.publish(m.topic, m.payload, {
      qos: qosOf(m),
      retain: true,
      properties: m.properties,
    });
  }
  const count = (c.retained?.length ?? 0) + c.messages.length;
  const qos = c.qos ?? 0;
  const common = [
    ...ctx.host,
    ...["-V", c.version ?? "311", "-t", "g/#", "-q", String(qos), "-C", String(count)],
    ...["-W", "10", ...c.args],
  ];
  const env = c.env ?? {};
  const sub = ctx.spawn("sub", [...common, "-i", "tested"], { env });
  const ref = ctx.spawnReference("sub", [...common, "-i", "reference"], { env });
  await ctx.subscribed(sub, "tested", qos, "g/#");
  await ctx.subscribed(ref, "reference", qos, "g/#");
  for (const m of c.messages) {
    await peer.publish(m.topic, m.payload, { qos: qosOf(m), properties: m.properties });
  }
  const [got, reference] = await Promise.all([sub.wait(), ref.wait()]);
  const timeZone = env.TZ ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const view = (bytes: Uint8Array) => {
    let s = text(bytes);
    if (c.times) s = maskTimes(s, timeZone);
    return c.normalise ? c.normalise(s) : s;
  };
  if (c.times || c.normalise) {
    assert.equal(view(got.stdout), c.golden);
  } else {
    const golden = typeof c.golden === "string" ? encoder.encode(c.golden) : c.golden;
    assert.deepEqual(got.stdout, golden, `stdout: ${JSON.stringify(text(got.stdout))}`);
  }
  assert.equal(got.stderr, c.stderr ?? "");
  assert.equal(got.code, 0);
  assert.equal(view(got.stdout), view(reference.stdout), "the same as mosquitto_sub's output");
}

function goldenTest(c: GoldenCase): void {
  toolMatrix({
    name: `sub ${c.name}`,
    tool: "sub",
    reference: true,
    fn: (ctx) => runGolden(ctx, c),
  });
}

// Default, -v, -N: an empty payload prints nothing at all without -v and "(null)" with it.
goldenTest({
  name: "prints each payload and a newline; an empty payload prints nothing",
  args: [],
  messages: HELLO,
  golden: "hello\na\nb\0c\nx\n",
});

goldenTest({
  name: '-v prints "topic payload"; an empty payload as "(null)"',
  args: ["-v"],
  messages: HELLO,
  golden: "g/a hello\ng/empty (null)\ng/b c a\nb\0c\ng/d x\n",
});

goldenTest({
  name: "-N prints the payloads with no newline after them",
  args: ["-N"],
  messages: HELLO,
  golden: "helloa\nb\0cx",
});

goldenTest({
  name: "-v -N prints topic and payload with no newline, nothing for an empty payload",
  args: ["-v", "-N"],
  messages: HELLO,
  golden: "g/a hellog/b c a\nb\0cg/d x",
});

goldenTest({
  name: "-F overrides -v, and -N still drops the newline",
  args: ["-v", "-F", "<%t>", "-N"],
  messages: HELLO,
  golden: "<g/a><g/empty><g/b c><g/d>",
});

goldenTest({
  name: "-v prints UTF-8 topics and payloads and binary payloads as they are",
  args: ["-v"],
  messages: [
    { topic: "g/ünï/cødé", payload: "h€llo ☃" },
    { topic: "g/bin", payload: new Uint8Array([0, 1, 0xfe, 0xff, 0x0a]) },
  ],
  golden: new Uint8Array([
    ...encoder.encode("g/ünï/cødé h€llo ☃\ng/bin "),
    ...[0, 1, 0xfe, 0xff, 0x0a, 0x0a],
  ]),
});

goldenTest({
  name: "-F %t %p %q %r %l %m %x %X %% for retained and live messages at each QoS",
  args: ["-F", "%t|%p|%q|%r|%l|%m|%x|%X|%%"],
  qos: 2,
  retained: [{ topic: "g/kept", payload: "old", qos: 1 }],
  messages: [
    { topic: "g/a", payload: "hello", qos: 0 },
    { topic: "g/b", payload: "x y", qos: 1 },
    { topic: "g/c", payload: "", qos: 2 },
    { topic: "g/d", payload: new Uint8Array([0, 0xab, 0x7f]), qos: 2 },
  ],
  golden: new Uint8Array([
    ...encoder.encode(
      "g/kept|old|1|1|3|1|6f6c64|6F6C64|%\n" +
        "g/a|hello|0|0|5|0|68656c6c6f|68656C6C6F|%\n" +
        "g/b|x y|1|0|3|2|782079|782079|%\n" +
        "g/c||2|0|0|3|||%\n" +
        "g/d|",
    ),
    ...[0, 0xab, 0x7f],
    ...encoder.encode("|2|0|3|4|00ab7f|00AB7F|%\n"),
  ]),
});

goldenTest({
  name: "-F widths, left alignment, zero padding and precision on %t %l %m",
  qos: 1,
  args: [
    "-F",
    "[%12t][%-12t][%012t][%.3t][%12.4t][%-12.4t][%.0t][%6l][%-6l|][%06l][%.1l]" +
    "[%5m][%-5m|][%05m]",
  ],
  messages: [{ topic: "g/top", payload: "payload bytes" }, { topic: "g/x", payload: "" }],
  golden: "[       g/top][g/top       ][       g/top][g/t][        g/to][g/to        ][]" +
    "[    13][13    |][000013][13][    1][1    |][00001]\n" +
    "[         g/x][g/x         ][         g/x][g/x][         g/x][g/x         ][]" +
    "[     0][0     |][000000][0][    2][2    |][00002]\n",
});

goldenTest({
  name: "-F widths on %p and %x cut the payload, as Mosquitto 2.0.11 does",
  args: ["-F", "[%10p][%-10p][%5.2p][%.2p][%3x][%5x][%-5x][%05x][%6x][%.3x][%08X][%20x]"],
  messages: [{ topic: "g/top", payload: "payload bytes" }],
  golden: "[payload by][payload by][paylo][payload bytes][ 70][ 7061][7061 ][07061][706179]" +
    "[7061796c6f6164206279746573][7061796C][        7061796c6f61]\n",
});

goldenTest({
  name: "-F widths on %q, %r and %% are ignored",
  args: ["-F", "[%5q][%-3r][%5%]"],
  messages: [{ topic: "g/top", payload: "p" }],
  golden: "[0][0][%]\n",
});

goldenTest({
  name: "-F escapes \\a \\e \\n \\r \\t \\v \\\\ \\0, and %% @@ for literal % and @",
  args: ["-F", "\\a\\e\\n\\r\\t\\v\\\\\\0|a%%b@@c"],
  messages: [{ topic: "g/top", payload: "p" }],
  golden: "\x07\x1b\n\r\t\v\\\0|a%b@c\n",
});

goldenTest({
  name: "-F %j prints JSON with the payload as an escaped string, mid only at QoS > 0",
  args: ["-F", "%j"],
  qos: 1,
  times: true,
  retained: [{ topic: "g/kept", payload: "old" }],
  messages: [
    { topic: "g/a", payload: 'he"l\\lo/' },
    { topic: "g/b", payload: '{"a": [1, 2]}' },
    { topic: "g/c", payload: "" },
    { topic: "g/d", payload: new Uint8Array([...encoder.encode("bin"), 1, 2, 0x1f, 9, 0x7f]) },
    { topic: "g/ü", payload: "€ ☃\n\r\b\f", qos: 0 },
    { topic: "g/nul", payload: new Uint8Array([0x61, 0, 0x62]) },
  ],
  golden: [
    '{"tst":"<TST>","topic":"g/kept","qos":1,"retain":1,"payloadlen":3,"mid":1,"payload":"old"}',
    '{"tst":"<TST>","topic":"g/a","qos":1,"retain":0,"payloadlen":8,"mid":2,' +
    '"payload":"he\\"l\\\\lo/"}',
    '{"tst":"<TST>","topic":"g/b","qos":1,"retain":0,"payloadlen":13,"mid":3,' +
    '"payload":"{\\"a\\": [1, 2]}"}',
    '{"tst":"<TST>","topic":"g/c","qos":1,"retain":0,"payloadlen":0,"mid":4,"payload":null}',
    '{"tst":"<TST>","topic":"g/d","qos":1,"retain":0,"payloadlen":8,"mid":5,' +
    '"payload":"bin\\u0001\\u0002\\u001f\\t\x7f"}',
    '{"tst":"<TST>","topic":"g/ü","qos":0,"retain":0,"payloadlen":11,' +
    '"payload":"€ ☃\\n\\r\\b\\f"}',
    // The payload string ends at a NUL byte.
    '{"tst":"<TST>","topic":"g/nul","qos":1,"retain":0,"payloadlen":3,"mid":6,"payload":"a"}',
    "",
  ].join("\n"),
});

goldenTest({
  name: "-F %j --pretty prints the same JSON over several lines, tab-indented",
  args: ["-F", "%j", "--pretty"],
  qos: 1,
  times: true,
  messages: [
    { topic: "g/a", payload: "one" },
    { topic: "g/b", payload: "", qos: 0 },
  ],
  golden: '{\n\t"tst":\t"<TST>",\n\t"topic":\t"g/a",\n\t"qos":\t1,\n\t"retain":\t0,\n' +
    '\t"payloadlen":\t3,\n\t"mid":\t1,\n\t"payload":\t"one"\n}\n' +
    '{\n\t"tst":\t"<TST>",\n\t"topic":\t"g/b",\n\t"qos":\t0,\n\t"retain":\t0,\n' +
    '\t"payloadlen":\t0,\n\t"payload":\tnull\n}\n',
});

const JSON_PAYLOADS: Message[] = [
  { topic: "g/n", payload: "[1e5, 0.1, -0, 1.5e300, 123456789012345678, 3.0, -2.25e-7, 1E2]" },
  { topic: "g/s", payload: '{"u":"\\u00e9\\ud83d\\ude00\\n\\t\\"\\/","k":{}, "l":[], "z": false}' },
  { topic: "g/w", payload: '  {"ws" :  1 }  ' },
  { topic: "g/str", payload: '"str"' },
  { topic: "g/null", payload: "null" },
  { topic: "g/dup", payload: '{"a":1,"a":2}' },
  { topic: "g/bad", payload: "not json" },
  { topic: "g/nest", payload: '{"n":{"m":{"o":[[1,[2]],{}]}},"p":[{"a":1},{"b":2}],"q":[]}' },
];

goldenTest({
  name: "-F %J prints JSON with the payload as JSON, re-encoded; a payload that is not JSON " +
    "prints an error on stderr and no JSON",
  args: ["-F", "%J"],
  qos: 1,
  times: true,
  messages: JSON_PAYLOADS,
  golden: [
    '{"tst":"<TST>","topic":"g/n","qos":1,"retain":0,"payloadlen":63,"mid":1,' +
    '"payload":[100000,0.1,-0,1.5e+300,1.2345678901234568e+17,3,-2.25e-07,100]}',
    '{"tst":"<TST>","topic":"g/s","qos":1,"retain":0,"payloadlen":61,"mid":2,' +
    '"payload":{"u":"é😀\\n\\t\\"/","k":{},"l":[],"z":false}}',
    '{"tst":"<TST>","topic":"g/w","qos":1,"retain":0,"payloadlen":16,"mid":3,' +
    '"payload":{"ws":1}}',
    '{"tst":"<TST>","topic":"g/str","qos":1,"retain":0,"payloadlen":5,"mid":4,"payload":"str"}',
    '{"tst":"<TST>","topic":"g/null","qos":1,"retain":0,"payloadlen":4,"mid":5,"payload":null}',
    '{"tst":"<TST>","topic":"g/dup","qos":1,"retain":0,"payloadlen":13,"mid":6,' +
    '"payload":{"a":1,"a":2}}',
    "",
    '{"tst":"<TST>","topic":"g/nest","qos":1,"retain":0,"payloadlen":59,"mid":8,' +
    '"payload":{"n":{"m":{"o":[[1,[2]],{}]}},"p":[{"a":1},{"b":2}],"q":[]}}',
    "",
  ].join("\n"),
  stderr: "Error: Message payload is not valid JSON on topic g/bad.\n",
});

goldenTest({
  name: "-F %J --pretty indents the payload JSON the way Mosquitto's cJSON does",
  args: ["-F", "%J", "--pretty"],
  qos: 1,
  times: true,
  messages: [JSON_PAYLOADS[7], JSON_PAYLOADS[1], { topic: "g/e", payload: "[]" }],
  golden: [
    "{",
    '\t"tst":\t"<TST>",',
    '\t"topic":\t"g/nest",',
    '\t"qos":\t1,',
    '\t"retain":\t0,',
    '\t"payloadlen":\t59,',
    '\t"mid":\t1,',
    '\t"payload":\t{',
    '\t\t"n":\t{',
    '\t\t\t"m":\t{',
    '\t\t\t\t"o":\t[[1, [2]], {',
    "\t\t\t\t\t}]",
    "\t\t\t}",
    "\t\t},",
    '\t\t"p":\t[{',
    '\t\t\t\t"a":\t1',
    "\t\t\t}, {",
    '\t\t\t\t"b":\t2',
    "\t\t\t}],",
    '\t\t"q":\t[]',
    "\t}",
    "}",
    "{",
    '\t"tst":\t"<TST>",',
    '\t"topic":\t"g/s",',
    '\t"qos":\t1,',
    '\t"retain":\t0,',
    '\t"payloadlen":\t61,',
    '\t"mid":\t2,',
    '\t"payload":\t{',
    '\t\t"u":\t"é😀\\n\\t\\"/",',
    '\t\t"k":\t{',
    "\t\t},",
    '\t\t"l":\t[],',
    '\t\t"z":\tfalse',
    "\t}",
    "}",
    "{",
    '\t"tst":\t"<TST>",',
    '\t"topic":\t"g/e",',
    '\t"qos":\t1,',
    '\t"retain":\t0,',
    '\t"payloadlen":\t2,',
    '\t"mid":\t3,',
    '\t"payload":\t[]',
    "}",
    "",
  ].join("\n"),
});

for (const tz of ["UTC", "Europe/Berlin", "America/St_Johns"]) {
  goldenTest({
    name: `-F %I %U and @ strftime sequences print the time of receipt (TZ=${tz})`,
    args: ["-F", "%I|%U|@Y-@m-@dT@H:@M:@S@z|@s|@N|@@"],
    times: true,
    env: { TZ: tz },
    messages: [{ topic: "g/t", payload: "p" }],
    golden: "<I>|<U>|<I>|{s}|{N}|@\n",
    normalise: (s) => s.replace(/\|\d{10}\|\d{9}\|/, "|{s}|{N}|"),
  });
}

goldenTest({
  name: "-F %I with width and precision",
  args: ["-F", "[%.4I][%30I][%-30I]"],
  env: { TZ: "UTC" },
  messages: [{ topic: "g/t", payload: "p" }],
  times: true,
  golden: "[{year}][      <I>][<I>      ]\n",
  normalise: (s) => s.replace(/^\[\d{4}\]/, "[{year}]"),
});

const PROPS: Properties = {
  userProperties: [["k", "v"], ["k2", "v 2"], ["k", "again"]],
  contentType: "text/plain",
  responseTopic: "resp/t",
  correlationData: encoder.encode("corr"),
  messageExpiryInterval: 60,
  payloadFormatIndicator: 1,
};

goldenTest({
  name: "-V 5 -F %C %R %D %E %F %P %S %A print the v5 properties, with widths, and pad " +
    "even when one is absent",
  version: "5",
  qos: 1,
  args: [
    "-F",
    "[%C][%10C][%-10C|][%3.2C][%R][%.3R][%D][%E][%05E][%-5E|][%F][%03F][%P][%S][%4S][%A][%03A]",
    ...["-D", "subscribe", "subscription-identifier", "7"],
  ],
  messages: [
    // Both at QoS 1: a QoS 2 message is printed only once its PUBREL came, so a QoS 1
    // message right after it could overtake it.
    { topic: "g/a", payload: "pay", properties: PROPS },
    { topic: "g/b", payload: "plain" },
  ],
  golden: "[text/plain][text/plain][text/plain|][ te][resp/t][res][corr][60][00060][60   |][1]" +
    "[001][k:v k2:v 2 k:again][7][   7][][000]\n" +
    "[][          ][          |][   ][][][][][00000][     |][][000][][7][   7][][000]\n",
  // The broker counts the expiry down in whole seconds: 59 if one ticked over in transit.
  normalise: (s) => s.replace("[59][00059][59   |]", "[60][00060][60   |]"),
});

goldenTest({
  name: "-F %P %C %R %D print nothing for a 3.1.1 subscriber",
  args: ["-F", "%t [%C][%R][%D][%P][%E][%S]"],
  messages: [{ topic: "g/a", payload: "pay", properties: PROPS }],
  golden: "g/a [][][][][][]\n",
});

// Format strings that are refused before connecting: exit 1, the error on stderr.
const BAD_FORMATS: [string, string][] = [
  ["%z", "Error: Invalid format specifier 'z'."],
  ["abc%", "Error: Incomplete format specifier."],
  ["abc\\", "Error: Incomplete escape specifier."],
  ["\\q", "Error: Invalid escape specifier 'q'."],
  ["@", "Error: Incomplete format specifier."],
  ["%+5l", "Error: Invalid format specifier '+'."],
];

for (const [format, message] of BAD_FORMATS) {
  toolOnlyTest({
    name: `sub -F '${format}' exits 1 printing "${message}"`,
    tool: "sub",
    fn: async (ctx) => {
      const exit = await ctx.run("sub", ["-p", "1", "-t", "x", "-F", format]);
      assert.equal(exit.stderr.split("\n")[0], message);
      assert.equal(text(exit.stdout), "");
      assert.equal(exit.code, 1);
    },
  });
}
