/**
 * parseClientArgs against Mosquitto 2.0.11's mosquitto_pub, mosquitto_sub and mosquitto_rr.
 * Every refused command line is a row: the exact stderr lines and the exit code. The same rows
 * run through the real tools (they refuse them before connecting), so each row is checked
 * against what Mosquitto prints; usage texts are Midge's own and only checked to be there.
 * Accepted command lines are a second table of parsed fields.
 */

import assert from "node:assert/strict";
import {
  type ClientOptions,
  parseClientArgs,
  type ToolName,
} from "../../src/tools/client_options.ts";
import { interopTest, MOSQUITTO_CLIENTS, MOSQUITTO_RR } from "../interop/helpers.ts";

/** A refused command line and what the tool prints. */
interface ErrorRow {
  tool: ToolName;
  args: string[];
  /** Exact stderr lines. */
  stderr: string[];
  /** True when the usage goes to stdout (its text is Midge's own). */
  usage?: boolean;
  /** Files in the temporary home directory, by path relative to it. */
  files?: Record<string, string>;
  /** Set XDG_CONFIG_HOME to this directory under the temporary home. */
  xdg?: string;
  /** A Midge extension: Mosquitto 2.0.11 rejects these arguments differently. */
  midgeOnly?: boolean;
}

/** No default options file, whatever the machine has in ~/.config. */
const NO_FILES = { home: undefined, xdgConfigHome: undefined };

const use = (tool: ToolName) => `Use 'mosquitto_${tool} --help' to see usage.`;
/** An error line that ends in one newline, then the usage hint. */
const e1 = (tool: ToolName, line: string) => [line, "", use(tool)];
/** An error line that ends in two newlines, then the usage hint. */
const e2 = (tool: ToolName, line: string) => [line, "", "", use(tool)];

function row(
  tool: ToolName,
  args: string[],
  stderr: string[],
  extra: Partial<ErrorRow> = {},
): ErrorRow {
  return { tool, args, stderr, ...extra };
}

/** Each option that takes a value, given without it, and what the tools say. */
const MISSING_VALUE: [ToolName[], string, string][] = [
  [["pub", "sub", "rr"], "-A", "-A argument given but no address specified."],
  [["sub"], "-C", "-C argument given but no count specified."],
  [["pub", "sub", "rr"], "--cafile", "--cafile argument given but no file specified."],
  [["pub", "sub", "rr"], "--capath", "--capath argument given but no directory specified."],
  [["pub", "sub", "rr"], "--cert", "--cert argument given but no file specified."],
  [["pub", "sub", "rr"], "--ciphers", "--ciphers argument given but no ciphers specified."],
  [["pub", "sub", "rr"], "-D", "--property argument given but not enough arguments specified."],
  [["rr"], "-e", "-e argument given but no response topic specified."],
  [["pub", "rr"], "--file", "-f argument given but no file specified."],
  [["sub", "rr"], "-F", "-F argument given but no format specified."],
  [["pub", "sub", "rr"], "--host", "-h argument given but no host specified."],
  [["pub", "sub", "rr"], "--id", "-i argument given but no id specified."],
  [["pub", "sub", "rr"], "--id-prefix", "-I argument given but no id prefix specified."],
  [["pub", "sub", "rr"], "--keepalive", "-k argument given but no keepalive specified."],
  [["pub", "sub", "rr"], "--key", "--key argument given but no file specified."],
  [["pub", "sub", "rr"], "--keyform", "--keyform argument given but no keyform specified."],
  [["pub", "sub", "rr"], "--url", "-L argument given but no URL specified."],
  [["pub", "rr"], "--message", "-m argument given but no message specified."],
  [["pub", "sub", "rr"], "-M", "-M argument given but max_inflight not specified."],
  [["pub", "sub", "rr"], "--port", "-p argument given but no port specified."],
  [["pub", "sub", "rr"], "--pw", "-P argument given but no password specified."],
  [["pub", "sub", "rr"], "--proxy", "--proxy argument given but no proxy url specified."],
  [["pub", "sub", "rr"], "--psk", "--psk argument given but no key specified."],
  [
    ["pub", "sub", "rr"],
    "--psk-identity",
    "--psk-identity argument given but no identity specified.",
  ],
  [["pub", "sub", "rr"], "--qos", "-q argument given but no QoS specified."],
  [["sub"], "--random-filter", "--random-filter argument given but no chance specified."],
  [["pub"], "--repeat", "--repeat argument given but no count specified."],
  [["pub"], "--repeat-delay", "--repeat-delay argument given but no time specified."],
  [["pub", "sub", "rr"], "--topic", "-t argument given but no topic specified."],
  [["sub"], "--filter-out", "-T argument given but no topic filter specified."],
  [["pub", "sub", "rr"], "--tls-alpn", "--tls-alpn argument given but no protocol specified."],
  [["pub", "sub", "rr"], "--tls-engine", "--tls-engine argument given but no engine_id specified."],
  [
    ["pub", "sub", "rr"],
    "--tls-engine-kpass-sha1",
    "--tls-engine-kpass-sha1 argument given but no kpass sha1 specified.",
  ],
  [["pub", "sub", "rr"], "--tls-version", "--tls-version argument given but no version specified."],
  [["pub", "sub", "rr"], "--username", "-u argument given but no username specified."],
  [["pub", "sub", "rr"], "--unix", "--unix argument given but no socket path specified."],
  [["sub"], "--unsubscribe", "-U argument given but no unsubscribe topic specified."],
  [["pub", "sub", "rr"], "-V", "--protocol-version argument given but no version specified."],
  [["sub", "rr"], "-W", "-W argument given but no timeout specified."],
  [["pub", "sub", "rr"], "-x", "-x argument given but no session expiry interval specified."],
  [
    ["pub", "sub", "rr"],
    "--will-payload",
    "--will-payload argument given but no will payload specified.",
  ],
  [["pub", "sub", "rr"], "--will-qos", "--will-qos argument given but no will QoS specified."],
  [
    ["pub", "sub", "rr"],
    "--will-topic",
    "--will-topic argument given but no will topic specified.",
  ],
];

/** Options each tool does not know. */
const UNKNOWN: [ToolName, string][] = [
  ["pub", "-C"],
  ["pub", "-E"],
  ["pub", "-F"],
  ["pub", "-v"],
  ["pub", "-U"],
  ["pub", "--pretty"],
  ["sub", "-m"],
  ["sub", "-r"],
  ["sub", "-e"],
  ["sub", "--repeat"],
  ["rr", "-l"],
  ["rr", "-C"],
  ["rr", "-T"],
  ["rr", "-E"],
  ["rr", "--random-filter"],
  ["pub", "-S"],
  ["pub", "--retain-handling"], // sub only: a Midge extension (2.0.11's sub has none)
  ["rr", "--no-local"],
  ["pub", "--qos=1"],
  ["pub", "x"],
  ["sub", "--tls-keylog"],
];

const TAB = "a\tb";

const ERRORS: ErrorRow[] = [
  ...MISSING_VALUE.flatMap(([tools, option, text]) =>
    tools.map((tool) => row(tool, [option], e2(tool, `Error: ${text}`)))
  ),
  ...UNKNOWN.map(([tool, option]) =>
    row(tool, [option], e1(tool, `Error: Unknown option '${option}'.`))
  ),
  // Missing pieces; pub prints its usage.
  row("pub", [], ["Error: Both topic and message must be supplied."], { usage: true }),
  row("pub", ["-t", "a"], ["Error: Both topic and message must be supplied."], { usage: true }),
  row("pub", ["-m", "x", "--quiet"], ["Error: Both topic and message must be supplied."], {
    usage: true,
  }),
  row("pub", ["--help"], [], { usage: true }),
  row("sub", ["--help"], [], { usage: true }),
  row("rr", ["-t", "a", "--help", "-q", "3"], [], { usage: true }),
  row("sub", [], e1("sub", "Error: You must specify a topic to subscribe to.")),
  row("sub", ["-U", "x"], e1("sub", "Error: You must specify a topic to subscribe to.")),
  row("rr", [], e1("rr", "Error: All of topic, message, and response topic must be supplied.")),
  row(
    "rr",
    ["-t", "a", "-m", "x"],
    e1("rr", "Error: All of topic, message, and response topic must be supplied."),
  ),
  // Numbers are read with atoi, then range-checked.
  row("pub", ["-q", "3"], e1("pub", "Error: Invalid QoS given: 3")),
  row("sub", ["-t", "a", "-q", "-1"], e1("sub", "Error: Invalid QoS given: -1")),
  row("pub", ["-q", "3", "-p"], e1("pub", "Error: Invalid QoS given: 3")),
  row("pub", ["-p", "65536"], e1("pub", "Error: Invalid port given: 65536")),
  row("sub", ["-p", "-1"], e1("sub", "Error: Invalid port given: -1")),
  row(
    "pub",
    ["-k", "4"],
    e2("pub", "Error: Invalid keepalive given, it must be between 5 and 65535 inclusive."),
  ),
  row(
    "pub",
    ["-k", "abc"],
    e2("pub", "Error: Invalid keepalive given, it must be between 5 and 65535 inclusive."),
  ),
  row(
    "sub",
    ["-k", "65536"],
    e2("sub", "Error: Invalid keepalive given, it must be between 5 and 65535 inclusive."),
  ),
  row("pub", ["-V", "4"], e2("pub", "Error: Invalid protocol version argument given.")),
  row("pub", ["-V", "MQTTV5"], e2("pub", "Error: Invalid protocol version argument given.")),
  row("rr", ["-V", "5.0"], e2("rr", "Error: Invalid protocol version argument given.")),
  row("sub", ["-C", "0"], e2("sub", 'Error: Invalid message count "0".')),
  row("sub", ["-C", "abc"], e2("sub", 'Error: Invalid message count "0".')),
  row("sub", ["-W", "-1"], e2("sub", 'Error: Invalid timeout "-1".')),
  row("rr", ["-W", "2147483648"], e2("rr", 'Error: Invalid timeout "-2147483648".')),
  row("pub", ["-M", "0"], e2("pub", "Error: Maximum inflight messages must be greater than 0.")),
  row("pub", ["--repeat", "abc"], e2("pub", "Error: --repeat argument must be >0.")),
  row("pub", ["--repeat-delay", "-1"], e2("pub", "Error: --repeat-delay argument must be >=0.0.")),
  row(
    "sub",
    ["--random-filter", "0.05"],
    e2("sub", "Error: --random-filter chance must be between 0.1-100.0"),
  ),
  row(
    "sub",
    ["--random-filter", "1000.1"],
    e2("sub", "Error: --random-filter chance must be between 0.1-100.0"),
  ),
  row(
    "sub",
    ["--random-filter", "nan"],
    e2("sub", "Error: --random-filter chance must be between 0.1-100.0"),
  ),
  row("pub", ["--will-qos", "3"], e2("pub", "Error: Invalid will QoS 3.")),
  // -x
  row("pub", ["-x", "abc"], e2("pub", "Error: session-expiry-interval not a number.")),
  row("pub", ["-x", "10x"], e2("pub", "Error: session-expiry-interval not a number.")),
  row("pub", ["-x", ""], e2("pub", "Error: session-expiry-interval not a number.")),
  row("pub", ["-x", "1e3"], e2("pub", "Error: session-expiry-interval not a number.")),
  row("sub", ["-x", "4294967296"], e2("sub", "Error: session-expiry-interval out of range.")),
  row("sub", ["-x", "-2"], e2("sub", "Error: session-expiry-interval out of range.")),
  // Client ids and sessions.
  row(
    "pub",
    ["-i", "me", "-I", "pre"],
    e2("pub", "Error: -i and -I argument cannot be used together."),
  ),
  row(
    "sub",
    ["-I", "pre", "-i", "me"],
    e2("sub", "Error: -i and -I argument cannot be used together."),
  ),
  row(
    "pub",
    ["-c"],
    e1("pub", "Error: You must provide a client id if you are using the -c option."),
  ),
  row(
    "sub",
    ["-t", "a", "-c", "-I", "pre"],
    e1("sub", "Error: You must provide a client id if you are using the -c option."),
  ),
  row(
    "rr",
    ["-c", "-V", "311"],
    e1("rr", "Error: You must provide a client id if you are using the -c option."),
  ),
  row(
    "sub",
    ["-c"],
    e1("sub", "Error: You must provide a client id if you are using the -c option."),
  ),
  row(
    "pub",
    ["-c", "-V", "5"],
    e1(
      "pub",
      "Error: You must provide a client id if you are using an infinite session expiry interval.",
    ),
  ),
  row(
    "rr",
    ["-c"],
    e1(
      "rr",
      "Error: You must provide a client id if you are using an infinite session expiry interval.",
    ),
  ),
  row(
    "sub",
    ["-x", "-1", "-V", "5"],
    e1(
      "sub",
      "Error: You must provide a client id if you are using an infinite session expiry interval.",
    ),
  ),
  row(
    "sub",
    ["-x", "∞", "-V", "mqttv5", "-I", "x"],
    e1(
      "sub",
      "Error: You must provide a client id if you are using an infinite session expiry interval.",
    ),
  ),
  row(
    "sub",
    ["-c", "-D", "connect", "receive-maximum", "0"],
    e1(
      "sub",
      "Error: You must provide a client id if you are using an infinite session expiry interval.",
    ),
  ),
  row("pub", ["-t", "a", "-m", "x", "-c", "-x", "0", "-V", "5"], ["Error: Invalid id."]),
  row("pub", ["-t", "a", "-m", "x", "-i", ""], ["Error: Invalid id."]),
  row("rr", ["-t", "a", "-e", "b", "-m", "x", "-i", ""], [
    "Error: Invalid id and/or clean_session.",
  ]),
  row("sub", ["-t", "a", "-i", ""], ["Error: Invalid id and/or clean_session."]),
  row("sub", ["-t", "a", "-i", "", "--quiet"], []),
  row("pub", ["-t", "a", "-m", "x", "-i", TAB], []),
  row("pub", ["-t", "a", "-m", "x", "-P", "pw"], [
    "Error: Problem setting username and/or password.",
  ]),
  row("pub", ["-t", "a", "-m", "x", "-u", TAB], [
    "Error: Problem setting username and/or password.",
  ]),
  row("sub", ["-t", "a", "-P", "pw", "-V", "31", "--quiet"], []),
  // Topics.
  row(
    "pub",
    ["-t", "a/#", "-m", "x"],
    e1("pub", "Error: Invalid publish topic 'a/#', does it contain '+' or '#'?"),
  ),
  row("pub", ["-t", "a\t#", "-m", "x"], e2("pub", "Error: Malformed UTF-8 in -t argument.")),
  row("pub", ["--topic", "a\x7fb"], e2("pub", "Error: Malformed UTF-8 in -t argument.")),
  row("pub", ["-t", "a\u{fdd0}b"], e2("pub", "Error: Malformed UTF-8 in -t argument.")),
  row("pub", ["-t", "a\u{1fffe}b"], e2("pub", "Error: Malformed UTF-8 in -t argument.")),
  row("pub", ["-t", "a\u{9f}b"], e2("pub", "Error: Malformed UTF-8 in -t argument.")),
  row(
    "sub",
    ["-t", "a/#/b"],
    e1("sub", "Error: Invalid subscription topic 'a/#/b', are all '+' and '#' wildcards correct?"),
  ),
  row(
    "sub",
    ["-t", "a+"],
    e1("sub", "Error: Invalid subscription topic 'a+', are all '+' and '#' wildcards correct?"),
  ),
  row(
    "sub",
    ["-t", "#/"],
    e1("sub", "Error: Invalid subscription topic '#/', are all '+' and '#' wildcards correct?"),
  ),
  row(
    "sub",
    ["-t", "a", "-T", "a+"],
    e1("sub", "Error: Invalid filter topic 'a+', are all '+' and '#' wildcards correct?"),
  ),
  row("sub", ["-t", "a", "-T", TAB], e2("sub", "Error: Malformed UTF-8 in -T argument.")),
  row(
    "sub",
    ["-t", "a", "-U", "#/a"],
    e1("sub", "Error: Invalid unsubscribe topic '#/a', are all '+' and '#' wildcards correct?"),
  ),
  row("sub", ["--unsubscribe", TAB], e2("sub", "Error: Malformed UTF-8 in -U argument.")),
  row(
    "sub",
    ["--will-topic", "w/#"],
    e1("sub", "Error: Invalid will topic 'w/#', does it contain '+' or '#'?"),
  ),
  row("pub", ["--will-topic", TAB], e2("pub", "Error: Malformed UTF-8 in --will-topic argument.")),
  row(
    "rr",
    ["-t", "a/+", "-e", "b", "-m", "x"],
    e1("rr", "Error: Invalid publish topic 'a/+', does it contain '+' or '#'?"),
  ),
  row(
    "rr",
    ["-t", "a", "-e", "b/#", "-m", "x"],
    e1("rr", "Error: Invalid response topic 'b/#', does it contain '+' or '#'?"),
  ),
  row("rr", ["-e", TAB], e2("rr", "Error: Malformed UTF-8 in -e argument.")),
  // Messages.
  row(
    "pub",
    ["-m", "x", "-m", "y"],
    e2("pub", "Error: Only one type of message can be sent at once."),
  ),
  row("pub", ["-n", "-l"], e2("pub", "Error: Only one type of message can be sent at once.")),
  row(
    "pub",
    ["-m", "x", "-f", "/nonexistent"],
    e2("pub", "Error: Only one type of message can be sent at once."),
  ),
  row("rr", ["-s", "-n"], e2("rr", "Error: Only one type of message can be sent at once.")),
  row("pub", ["-f", "/nonexistent/file"], [
    'Error: Unable to open file "/nonexistent/file".',
    'Error loading input file "/nonexistent/file".',
  ]),
  row("pub", ["-t", "a", "-f", "/nonexistent/file", "--quiet"], []),
  row("pub", ["-t", "a", "-f", "/"], [
    "Error: File must be less than 268435455 bytes.",
    "",
    'Error loading input file "/".',
  ]),
  row("pub", ["-t", "a", "-s"], ["Error: Zero length input.", "Error loading input from stdin."]),
  row("pub", ["-s"], ["Error: Zero length input.", "Error loading input from stdin."]),
  // Will and TLS.
  row(
    "pub",
    ["--will-payload", "x"],
    e1("pub", "Error: Will payload given, but no will topic given."),
  ),
  row(
    "sub",
    ["--will-payload", "", "-c"],
    e1("sub", "Error: Will payload given, but no will topic given."),
  ),
  row("sub", ["--will-retain"], e1("sub", "Error: Will retain given, but no will topic given.")),
  row(
    "pub",
    ["--cert", "c", "-c"],
    e1("pub", "Error: Both certfile and keyfile must be provided if one of them is set."),
  ),
  row(
    "sub",
    ["--key", "k", "--keyform", "pem"],
    e1("sub", "Error: Both certfile and keyfile must be provided if one of them is set."),
  ),
  row(
    "pub",
    ["--keyform", "pem"],
    e1("pub", "Error: If keyform is set, keyfile must be also specified."),
  ),
  row(
    "rr",
    ["--key", "k", "--cert", "c", "--tls-engine-kpass-sha1", "x", "--psk", "00"],
    e1(
      "rr",
      "Error: when using tls-engine-kpass-sha1, both tls-engine and keyform must also be provided.",
    ),
  ),
  row(
    "pub",
    ["--psk", "00", "--cafile", "x", "-c"],
    e1("pub", "Error: Only one of --psk or --cafile/--capath may be used at once."),
  ),
  row("sub", ["--psk", "00", "-c"], e1("sub", "Error: --psk-identity required if --psk used.")),
  // -L and --proxy.
  row("pub", ["-L", "http://h/a"], e2("pub", "Error: unsupported URL scheme.")),
  row("sub", ["-L", ""], e2("sub", "Error: unsupported URL scheme.")),
  row(
    "pub",
    ["-L", "mqtt://h"],
    e1("pub", "Error: Invalid URL for -L argument specified - topic missing."),
  ),
  row(
    "pub",
    ["-L", "MQTT://h/a/#"],
    e1("pub", "Error: Invalid publish topic 'a/#', does it contain '+' or '#'?"),
  ),
  row(
    "sub",
    ["-L", "mqtt://h/a+"],
    e1("sub", "Error: Invalid subscription topic 'a+', are all '+' and '#' wildcards correct?"),
  ),
  row("sub", ["-L", `mqtts://h/${TAB}`], e2("sub", "Error: Malformed UTF-8 in -L topic argument.")),
  row("pub", ["--proxy", "foo"], e1("pub", "Error: Unsupported proxy protocol: foo")),
  row(
    "pub",
    ["--proxy", "SOCKS5H://h"],
    e1("pub", "Error: Unsupported proxy protocol: SOCKS5H://h"),
  ),
  row("pub", ["--proxy", "socks5h://"], e1("pub", "Error: Invalid proxy.")),
  row("pub", ["--proxy", "socks5h://host:"], e1("pub", "Error: Invalid proxy.")),
  row("pub", ["--proxy", "socks5h://u:p@"], e1("pub", "Error: Invalid proxy.")),
  row("pub", ["--proxy", "socks5h://h:abc"], e1("pub", "Error: Invalid proxy port 0")),
  row("sub", ["--proxy", "socks5h://u@h:70000"], e1("sub", "Error: Invalid proxy port 70000")),
  row("pub", ["--proxy", "socks5h://a@b@h"], ["", use("pub")]),
  row("pub", ["--proxy", "socks5h://:p@h"], ["", use("pub")]),
  row("pub", ["--proxy", "socks5h://u:p@h:1:2"], ["", use("pub")]),
  row("pub", ["--proxy", "socks5h://u%41:p@h"], ["", use("pub")]),
  row("pub", ["--proxy", "socks5h://u:p%4@h"], ["", use("pub")]),
  // -D
  row(
    "pub",
    ["-D", "publish", "content-type"],
    e2("pub", "Error: --property argument given but not enough arguments specified."),
  ),
  row(
    "pub",
    ["-D", "publish", "user-property", "a"],
    e2("pub", "Error: --property argument given but not enough arguments specified."),
  ),
  row(
    "pub",
    ["-D", "puback", "user-property", "a"],
    e2("pub", "Error: --property argument given but not enough arguments specified."),
  ),
  row(
    "pub",
    ["-D", "suback", "user-property", "a", "b"],
    e2("pub", "Error: Invalid command given in --property argument."),
  ),
  row(
    "sub",
    ["-D", "pingreq", "x", "y"],
    e2("sub", "Error: Invalid command given in --property argument."),
  ),
  row(
    "pub",
    ["-D", "publish", "foo", "x"],
    e2("pub", "Error: Invalid property name given in --property argument."),
  ),
  row(
    "pub",
    ["-D", "CONNECT", "Content-Type", "x"],
    e2("pub", "Error: Content-Type property not allowed for CONNECT in --property argument."),
  ),
  row(
    "rr",
    ["-D", "will", "topic-alias", "5"],
    e2("rr", "Error: topic-alias property not allowed for will in --property argument."),
  ),
  row("pub", ["-D", "connack", "receive-maximum", "-1"], ["", use("pub")]),
  row(
    "sub",
    ["-D", "PUBACK", "Reason-String", "x"],
    e2("sub", "Error: Reason-String property not supported for PUBACK in --property argument."),
  ),
  row(
    "pub",
    ["-D", "auth", "authentication-method", "x"],
    e2(
      "pub",
      "Error: authentication-method property not supported for auth in --property argument.",
    ),
  ),
  row(
    "pub",
    ["-D", "publish", "subscription-identifier", "99999999999"],
    e2(
      "pub",
      "Error: subscription-identifier property not supported for publish in --property argument.",
    ),
  ),
  row(
    "pub",
    ["-D", "PUBLISH", "Message-Expiry-Interval", "-1"],
    e2("pub", "Error: Property value (-1) out of range for property Message-Expiry-Interval."),
  ),
  row(
    "pub",
    ["-D", "publish", "message-expiry-interval", "99999999999999999999"],
    e2(
      "pub",
      "Error: Property value (9223372036854775807) out of range for property message-expiry-interval.",
    ),
  ),
  row(
    "sub",
    ["-D", "connect", "receive-maximum", " -5"],
    e2("sub", "Error: Property value (-5) out of range for property receive-maximum."),
  ),
  row(
    "pub",
    ["-D", "publish", "payload-format-indicator", "256"],
    e2("pub", "Error: Property value (256) out of range for property payload-format-indicator."),
  ),
  row(
    "sub",
    ["-D", "subscribe", "subscription-identifier", "4294967296"],
    e2(
      "sub",
      "Error: Property value (4294967296) out of range for property subscription-identifier.",
    ),
  ),
  row(
    "sub",
    ["-D", "Subscribe", "Subscription-Identifier", "268435456"],
    e1("sub", "Error adding property Subscription-Identifier 4"),
  ),
  row(
    "pub",
    ["-D", "publish", "content-type", TAB],
    e1("pub", "Error adding property content-type 6"),
  ),
  row(
    "pub",
    ["-D", "publish", "user-property", TAB, "v"],
    e1("pub", "Error adding property user-property 7"),
  ),
  row(
    "pub",
    ["-D", "connect", "receive-maximum", "abc"],
    e1(
      "pub",
      "Error in CONNECT properties: A network protocol error occurred when communicating with the broker.",
    ),
  ),
  row(
    "rr",
    ["-D", "connect", "request-problem-information", "2", "-V", "311"],
    e1(
      "rr",
      "Error in CONNECT properties: A network protocol error occurred when communicating with the broker.",
    ),
  ),
  row(
    "pub",
    ["-D", "connect", "maximum-packet-size", "0"],
    e1(
      "pub",
      "Error in CONNECT properties: A network protocol error occurred when communicating with the broker.",
    ),
  ),
  row(
    "pub",
    ["-D", "publish", "topic-alias", "0", "-t", "a", "-m", "x", "-V", "311"],
    e1(
      "pub",
      "Error in PUBLISH properties: A network protocol error occurred when communicating with the broker.",
    ),
  ),
  row(
    "pub",
    ["-D", "publish", "content-type", "a", "-D", "publish", "content-type", "b"],
    e1("pub", "Error in PUBLISH properties: Duplicate property in property list"),
  ),
  row(
    "pub",
    ["-x", "6", "-V", "5", "-i", "me", "-D", "connect", "session-expiry-interval", "5"],
    e1("pub", "Error in CONNECT properties: Duplicate property in property list"),
  ),
  row("sub", [
    "-t",
    "a",
    "-D",
    "subscribe",
    "subscription-identifier",
    "5",
    "-D",
    "subscribe",
    "subscription-identifier",
    "6",
  ], e1("sub", "Error in SUBSCRIBE properties: Duplicate property in property list")),
  row("pub", [
    "-D",
    "will",
    "content-type",
    "a",
    "-D",
    "will",
    "content-type",
    "b",
    "-D",
    "disconnect",
    "reason-string",
    "a",
    "-D",
    "disconnect",
    "reason-string",
    "b",
  ], e1("pub", "Error in DISCONNECT properties: Duplicate property in property list")),
  row(
    "pub",
    ["-D", "will", "content-type", "a", "-D", "will", "content-type", "b"],
    e1("pub", "Error in Will properties: Duplicate property in property list"),
  ),
  row(
    "sub",
    ["-D", "connect", "receive-maximum", "0"],
    e1("sub", "Error: You must specify a topic to subscribe to."),
  ),
  row(
    "rr",
    ["-D", "connect", "receive-maximum", "0"],
    e1(
      "rr",
      "Error in CONNECT properties: A network protocol error occurred when communicating with the broker.",
    ),
  ),
  row("rr", ["-t", "a", "-e", "b", "-m", "x", "-D", "publish", "response-topic", "r"], [
    "Error in PUBLISH properties: Duplicate response topic.",
  ]),
  row(
    "rr",
    ["-t", "a", "-e", "b", "-m", "x", "-D", "publish", "response-topic", "r", "--quiet"],
    [],
  ),
  // sub's checks after loading, -F.
  row("sub", ["-t", "a", "-R", "--retained-only"], [
    "",
    "Error: Combining '-R' and '--retained-only' makes no sense.",
  ]),
  row("sub", ["-t", "a", "-R", "--retained-only", "--quiet", "-i", ""], [
    "",
    "Error: Combining '-R' and '--retained-only' makes no sense.",
  ]),
  row("sub", ["-F", "%c"], e1("sub", "Error: Invalid format specifier 'c'.")),
  row("sub", ["-F", "%c", "-q", "3"], e1("sub", "Error: Invalid format specifier 'c'.")),
  row("sub", ["-q", "3", "-F", "%c"], e1("sub", "Error: Invalid QoS given: 3")),
  row("rr", ["-F", "%-5.2a"], e1("rr", "Error: Invalid format specifier 'a'.")),
  row("sub", ["-F", "%--5t"], e1("sub", "Error: Invalid format specifier '-'.")),
  row("sub", ["-F", "%0-5t"], e1("sub", "Error: Invalid format specifier '-'.")),
  row("sub", ["-F", "%5.5.5t"], e1("sub", "Error: Invalid format specifier '.'.")),
  row("sub", ["-F", "x%"], e1("sub", "Error: Incomplete format specifier.")),
  row("sub", ["-F", "%10."], e1("sub", "Error: Incomplete format specifier.")),
  row("sub", ["-F", "%%%"], e1("sub", "Error: Incomplete format specifier.")),
  row("sub", ["-F", "a@"], e1("sub", "Error: Incomplete format specifier.")),
  row("sub", ["-F", "\\b"], e1("sub", "Error: Invalid escape specifier 'b'.")),
  row("sub", ["-F", "\\\\\\"], e1("sub", "Error: Incomplete escape specifier.")),
  // Options files.
  row("pub", ["-t", "a", "-m", "x"], e1("pub", "Error: Invalid QoS given: 3"), {
    files: { ".config/mosquitto_pub": "# defaults\n-q 3\n" },
  }),
  row("pub", ["-t", "a", "-m", "x"], e1("pub", "Error: Unknown option '-t\tx'."), {
    files: { ".config/mosquitto_pub": "-t\tx\n" },
  }),
  row("pub", ["-t", "a", "-m", "x"], e1("pub", "Error: Unknown option '#'."), {
    files: { ".config/mosquitto_pub": "  # not a comment\n" },
  }),
  row(
    "pub",
    ["-t", "a", "-m", "x"],
    e2("pub", "Error: --property argument given but not enough arguments specified."),
    {
      files: { ".config/mosquitto_pub": "-D publish user-property a b\n" },
    },
  ),
  row("pub", ["-t", "a"], e2("pub", "Error: Only one type of message can be sent at once."), {
    files: { ".config/mosquitto_pub": "-m from-file\r\n-m again\r\n" },
  }),
  row("sub", ["-t", "a"], e2("sub", "Error: -q argument given but no QoS specified."), {
    files: { ".config/mosquitto_sub": "-q \n" },
  }),
  row("rr", [], [], { usage: true, files: { ".config/mosquitto_rr": "--help\n" } }),
  row("pub", ["-t", "a", "-m", "x"], e1("pub", "Error: Invalid QoS given: 7"), {
    files: { ".config/mosquitto_pub": "-q 1\n", "xdg/mosquitto_pub": "-q 7\n" },
    xdg: "xdg",
  }),
  row("sub", ["-t", "a"], e1("sub", "Error: Invalid QoS given: 3"), {
    files: { ".config/mosquitto_sub": `-q 3\n${"-".repeat(1100)}\n` },
  }),
  // Midge's -o.
  row("pub", ["-o"], e2("pub", "Error: -o argument given but no options file specified."), {
    midgeOnly: true,
  }),
  row("pub", ["-o", "/nonexistent"], [
    'Error: Unable to read options file "/nonexistent".',
    "",
    "",
    use("pub"),
  ], {
    midgeOnly: true,
  }),
];

/** A temporary home directory with `files`; removed by the returned function. */
async function makeHome(
  files: Record<string, string> = {},
): Promise<[string, () => Promise<void>]> {
  const home = await Deno.makeTempDir({ prefix: "midge_client_options_" });
  for (const [path, text] of Object.entries(files)) {
    const full = `${home}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(full, text);
  }
  return [home, () => Deno.remove(home, { recursive: true })];
}

function describe(r: ErrorRow): string {
  const files = r.files ? ` with ${JSON.stringify(r.files)}` : "";
  return `${r.tool} ${JSON.stringify(r.args)}${files}`;
}

Deno.test("parseClientArgs refuses bad command lines with Mosquitto's exact lines and exit code 1", async () => {
  for (const r of ERRORS) {
    const [home, cleanup] = await makeHome(r.files);
    try {
      const env = {
        home,
        xdgConfigHome: r.xdg ? `${home}/${r.xdg}` : undefined,
        readStdin: () => Promise.resolve(new Uint8Array()),
      };
      const parsed = await parseClientArgs(r.tool, r.args, env);
      assert.equal(parsed.ok, false, describe(r));
      if (parsed.ok) continue;
      assert.equal(parsed.exitCode, 1, describe(r));
      assert.deepEqual(parsed.stderr, r.stderr, describe(r));
      assert.equal(parsed.stdout.length > 0, r.usage === true, `${describe(r)}: usage on stdout`);
    } finally {
      await cleanup();
    }
  }
});

/** Run the real tool with `row`'s arguments, home and empty stdin. */
async function runMosquitto(
  r: ErrorRow,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [home, cleanup] = await makeHome(r.files);
  try {
    const env: Record<string, string> = {
      HOME: home,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      LC_ALL: "C",
    };
    if (r.xdg) env.XDG_CONFIG_HOME = `${home}/${r.xdg}`;
    const child = new Deno.Command(`mosquitto_${r.tool}`, {
      args: r.args,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    const out = await child.output();
    clearTimeout(timer);
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
  } finally {
    await cleanup();
  }
}

interopTest({
  name:
    "the refused command lines are refused alike by mosquitto_pub, mosquitto_sub and mosquitto_rr 2.0.11",
  needs: [MOSQUITTO_CLIENTS, MOSQUITTO_RR],
  async fn() {
    const mismatches: string[] = [];
    for (const r of ERRORS.filter((r) => !r.midgeOnly)) {
      const real = await runMosquitto(r);
      const expected = r.stderr.map((line) => `${line}\n`).join("");
      if (
        real.stderr !== expected || real.code !== 1 ||
        (real.stdout.length > 0) !== (r.usage === true)
      ) {
        mismatches.push(
          `${describe(r)}: real tool exit ${real.code}, stderr ${
            JSON.stringify(real.stderr)
          }, stdout ${real.stdout.length} bytes; ours ${JSON.stringify(expected)}`,
        );
      }
    }
    assert.deepEqual(mismatches, []);
  },
});

Deno.test("parseClientArgs reads the default options file from the process environment unless told", async () => {
  const [home, cleanup] = await makeHome({ ".config/mosquitto_sub": "-t from-home\n" });
  const saved = [Deno.env.get("HOME"), Deno.env.get("XDG_CONFIG_HOME")];
  try {
    Deno.env.set("HOME", home);
    Deno.env.delete("XDG_CONFIG_HOME");
    const parsed = await parseClientArgs("sub", ["-t", "cli"], { program: "midge sub" });
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.options.topics, ["from-home", "cli"]);
    const told = await parseClientArgs("sub", ["-t", "cli"], { home: undefined });
    assert.ok(told.ok);
    assert.deepEqual(told.options.topics, ["cli"]);
  } finally {
    if (saved[0] === undefined) Deno.env.delete("HOME");
    else Deno.env.set("HOME", saved[0]);
    if (saved[1] !== undefined) Deno.env.set("XDG_CONFIG_HOME", saved[1]);
    await cleanup();
  }
});

Deno.test("-o is Midge's: Mosquitto 2.0.11 does not know it", async () => {
  const parsed = await parseClientArgs("pub", ["-o", "x"], NO_FILES);
  assert.equal(parsed.ok, false);
  if (MOSQUITTO_CLIENTS.missing === undefined) {
    const real = await runMosquitto(row("pub", ["-o", "x"], []));
    assert.equal(
      real.stderr,
      "Error: Unknown option '-o'.\n\nUse 'mosquitto_pub --help' to see usage.\n",
    );
  }
});

/** An accepted command line and fields of the options it gives. */
interface OkRow {
  tool: ToolName;
  args: string[];
  expect: Partial<ClientOptions>;
  files?: Record<string, string>;
  xdg?: string;
  stdin?: string;
}

const bytes = (text: string) => new TextEncoder().encode(text);

const ACCEPTED: OkRow[] = [
  {
    tool: "pub",
    args: ["-t", "a", "-m", "x"],
    expect: {
      host: "localhost",
      port: 1883,
      useTls: false,
      keepalive: 60,
      protocolVersion: 4,
      cleanSession: true,
      qos: 0,
      topics: ["a"],
      messageSource: "message",
      message: bytes("x"),
      retain: false,
      repeatCount: 1,
      repeatDelay: 0,
      maxInflight: 20,
      properties: {},
      program: "mosquitto_pub",
    },
  },
  {
    tool: "rr",
    args: ["-t", "a", "-e", "r", "-n"],
    expect: { protocolVersion: 5, responseTopic: "r", message: new Uint8Array() },
  },
  { tool: "pub", args: ["-t", "a", "-n", "-V", "31"], expect: { protocolVersion: 3 } },
  { tool: "pub", args: ["-t", "a", "-n", "-V", "mqttv311"], expect: { protocolVersion: 4 } },
  { tool: "sub", args: ["-t", "a", "-V", "mqttv5"], expect: { protocolVersion: 5 } },
  {
    tool: "pub",
    args: ["-t", "a", "-n", "-D", "publish", "user-property", "k", "v", "-V", "311"],
    expect: { protocolVersion: 4, properties: { publish: { userProperties: [["k", "v"]] } } },
  },
  {
    tool: "pub",
    args: ["-t", "a", "-n", "-p", "12x", "-k", "10x", "-q", "abc"],
    expect: { port: 12, keepalive: 10, qos: 0 },
  },
  { tool: "pub", args: ["-t", "a", "-n", "-t", "b"], expect: { topics: ["b"] } },
  {
    tool: "pub",
    args: ["-n", "-L", "mqtt://u:p@host:1234/topic/x"],
    expect: { username: "u", password: "p", host: "host", port: 1234, topics: ["topic/x"] },
  },
  {
    tool: "sub",
    args: ["-L", "MQTTS://host/t", "-t", "u"],
    expect: {
      port: 8883,
      useTls: true,
      topics: ["t", "u"],
      tls: { insecure: false, useOsCerts: true },
    },
  },
  { tool: "pub", args: ["-n", "-p", "1", "-L", "mqtt://h/a"], expect: { port: 1883, host: "h" } },
  {
    tool: "pub",
    args: ["-n", "-L", "mqtt://h/a", "-p", "5", "-h", "k"],
    expect: { port: 5, host: "k" },
  },
  {
    tool: "pub",
    args: ["-n", "-L", "mqtt://a:b@c:d@h:1/t"],
    expect: { username: "a", password: "b", host: "c", port: 0, unixSocket: "c" },
  },
  // -L ws:// and wss:// are Midge's (Mosquitto 2.0.11: "unsupported URL scheme"; pinned in
  // tests/tools/transport_test.ts).
  {
    tool: "pub",
    args: ["-n", "-L", "ws://u:p@host/topic/x"],
    expect: {
      username: "u",
      password: "p",
      host: "host",
      port: 80,
      topics: ["topic/x"],
      websocket: true,
      useTls: false,
    },
  },
  {
    tool: "sub",
    args: ["-L", "WSS://host:9001/a/#"],
    expect: {
      host: "host",
      port: 9001,
      topics: ["a/#"],
      websocket: true,
      useTls: true,
      tls: { insecure: false, useOsCerts: true },
    },
  },
  { tool: "pub", args: ["-n", "-L", "wss://h/t"], expect: { port: 443, websocket: true } },
  {
    tool: "pub",
    args: ["-n", "-L", "ws://h/t", "--cafile", "ca.pem"],
    expect: { port: 80, websocket: true, useTls: true },
  },
  {
    tool: "pub",
    args: ["-n", "-L", "ws://h/t", "-L", "mqtt://k/u"],
    expect: { host: "k", port: 1883, topics: ["u"], websocket: undefined },
  },
  { tool: "pub", args: ["-n", "-L", "mqtt://h/t"], expect: { websocket: undefined } },
  {
    tool: "pub",
    args: ["-t", "a", "-n", "--unix", "/tmp/s"],
    expect: { host: "/tmp/s", port: 0, unixSocket: "/tmp/s" },
  },
  {
    tool: "pub",
    args: ["-t", "a", "-n", "--unix", "/tmp/s", "-h", "h", "-p", "7"],
    expect: { host: "h", port: 7 },
  },
  {
    tool: "pub",
    args: ["-t", "a", "-n", "--cafile", "ca.pem"],
    expect: { port: 8883, useTls: true },
  },
  {
    tool: "pub",
    args: ["-t", "a", "-n", "-p", "8883", "--insecure"],
    expect: { useTls: true, tls: { insecure: true, useOsCerts: true } },
  },
  {
    tool: "pub",
    args: ["-t", "a", "-n", "--tls-use-os-certs"],
    expect: { port: 1883, useTls: true },
  },
  {
    tool: "sub",
    args: ["-t", "a", "--psk", "0a", "--psk-identity", "me", "--tls-version", "tlsv1.2"],
    expect: {
      port: 8883,
      useTls: true,
      tls: { psk: "0a", pskIdentity: "me", version: "tlsv1.2", insecure: false, useOsCerts: false },
    },
  },
  {
    tool: "pub",
    args: ["-t", "a", "-n", "--proxy", "socks5h://u%40x:p%3aq@host"],
    expect: { proxy: { host: "host", port: 1080, username: "u@x", password: "p:q" } },
  },
  {
    tool: "pub",
    args: ["-t", "a", "-n", "--proxy", "socks5h://h:1:2"],
    expect: { proxy: { host: "h", port: 1 } },
  },
  {
    tool: "sub",
    args: ["-t", "a", "-x", "-1", "-V", "5", "-i", "me"],
    expect: {
      sessionExpiryInterval: 4294967295,
      properties: { connect: { sessionExpiryInterval: 4294967295 } },
    },
  },
  {
    tool: "sub",
    args: ["-t", "a", "-x", "5"],
    expect: { properties: {}, protocolVersion: 4, sessionExpiryInterval: undefined },
  },
  {
    tool: "sub",
    args: ["-t", "a", "-c", "-i", "me", "-V", "5"],
    expect: { cleanSession: false, sessionExpiryInterval: 4294967295 },
  },
  {
    tool: "sub",
    args: ["-t", "a", "-x", "0x10", "-V", "5"],
    expect: { sessionExpiryInterval: 16 },
  },
  { tool: "sub", args: ["-t", "a", "-x", "010", "-V", "5"], expect: { sessionExpiryInterval: 8 } },
  {
    tool: "sub",
    args: ["-t", "a", "-x", "0", "-V", "5", "-c", "-i", "me"],
    expect: { cleanSession: false, properties: {} },
  },
  {
    tool: "sub",
    args: [
      "-t",
      "a",
      "-t",
      "b/#",
      "-T",
      "b/c",
      "-U",
      "d",
      "-v",
      "-N",
      "-F",
      "%t",
      "--pretty",
      "-C",
      "2",
      "-W",
      "3",
      "-R",
      "-E",
    ],
    expect: {
      topics: ["a", "b/#"],
      filterOutTopics: ["b/c"],
      unsubscribeTopics: ["d"],
      verbose: true,
      eol: false,
      format: "%t",
      pretty: true,
      msgCount: 2,
      timeout: 3,
      noRetained: true,
      exitAfterSubscribe: true,
      randomFilter: 100,
    },
  },
  {
    tool: "sub",
    args: ["-t", "", "--random-filter", "0.15"],
    expect: { topics: [""], randomFilter: 0.1 },
  },
  {
    tool: "sub",
    args: ["-t", "a", "--random-filter", "1e3", "--retained-only", "--remove-retained"],
    expect: { randomFilter: 1000, retainedOnly: true, removeRetained: true },
  },
  {
    tool: "pub",
    args: [
      "-t",
      "a",
      "-n",
      "-D",
      "publish",
      "user-property",
      "k",
      "v",
      "-D",
      "PUBLISH",
      "User-Property",
      "k",
      "v",
      "-D",
      "publish",
      "correlation-data",
      "cd",
      "-D",
      "publish",
      "message-expiry-interval",
      "0x100000000",
      "-D",
      "will",
      "reason-string",
      "why",
      "-D",
      "disconnect",
      "session-expiry-interval",
      "9",
    ],
    expect: {
      protocolVersion: 5,
      properties: {
        publish: {
          userProperties: [["k", "v"], ["k", "v"]],
          correlationData: bytes("cd"),
          messageExpiryInterval: 0,
        },
        will: { reasonString: "why" },
        disconnect: { sessionExpiryInterval: 9 },
      },
    },
  },
  {
    tool: "sub",
    args: [
      "-t",
      "a",
      "-D",
      "subscribe",
      "subscription-identifier",
      "5",
      "-D",
      "unsubscribe",
      "user-property",
      "a",
      "b",
    ],
    expect: {
      properties: {
        subscribe: { subscriptionIdentifiers: [5] },
        unsubscribe: { userProperties: [["a", "b"]] },
      },
    },
  },
  {
    tool: "sub",
    args: [
      "-t",
      "a",
      "--will-topic",
      "w",
      "--will-payload",
      "p",
      "--will-qos",
      "1",
      "--will-retain",
    ],
    expect: { will: { topic: "w", payload: bytes("p"), qos: 1, retain: true } },
  },
  {
    tool: "pub",
    args: ["-t", "a", "-n", "--will-qos", "2"],
    expect: { will: undefined },
  },
  {
    tool: "pub",
    args: ["-t", "a", "-n", "--will-topic", ""],
    expect: { will: { topic: "", payload: new Uint8Array(), qos: 0, retain: false } },
  },
  {
    tool: "sub",
    args: ["-t", "a", "-p", "0"],
    expect: { host: "localhost", port: 0, unixSocket: "localhost", useTls: false },
  },
  {
    tool: "pub",
    args: ["-t", "a", "-s"],
    stdin: "all of it\n",
    expect: { messageSource: "stdin-file", message: bytes("all of it\n") },
  },
  {
    tool: "pub",
    args: ["-t", "a", "-l", "-r", "--repeat", "3", "--repeat-delay", "0.5"],
    expect: { messageSource: "stdin-line", retain: true, repeatCount: 3, repeatDelay: 0.5 },
  },
  {
    tool: "pub",
    args: ["-t", "a", "-n", "--repeat-delay", "2x"],
    expect: { repeatDelay: 2, message: new Uint8Array() },
  },
  {
    tool: "pub",
    args: ["-t", "a", "-u", "", "-P", "pw", "-V", "31", "-I", "", "-M", "65536", "-n"],
    expect: { username: "", password: "pw", idPrefix: "", maxInflight: 65536 },
  },
  { tool: "sub", args: ["-t", "a", "-P", "pw", "-V", "5"], expect: { password: "pw" } },
  {
    tool: "pub",
    args: ["-m", "x"],
    files: { ".config/mosquitto_pub": "-p 1234 \n-t  x y\n#-q 2\n\n" },
    expect: { port: 1234, topics: [" x y"] },
  },
  {
    tool: "pub",
    args: ["-m", "x", "-t", "cli"],
    files: { ".config/mosquitto_pub": "-t file\r\n" },
    expect: { topics: ["cli"] },
  },
  {
    tool: "sub",
    args: ["-t", "cli"],
    files: { ".config/mosquitto_sub": "-t file\n" },
    expect: { topics: ["file", "cli"] },
  },
  {
    tool: "sub",
    args: ["-t", "cli"],
    files: { "xdg/mosquitto_sub": "-t xdg\n", ".config/mosquitto_sub": "-t home\n" },
    xdg: "xdg",
    expect: { topics: ["xdg", "cli"] },
  },
  {
    tool: "sub",
    args: ["-t", "cli"],
    files: { ".config/mosquitto_sub": "-t home\n" },
    xdg: "nowhere",
    expect: { topics: ["cli"] },
  },
  {
    tool: "sub",
    args: ["-o", "OPTS", "-t", "cli"],
    files: { OPTS: "-t from-o\n-v\n" },
    expect: { topics: ["from-o", "cli"], verbose: true },
  },
];

Deno.test("parseClientArgs reads accepted command lines into Mosquitto's settings", async () => {
  for (const r of ACCEPTED) {
    const [home, cleanup] = await makeHome(r.files);
    try {
      const args = r.args.map((a) => a === "OPTS" ? `${home}/OPTS` : a);
      const parsed = await parseClientArgs(r.tool, args, {
        home,
        xdgConfigHome: r.xdg ? `${home}/${r.xdg}` : undefined,
        readStdin: () => Promise.resolve(bytes(r.stdin ?? "")),
      });
      const where = `${r.tool} ${JSON.stringify(r.args)}`;
      assert.ok(parsed.ok, `${where}: ${JSON.stringify(parsed)}`);
      for (const [key, value] of Object.entries(r.expect)) {
        assert.deepEqual(parsed.options[key as keyof ClientOptions], value, `${where}: ${key}`);
      }
    } finally {
      await cleanup();
    }
  }
});

Deno.test("pub -f loads the file as the message", async () => {
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeFile(file, new Uint8Array([0, 1, 2, 255]));
    const parsed = await parseClientArgs("pub", ["-t", "a", "-f", file], NO_FILES);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.options.message, new Uint8Array([0, 1, 2, 255]));
    assert.equal(parsed.options.file, file);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("--help and --version print to stdout and exit with 1, under the program name given", async () => {
  const help = await parseClientArgs("sub", ["--help"], { ...NO_FILES, program: "midge sub" });
  assert.ok(!help.ok);
  assert.equal(help.exitCode, 1);
  assert.ok(help.stdout.some((line) => line.includes("midge sub")), help.stdout.join("\n"));
  const version = await parseClientArgs("rr", ["--version", "-q", "9"], NO_FILES);
  assert.ok(!version.ok);
  assert.deepEqual([version.exitCode, version.stderr, version.stdout.length], [1, [], 1]);
  assert.match(version.stdout[0], /^mosquitto_rr version /);
  const hint = await parseClientArgs("pub", ["-q", "3"], { ...NO_FILES, program: "midge pub" });
  assert.ok(!hint.ok);
  assert.equal(hint.stderr.at(-1), "Use 'midge pub --help' to see usage.");
});
