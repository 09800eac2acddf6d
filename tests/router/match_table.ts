/**
 * Filter / topic pairs and whether they match, from MQTT 5.0 §4.7 and its examples. Both the
 * subscription trie and the retained index must agree with every row.
 *
 * @module
 */

/** [filter, topic, matches] */
export const MATCH_TABLE: readonly [string, string, boolean][] = [
  ["a/b", "a/b", true],
  ["a/b", "a/c", false],
  ["a/b", "a/b/c", false],
  ["a/b", "a", false],
  ["a/+", "a/b", true],
  ["a/+", "a/", true], // '+' matches an empty level
  ["a/+", "a", false],
  ["a/+", "a/b/c", false],
  ["+/+", "/a", true],
  ["/+", "/a", true],
  ["+", "/a", false],
  ["+", "a", true],
  ["+", "", true],
  ["#", "a", true],
  ["#", "a/b/c", true],
  ["#", "/", true],
  ["a/#", "a", true], // '#' matches the parent level too [MQTT-4.7.1-2]
  ["a/#", "a/b", true],
  ["a/#", "a/b/c", true],
  ["a/#", "b", false],
  ["a/#", "ab", false],
  ["sport/tennis/player1/#", "sport/tennis/player1", true],
  ["sport/tennis/player1/#", "sport/tennis/player1/ranking", true],
  ["sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true],
  ["sport/+/player1", "sport/tennis/player1", true],
  ["sport/+", "sport", false],
  ["sport/+", "sport/", true],
  ["+/tennis/#", "sport/tennis/x", true],
  ["a//b", "a//b", true],
  ["a/+/b", "a//b", true],
  ["A/b", "a/b", false], // case-sensitive
  ["a b/c", "a b/c", true],
  ["日本/+", "日本/東京", true],
  // '$' topics are not matched by a first-level wildcard [MQTT-4.7.2-1]
  ["#", "$SYS/broker/uptime", false],
  ["+/broker/uptime", "$SYS/broker/uptime", false],
  ["$SYS/#", "$SYS/broker/uptime", true],
  ["$SYS/#", "$SYS", true],
  ["$SYS/+/uptime", "$SYS/broker/uptime", true],
  ["+/monitor/Clients", "$SYS/monitor/Clients", false],
  ["$SYS/monitor/+", "$SYS/monitor/Clients", true],
  ["a/#", "a/$b", true], // only the first level is special
  ["+/+", "a/$b", true],
];
