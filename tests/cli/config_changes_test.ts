/**
 * `configChanges`: what a reload says, option by option: applied or needing a restart, with
 * listeners matched by address and port (not by position).
 */

import assert from "node:assert/strict";
import { configChanges } from "../../src/cli/config_changes.ts";
import { validateConfig } from "../../src/config/validate.ts";
import { FACTS, parse } from "../config/mosquitto_helpers.ts";

function conf(text: string) {
  return validateConfig(parse(text), FACTS);
}

const BASE = "listener 1883 127.0.0.1\nlistener 1884\n";

Deno.test("configChanges: a changed reloadable key is applied, a non-reloadable one needs a restart", () => {
  const before = conf(BASE + "max_inflight_messages 20\n");
  const after = conf(BASE + "max_inflight_messages 5\npid_file /run/m.pid\n");
  assert.deepEqual(configChanges(before, after), {
    applied: ["max_inflight_messages: 20 -> 5"],
    needRestart: ['pid_file: (unset) -> "/run/m.pid"'],
  });
});

Deno.test("configChanges: listeners in another order are the same listeners: nothing changed", () => {
  const before = conf(BASE);
  const after = conf("listener 1884\nlistener 1883 127.0.0.1\n");
  assert.deepEqual(configChanges(before, after), { applied: [], needRestart: [] });
});

Deno.test("configChanges: a listener added or removed needs a restart, named by address and port", () => {
  const before = conf(BASE);
  const after = conf("listener 1884\nlistener 1885 ::1\n");
  assert.deepEqual(configChanges(before, after), {
    applied: [],
    needRestart: [
      "listener 127.0.0.1 port 1883: removed",
      "listener ::1 port 1885: added",
    ],
  });
});

Deno.test("configChanges: a changed listener option needs a restart, on that listener only", () => {
  const before = conf("listener 1884\nlistener 1883 127.0.0.1\nmax_connections 10\n");
  const after = conf(BASE + "max_connections 3\n");
  assert.deepEqual(configChanges(before, after), {
    applied: [],
    needRestart: [
      "listener port 1884 max_connections: -1 -> 3",
      "listener 127.0.0.1 port 1883 max_connections: 10 -> -1",
    ],
  });
});

Deno.test("configChanges: security files named anew are applied, broker-wide and per listener", () => {
  const wide = (file: string) => `password_file ${file}\n` + BASE;
  assert.deepEqual(configChanges(conf(wide("/etc/a")), conf(wide("/etc/b"))), {
    applied: ['password_file: "/etc/a" -> "/etc/b"'],
    needRestart: [],
  });
  const own = (file: string) =>
    `per_listener_settings true\nlistener 1884\nlistener 1883 127.0.0.1\nacl_file ${file}\n`;
  assert.deepEqual(configChanges(conf(own("/etc/a")), conf(own("/etc/b"))), {
    applied: ['listener 127.0.0.1 port 1883 acl_file: "/etc/a" -> "/etc/b"'],
    needRestart: [],
  });
});
