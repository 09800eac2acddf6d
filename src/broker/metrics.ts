/**
 * The broker's counters: what `$SYS`, `/metrics` and `/api/v1/stats` report. Plain numbers,
 * incremented where things happen.
 *
 * Counters that belong to a connection are kept per (listener, protocol version): each
 * connection holds a reference to its `Counters` (the listener's "before CONNECT" set until its
 * CONNECT is accepted, then the set of its listener and version), so counting costs what a single
 * broker-wide counter would; the totals are sums over the few sets, taken when read.
 *
 * @module
 */

import type { ProtocolVersion } from "../codec/mod.ts";
import type { ListenerLabel } from "./listener_label.ts";

/** The names of the counters kept per listener and protocol version. */
export type CounterName =
  | "bytesReceived"
  | "bytesSent"
  | "messagesReceived"
  | "messagesSent"
  | "publishReceived"
  | "publishSent"
  | "publishDropped"
  | "publishBytesReceived"
  | "publishBytesSent"
  | "connections"
  | "sockets";

/** Every counter name, in the order reports list them. */
export const COUNTER_NAMES: readonly CounterName[] = [
  "messagesReceived",
  "messagesSent",
  "publishReceived",
  "publishSent",
  "publishDropped",
  "publishBytesReceived",
  "publishBytesSent",
  "bytesReceived",
  "bytesSent",
  "connections",
  "sockets",
];

/** A value for each counter. */
export type CounterValues = Record<CounterName, number>;

/** No protocol version yet: the connection has not sent an accepted CONNECT. */
export const BEFORE_CONNECT = 0;

/** The counters of one listener and protocol version. */
export class Counters implements CounterValues {
  /** The listener; undefined for what no listener can be credited with. */
  readonly listener: ListenerLabel | undefined;
  /** The protocol version (3, 4, 5), or `BEFORE_CONNECT`. */
  readonly version: ProtocolVersion | typeof BEFORE_CONNECT;
  /** Bytes read from clients. */
  bytesReceived = 0;
  /**
   * Bytes written to clients. Connections add what they wrote when they close and when a
   * snapshot is taken (`Broker.settleCounters`), not per write.
   */
  bytesSent = 0;
  /** Packets of any type received. */
  messagesReceived = 0;
  /** Packets of any type sent. */
  messagesSent = 0;
  /** PUBLISH packets received. */
  publishReceived = 0;
  /** PUBLISH packets sent. */
  publishSent = 0;
  /** Messages dropped: queue limits, oversize for the client, slow QoS 0 consumers. */
  publishDropped = 0;
  /** Payload bytes of PUBLISH packets received. */
  publishBytesReceived = 0;
  /** Payload bytes of PUBLISH packets sent. */
  publishBytesSent = 0;
  /** CONNECT packets accepted (a session attached). */
  connections = 0;
  /** Sockets accepted by the listener (kept in its `BEFORE_CONNECT` set). */
  sockets = 0;

  /** Counters for `listener` and `version`. */
  constructor(
    listener: ListenerLabel | undefined,
    version: ProtocolVersion | typeof BEFORE_CONNECT,
  ) {
    this.listener = listener;
    this.version = version;
  }
}

/** A set of counters at zero. */
export function zeroCounters(): CounterValues {
  return {
    bytesReceived: 0,
    bytesSent: 0,
    messagesReceived: 0,
    messagesSent: 0,
    publishReceived: 0,
    publishSent: 0,
    publishDropped: 0,
    publishBytesReceived: 0,
    publishBytesSent: 0,
    connections: 0,
    sockets: 0,
  };
}

/** The kinds of stored records a damaged store can lose (see restore_losses.ts). */
export const LOST_KINDS = ["sessions", "subscriptions", "messages", "retained", "other"] as const;

/** One of `LOST_KINDS`. */
export type LostKind = typeof LOST_KINDS[number];

/**
 * Why a CONNECT was refused as not authorised (the `reason` label of `/metrics`): no username
 * where one is needed (anonymous access off, or `use_username_as_clientid`), a username with
 * no password file and anonymous access off, an unknown user, a wrong password, a client
 * certificate that names nobody, a client id without a `clientid_prefixes` prefix.
 */
export const LOGIN_REFUSALS = [
  "no_username",
  "no_password_file",
  "unknown_user",
  "bad_password",
  "no_certificate_identity",
  "client_id_prefix",
] as const;

/** One of `LOGIN_REFUSALS`. */
export type LoginRefusal = typeof LOGIN_REFUSALS[number];

/**
 * What a client was denied by the ACL or by the broker's own rules for `$` topics (the `action`
 * label of `/metrics`): a PUBLISH or a will not written, a message not delivered to a subscriber
 * who may not read it (live, retained, queued or resent).
 */
export const ACL_ACTIONS = ["publish", "read"] as const;

/** One of `ACL_ACTIONS`. */
export type AclAction = typeof ACL_ACTIONS[number];

/** Counters since the broker started. */
export class Metrics {
  /** CONNECT packets refused as not authorised, by why. */
  readonly loginsRefused: Record<LoginRefusal, number> = {
    no_username: 0,
    no_password_file: 0,
    unknown_user: 0,
    bad_password: 0,
    no_certificate_identity: 0,
    client_id_prefix: 0,
  };
  /** What the ACL denied, by action. */
  readonly aclDenied: Record<AclAction, number> = { publish: 0, read: 0 };
  /** Sessions removed because they expired. */
  clientsExpired = 0;
  /** Most clients connected at once. */
  clientsMaximum = 0;
  /** Most heap in use seen by a snapshot (bytes). */
  heapMaximum = 0;
  /** Records lost to damage in the store at start-up, by kind; undefined without persistence. */
  storeLost: Record<LostKind, number> | undefined = undefined;
  /** What cannot be credited to a listener (a drop for a restored session whose listener is gone). */
  readonly unattributed: Counters = new Counters(undefined, BEFORE_CONNECT);
  /**
   * Counter sets by listener (its transport and name: a Unix socket's path never meets a port,
   * and two listeners on one port with different addresses share their sets only when they
   * share a transport), indexed by protocol version (0 = before CONNECT, 3, 4, 5).
   */
  #byListener = new Map<string, Counters[]>();
  #all: Counters[] = [this.unattributed];

  /**
   * The counters of `listener` and `version`, created on first use; without a listener, those
   * no listener can be credited with.
   */
  counters(
    listener: ListenerLabel | undefined,
    version: ProtocolVersion | typeof BEFORE_CONNECT,
  ): Counters {
    if (listener === undefined) return this.unattributed;
    let sets = this.#byListener.get(listener.key);
    if (sets === undefined) this.#byListener.set(listener.key, sets = []);
    let counters = sets[version];
    if (counters === undefined) {
      counters = sets[version] = new Counters(listener, version);
      this.#all.push(counters);
    }
    return counters;
  }

  /** Every counter set, in the order they were created. */
  all(): readonly Counters[] {
    return this.#all;
  }

  /** The sum of every counter set. */
  totals(): CounterValues {
    const sum = zeroCounters();
    for (const counters of this.#all) {
      for (const name of COUNTER_NAMES) sum[name] += counters[name];
    }
    return sum;
  }

  /** Messages dropped, in total (tests read it). */
  get publishDropped(): number {
    let sum = 0;
    for (const counters of this.#all) sum += counters.publishDropped;
    return sum;
  }
}
