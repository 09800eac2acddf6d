/**
 * Valid files: defaults, Mosquitto 2.0's local-only and anonymous rules, per-listener
 * security, notices for legacy and not-yet-built options, and where each key's line is found.
 */

import assert from "node:assert/strict";
import { parseTomlConfig } from "../../src/config/toml.ts";
import { validateConfig } from "../../src/config/validate.ts";
import { defaultConfig } from "../../src/config/load.ts";

const FACTS = { userName: "pi", isRoot: false };

function load(text: string) {
  return validateConfig(parseTomlConfig(text, "midge.toml"), FACTS);
}

Deno.test("an empty file is Mosquitto 2.0 with no configuration: local only, anonymous allowed", () => {
  const config = load("");
  assert.deepEqual(config.listeners, []);
  assert.equal(config.security.allow_anonymous, true);
  assert.equal(config.general.max_inflight_messages, 20);
  assert.equal(config.general.max_queued_messages, 1000);
  assert.equal(config.general.max_keepalive, 65535);
  assert.deepEqual(config.log.log_dest, ["stderr"]);
  assert.deepEqual(config.log.log_type, ["error", "warning", "notice", "information"]);
  assert.equal(config.persistence.persistence, false);
  assert.deepEqual(config.notices, []);
  assert.deepEqual(defaultConfig().general, config.general);
  assert.equal(defaultConfig().file, undefined);
});

Deno.test("with a listener, anonymous access is off unless allow_anonymous says so", () => {
  const closed = load("[[listener]]\nport = 1883\n");
  assert.equal(closed.security.allow_anonymous, false);
  assert.equal(closed.listeners[0].security.allow_anonymous, false);
  const open = load("[security]\nallow_anonymous = true\n[[listener]]\nport = 1883\n");
  assert.equal(open.listeners[0].security.allow_anonymous, true);
});

Deno.test("values are typed and defaults filled per listener", () => {
  const config = load(
    'max_queued_messages = 0\npersistent_client_expiration = "2d"\n' +
      '[log]\nlog_type = ["all"]\nlog_timestamp_format = "%Y-%m-%dT%H:%M:%S"\n' +
      '[[listener]]\nport = 1884\nbind_address = "127.0.0.1"\nmax_connections = 5\n' +
      '[[listener]]\nport = 1885\nsocket_domain = "ipv6"\n',
  );
  assert.equal(config.general.max_queued_messages, 0);
  assert.equal(config.general.persistent_client_expiration, 2 * 86400);
  assert.deepEqual(config.log.log_type, ["all"]);
  assert.equal(config.log.log_timestamp_format, "%Y-%m-%dT%H:%M:%S");
  assert.equal(config.listeners.length, 2);
  assert.equal(config.listeners[0].port, 1884);
  assert.equal(config.listeners[0].bind_address, "127.0.0.1");
  assert.equal(config.listeners[0].max_connections, 5);
  assert.equal(config.listeners[0].max_topic_alias, 10);
  assert.equal(config.listeners[1].socket_domain, "ipv6");
  assert.equal(config.listeners[1].max_connections, -1);
  assert.deepEqual(config.listeners[1].origin, { file: "midge.toml", line: 10 });
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.listeners[0]));
});

Deno.test("per_listener_settings: each listener has its own security, others keep the global defaults", () => {
  const config = load(
    "[security]\nper_listener_settings = true\n" +
      '[[listener]]\nport = 1883\nallow_anonymous = true\nauto_id_prefix = "lab-"\n' +
      "[[listener]]\nport = 8883\n",
  );
  assert.equal(config.listeners[0].security.allow_anonymous, true);
  assert.equal(config.listeners[0].security.auto_id_prefix, "lab-");
  assert.equal(config.listeners[1].security.allow_anonymous, false);
  assert.equal(config.listeners[1].security.auto_id_prefix, "auto-");
});

Deno.test("legacy options are accepted with a notice saying what Midge does instead", () => {
  const config = load("retry_interval = 20\n\nstore_clean_interval = 10\n");
  assert.deepEqual(config.notices, [
    {
      severity: "notice",
      message: "midge.toml:1: retry_interval: Midge resends unacknowledged messages when the " +
        "client reconnects, as MQTT requires, never on a timer.",
    },
    {
      severity: "notice",
      message: "midge.toml:3: store_clean_interval: Midge frees a message as soon as no client " +
        "holds it.",
    },
  ]);
});

Deno.test("options not built yet: a warning when only a warning is due, nothing at their default", () => {
  assert.deepEqual(load("max_inflight_bytes = 0\n").notices, []);
  const config = load("retry_interval = 20\nmax_inflight_bytes = 5\n");
  assert.deepEqual(config.notices.map((n) => [n.severity, n.message.split(": ").slice(0, 2)]), [
    ["notice", ["midge.toml:1", "retry_interval"]],
    ["warning", ["midge.toml:2", "max_inflight_bytes"]],
  ]);
  assert.equal(config.general.max_inflight_bytes, 5);
});

Deno.test("key lines are found past comments, multi-line arrays and strings", () => {
  const text = [
    "# Midge", // 1
    'log_note = """', // 2 (not a key line of ours: inside a string below)
    "port = 1", // 3
    '"""', // 4
    "[log]", // 5
    "log_type = [", // 6
    '  "error",', // 7
    "]", // 8
    "log_timestamp = 3", // 9
  ].join("\n");
  let message = "";
  try {
    load(text);
  } catch (error) {
    message = (error as Error).message;
  }
  assert.deepEqual(message.split("\n"), [
    "midge.toml:2: log_note: unknown option",
    "midge.toml:9: log.log_timestamp: must be true or false, not 3",
  ]);
});
