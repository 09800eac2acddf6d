/**
 * What pub, sub and rr share once their options are parsed: open the socket the options
 * describe, connect, and report failures with Mosquitto's texts and exit codes; `-d` debug
 * lines; the client id the tools send.
 *
 * @module
 */

import {
  type Packet,
  type ProtocolVersion,
  type PublishPacket,
  toV3ConnackCode,
} from "../codec/mod.ts";
import { type ClientOptions, parseClientArgs, type ToolName } from "./client_options.ts";
import { formatMessage } from "./format.ts";
import type { CliIo } from "./cli_io.ts";
import { connackErrorLine, connectErrorLine } from "./messages.ts";
import { ConnackRefused, MqttClient } from "../client/mqtt_client.ts";
import {
  dial,
  type DialTarget,
  type ProxyRefusal,
  ProxyRefusedError,
  type ProxyTarget,
  TlsHandshakeError,
} from "../transport/dial.ts";
import type { TlsSettings } from "../transport/node_socket.ts";

/** A connected tool, or the exit code of a failure already reported. */
export type ToolConnection = { client: MqttClient; clientId: string } | { exitCode: number };

/** MOSQ_ERR_* texts mosquitto_pub adds after a refused connection. */
const PUB_REFUSED_V3 = "Error: The connection was refused.";
const PUB_REFUSED_V5 =
  "Error: A network protocol error occurred when communicating with the broker.";

/** A failure to open the socket that Mosquitto's tools report in their own way. */
interface OpenFailure {
  /** The line printed. */
  line: string;
  /** The exit code: the MOSQ_ERR_* value. */
  exitCode: number;
}

/**
 * A failed TLS handshake, as Mosquitto's tools report it when their network loop meets it:
 * MOSQ_ERR_TLS's text, and its value as the exit code. (On a fast local connection their
 * blocking connect sometimes meets it first; they then print "Unable to connect (A TLS error
 * occurred.)." and exit 1.)
 */
const TLS_FAILED: OpenFailure = { line: "Error: A TLS error occurred.", exitCode: 8 };

/**
 * A SOCKS5 proxy's refusals, as Mosquitto's tools report them: MOSQ_ERR_AUTH when it takes
 * none of the authentication methods offered, MOSQ_ERR_PROXY when it refuses the credentials.
 * When the proxy cannot reach the broker they differ by tool (pub prints "Error: The client is
 * not currently connected." and exits 4, sub exits 255 and rr 0 without a word), so Midge's
 * tools say why and exit 1.
 */
const PROXY_REFUSED: Partial<Record<ProxyRefusal, OpenFailure>> = {
  methods: { line: "Error: Authorisation failed.", exitCode: 11 },
  credentials: { line: "Error: Proxy error.", exitCode: 16 },
};

/** Read a PEM file, or every certificate file of a directory (`--capath`). */
async function readCaCerts(tls: ClientOptions["tls"]): Promise<string[] | undefined> {
  const certs: string[] = [];
  if (tls.cafile !== undefined) certs.push(await Deno.readTextFile(tls.cafile));
  if (tls.capath !== undefined) {
    for await (const entry of Deno.readDir(tls.capath)) {
      if (entry.isFile && /\.(pem|crt)$/.test(entry.name)) {
        certs.push(await Deno.readTextFile(`${tls.capath}/${entry.name}`));
      }
    }
  }
  return certs.length > 0 ? certs : undefined;
}

/** What Deno cannot do of what the options ask; the line to print, or undefined. */
function unsupported(options: ClientOptions): string | undefined {
  if (options.tls.psk !== undefined) {
    return "Error: TLS-PSK (--psk) is not available: Deno's TLS has no pre-shared keys.";
  }

  if (options.tls.engine !== undefined || options.tls.keyform === "engine") {
    return "Error: OpenSSL engines are not available in Midge.";
  }
  return undefined;
}

async function dialTarget(options: ClientOptions): Promise<DialTarget> {
  if (options.unixSocket !== undefined) return { kind: "unix", path: options.unixSocket };
  let tls: TlsSettings | undefined;
  if (options.useTls) {
    tls = { caCerts: await readCaCerts(options.tls), alpn: options.tls.alpn };
    if (options.tls.certfile !== undefined && options.tls.keyfile !== undefined) {
      tls.cert = await Deno.readTextFile(options.tls.certfile);
      tls.key = await Deno.readTextFile(options.tls.keyfile);
    }
  }
  const proxy: ProxyTarget | undefined = options.proxy === undefined ? undefined : {
    host: options.proxy.host,
    port: options.proxy.port,
    username: options.proxy.username,
    password: options.proxy.password,
  };
  if (options.websocket) {
    // `-L ws(s)://host:port/topic`: the URL's path is the MQTT topic, so the WebSocket path is
    // fixed, to "/mqtt", where MQTT.js, Paho, EMQX, HiveMQ and VerneMQ expect it (Mosquitto
    // takes any path). TLS (wss) whenever the options turn it on, as for mqtt.
    const host = options.host.includes(":") ? `[${options.host}]` : options.host;
    const url = `${tls === undefined ? "ws" : "wss"}://${host}:${options.port}/mqtt`;
    return { kind: "websocket", url, tls, proxy };
  }
  return {
    kind: "tcp",
    host: options.host,
    port: options.port,
    tls,
    proxy,
    localAddress: options.bindAddress,
    insecure: options.tls.insecure,
  };
}

/** The client id sent: `-i`, `-I` + pid, a generated one for 3.1, else empty. */
export function clientIdOf(options: ClientOptions): string {
  if (options.clientId !== undefined) return options.clientId;
  if (options.idPrefix !== undefined) return `${options.idPrefix}${Deno.pid}`;
  if (options.protocolVersion === 3) {
    const chars = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const random = crypto.getRandomValues(new Uint8Array(18));
    return "mosq-" + [...random].map((b) => chars[b % chars.length]).join("");
  }
  return "";
}

/** `-d` lines for packets, as Mosquitto's tools print them. */
export function debugLine(
  id: string,
  direction: "sent" | "received",
  packet: Packet,
  version: ProtocolVersion,
): string {
  const wireCode = packet.type === "connack" && version !== 5
    ? toV3ConnackCode(packet.reasonCode)
    : packet.type === "connack"
    ? packet.reasonCode
    : 0;
  const who = `Client ${id === "" ? "(null)" : id}`;
  const verb = direction === "sent" ? "sending" : "received";
  const name = packet.type.toUpperCase();
  switch (packet.type) {
    case "connack":
      return `${who} ${verb} CONNACK (${wireCode})`;
    case "disconnect":
      // libmosquitto's own line for a broker's DISCONNECT names no client.
      return direction === "received"
        ? `Received DISCONNECT (${packet.reasonCode})`
        : `${who} ${verb} ${name}`;
    case "publish":
      return `${who} ${verb} PUBLISH (d${packet.dup ? 1 : 0}, q${packet.qos}, ` +
        `r${packet.retain ? 1 : 0}, m${packet.packetId ?? 0}, '${packet.topic}', ... ` +
        `(${packet.payload.length} bytes))`;
    case "subscribe":
      return packet.subscriptions.map((s) =>
        `${who} ${verb} SUBSCRIBE (Mid: ${packet.packetId}, Topic: ${s.topicFilter}, ` +
        `QoS: ${s.qos}, Options: 0x${subscriptionOptions(s).toString(16).padStart(2, "0")})`
      ).join("\n");
    case "unsubscribe":
      return packet.topicFilters.map((f) =>
        `${who} ${verb} UNSUBSCRIBE (Mid: ${packet.packetId}, Topic: ${f})`
      ).join("\n");
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
      return ackDebugLine(who, direction, packet.type, packet.packetId, packet.reasonCode);
    default:
      return `${who} ${verb} ${name}`;
  }
}

/** Mosquitto's tools word acks differently when sending and receiving. */
function ackDebugLine(
  who: string,
  direction: "sent" | "received",
  type: "puback" | "pubrec" | "pubrel" | "pubcomp",
  packetId: number,
  reasonCode: number,
): string {
  const name = type.toUpperCase();
  if (direction === "sent") {
    return type === "pubrel" || type === "pubcomp"
      ? `${who} sending ${name} (m${packetId})`
      : `${who} sending ${name} (m${packetId}, rc${reasonCode})`;
  }
  return type === "pubrec" || type === "pubrel"
    ? `${who} received ${name} (Mid: ${packetId})`
    : `${who} received ${name} (Mid: ${packetId}, RC:${reasonCode})`;
}

function subscriptionOptions(
  s: { noLocal: boolean; retainAsPublished: boolean; retainHandling: number },
): number {
  return (s.noLocal ? 0x04 : 0) | (s.retainAsPublished ? 0x08 : 0) | (s.retainHandling << 4);
}

/**
 * Connect as `options` say. Failures are printed (unless `--quiet` hides run-time errors) and
 * come back as an exit code: 1 for a socket that cannot be opened (8 for a failed TLS
 * handshake, 11 or 16 for a refusing proxy), the CONNACK code for a refusal (3.x return code
 * or 5.0 reason code), as Mosquitto's tools exit.
 */
export async function connectTool(options: ClientOptions, io: CliIo): Promise<ToolConnection> {
  const session = await openSession(options, io, 1);
  if (!("unreached" in session)) return session;
  if (!options.quiet) io.err(session.unreached.line);
  return { exitCode: session.unreached.exitCode };
}

/**
 * Connect again after the connection was lost, as mosquitto_sub does: a broker that cannot
 * be reached, or that says nothing, comes back as undefined without a word (try again); a
 * refusing CONNACK is reported as `connectTool` reports it. Packet ids go on from `lost`'s.
 */
export async function reconnectTool(
  options: ClientOptions,
  io: CliIo,
  lost: MqttClient,
): Promise<ToolConnection | undefined> {
  const session = await openSession(options, io, lost.nextPacketId);
  return "unreached" in session ? undefined : session;
}

/** Connect; a broker not reached comes back unprinted, a refusing one printed. */
async function openSession(
  options: ClientOptions,
  io: CliIo,
  nextPacketId: number,
): Promise<ToolConnection | { unreached: OpenFailure }> {
  const problem = unsupported(options);
  if (problem !== undefined) {
    io.err(problem);
    return { exitCode: 1 };
  }
  const version: ProtocolVersion = options.protocolVersion;
  let clientId = clientIdOf(options);
  const trace = options.debug
    ? (direction: "sent" | "received", packet: Packet) => {
      if (packet.type === "connack") {
        const assigned = packet.properties?.assignedClientIdentifier;
        if (assigned !== undefined) clientId = assigned;
      }
      io.out(debugLine(clientId, direction, packet, version));
    }
    : undefined;
  let socket;
  try {
    socket = await dial(await dialTarget(options));
  } catch (error) {
    const known = error instanceof TlsHandshakeError
      ? TLS_FAILED
      : error instanceof ProxyRefusedError
      ? PROXY_REFUSED[error.refusal]
      : undefined;
    return { unreached: known ?? { line: connectErrorLine(error), exitCode: 1 } };
  }
  const will = options.will;
  try {
    const client = await MqttClient.connect(socket, {
      protocolVersion: version,
      clientId,
      clean: options.cleanSession,
      keepAlive: options.keepalive,
      username: options.username,
      password: options.password === undefined
        ? undefined
        : new TextEncoder().encode(options.password),
      will: will === undefined ? undefined : {
        topic: will.topic,
        payload: will.payload,
        qos: will.qos,
        retain: will.retain,
        properties: options.properties.will,
      },
      properties: version === 5 ? options.properties.connect : undefined,
    }, { trace, nextPacketId, disconnectWhenRefused: options.tool !== "pub" });
    const assigned = client.connack.properties?.assignedClientIdentifier;
    return { client, clientId: assigned ?? clientId };
  } catch (error) {
    if (!(error instanceof ConnackRefused)) {
      return { unreached: { line: connectErrorLine(error), exitCode: 1 } };
    }
    const code = version === 5
      ? error.connack.reasonCode
      : toV3ConnackCode(error.connack.reasonCode);
    if (!options.quiet) {
      io.err(connackErrorLine(version, code, options.tool));
      if (options.tool === "pub") io.err(version === 5 ? PUB_REFUSED_V5 : PUB_REFUSED_V3);
    }
    return { exitCode: code };
  }
}

/** Parse a tool's arguments; a refusal (or --help) is printed and comes back as its exit code. */
export async function parseToolArgs(
  tool: ToolName,
  args: string[],
  io: CliIo,
  program: string,
): Promise<ClientOptions | number> {
  const parsed = await parseClientArgs(tool, args, { program });
  if (parsed.ok) return parsed.options;
  for (const line of parsed.stdout) io.out(line);
  for (const line of parsed.stderr) io.err(line);
  return parsed.exitCode;
}

/** Print a received message as sub and rr print it (-v, -N, -F, --pretty). */
export function printMessage(
  io: CliIo,
  message: PublishPacket,
  clientId: string,
  options: ClientOptions,
): void {
  const write = io.write ?? ((data: Uint8Array) => io.out(new TextDecoder().decode(data)));
  const now = Date.now();
  write(formatMessage({
    topic: message.topic,
    payload: message.payload,
    qos: message.qos,
    retain: message.retain,
    packetId: message.packetId ?? 0,
    clientId,
    properties: message.properties,
  }, {
    format: options.format,
    verbose: options.verbose,
    eol: options.eol,
    pretty: options.pretty,
    now: { date: new Date(now), nanos: (now % 1000) * 1_000_000 },
    onError: (line) => io.err(line),
  }));
}
