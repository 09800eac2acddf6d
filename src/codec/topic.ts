/**
 * Syntax of topic names and topic filters (MQTT 5.0 §4.7, §4.8.2). These functions say what is
 * wrong, or nothing; the codec turns a problem into an `MqttError`, other callers (the tools,
 * the config) into their own messages.
 *
 * @module
 */

import type { ProtocolVersion } from "./types.ts";

const SHARE_PREFIX = "$share/";

/**
 * The most '/' a topic name or filter may hold: 200, so at most 201 levels, `$share/GROUP/`
 * included. The specification sets no limit; Mosquitto 2.0 refuses more than 200 separators
 * (its TOPIC_HIERARCHY_LIMIT), and so does Midge, which also keeps every walk over levels short.
 */
export const MAX_TOPIC_SEPARATORS = 200;

/** Why `topic` cannot be a PUBLISH topic name, or undefined when it can. */
export function topicNameProblem(topic: string): string | undefined {
  if (topic.length === 0) return "topic name is empty [MQTT-4.7.3-1]";
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x23 || c === 0x2b) { // '#' '+'
      return `topic name '${topic}' contains a wildcard [MQTT-3.3.2-2]`;
    }
  }
  return undefined;
}

/**
 * Why `filter` cannot be a SUBSCRIBE or UNSUBSCRIBE topic filter of a `version` client, or
 * undefined when it can. `$share/GROUP/FILTER` is checked as a shared subscription; 3.1 and
 * 3.1.1 define none, so there an empty GROUP or FILTER is accepted, as Mosquitto 2.0.11 does
 * (an empty FILTER matches no topic).
 */
export function topicFilterProblem(
  filter: string,
  version: ProtocolVersion = 5,
): string | undefined {
  if (filter.length === 0) return "topic filter is empty [MQTT-4.7.3-1]";
  let start = 0;
  if (filter.startsWith(SHARE_PREFIX)) {
    const slash = filter.indexOf("/", SHARE_PREFIX.length);
    const group = filter.slice(SHARE_PREFIX.length, slash === -1 ? filter.length : slash);
    if (group.length === 0 && version === 5) {
      return `shared subscription '${filter}' has an empty share name [MQTT-4.8.2-1]`;
    }
    if (group.includes("+") || group.includes("#")) {
      return `shared subscription '${filter}' has a wildcard in its share name [MQTT-4.8.2-1]`;
    }
    if (slash === -1 || slash === filter.length - 1) {
      if (version !== 5) return undefined;
      return `shared subscription '${filter}' has no topic filter [MQTT-4.8.2-2]`;
    }
    start = slash + 1;
  }
  const last = filter.length - 1;
  for (let i = start; i <= last; i++) {
    const c = filter.charCodeAt(i);
    if (c !== 0x23 && c !== 0x2b) continue;
    const aloneBefore = i === start || filter.charCodeAt(i - 1) === 0x2f;
    if (c === 0x23) { // '#'
      if (!aloneBefore || i !== last) {
        return `topic filter '${filter}': '#' must be a whole level and the last [MQTT-4.7.1-1]`;
      }
    } else if (!aloneBefore || (i !== last && filter.charCodeAt(i + 1) !== 0x2f)) {
      return `topic filter '${filter}': '+' must be a whole level [MQTT-4.7.1-2]`;
    }
  }
  return undefined;
}

/**
 * Why a topic name or filter (`what`) has too many levels (see `MAX_TOPIC_SEPARATORS`), or
 * undefined. A string no longer than the limit cannot exceed it, so the common case costs one
 * comparison; the message names the depth and the first levels, never the whole string.
 */
export function topicDepthProblem(
  topic: string,
  what: "topic name" | "topic filter",
): string | undefined {
  if (topic.length <= MAX_TOPIC_SEPARATORS) return undefined;
  let separators = 0;
  for (let i = 0; i < topic.length; i++) {
    if (topic.charCodeAt(i) === 0x2f) separators++;
  }
  if (separators <= MAX_TOPIC_SEPARATORS) return undefined;
  return `${what} '${topic.slice(0, 40)}...' has ${separators + 1} levels, ` +
    `more than the ${MAX_TOPIC_SEPARATORS + 1} accepted`;
}

/** Whether a topic filter is a shared subscription (`$share/GROUP/FILTER`). */
export function isSharedFilter(filter: string): boolean {
  return filter.startsWith(SHARE_PREFIX);
}
