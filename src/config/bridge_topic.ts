/**
 * A bridge's `topic` line read into a rule: which topics it shares, which way, at which QoS,
 * and how their names change between this broker and the remote one. The forms are Mosquitto
 * 2.0's: `topic PATTERN [[[out | in | both] QOS] LOCAL_PREFIX REMOTE_PREFIX]`, where `""`
 * stands for an empty pattern or prefix. The remappings are pure functions for the bridge.
 *
 * @module
 */

import { shown, ValueProblem } from "./schema.ts";

/** Which way a bridge topic's messages go: to the remote broker, from it, or both. */
export type BridgeDirection = "out" | "in" | "both";

/** One `topic` line of a bridge. */
export interface BridgeTopic {
  /** The topic filter, without prefixes; "" when the line maps one topic onto another. */
  readonly pattern: string;
  /** Which way messages go (default out). */
  readonly direction: BridgeDirection;
  /** QoS of the subscriptions and publications on both sides (default 0). */
  readonly qos: 0 | 1 | 2;
  /** Prefix of the topics on this broker; "" for none. */
  readonly localPrefix: string;
  /** Prefix of the topics on the remote broker; "" for none. */
  readonly remotePrefix: string;
}

/** How a `topic` value is written, for documentation and messages. */
export const BRIDGE_TOPIC_FORM = "pattern [[[out | in | both] qos] local-prefix remote-prefix]";

const EMPTY_MARK = '""';
const DIRECTIONS: readonly BridgeDirection[] = ["out", "in", "both"];

/**
 * Read one `topic` value; throws `ValueProblem`. Words are separated by spaces (not tabs, as in
 * Mosquitto). Stricter than Mosquitto 2.0.11, which reads the QoS with atoi (so `x` is 0 and
 * `2.5` is 2) and ignores words after the remote prefix: Midge refuses both.
 */
export function parseBridgeTopic(text: string): BridgeTopic {
  const words = text.split(" ").filter((w) => w !== "");
  if (words.length === 0) throw new ValueProblem("must not be empty");
  if (words.length > 5) {
    throw new ValueProblem(`has words after the remote prefix; the form is ${BRIDGE_TOPIC_FORM}`);
  }
  const [
    pattern,
    direction = "out",
    qos = "0",
    localPrefix = "",
    remotePrefix = "",
  ] = words.map((w) => (w === EMPTY_MARK ? "" : w));
  const rule: BridgeTopic = {
    pattern,
    direction: directionOf(direction),
    qos: qosOf(qos),
    localPrefix: prefixOf(localPrefix, "local"),
    remotePrefix: prefixOf(remotePrefix, "remote"),
  };
  if (rule.pattern === "" && (rule.localPrefix === "" || rule.remotePrefix === "")) {
    throw new ValueProblem(
      `an empty pattern ("") needs a local and a remote prefix (the two topics it maps)`,
    );
  }
  return rule;
}

function directionOf(word: string): BridgeDirection {
  const lower = word.toLowerCase(); // Mosquitto compares without case
  const found = DIRECTIONS.find((d) => d === lower);
  if (found === undefined) {
    throw new ValueProblem(`direction must be out, in or both, not ${shown(word)}`);
  }
  return found;
}

function qosOf(word: string): 0 | 1 | 2 {
  const n = /^[0-9]+$/.test(word) ? Number(word) : NaN;
  if (n !== 0 && n !== 1 && n !== 2) {
    throw new ValueProblem(`QoS must be 0, 1 or 2, not ${shown(word)}`);
  }
  return n;
}

function prefixOf(word: string, side: "local" | "remote"): string {
  if (word.includes("+") || word.includes("#")) {
    throw new ValueProblem(`${side} prefix ${shown(word)} must not hold a wildcard`);
  }
  return word;
}

/** The filter a bridge subscribes to on this broker (direction out or both). */
export function localFilter(rule: BridgeTopic): string {
  return rule.localPrefix + rule.pattern;
}

/** The filter a bridge subscribes to on the remote broker (direction in or both). */
export function remoteFilter(rule: BridgeTopic): string {
  return rule.remotePrefix + rule.pattern;
}

/** The remote topic of a local topic that `localFilter` matched: local prefix off, remote on. */
export function toRemoteTopic(rule: BridgeTopic, topic: string): string {
  return swapPrefix(topic, rule.localPrefix, rule.remotePrefix);
}

/** The local topic of a remote topic that `remoteFilter` matched: remote prefix off, local on. */
export function toLocalTopic(rule: BridgeTopic, topic: string): string {
  return swapPrefix(topic, rule.remotePrefix, rule.localPrefix);
}

/** `topic` with `from` taken off its start (when there) and `to` put in its place. */
function swapPrefix(topic: string, from: string, to: string): string {
  return to + (topic.startsWith(from) ? topic.slice(from.length) : topic);
}
