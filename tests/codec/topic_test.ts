import assert from "node:assert/strict";
import { isSharedFilter, topicFilterProblem, topicNameProblem } from "../../src/codec/mod.ts";

const VALID_FILTERS = [
  "#",
  "+",
  "/",
  "a",
  "a/b/c",
  "a/+/c",
  "a/#",
  "+/+",
  "/+",
  "+/",
  "a//b",
  "$SYS/#",
  "sport/tennis/+/#",
  "$share/group/a/b",
  "$share/g/#",
  "$share/g/+/x",
  "日本/+",
];

const INVALID_FILTERS: [string, RegExp][] = [
  ["", /MQTT-4\.7\.3-1/],
  ["a/#/b", /MQTT-4\.7\.1-1/],
  ["a#", /MQTT-4\.7\.1-1/],
  ["#a", /MQTT-4\.7\.1-1/],
  ["a/b#", /MQTT-4\.7\.1-1/],
  ["##", /MQTT-4\.7\.1-1/],
  ["a+", /MQTT-4\.7\.1-2/],
  ["+a", /MQTT-4\.7\.1-2/],
  ["a/+b/c", /MQTT-4\.7\.1-2/],
  ["++", /MQTT-4\.7\.1-2/],
  ["$share/", /MQTT-4\.8\.2-1/],
  ["$share//a", /MQTT-4\.8\.2-1/],
  ["$share/g", /MQTT-4\.8\.2-2/],
  ["$share/g/", /MQTT-4\.8\.2-2/],
  ["$share/g+/a", /MQTT-4\.8\.2-1/],
  ["$share/#/a", /MQTT-4\.8\.2-1/],
  ["$share/g/a#", /MQTT-4\.7\.1-1/],
];

Deno.test("topicFilterProblem accepts valid filters [MQTT-4.7.1-1] [MQTT-4.7.1-2]", () => {
  for (const f of VALID_FILTERS) assert.equal(topicFilterProblem(f), undefined, f);
});

Deno.test("topicFilterProblem names the rule a bad filter breaks [MQTT-4.7.1-1] [MQTT-4.8.2-1]", () => {
  for (const [f, rule] of INVALID_FILTERS) {
    const problem = topicFilterProblem(f);
    assert.ok(problem !== undefined, `'${f}' should be refused`);
    assert.match(problem, rule, `'${f}'`);
  }
});

Deno.test("topicNameProblem refuses wildcards and empty names [MQTT-3.3.2-2] [MQTT-4.7.3-1]", () => {
  for (const t of ["a", "a/b", "/", "$SYS/x", "a b", "日本"]) {
    assert.equal(topicNameProblem(t), undefined, t);
  }
  assert.match(topicNameProblem("")!, /MQTT-4\.7\.3-1/);
  for (const t of ["#", "a/+", "a/#", "a+b", "+"]) {
    assert.match(topicNameProblem(t)!, /MQTT-3\.3\.2-2/, t);
  }
});

Deno.test("isSharedFilter recognises $share/ only as a prefix", () => {
  assert.equal(isSharedFilter("$share/g/a"), true);
  assert.equal(isSharedFilter("$SHARE/g/a"), false);
  assert.equal(isSharedFilter("a/$share/g"), false);
});

Deno.test("topicFilterProblem accepts 3.1.1 $share filters with an empty share name or filter, as Mosquitto 2.0.11", () => {
  for (const f of ["$share/", "$share//a", "$share/g", "$share/g/"]) {
    assert.equal(topicFilterProblem(f, 4), undefined, f);
    assert.equal(topicFilterProblem(f, 3), undefined, f);
  }
  assert.match(topicFilterProblem("$share/g+/a", 4)!, /MQTT-4\.8\.2-1/);
});
