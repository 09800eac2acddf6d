/**
 * Who may connect and what they may do with topics: the password file and ACL in force for a
 * listener (its own with per_listener_settings, else the broker's), and the checks the
 * handlers and delivery make.
 *
 * @module
 */

import type { ConnectPacket } from "../codec/mod.ts";
import {
  type BrokerOptions,
  type ListenerOptions,
  securityOf,
  type TopicAuthorizer,
} from "./options.ts";
import type { Message } from "./message.ts";
import type { Session } from "./session.ts";

/** Why a CONNECT is not let in, for the log line; undefined when it is. */
export type Refusal = "no username" | "no password file" | "unknown user" | "bad password";

/** The ACL in force on `listener`, if any. */
export function aclOf(
  options: BrokerOptions,
  listener: ListenerOptions | undefined,
): TopicAuthorizer | undefined {
  if (listener?.bridge?.trusted) return undefined; // the broker's own bridge
  return securityOf(options, listener)?.aclFile ?? options.aclFile;
}

/**
 * Authenticate a CONNECT as Mosquitto 2.0 does: with a username, the password file decides
 * (no password file: refused unless anonymous access is on); without one, allow_anonymous.
 * The broker's own bridges are let in, unless they name a local user.
 */
export function authenticate(
  options: BrokerOptions,
  listener: ListenerOptions,
  packet: ConnectPacket,
): Refusal | undefined | Promise<Refusal | undefined> {
  if (listener.bridge?.trusted) return undefined;
  const security = securityOf(options, listener);
  const allowAnonymous = security?.allowAnonymous ?? options.allowAnonymous;
  const passwords = security?.passwordFile ?? options.passwordFile;
  if (packet.username === undefined) return allowAnonymous ? undefined : "no username";
  if (passwords === undefined) return allowAnonymous ? undefined : "no password file";
  return passwords.verify(packet.username, packet.password).then((verdict) =>
    verdict === "ok" ? undefined : verdict
  );
}

/**
 * Whether the publisher of retained `message` may still write to its topic
 * (`check_retain_source`: its access may have been taken away since). Always true for the
 * broker's own messages, and without an ACL.
 */
export function retainSourceMayWrite(options: BrokerOptions, message: Message): boolean {
  const source = message.retainSource;
  if (!options.checkRetainSource || source === undefined) return true;
  const acl = aclOf(options, source.listener);
  return acl === undefined ||
    acl.allows(
      { clientId: message.publisherId, username: source.username },
      message.topic,
      "write",
    );
}

/**
 * Whether a client may write `topic` (always, without an ACL): `who` is a client's id and
 * username and the listener whose ACL applies to it.
 */
export function mayWrite(
  options: BrokerOptions,
  who: { clientId: string; username: string | undefined; listener: ListenerOptions | undefined },
  topic: string,
): boolean {
  const acl = aclOf(options, who.listener);
  return acl === undefined ||
    acl.allows({ clientId: who.clientId, username: who.username }, topic, "write");
}

/**
 * Whether no client may publish to `topic`, whatever the ACL says: `$SYS` is the broker's own,
 * except `$SYS/broker/connection/NAME/state`, which bridges write (the ACL still applies to
 * it); `$share` names subscriptions, not topics. Prefixes are compared as Mosquitto 2.0 does,
 * so `$SYSTEM/a` and `$shared` are closed too.
 */
export function isClosedToClients(topic: string): boolean {
  if (topic.charCodeAt(0) !== 0x24) return false; // '$'
  if (topic.startsWith("$share")) return true;
  if (!topic.startsWith("$SYS")) return false;
  const levels = topic.split("/");
  return levels.length !== 5 || levels[1] !== "broker" || levels[2] !== "connection" ||
    levels[4] !== "state";
}

/**
 * Whether a client may leave a will on `topic`: checked when the will is published (CONNECT
 * accepts any will topic, as Mosquitto does). Topics closed to clients are closed to wills, as
 * for a PUBLISH.
 */
export function mayLeaveWill(
  options: BrokerOptions,
  who: { clientId: string; username: string | undefined; listener: ListenerOptions | undefined },
  topic: string,
): boolean {
  return !isClosedToClients(topic) && mayWrite(options, who, topic);
}

/** Whether `session`'s client may read `topic` (always, without an ACL). */
export function mayRead(options: BrokerOptions, session: Session, topic: string): boolean {
  const acl: TopicAuthorizer | undefined = aclOf(options, session.listener);
  return acl === undefined ||
    acl.allows({ clientId: session.clientId, username: session.username }, topic, "read");
}
