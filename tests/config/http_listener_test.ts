/**
 * `protocol http` and `http_open` (Midge only), in TOML and in mosquitto.conf: an HTTP listener
 * needs a password file or `http_open`, refused otherwise with file, line and key; `http_open`
 * belongs to HTTP listeners only; HTTP listeners are not MQTT listeners.
 */

import assert from "node:assert/strict";
import { GENERAL_OPTIONS } from "../../src/config/options.ts";
import { parseTomlConfig } from "../../src/config/toml.ts";
import { validateConfig } from "../../src/config/validate.ts";
import { brokerOptionsFromConfig, httpListenersFromConfig } from "../../src/cli/broker_options.ts";
import { Logger } from "../../src/log/logger.ts";
import { FACTS, parse, problemsOf } from "./mosquitto_helpers.ts";

function toml(text: string) {
  return validateConfig(parseTomlConfig(text, "midge.toml"), FACTS);
}

function conf(text: string) {
  return validateConfig(parse(text), FACTS);
}

Deno.test("protocol http without a password_file or http_open is refused, naming file, line and key", () => {
  assert.deepEqual(problemsOf(() => toml('[[listener]]\nport = 8080\nprotocol = "http"\n')), [
    "midge.toml:3: listener[1].protocol: http needs a password_file for its basic auth (the " +
    "same users as MQTT), or http_open = true to serve it to anyone who can reach it",
  ]);
  assert.deepEqual(problemsOf(() => conf("listener 1883\nlistener 8080\nprotocol http\n")), [
    "m.conf:3: protocol: http needs a password_file for its basic auth (the same users as " +
    "MQTT), or http_open true to serve it to anyone who can reach it",
  ]);
});

Deno.test("protocol http is accepted with http_open, or with the password_file in force on it", () => {
  const open = toml('[[listener]]\nport = 8080\nprotocol = "http"\nhttp_open = true\n');
  assert.equal(open.listeners[0].protocol, "http");
  assert.equal(open.listeners[0].http_open, true);
  const global = conf("password_file /etc/p\nlistener 8080\nprotocol http\n");
  assert.equal(global.listeners[0].security.password_file, "/etc/p");
  const own = toml(
    '[security]\nper_listener_settings = true\n[[listener]]\nport = 8080\nprotocol = "http"\n' +
      'password_file = "/etc/http-users"\n',
  );
  assert.equal(own.listeners[0].security.password_file, "/etc/http-users");
  // With per_listener_settings, another listener's file does not count.
  assert.deepEqual(
    problemsOf(() =>
      conf(
        "per_listener_settings true\nlistener 1883\npassword_file /etc/p\n" +
          "listener 8080\nprotocol http\n",
      )
    ),
    [
      "m.conf:5: protocol: http needs a password_file for its basic auth (the same users as " +
      "MQTT), or http_open true to serve it to anyone who can reach it",
    ],
  );
});

Deno.test("http_open on a listener that is not protocol http is refused", () => {
  assert.deepEqual(problemsOf(() => toml("[[listener]]\nport = 1883\nhttp_open = true\n")), [
    "midge.toml:3: listener[1].http_open: only a listener with protocol http can be open; " +
    "this one is mqtt",
  ]);
  // At its default it means nothing and is accepted anywhere.
  assert.equal(toml("[[listener]]\nport = 1883\nhttp_open = false\n").listeners.length, 1);
});

Deno.test("MQTT-only keys on an HTTP listener are warned about, naming file, line and key", () => {
  const config = toml(
    '[[listener]]\nport = 8080\nprotocol = "http"\nhttp_open = true\nmax_connections = 5\n' +
      "max_topic_alias = 3\n",
  );
  assert.deepEqual(config.notices.map((n) => [n.severity, n.message]), [
    [
      "warning",
      "midge.toml:5: listener[1].max_connections: ignored: it applies to MQTT listeners, and " +
      "this one has protocol http",
    ],
    [
      "warning",
      "midge.toml:6: listener[1].max_topic_alias: ignored: it applies to MQTT listeners, and " +
      "this one has protocol http",
    ],
  ]);
  assert.deepEqual(
    toml('[[listener]]\nport = 8080\nprotocol = "http"\nhttp_open = true\n').notices,
    [],
  );
});

/** What an open HTTP listener gets when nothing else is set. */
const HTTP_DEFAULTS = {
  open: true,
  passwords: undefined,
  users: undefined,
  maxConnections: 100,
  timeoutMs: 10_000,
};

Deno.test("HTTP listeners are not given to the MQTT broker; each keeps its own password file", () => {
  const config = conf(
    "listener 1883 127.0.0.1\nlistener 8080\nprotocol http\nhttp_open true\n" +
      "listener 8081 ::1\nprotocol http\nsocket_domain ipv6\nhttp_open true\nlistener 1884\n",
  );
  const files = { global: {}, listeners: config.listeners.map(() => ({})), problems: [] };
  const options = brokerOptionsFromConfig(config, { logger: new Logger(), files });
  assert.deepEqual(options.listeners.map((l) => l.port), [1883, 1884]);
  assert.equal(options.sysInterval, 10);
  assert.deepEqual(httpListenersFromConfig(config, files), [
    { ...HTTP_DEFAULTS, port: 8080, hostnames: ["::", "0.0.0.0"] },
    { ...HTTP_DEFAULTS, port: 8081, hostnames: ["::1"] },
  ]);
});

Deno.test("sys_interval is supported: 0 to 4294967295, no notice, applied by a reload", () => {
  assert.equal(GENERAL_OPTIONS.sys_interval.support, "supported");
  assert.equal(GENERAL_OPTIONS.sys_interval.reload, true);
  assert.equal(toml("sys_interval = 0\n").general.sys_interval, 0);
  assert.deepEqual(toml("sys_interval = 1\n").notices, []);
  assert.deepEqual(problemsOf(() => toml("sys_interval = -1\n")), [
    "midge.toml:1: sys_interval: must be 0-4294967295, not -1",
  ]);
});

Deno.test("http_users: words on one line or several in mosquitto.conf, an array in TOML", () => {
  const fromConf = conf(
    "password_file /etc/p\nlistener 8080\nprotocol http\nhttp_users admin ops\nhttp_users audit\n",
  );
  assert.deepEqual(fromConf.listeners[0].http_users, ["admin", "ops", "audit"]);
  assert.deepEqual(fromConf.notices, []);
  const fromToml = toml(
    '[security]\npassword_file = "/etc/p"\n[[listener]]\nport = 8080\nprotocol = "http"\n' +
      'http_users = ["admin", "ops"]\nhttp_max_connections = 20\nhttp_timeout = 3\n',
  );
  assert.deepEqual(fromToml.notices, []);
  const files = { global: {}, listeners: [{}], problems: [] };
  const [http] = httpListenersFromConfig(fromToml, files);
  assert.deepEqual(http.users, new Set(["admin", "ops"]));
  assert.equal(http.maxConnections, 20);
  assert.equal(http.timeoutMs, 3000);
});

Deno.test("without http_users, an HTTP listener warns that every password_file user may read it", () => {
  assert.deepEqual(
    conf("password_file /etc/p\nlistener 8080\nprotocol http\n").notices.map((n) => n.message),
    [
      "m.conf:3: protocol: every user of the password_file may read this HTTP listener's " +
      "clients, usernames and subscriptions; name the ones who may in http_users",
    ],
  );
});

Deno.test("http_users = [] is refused; with http_open it is warned about as ignored", () => {
  assert.deepEqual(
    problemsOf(() =>
      toml(
        '[security]\npassword_file = "/etc/p"\n[[listener]]\nport = 8080\nprotocol = "http"\n' +
          "http_users = []\n",
      )
    ),
    [
      "midge.toml:6: listener[1].http_users: must name at least one user (leave it out to let " +
      "every user of the password_file in)",
    ],
  );
  const config = conf("listener 8080\nprotocol http\nhttp_open true\nhttp_users admin\n");
  assert.deepEqual(config.notices.map((n) => [n.severity, n.message]), [
    ["warning", "m.conf:4: http_users: ignored: http_open true lets everyone in"],
  ]);
});
