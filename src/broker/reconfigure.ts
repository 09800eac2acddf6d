/**
 * A reload's options against the running ones: the new value is taken whole, but the
 * listeners stay the open ones (a reload neither opens nor closes a socket, as in Mosquitto),
 * matched to the new configuration's by identity, and take only their new security.
 *
 * @module
 */

import type { TlsListenSettings } from "../transport/tls_listen.ts";
import type { BrokerOptions, ListenerOptions, ListenerSecurity } from "./options.ts";

/** What a listener is across reloads: its address and port, as a `listener` line names it. */
export function listenerIdentity(listener: ListenerOptions): string {
  return `${listener.host ?? "*"} ${listener.port}`;
}

/** Two lists of listeners matched by identity. */
export interface ListenerMatch<T> {
  /** Each running listener with its match among the next ones. */
  readonly kept: readonly (readonly [running: T, next: T])[];
  /** Running listeners without a match. */
  readonly removed: readonly T[];
  /** Next listeners without a match. */
  readonly added: readonly T[];
}

/**
 * Match `running` listeners with `next` ones of the same `identity`; where several share one
 * (port 0 in tests, or one port for IPv4 and one for IPv6), in order.
 */
export function matchListeners<T>(
  running: readonly T[],
  next: readonly T[],
  identity: (listener: T) => string,
): ListenerMatch<T> {
  const unmatched = new Map<string, T[]>();
  for (const l of next) {
    const id = identity(l);
    unmatched.set(id, [...unmatched.get(id) ?? [], l]);
  }
  const kept: [T, T][] = [];
  const removed: T[] = [];
  for (const l of running) {
    const match = unmatched.get(identity(l))?.shift();
    if (match === undefined) removed.push(l);
    else kept.push([l, match]);
  }
  return { kept, removed, added: [...unmatched.values()].flat() };
}

/** The options a reload puts in force, and what they change. */
export interface Reconfiguration {
  /** The value put in force: the new options, with the running listeners and their security. */
  readonly options: BrokerOptions;
  /**
   * Keys whose value changed (`listeners` and `listenerSecurity` aside), by identity: a
   * password or ACL file read again is a new value.
   */
  readonly changed: readonly (keyof BrokerOptions)[];
  /** New listeners no running one matches: they open at a restart. */
  readonly added: readonly ListenerOptions[];
  /** Running listeners the new options no longer have: they stay open until a restart. */
  readonly removed: readonly ListenerOptions[];
  /** Running listeners whose own security changed. */
  readonly securityChanged: readonly ListenerOptions[];
  /** Running TLS listeners, each with the files its match names: they are read again. */
  readonly tlsReloads: readonly (readonly [ListenerOptions, TlsListenSettings])[];
}

function sameSecurity(a: ListenerSecurity | undefined, b: ListenerSecurity | undefined): boolean {
  const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})]);
  return [...keys].every((key) =>
    a?.[key as keyof ListenerSecurity] === b?.[key as keyof ListenerSecurity]
  );
}

/** `next` as a running broker with `running` takes it. */
export function reconfiguration(running: BrokerOptions, next: BrokerOptions): Reconfiguration {
  const { kept, removed, added } = matchListeners(
    running.listeners,
    next.listeners,
    listenerIdentity,
  );
  const security = new Map<ListenerOptions, ListenerSecurity>();
  for (const l of removed) {
    const before = running.listenerSecurity?.get(l);
    if (before !== undefined) security.set(l, before);
  }
  const securityChanged: ListenerOptions[] = [];
  const tlsReloads: [ListenerOptions, TlsListenSettings][] = [];
  for (const [l, match] of kept) {
    if (l.tls !== undefined && match.tls !== undefined) tlsReloads.push([l, match.tls]);
    const after = next.listenerSecurity?.get(match);
    if (after !== undefined) security.set(l, after);
    if (!sameSecurity(running.listenerSecurity?.get(l), after)) securityChanged.push(l);
  }
  const keys = new Set([...Object.keys(running), ...Object.keys(next)] as (keyof BrokerOptions)[]);
  const changed = [...keys].filter((key) =>
    key !== "listeners" && key !== "listenerSecurity" && running[key] !== next[key]
  );
  return {
    options: Object.freeze({
      ...next,
      listeners: running.listeners,
      listenerSecurity: security,
    }),
    changed,
    added,
    removed,
    securityChanged,
    tlsReloads,
  };
}
