/**
 * formatMessage against mosquitto_sub 2.0.11. The goldens were made by running the real
 * mosquitto_sub (with the `-F`, `-v`, `-N`, `--pretty` options of each row) against a real
 * Mosquitto broker and publishing each row's messages with mosquitto_pub (`-D publish ...` for
 * the v5 properties); the bytes it printed are stored below. JSON timestamps ("tst") read the
 * clock, so they are masked on both sides here and checked exactly by the time goldens, whose
 * instant is the `%U` Mosquitto printed in the same line (sub-second parts that Mosquitto read
 * from the clock again were set from that `%U`). A live test repeats every row against the
 * real broker and tools when they are installed (and fails under CI when they are not).
 */

import assert from "node:assert/strict";
import { parseClientArgs } from "../../src/tools/client_options.ts";
import { formatMessage, type ReceivedMessage } from "../../src/tools/format.ts";
import type { Properties, QoS } from "../../src/codec/types.ts";
import {
  interopTest,
  MOSQUITTO_CLIENTS,
  type Peer,
  sleep,
  Subprocess,
  until,
} from "../interop/helpers.ts";
import { freePort } from "../fixtures/net.ts";

/** A message of a golden row, as mosquitto_sub received it. */
interface GoldenMessage {
  text?: string;
  hex?: string;
  qos?: QoS;
  retain?: boolean;
  packetId?: number;
  /** Properties in wire order; correlationData as text. */
  properties?: Record<string, unknown>;
}

/** One golden row: mosquitto_sub's options, the messages, and what it printed (bytes as latin-1). */
interface Golden {
  name: string;
  args: string[];
  topic: string;
  messages: GoldenMessage[];
  stdout: string;
  stderr?: string;
}

/** One time golden: a zone, a format, the instant, what mosquitto_sub printed. */
interface TimeGolden {
  topic: string;
  tz: string;
  format: string;
  seconds?: number;
  nanos?: number;
  stdout: string;
}

const GOLDEN: Golden[] = [
  {
    name: "payload only",
    args: [],
    topic: "golden/0",
    messages: [{ text: "hello" }, { text: "" }, { hex: "610062ff63c3a9" }, { text: "a b" }],
    stdout: "hello\na\u0000b\u00ffc\u00c3\u00a9\na b\n",
  },
  {
    name: "-v",
    args: ["-v"],
    topic: "golden/1",
    messages: [{ text: "hello" }, { text: "" }, { hex: "610062ff63c3a9" }, { text: "a b" }],
    stdout: "golden/1 hello\ngolden/1 (null)\ngolden/1 a\u0000b\u00ffc\u00c3\u00a9\ngolden/1 a b\n",
  },
  {
    name: "-N",
    args: ["-N"],
    topic: "golden/2",
    messages: [{ text: "hello" }, { text: "" }, { hex: "610062ff63c3a9" }, { text: "a b" }],
    stdout: "helloa\u0000b\u00ffc\u00c3\u00a9a b",
  },
  {
    name: "-v -N",
    args: ["-v", "-N"],
    topic: "golden/3",
    messages: [{ text: "hello" }, { text: "" }, { hex: "610062ff63c3a9" }, { text: "a b" }],
    stdout: "golden/3 hellogolden/3 a\u0000b\u00ffc\u00c3\u00a9golden/3 a b",
  },
  {
    name: "-F overrides -v, keeps -N",
    args: ["-v", "-N", "-F", "%p\\0%t"],
    topic: "golden/4",
    messages: [{ text: "" }, { text: "a b" }],
    stdout: "\u0000golden/4a b\u0000golden/4",
  },
  {
    name: "-F empty",
    args: ["-F", ""],
    topic: "golden/5",
    messages: [{ text: "x" }, { text: "" }],
    stdout: "\n\n",
  },
  {
    name: "message fields",
    args: ["-F", "%t|%p|%l|%m|%q|%r|%x|%X|%%"],
    topic: "golden/6",
    messages: [
      { text: "ret", qos: 1, retain: true, packetId: 1 },
      { text: "hello" },
      { text: "hi", qos: 1, packetId: 2 },
      { text: "", qos: 2, packetId: 3 },
      { hex: "610062ff63c3a9", qos: 2, packetId: 4 },
    ],
    stdout:
      "golden/6|ret|3|1|1|1|726574|726574|%\ngolden/6|hello|5|0|0|0|68656c6c6f|68656C6C6F|%\ngolden/6|hi|2|2|1|0|6869|6869|%\ngolden/6||0|3|2|0|||%\ngolden/6|a\u0000b\u00ffc\u00c3\u00a9|7|4|2|0|610062ff63c3a9|610062FF63C3A9|%\n",
  },
  {
    name: "topic widths",
    args: ["-F", "[%8t][%-8t][%08t][%8.2t][%-8.3t][%.0t][%.t][%5.t][%.2t][%00t][%-05t]"],
    topic: "t\u00f6/\u00e9",
    messages: [{ text: "x" }],
    stdout:
      "[  t\u00c3\u00b6/\u00c3\u00a9][t\u00c3\u00b6/\u00c3\u00a9  ][  t\u00c3\u00b6/\u00c3\u00a9][      t\u00c3][t\u00c3\u00b6     ][][][     ][t\u00c3][t\u00c3\u00b6/\u00c3\u00a9][t\u00c3\u00b6/\u00c3\u00a9]\n",
  },
  {
    name: "payload widths",
    args: [
      "-F",
      "[%p][%8p][%-8p][%08p][%.2p][%3.1p][%5.1p][%1.1p][%10.1p][%2p][%-2p][%02p][%0p][%03.1p]",
    ],
    topic: "golden/8",
    messages: [{ hex: "610062ff63c3a9" }, { text: "ab" }, { text: "" }],
    stdout:
      "[a\u0000b\u00ffc\u00c3\u00a9][ a\u0000b\u00ffc\u00c3\u00a9][a\u0000b\u00ffc\u00c3\u00a9 ][0a\u0000b\u00ffc\u00c3\u00a9][a\u0000b\u00ffc\u00c3\u00a9][a\u0000b][a\u0000b\u00ffc][a][   a\u0000b\u00ffc\u00c3\u00a9][a\u0000][a\u0000][a\u0000][a\u0000b\u00ffc\u00c3\u00a9][a\u0000b]\n[ab][      ab][ab      ][000000ab][ab][ ab][   ab][a][        ab][ab][ab][ab][ab][0ab]\n[][        ][        ][00000000][][   ][     ][ ][          ][  ][  ][00][][000]\n",
  },
  {
    name: "hex widths",
    args: ["-F", "[%x][%1x][%2x][%3x][%4x][%5x][%8x][%40x][%-7X][%020X][%01x][%.1x][%-1x][%02x]"],
    topic: "golden/9",
    messages: [{ text: "abcdef" }, { text: "a" }, { text: "" }, { text: "abcdefghijklmnopqrst" }, {
      text: "abc",
    }],
    stdout:
      "[616263646566][ ][61][ 61][6162][ 6162][  616263][                                  616263][616263 ][00000000000000616263][0][616263646566][ ][61]\n[61][ ][  ][   ][    ][     ][        ][                                        ][       ][00000000000000000000][0][61][ ][00]\n[][ ][  ][   ][    ][     ][        ][                                        ][       ][00000000000000000000][0][][ ][00]\n[6162636465666768696a6b6c6d6e6f7071727374][ ][61][ 61][6162][ 6162][61626364][                    6162636465666768696a][616263 ][6162636465666768696A][0][6162636465666768696a6b6c6d6e6f7071727374][ ][61]\n[616263][ ][61][ 61][  61][   61][      61][                                      61][61     ][00000000000000000061][0][616263][ ][61]\n",
  },
  {
    name: "number widths",
    args: ["-F", "[%8l][%-8l][%08l][%-08l][%8.1l][%8m][%-8m][%08m][%8q][%08q][%8r][%08r][%-05l]"],
    topic: "golden/10",
    messages: [{ text: "hi", qos: 1, packetId: 1 }, { text: "0123456789", qos: 2, packetId: 2 }],
    stdout:
      "[       2][2       ][00000002][2       ][       2][       1][1       ][00000001][1][1][0][0][2    ]\n[      10][10      ][00000010][10      ][      10][       2][2       ][00000002][2][2][0][0][10   ]\n",
  },
  {
    name: "v5 properties",
    args: ["-V", "5", "-F", "[%A][%C][%D][%E][%F][%P][%R][%S]"],
    topic: "golden/11",
    messages: [{ text: "plain" }, {
      text: "props",
      properties: {
        "contentType": "text/plain",
        "correlationData": "corr",
        "payloadFormatIndicator": 1,
        "userProperties": [["k1", "v1"], ["k2", "v2"]],
        "responseTopic": "resp/t",
        "messageExpiryInterval": 100,
      },
    }],
    stdout: "[][][][][][][][]\n[][text/plain][corr][100][1][k1:v1 k2:v2][resp/t][]\n",
  },
  {
    name: "v5 property widths",
    args: [
      "-V",
      "5",
      "-D",
      "subscribe",
      "subscription-identifier",
      "7",
      "-F",
      "[%8C][%-8C][%08C][%8.2C][%-8.2C][%.0C][%8R][%-8R][%08R][%8.1R][%8D][%8P][%8E][%-8E][%08E][%8.3E][%8F][%-8F][%08F][%8S][%-8S][%08S][%8A][%03A][%3.1C]",
    ],
    topic: "golden/12",
    messages: [{
      text: "x",
      properties: {
        "subscriptionIdentifiers": [7],
        "userProperties": [["k", "v1"]],
        "contentType": "ct",
        "payloadFormatIndicator": 1,
        "correlationData": "cd",
        "responseTopic": "rt",
        "messageExpiryInterval": 77,
      },
    }, { text: "y", properties: { "subscriptionIdentifiers": [7] } }],
    stdout:
      "[      ct][ct      ][      ct][      ct][ct      ][][      rt][rt      ][      rt][       r][cd][k:v1][      77][77      ][00000077][      77][       1][1       ][00000001][       7][7       ][00000007][        ][000][  c]\n[        ][        ][        ][        ][        ][][][][][][][][        ][        ][00000000][        ][        ][        ][00000000][       7][7       ][00000007][        ][000][   ]\n",
  },
  {
    name: "v5 absent properties",
    args: [
      "-V",
      "5",
      "-F",
      "[%-3C][%03C][%3.1C][%.0C][%-3A][%3A][%-3E][%3F][%-3S][%3S][%03S][%3D][%3P][%3R][%-3R][%3.1R][%08A]",
    ],
    topic: "golden/13",
    messages: [{ text: "abc" }],
    stdout: "[   ][   ][   ][][   ][   ][   ][   ][   ][   ][000][][][][][][00000000]\n",
  },
  {
    name: "escapes",
    args: ["-F", "\\\\|\\0|\\a|\\e|\\n|\\r|\\t|\\v|@@|%%"],
    topic: "golden/14",
    messages: [{ text: "x" }],
    stdout: "\\|\u0000|\u0007|\u001b|\n|\r|\t|\u000b|@|%\n",
  },
  {
    name: "%j",
    args: ["-q", "2", "-F", "%j"],
    topic: "golden/15",
    messages: [
      { text: "ret", qos: 1, retain: true, packetId: 1 },
      { hex: "610062ff63c3a9" },
      { text: "" },
      { text: 'q"\\/\b\f\n\r\t\u0001\u001f\u007f\u20ac' },
      { text: "x", qos: 2, packetId: 2 },
    ],
    stdout:
      '{"tst":"<tst>","topic":"golden/15","qos":1,"retain":1,"payloadlen":3,"mid":1,"payload":"ret"}\n{"tst":"<tst>","topic":"golden/15","qos":0,"retain":0,"payloadlen":7,"payload":"a"}\n{"tst":"<tst>","topic":"golden/15","qos":0,"retain":0,"payloadlen":0,"payload":null}\n{"tst":"<tst>","topic":"golden/15","qos":0,"retain":0,"payloadlen":15,"payload":"q\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\u007f\u00e2\u0082\u00ac"}\n{"tst":"<tst>","topic":"golden/15","qos":2,"retain":0,"payloadlen":1,"mid":2,"payload":"x"}\n',
  },
  {
    name: "%j v5",
    args: ["-V", "5", "-D", "subscribe", "subscription-identifier", "42", "-F", "%j"],
    topic: "golden/16",
    messages: [{ text: "plain", properties: { "subscriptionIdentifiers": [42] } }, {
      text: "props",
      properties: {
        "subscriptionIdentifiers": [42],
        "contentType": "text/plain",
        "correlationData": "corr",
        "payloadFormatIndicator": 1,
        "userProperties": [["k1", "v1"], ["k2", "v2"]],
        "responseTopic": "resp/t",
        "messageExpiryInterval": 100,
      },
    }, {
      text: "dup",
      properties: {
        "subscriptionIdentifiers": [42],
        "userProperties": [["k", "v1"], ["k", "v2"]],
        "correlationData": 'a"b\\c\td\u0001\u00e9',
      },
    }],
    stdout:
      '{"tst":"<tst>","topic":"golden/16","qos":0,"retain":0,"payloadlen":5,"properties":{"subscription-identifier":42},"payload":"plain"}\n{"tst":"<tst>","topic":"golden/16","qos":0,"retain":0,"payloadlen":5,"properties":{"subscription-identifier":42,"content-type":"text/plain","correlation-data":"corr","payload-format-indicator":1,"user-properties":{"k1":"v1","k2":"v2"},"response-topic":"resp/t","message-expiry-interval":100},"payload":"props"}\n{"tst":"<tst>","topic":"golden/16","qos":0,"retain":0,"payloadlen":3,"properties":{"subscription-identifier":42,"user-properties":{"k":"v1","k":"v2"},"correlation-data":"a\\"b\\\\c\\td\\u0001\u00c3\u00a9"},"payload":"dup"}\n',
  },
  {
    name: "%j --pretty",
    args: ["-V", "5", "--pretty", "-F", "%j"],
    topic: "golden/17",
    messages: [{ text: "plain" }, {
      text: "props",
      properties: {
        "contentType": "text/plain",
        "correlationData": "corr",
        "payloadFormatIndicator": 1,
        "userProperties": [["k1", "v1"], ["k2", "v2"]],
        "responseTopic": "resp/t",
        "messageExpiryInterval": 100,
      },
    }],
    stdout:
      '{\n\t"tst":\t"<tst>",\n\t"topic":\t"golden/17",\n\t"qos":\t0,\n\t"retain":\t0,\n\t"payloadlen":\t5,\n\t"payload":\t"plain"\n}\n{\n\t"tst":\t"<tst>",\n\t"topic":\t"golden/17",\n\t"qos":\t0,\n\t"retain":\t0,\n\t"payloadlen":\t5,\n\t"properties":\t{\n\t\t"content-type":\t"text/plain",\n\t\t"correlation-data":\t"corr",\n\t\t"payload-format-indicator":\t1,\n\t\t"user-properties":\t{\n\t\t\t"k1":\t"v1",\n\t\t\t"k2":\t"v2"\n\t\t},\n\t\t"response-topic":\t"resp/t",\n\t\t"message-expiry-interval":\t100\n\t},\n\t"payload":\t"props"\n}\n',
  },
  {
    name: "%J",
    args: ["-F", "A%JB"],
    topic: "golden/18",
    messages: [
      { text: '  {"a":1}  ' },
      { text: '{"a":1} x' },
      { text: "1" },
      { text: '"s"' },
      { text: "null" },
      { text: "true" },
      { text: "false" },
      { text: "[]" },
      { text: "{}" },
      { text: "" },
      { hex: "7b2261223a22ff227d" },
      { hex: "22610062220a" },
      { hex: "efbbbf5b315d" },
      { hex: "015b315d01" },
      { text: "+1" },
      { text: ".5" },
      { text: "[1,]" },
      { text: "nullx" },
      { text: '["\\ud800"]' },
      { text: '["\\x"]' },
      { text: '["a\tb"]' },
      { text: '{"a":"\\u00e9\\/\\ud83d\\ude00\\u0000z","a":"\\u0041"}' },
      { text: '{"a" : [ ] , "b":{ }}' },
      { text: "[1 2]" },
      { text: '{"a" 1}' },
      { text: "{1:2}" },
      { text: '"abc' },
    ],
    stdout:
      'A{"tst":"<tst>","topic":"golden/18","qos":0,"retain":0,"payloadlen":11,"payload":{"a":1}}B\nAB\nA{"tst":"<tst>","topic":"golden/18","qos":0,"retain":0,"payloadlen":1,"payload":1}B\nA{"tst":"<tst>","topic":"golden/18","qos":0,"retain":0,"payloadlen":3,"payload":"s"}B\nA{"tst":"<tst>","topic":"golden/18","qos":0,"retain":0,"payloadlen":4,"payload":null}B\nA{"tst":"<tst>","topic":"golden/18","qos":0,"retain":0,"payloadlen":4,"payload":true}B\nA{"tst":"<tst>","topic":"golden/18","qos":0,"retain":0,"payloadlen":5,"payload":false}B\nA{"tst":"<tst>","topic":"golden/18","qos":0,"retain":0,"payloadlen":2,"payload":[]}B\nA{"tst":"<tst>","topic":"golden/18","qos":0,"retain":0,"payloadlen":2,"payload":{}}B\nA{"tst":"<tst>","topic":"golden/18","qos":0,"retain":0,"payloadlen":0,"payload":null}B\nA{"tst":"<tst>","topic":"golden/18","qos":0,"retain":0,"payloadlen":9,"payload":{"a":"\u00ff"}}B\nAB\nA{"tst":"<tst>","topic":"golden/18","qos":0,"retain":0,"payloadlen":6,"payload":[1]}B\nA{"tst":"<tst>","topic":"golden/18","qos":0,"retain":0,"payloadlen":5,"payload":[1]}B\nAB\nAB\nAB\nAB\nAB\nAB\nA{"tst":"<tst>","topic":"golden/18","qos":0,"retain":0,"payloadlen":7,"payload":["a\\tb"]}B\nA{"tst":"<tst>","topic":"golden/18","qos":0,"retain":0,"payloadlen":48,"payload":{"a":"\u00c3\u00a9/\u00f0\u009f\u0098\u0080","a":"A"}}B\nA{"tst":"<tst>","topic":"golden/18","qos":0,"retain":0,"payloadlen":21,"payload":{"a":[],"b":{}}}B\nAB\nAB\nAB\nAB\n',
    stderr:
      "Error: Message payload is not valid JSON on topic golden/18.\nError: Message payload is not valid JSON on topic golden/18.\nError: Message payload is not valid JSON on topic golden/18.\nError: Message payload is not valid JSON on topic golden/18.\nError: Message payload is not valid JSON on topic golden/18.\nError: Message payload is not valid JSON on topic golden/18.\nError: Message payload is not valid JSON on topic golden/18.\nError: Message payload is not valid JSON on topic golden/18.\nError: Message payload is not valid JSON on topic golden/18.\nError: Message payload is not valid JSON on topic golden/18.\nError: Message payload is not valid JSON on topic golden/18.\nError: Message payload is not valid JSON on topic golden/18.\n",
  },
  {
    name: "%J numbers",
    args: ["-F", "%J"],
    topic: "golden/19",
    messages: [
      {
        text:
          "[2.50, 1e5, 1.0, 0.1, -0, 1e400, -1e400, 123456789012, 0.000001, 0.0001, 1e-7, 3.14159265358979, 0.30000000000000004, 1e21, 1e15, 1e16, 123456789012345678, -2147483648, 2147483647, 2147483648, 1.5e300, 5e-324, 01, -.5, 1., 1.7976931348623157e308, 0.1e-5, 100, 1234567.5, 2.5e-5]",
      },
      { text: "[1e]" },
      { text: "[-]" },
      { text: "[1-2]" },
      { text: "[0x10]" },
    ],
    stdout:
      '{"tst":"<tst>","topic":"golden/19","qos":0,"retain":0,"payloadlen":278,"payload":[2.5,100000,1,0.1,-0,null,null,123456789012,1e-06,0.0001,1e-07,3.14159265358979,0.3,1e+21,1e+15,1e+16,1.2345678901234568e+17,-2147483648,2147483647,2147483648,1.5e+300,4.94065645841247e-324,1,-0.5,1,1.79769313486232e+308,1e-06,100,1234567.5,2.5e-05]}\n\n\n\n\n',
    stderr:
      "Error: Message payload is not valid JSON on topic golden/19.\nError: Message payload is not valid JSON on topic golden/19.\nError: Message payload is not valid JSON on topic golden/19.\nError: Message payload is not valid JSON on topic golden/19.\n",
  },
  {
    name: "%J --pretty",
    args: ["--pretty", "-F", "%J"],
    topic: "golden/20",
    messages: [
      { text: '{"a" : [ ] , "b":{ }, "c":[{}], "d":[[1,[]],{"e":{}}], "f":"g"}' },
      { text: "[]" },
      { text: "{}" },
      { text: '[1,{"a":[{"b":null}]},"x"]' },
    ],
    stdout:
      '{\n\t"tst":\t"<tst>",\n\t"topic":\t"golden/20",\n\t"qos":\t0,\n\t"retain":\t0,\n\t"payloadlen":\t63,\n\t"payload":\t{\n\t\t"a":\t[],\n\t\t"b":\t{\n\t\t},\n\t\t"c":\t[{\n\t\t\t}],\n\t\t"d":\t[[1, []], {\n\t\t\t\t"e":\t{\n\t\t\t\t}\n\t\t\t}],\n\t\t"f":\t"g"\n\t}\n}\n{\n\t"tst":\t"<tst>",\n\t"topic":\t"golden/20",\n\t"qos":\t0,\n\t"retain":\t0,\n\t"payloadlen":\t2,\n\t"payload":\t[]\n}\n{\n\t"tst":\t"<tst>",\n\t"topic":\t"golden/20",\n\t"qos":\t0,\n\t"retain":\t0,\n\t"payloadlen":\t2,\n\t"payload":\t{\n\t}\n}\n{\n\t"tst":\t"<tst>",\n\t"topic":\t"golden/20",\n\t"qos":\t0,\n\t"retain":\t0,\n\t"payloadlen":\t26,\n\t"payload":\t[1, {\n\t\t\t"a":\t[{\n\t\t\t\t\t"b":\tnull\n\t\t\t\t}]\n\t\t}, "x"]\n}\n',
  },
];

const TIME_GOLDEN: TimeGolden[] = [
  {
    topic: "goldentime/0",
    tz: "UTC",
    format:
      "%U|N=@N|%I|%30I|%-30I|%.4I|@@|@Y-@m-@d @H:@M:@S @z @s @j @a @A @b @B @c @C @D @e @F @g @G @h @I @k @l @M @p @P @r @R @T @u @U @V @w @W @x @X @y @%|%j|@Z",
    seconds: 1796065382,
    nanos: 588069865,
    stdout:
      '1796065382.588069865|N=588069865|2026-11-30T19:03:02+0000|      2026-11-30T19:03:02+0000|2026-11-30T19:03:02+0000      |2026|@|2026-11-30 19:03:02 +0000 1796065382 334 Mon Monday Nov November Mon Nov 30 19:03:02 2026 20 11/30/26 30 2026-11-30 26 2026 Nov 07 19  7 03 PM pm 07:03:02 PM 19:03 19:03:02 1 48 49 1 48 11/30/26 19:03:02 26 %|{"tst":"2026-11-30T19:03:02.588069Z+0000","topic":"goldentime/0","qos":0,"retain":0,"payloadlen":2,"payload":"hi"}|UTC\n',
  },
  {
    topic: "goldentime/1",
    tz: "Asia/Kolkata",
    format:
      "%U|N=@N|%I|%30I|%-30I|%.4I|@@|@Y-@m-@d @H:@M:@S @z @s @j @a @A @b @B @c @C @D @e @F @g @G @h @I @k @l @M @p @P @r @R @T @u @U @V @w @W @x @X @y @%|%j",
    seconds: 1796065382,
    nanos: 892258398,
    stdout:
      '1796065382.892258398|N=892258398|2026-12-01T00:33:02+0530|      2026-12-01T00:33:02+0530|2026-12-01T00:33:02+0530      |2026|@|2026-12-01 00:33:02 +0530 1796065382 335 Tue Tuesday Dec December Tue Dec  1 00:33:02 2026 20 12/01/26  1 2026-12-01 26 2026 Dec 12  0 12 33 AM am 12:33:02 AM 00:33 00:33:02 2 48 49 2 48 12/01/26 00:33:02 26 %|{"tst":"2026-12-01T00:33:02.892258Z+0530","topic":"goldentime/1","qos":0,"retain":0,"payloadlen":2,"payload":"hi"}\n',
  },
  {
    topic: "goldentime/2",
    tz: "America/New_York",
    format:
      "%U|N=@N|%I|%30I|%-30I|%.4I|@@|@Y-@m-@d @H:@M:@S @z @s @j @a @A @b @B @c @C @D @e @F @g @G @h @I @k @l @M @p @P @r @R @T @u @U @V @w @W @x @X @y @%|%j|@Z",
    seconds: 1796065383,
    nanos: 196789641,
    stdout:
      '1796065383.196789641|N=196789641|2026-11-30T14:03:03-0500|      2026-11-30T14:03:03-0500|2026-11-30T14:03:03-0500      |2026|@|2026-11-30 14:03:03 -0500 1796065383 334 Mon Monday Nov November Mon Nov 30 14:03:03 2026 20 11/30/26 30 2026-11-30 26 2026 Nov 02 14  2 03 PM pm 02:03:03 PM 14:03 14:03:03 1 48 49 1 48 11/30/26 14:03:03 26 %|{"tst":"2026-11-30T14:03:03.196789Z-0500","topic":"goldentime/2","qos":0,"retain":0,"payloadlen":2,"payload":"hi"}|EST\n',
  },
  {
    topic: "goldentime/3",
    tz: "UTC",
    format: "@E|@O|@+|@Q|@i|@J|@K|@L|@o|@q|@v|@1|@ |@.|@f|@N@N",
    stdout: "%E|%O|%+|%Q|%i|%J|%K|%L|%o|%q|%v|%1|% |%.|%f|502624700502624700\n",
  },
];

const asLatin1 = (bytes: Uint8Array) => Array.from(bytes, (b) => String.fromCharCode(b)).join("");
const hexBytes = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
const TST = /"tst":(\t?)"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z[+-]\d{4}"/g;
/** A fixed moment for the rows whose output has no time in it (other than the masked tst). */
const NOW = { date: new Date(1_700_000_000_000), nanos: 123_456_789 };

function payloadOf(m: GoldenMessage): Uint8Array {
  return m.hex !== undefined ? hexBytes(m.hex) : new TextEncoder().encode(m.text ?? "");
}

function received(topic: string, m: GoldenMessage): ReceivedMessage {
  const message: ReceivedMessage = {
    topic,
    payload: payloadOf(m),
    qos: m.qos ?? 0,
    retain: m.retain ?? false,
    packetId: m.packetId ?? 0,
    clientId: "golden",
  };
  if (m.properties !== undefined) {
    const properties = { ...m.properties };
    if (typeof properties.correlationData === "string") {
      properties.correlationData = new TextEncoder().encode(properties.correlationData);
    }
    message.properties = properties as Properties;
  }
  return message;
}

/** Our output for a golden row, with JSON timestamps masked; and the error lines. */
async function ours(g: Golden): Promise<{ stdout: string; stderr: string }> {
  const parsed = await parseClientArgs("sub", [...g.args, "-t", g.topic], {
    home: undefined,
    xdgConfigHome: undefined,
  });
  assert.ok(parsed.ok, `${g.name}: ${JSON.stringify(parsed)}`);
  const { format, verbose, eol, pretty } = parsed.options;
  let stdout = "";
  let stderr = "";
  for (const m of g.messages) {
    const bytes = formatMessage(received(g.topic, m), {
      format,
      verbose,
      eol,
      pretty,
      now: NOW,
      onError: (line) => stderr += `${line}\n`,
    });
    stdout += asLatin1(bytes);
  }
  return { stdout: stdout.replace(TST, '"tst":$1"<tst>"'), stderr };
}

for (const g of GOLDEN) {
  Deno.test(`formatMessage prints like mosquitto_sub 2.0.11: ${g.name} ${JSON.stringify(g.args)}`, async () => {
    const out = await ours(g);
    assert.equal(out.stdout, g.stdout);
    assert.equal(out.stderr, g.stderr ?? "");
  });
}

const FORMAT_URL = new URL("../../src/tools/format.ts", import.meta.url).href;

/** formatMessage in a child Deno whose time zone is `tz` (a process's zone is fixed at start). */
async function inZone(t: TimeGolden): Promise<string> {
  const code = `import { formatMessage } from ${JSON.stringify(FORMAT_URL)};
    const bytes = formatMessage(
      { topic: ${JSON.stringify(t.topic)}, payload: new TextEncoder().encode("hi"), qos: 0,
        retain: false, packetId: 0, clientId: "golden" },
      { format: ${JSON.stringify(t.format)}, verbose: false, eol: true, pretty: false,
        now: { date: new Date(${t.seconds ?? 1_700_000_000} * 1000), nanos: ${
    t.nanos ?? 502_624_700
  } } });
    console.log(JSON.stringify(new TextDecoder().decode(bytes)));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", code],
    env: { TZ: t.tz, NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

for (const t of TIME_GOLDEN) {
  Deno.test(`formatMessage prints time like mosquitto_sub 2.0.11 in ${t.tz}: ${t.format.slice(0, 40)}...`, async () => {
    assert.equal(await inZone(t), t.stdout);
  });
}

Deno.test("formatMessage uses one receipt time for every time field and keeps %J errors off stdout", () => {
  const msg: ReceivedMessage = {
    topic: "t",
    payload: new TextEncoder().encode("not json"),
    qos: 1,
    retain: true,
    packetId: 9,
    clientId: "c",
  };
  const errors: string[] = [];
  const now = { date: new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 678)), nanos: 7 };
  const out = formatMessage(msg, {
    format: "%U @N %J|",
    verbose: false,
    eol: false,
    pretty: false,
    now,
    onError: (l) => errors.push(l),
  });
  assert.equal(new TextDecoder().decode(out), "1577934245.000000007 000000007 |");
  assert.deepEqual(errors, ["Error: Message payload is not valid JSON on topic t."]);
});

/** The Mosquitto broker, for the live test. */
const MOSQUITTO_BROKER: Peer = (() => {
  for (const path of ["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"]) {
    try {
      if (Deno.statSync(path).isFile) return { name: path, missing: undefined };
    } catch {
      // not there
    }
  }
  return { name: "mosquitto", missing: "the mosquitto broker is not installed" };
})();

let probing = false;
let accepting = false;

/** Whether something accepts connections on `port` (checked in the background while polled). */
function listening(port: number): boolean {
  if (!accepting && !probing) {
    probing = true;
    Deno.connect({ hostname: "127.0.0.1", port }).then(
      (conn) => {
        conn.close();
        accepting = true;
      },
      () => {},
    ).finally(() => probing = false);
  }
  return accepting;
}

interopTest({
  name: "the goldens still match mosquitto_sub and mosquitto_pub against a Mosquitto broker",
  needs: [MOSQUITTO_CLIENTS, MOSQUITTO_BROKER],
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "midge_format_golden_" });
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/mosquitto.conf`,
      `listener ${port} 127.0.0.1\nallow_anonymous true\nlog_dest stderr\nlog_type subscribe\n`,
    );
    const broker = new Subprocess(MOSQUITTO_BROKER.name, ["-c", `${dir}/mosquitto.conf`]);
    await until(() => listening(port), "the broker to listen", {
      describe: () => broker.describe(),
    });
    const env = { HOME: dir, TZ: "UTC" };
    const run = async (args: string[]) => {
      const out = await new Deno.Command("mosquitto_pub", { args, env, stdin: "null" }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
    };
    const publish = async (topic: string, m: GoldenMessage, retain: boolean) => {
      const file = `${dir}/payload`;
      await Deno.writeFile(file, payloadOf(m));
      const args = ["-p", String(port), "-t", topic, "-q", String(m.qos ?? 0), "-f", file];
      if (retain) args.push("-r");
      const props = m.properties ?? {};
      const d = (name: string, ...values: string[]) => args.push("-D", "publish", name, ...values);
      for (const [key, value] of Object.entries(props)) {
        if (key === "contentType") d("content-type", value as string);
        if (key === "correlationData") d("correlation-data", value as string);
        if (key === "messageExpiryInterval") d("message-expiry-interval", String(value));
        if (key === "payloadFormatIndicator") d("payload-format-indicator", String(value));
        if (key === "responseTopic") d("response-topic", value as string);
        if (key === "userProperties") {
          for (const [k, v] of value as string[][]) d("user-property", k, v);
        }
      }
      await run(args);
    };
    const mismatches: string[] = [];
    try {
      for (const [i, g] of GOLDEN.entries()) {
        const topic = g.topic; // a fresh broker: the same topics, so that widths match
        for (const m of g.messages.filter((m) => m.retain)) await publish(topic, m, true);
        const id = `golden-${i}`;
        const sub = new Deno.Command("mosquitto_sub", {
          args: [
            "-p",
            String(port),
            "-i",
            id,
            "-q",
            "2",
            "-C",
            String(g.messages.length),
            "-W",
            "10",
            ...g.args,
            "-t",
            topic,
          ],
          env,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const timer = setTimeout(() => sub.kill("SIGKILL"), 15_000);
        try {
          await until(
            () => broker.stderr.includes(`${id} 2 ${topic}`),
            `${id} to subscribe`,
            {
              describe: () => broker.describe(),
            },
          );
          for (const m of g.messages.filter((m) => !m.retain)) await publish(topic, m, false);
        } finally {
          const out = await sub.output();
          clearTimeout(timer);
          const theirs = asLatin1(out.stdout).replace(TST, '"tst":$1"<tst>"');
          const expected = g.stdout;
          if (theirs !== expected) {
            mismatches.push(
              `${g.name}: ${JSON.stringify(theirs)}\n  golden: ${JSON.stringify(expected)}`,
            );
          }
          if (g.messages.some((m) => m.retain)) {
            await run(["-p", String(port), "-t", topic, "-r", "-n"]);
          }
        }
        await sleep(0);
      }
    } finally {
      await broker.kill();
      await Deno.remove(dir, { recursive: true });
    }
    assert.deepEqual(mismatches, []);
  },
});
