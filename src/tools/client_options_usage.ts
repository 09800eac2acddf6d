/**
 * The usage texts of Midge's pub, sub and rr: the same options as Mosquitto's tools, in
 * Midge's words.
 *
 * @module
 */

import { MIDGE_VERSION } from "../version.ts";
import type { ToolName } from "./client_options_shape.ts";

const CONNECTION = [
  " -h : broker host name or address (default localhost).",
  " -p : broker port (default 1883, or 8883 with TLS).",
  " --unix : connect through this Unix domain socket instead of TCP.",
  " -L : everything at once: mqtt(s)://[username[:password]@]host[:port]/topic",
  "      Midge also takes ws(s)://[username[:password]@]host[:port]/topic: MQTT over a",
  "      WebSocket (default port 80, wss 443) whose path is always /mqtt.",
  " -A : local address to bind the connection to.",
  " -u : user name.  -P : password.",
  " -i : client id (default: empty for v3.1.1 and v5, so the broker assigns one).",
  " -I : client id prefix; the process id is appended.",
  " -k : keep alive in seconds, 5-65535 (default 60).",
  " -V : MQTT version: 31, 311 or 5 (also mqttv31, mqttv311, mqttv5).",
  " -c : keep the session (clean session off); needs -i.",
  " -x : session expiry interval in seconds for v5 (-1 or ∞: never).",
  " -D : an MQTT v5 property: -D command name value (user-property takes a name and a value).",
  " -M : the most QoS 1/2 messages in flight at once (default 20).",
  " -d : print debug messages.  --quiet : do not print run-time errors.",
  " --nodelay : send packets at once (TCP_NODELAY).",
  " --will-topic, --will-payload, --will-qos, --will-retain : the will message.",
  " --cafile, --capath : CA certificates to trust (turns TLS on); --tls-use-os-certs: trust the",
  "      system's; --cert, --key, --keyform: client certificate; --insecure: do not check the",
  "      host name; --tls-version, --tls-alpn, --ciphers, --tls-engine,",
  "      --tls-engine-kpass-sha1: TLS details.",
  " --psk, --psk-identity : TLS with a pre-shared key.",
  " --proxy : go through a SOCKS5 proxy: socks5h://[username[:password]@]host[:port]",
  " -o : read more options from a file, one option per line.",
  " --help : this text.  --version : the version.",
];

const PUB = [
  "Publish one message, or one per line of standard input, and exit.",
  "",
  "Usage: {program} {-t topic | -L URL} {-m message | -f file | -s | -l | -n} [options]",
  "",
  " -t : topic to publish to.",
  " -m : the message.  -f : a file as the message.  -s : all of standard input as the message.",
  " -l : each line of standard input as a message.  -n : an empty message.",
  " -q : QoS 0, 1 or 2 (default 0).  -r : retain the message.",
  " --repeat N : publish the message N times.  --repeat-delay S : wait S seconds in between.",
];

const SUB = [
  "Subscribe to topics and print the messages that arrive.",
  "",
  "Usage: {program} {-t topic ... | -L URL [-t topic ...]} [options]",
  "",
  " -t : topic filter to subscribe to (repeatable).  -q : QoS 0, 1 or 2 (default 0).",
  " -T : do not print messages whose topic matches this filter (repeatable).",
  " -U : unsubscribe from this filter (repeatable).",
  " -C : exit after this many messages.  -W : exit after this many seconds.",
  " -E : exit once the subscriptions are acknowledged.",
  " -R : skip retained messages.  --retained-only : print retained messages only.",
  " --remove-retained : clear each retained message received.",
  " --retain-as-published : ask for the retain flag as published (v5).",
  " --retain-handling N : retained messages on subscribe: 0 always, 1 if new, 2 never (v5).",
  " --no-local : do not receive this client's own messages (v5).",
  " --random-filter P : print about P percent of the messages (0.1-100).",
  " -v : print 'topic payload'.  -N : no end of line.  --pretty : indented JSON.",
  " -F : output format: %t topic, %p payload, %j JSON, ... (see the manual).",
];

const RR = [
  "Publish a request and print the response (MQTT v5 by default, for its response topic).",
  "",
  "Usage: {program} {-t topic | -L URL} -e response-topic {-m message | -f file | -s | -n}",
  "       [options]",
  "",
  " -t : topic to send the request to.  -e : topic to wait for the response on.",
  " -m : the request.  -f : a file as the request.  -s : standard input as the request.",
  " -n : an empty request.  -q : QoS 0, 1 or 2 (default 0).",
  " -W : give up after this many seconds.  -R : skip retained messages.",
  " -v : print 'topic payload'.  -N : no end of line.  --pretty : indented JSON.",
  " -F : output format, as for sub.",
];

/** The version line that `--version` prints. */
export function versionLine(program: string): string {
  return `${program} version ${MIDGE_VERSION} (Midge ${MIDGE_VERSION}).`;
}

/** The usage text of `tool` run as `program`, as lines for standard output. */
export function usageLines(tool: ToolName, program: string): string[] {
  const own = { pub: PUB, sub: SUB, rr: RR }[tool].map((l) => l.replaceAll("{program}", program));
  return [
    `${program}: ${own[0]}`,
    versionLine(program),
    ...own.slice(1),
    "",
    "Connection and other options:",
    ...CONNECTION,
    "",
    `       ${program} --help`,
  ];
}
