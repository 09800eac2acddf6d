/**
 * A listener's `mount_point`: a prefix written before every topic its clients publish or
 * subscribe to (their will's too), so that ACL checks and routing see the mounted topic, and
 * taken off again on the PUBLISH packets they receive. The prefix is joined as written, with
 * no `/` added (Mosquitto's meaning). Its clients see nothing outside it: `$SYS` included.
 *
 * @module
 */

import { type ConnectPacket, isSharedFilter } from "../codec/mod.ts";
import type { ListenerOptions } from "./options.ts";

/** `topic` as routed for a client of `listener`: behind its mount point, if it has one. */
export function mountTopic(listener: ListenerOptions, topic: string): string {
  const mount = listener.mountPoint;
  return mount === undefined ? topic : mount + topic;
}

/**
 * A subscription filter of a client of `listener`, mounted. A shared subscription
 * `$share/GROUP/FILTER` keeps its prefix and the mount point goes on its filter (Mosquitto
 * 2.0.11 puts it before `$share`, which turns the subscription into a plain one that nobody
 * publishes to).
 */
export function mountFilter(listener: ListenerOptions, filter: string): string {
  const mount = listener.mountPoint;
  if (mount === undefined) return filter;
  if (!isSharedFilter(filter)) return mount + filter;
  const groupEnd = filter.indexOf("/", "$share/".length);
  return filter.slice(0, groupEnd + 1) + mount + filter.slice(groupEnd + 1);
}

/** `packet` with its will's topic mounted for a client of `listener`. */
export function mountWill(listener: ListenerOptions, packet: ConnectPacket): ConnectPacket {
  const will = packet.will;
  if (will === undefined || listener.mountPoint === undefined) return packet;
  return { ...packet, will: { ...will, topic: mountTopic(listener, will.topic) } };
}

/**
 * The topic a client behind `mount` is sent for the routed `topic`, or undefined when `topic`
 * is not under the mount point (the client may not see it; it can only be there through a
 * session resumed from another listener).
 */
export function unmountTopic(mount: string, topic: string): string | undefined {
  return topic.length > mount.length && topic.startsWith(mount)
    ? topic.slice(mount.length)
    : undefined;
}
