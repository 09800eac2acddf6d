/**
 * CONNECT: client id rules, keep alive, the client's 5.0 limits, session takeover, clean start
 * and resumption, CONNACK (with Mosquitto's property order), then resending what the session
 * had in flight.
 *
 * @module
 */

import {
  type ConnectPacket,
  type Properties,
  type QoS,
  ReasonCode,
  type Will,
} from "../../codec/mod.ts";
import type { ClientConnection } from "../context.ts";
import { authenticate, type Refusal } from "../access.ts";
import { resumeDelivery } from "../delivery.ts";
import type { LoginRefusal } from "../metrics.ts";
import { securityOf } from "../options.ts";
import { keptProperties } from "../message.ts";
import { mountWill } from "../mount_point.ts";
import { NEVER_EXPIRES } from "../session.ts";

const PROTOCOL_LOG_NAME = { 3: "p1", 4: "p2", 5: "p5" } as const;

/** Mosquitto's line for a client refused with these reason codes. */
const REFUSAL_LINES: Readonly<Partial<Record<number, string>>> = {
  [ReasonCode.NotAuthorized]: "Client <unknown> disconnected, not authorised.",
  [ReasonCode.PacketTooLarge]: "Client <unknown> disconnected due to oversize payload.",
};

function userName(username: string | undefined): string {
  return username === undefined ? "no user" : `user '${username}'`;
}

/**
 * Refuse the connection with a CONNACK carrying `reasonCode` (mapped for 3.x), and close. A
 * client that is not authorised, or whose will is too large, is logged as Mosquitto logs it,
 * unnamed (log filters such as fail2ban's read that line), and why only in the debug log.
 */
function refuse(conn: ClientConnection, reasonCode: number, why: string): void {
  const log = conn.broker.log;
  const mosquittoLine = REFUSAL_LINES[reasonCode];
  log.log(
    mosquittoLine !== undefined ? "debug" : "notice",
    `Client ${conn.logName} from ${conn.remote} refused: ${why}.`,
  );
  if (mosquittoLine !== undefined) conn.clientId = ""; // Mosquitto names a client once accepted
  conn.send({ type: "connack", sessionPresent: false, reasonCode });
  if (mosquittoLine !== undefined) log.notice(mosquittoLine);
  conn.close("server");
}

/** The `/metrics` reason of each refusal `authenticate` gives. */
const LOGIN_REFUSAL_OF: Readonly<Record<Refusal, LoginRefusal>> = {
  "no username": "no_username",
  "no password file": "no_password_file",
  "unknown user": "unknown_user",
  "bad password": "bad_password",
};

/** Refuse a client that is not authorised (`why`, for the debug log), counted by `reason`. */
function refuseLogin(conn: ClientConnection, reason: LoginRefusal, why: string): void {
  conn.broker.metrics.loginsRefused[reason]++;
  refuse(conn, ReasonCode.NotAuthorized, `not authorised (${why})`);
}

/**
 * Refuse a will above the listener's `max_qos`, as Mosquitto does: a 5.0 client gets CONNACK
 * 0x9B (QoS not supported) with the Maximum QoS; 3.x has no code for it and is closed.
 */
function refuseWillQos(conn: ClientConnection, maxQos: QoS): void {
  conn.broker.log.notice(
    `Client ${conn.logName} from ${conn.remote} refused: will QoS above max_qos ${maxQos}.`,
  );
  if (conn.version === 5) {
    const properties = { maximumQos: maxQos };
    conn.send({
      type: "connack",
      sessionPresent: false,
      reasonCode: ReasonCode.QoSNotSupported,
      properties,
    });
  }
  conn.close("server");
}

/**
 * Handle the first packet of a connection. When a password has to be checked, the rest of the
 * work comes back as a promise of it, for the dispatcher to run (the read loop waits for it).
 */
export function handleConnect(
  conn: ClientConnection,
  written: ConnectPacket,
): void | Promise<() => void> {
  const options = conn.broker.options;
  conn.version = written.protocolVersion;
  conn.isBridge = written.bridge === true;
  if (conn.broker.memory.over && conn.listener.bridge === undefined) {
    // A 3.x client is told "server unavailable" (return code 3).
    conn.broker.memory.connectsRefused++;
    refuse(conn, ReasonCode.QuotaExceeded, "memory_limit reached");
    return;
  }
  const byCertificate = conn.listener.certificateUsername !== undefined;
  const named = byCertificate ? withCertificateUser(conn, written) : written;
  if (named === undefined) {
    refuseLogin(conn, "no_certificate_identity", "no identity in its certificate");
    return;
  }
  // The will is checked and kept behind the listener's mount point.
  const packet = mountWill(conn.listener, named);
  const version = packet.protocolVersion;
  const willSize = packet.will?.payload.length ?? 0;
  if (options.messageSizeLimit > 0 && willSize > options.messageSizeLimit) {
    // As Mosquitto answers: 0x95, which a 3.x client gets as return code 5.
    conn.broker.log.debug(`Client ${packet.clientId} connected with too large Will payload`);
    refuse(conn, ReasonCode.PacketTooLarge, `will payload of ${willSize} bytes too large`);
    return;
  }

  const security = securityOf(options, conn.listener);
  let clientId = packet.clientId;
  let assignedId = false;
  if (conn.listener.useUsernameAsClientId) {
    if (packet.username === undefined) {
      refuseLogin(conn, "no_username", "no username for use_username_as_clientid");
      return;
    }
    clientId = packet.username;
  } else if (clientId === "") {
    // 3.1 has no assigned ids; 3.1.1 only with a clean session [MQTT-3.1.3-8]; 5.0 always
    // [MQTT-3.1.3-6].
    const allowed = (security?.allowZeroLengthClientId ?? options.allowZeroLengthClientId) &&
      (version === 5 || (version === 4 && packet.clean));
    if (!allowed) {
      // 3.x: identifier rejected (2); 5.0: unspecified error (0x80), as Mosquitto answers.
      const code = version === 5
        ? ReasonCode.UnspecifiedError
        : ReasonCode.ClientIdentifierNotValid;
      refuse(conn, code, "empty client id");
      return;
    }
    clientId = (security?.autoIdPrefix ?? options.autoIdPrefix) +
      crypto.randomUUID().toUpperCase();
    assignedId = true;
  }
  conn.clientId = clientId;
  const maxQos = conn.listener.maxQos ?? 2;
  if (packet.will !== undefined && packet.will.qos > maxQos) {
    refuseWillQos(conn, maxQos);
    return;
  }

  if (options.clientIdPrefixes !== undefined && !clientId.startsWith(options.clientIdPrefixes)) {
    refuseLogin(conn, "client_id_prefix", "client id prefix");
    return;
  }
  // A certificate user was checked by the TLS handshake: no password to check.
  const verdict = byCertificate ? undefined : authenticate(options, conn.listener, packet);
  if (verdict instanceof Promise) {
    return verdict.then((refusal) => () => {
      if (!conn.closed) admitOrRefuse(conn, packet, refusal, assignedId);
    });
  }
  admitOrRefuse(conn, packet, verdict, assignedId);
}

/**
 * `packet` with the user the client certificate names (`use_identity_as_username`: its CN;
 * `use_subject_as_username`: its subject) and no password; undefined when it names none.
 */
function withCertificateUser(
  conn: ClientConnection,
  packet: ConnectPacket,
): ConnectPacket | undefined {
  const certificate = conn.certificate;
  const username = conn.listener.certificateUsername === "subject"
    ? certificate?.subject
    : certificate?.commonName;
  if (username === undefined) return undefined;
  return { ...packet, username, password: undefined };
}

function admitOrRefuse(
  conn: ClientConnection,
  packet: ConnectPacket,
  refusal: Refusal | undefined,
  assignedId: boolean,
): void {
  if (refusal !== undefined) {
    // Mosquitto 2.0 answers every authentication failure with "not authorised".
    refuseLogin(conn, LOGIN_REFUSAL_OF[refusal], refusal);
    return;
  }
  // A will on a topic the ACL denies is accepted, as Mosquitto 2.0.11 does: the ACL is checked
  // when the will would be published (sessions.ts), and it is then dropped.
  admit(conn, packet, assignedId);
}

/** `will` copied out of the read buffer its CONNECT came in, which the next read reuses. */
function keptWill(will: Will): Will {
  const kept = { ...will, payload: will.payload.slice() };
  if (will.properties !== undefined) kept.properties = keptProperties(will.properties);
  return kept;
}

/** The client is who it says: take over or resume its session and answer CONNACK. */
function admit(conn: ClientConnection, packet: ConnectPacket, assignedId: boolean): void {
  const broker = conn.broker;
  const options = broker.options;
  const version = packet.protocolVersion;
  const v5 = version === 5;
  const props = packet.properties;
  const clientId = conn.clientId;
  if (v5) {
    if (props?.authenticationMethod !== undefined) {
      refuse(
        conn,
        ReasonCode.BadAuthenticationMethod,
        `unsupported authentication method '${props.authenticationMethod}'`,
      );
      return;
    }
    conn.clientReceiveMaximum = props?.receiveMaximum ?? 65535;
    conn.clientMaximumPacketSize = props?.maximumPacketSize ?? Infinity;
  }

  let keepAlive = packet.keepAlive;
  let serverKeepAlive: number | undefined;
  // max_keepalive binds 5.0 clients only, which can be told (no keep alive included), as
  // Mosquitto 2.0.11 does: a 3.x client keeps the keep alive it asked for.
  if (v5 && (keepAlive > options.maxKeepalive || keepAlive === 0)) {
    keepAlive = serverKeepAlive = options.maxKeepalive; // [MQTT-3.2.2-21]
  }
  conn.keepAliveMs = keepAlive * 1000;

  const expiry = v5
    ? props?.sessionExpiryInterval ?? 0
    : packet.clean
    ? 0
    : options.persistentClientExpiration > 0
    ? options.persistentClientExpiration
    : NEVER_EXPIRES;
  // Session takeover [MQTT-3.1.4-3]; resumed unless clean [MQTT-3.2.2-3].
  const { session, resumed: sessionPresent } = broker.sessions.takeOver(clientId, {
    cleanStart: packet.clean,
    version,
    expiryInterval: expiry,
  });
  if (sessionPresent && session.username !== packet.username) {
    // Kept, as Mosquitto does; what was queued for the old user and every later message is
    // checked against the new user's read access as it is sent.
    broker.log.notice(
      `Client ${clientId}: session of ${userName(session.username)} resumed by ` +
        `${userName(packet.username)}; only what it may read is delivered.`,
    );
  }
  session.version = version;
  session.expiryInterval = expiry;
  session.username = packet.username;
  session.listener = conn.listener;
  session.will = packet.will && keptWill(packet.will);
  broker.sessions.attach(session, conn);
  // CONNACK (and session present) goes only once the session is stored as it says: the
  // dispatcher holds it.
  broker.observer.sessionChanged(session);

  let connackProps: Properties | undefined;
  if (v5) {
    // Mosquitto 2.0's order.
    connackProps = {};
    const maxTopicAlias = conn.listener.maxTopicAlias ?? options.maxTopicAlias;
    if (maxTopicAlias > 0) connackProps.topicAliasMaximum = maxTopicAlias;
    if (serverKeepAlive !== undefined) connackProps.serverKeepAlive = serverKeepAlive;
    if (assignedId) connackProps.assignedClientIdentifier = clientId;
    if (!options.retainAvailable) connackProps.retainAvailable = 0;
    if (options.maxPacketSize > 0) connackProps.maximumPacketSize = options.maxPacketSize;
    if (options.maxInflightMessages > 0) {
      connackProps.receiveMaximum = options.maxInflightMessages;
    }
    const maxQos = conn.listener.maxQos ?? 2;
    if (maxQos < 2) connackProps.maximumQos = maxQos;
  }
  conn.send({ type: "connack", sessionPresent, reasonCode: 0, properties: connackProps });
  if (conn.closed) return; // the CONNACK was over the client's maximum packet size
  const user = packet.username !== undefined ? `, u'${packet.username}'` : "";
  if (broker.log.connectionMessages) {
    broker.log.notice(
      `New ${conn.isBridge ? "bridge" : "client"} connected from ${conn.remote} as ${clientId} ` +
        `(${PROTOCOL_LOG_NAME[version]}, c${packet.clean ? 1 : 0}, k${packet.keepAlive}${user}).`,
    );
  }
  if (sessionPresent) resumeDelivery(broker, conn, session);
}
