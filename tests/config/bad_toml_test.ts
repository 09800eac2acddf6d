/**
 * Bad TOML files and the exact lines Midge must print for them: file, line, key and what is
 * wrong, so the user can fix the file without guessing.
 */

import assert from "node:assert/strict";
import { ConfigError } from "../../src/config/errors.ts";
import { parseTomlConfig } from "../../src/config/toml.ts";
import { validateConfig } from "../../src/config/validate.ts";

const FACTS = { userName: "pi", isRoot: false };

/** Validate `text` as midge.toml; the error lines, or [] if it is valid. */
function problems(text: string, facts = FACTS): string[] {
  try {
    validateConfig(parseTomlConfig(text, "midge.toml"), facts);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.message.split("\n");
  }
}

const CASES: { name: string; text: string; expected: string[] }[] = [
  {
    name: "a port out of range",
    text: "[[listener]]\nport = 70000\n",
    expected: ["midge.toml:2: listener[1].port: must be 0-65535, not 70000"],
  },
  {
    name: "the second listener's port, on its own line",
    text: "[[listener]]\nport = 1883\n\n[[listener]]\n# TLS\nport = 0\n",
    expected: [
      "midge.toml:6: listener[2].port: 0 means a Unix socket listener: bind_address must " +
      "then be the socket's absolute path",
    ],
  },
  {
    name: "a listener without a port",
    text: '[[listener]]\nbind_address = "127.0.0.1"\n',
    expected: ["midge.toml:1: listener[1].port: is required"],
  },
  {
    name: "a typo gets a suggestion",
    text: "max_queued_mesages = 10\n",
    expected: [
      "midge.toml:1: max_queued_mesages: unknown option; did you mean max_queued_messages?",
    ],
  },
  {
    name: "an unknown key without a close name",
    text: "\n\nfrobnicate = true\n",
    expected: ["midge.toml:3: frobnicate: unknown option"],
  },
  {
    name: "a log option at the top level names its table",
    text: 'log_dest = ["stdout"]\n',
    expected: ["midge.toml:1: log_dest: belongs in [log]"],
  },
  {
    name: "a listener option at the top level",
    text: "port = 1883\n",
    expected: ["midge.toml:1: port: belongs in [[listener]]"],
  },
  {
    name: "a string where a number belongs",
    text: 'max_inflight_messages = "20"\n',
    expected: ['midge.toml:1: max_inflight_messages: must be an integer, not "20"'],
  },
  {
    name: "a number where a boolean belongs",
    text: "[security]\nallow_anonymous = 1\n",
    expected: ["midge.toml:2: security.allow_anonymous: must be true or false, not 1"],
  },
  {
    name: "a bad log destination",
    text: '[log]\nlog_dest = ["stderr", "papertrail"]\n',
    expected: [
      'midge.toml:2: log.log_dest: unknown destination "papertrail": use stdout, stderr, ' +
      "syslog, topic, file PATH or none",
    ],
  },
  {
    name: "file without a path",
    text: '[log]\nlog_dest = ["file"]\n',
    expected: ["midge.toml:2: log.log_dest: file needs a path: file PATH"],
  },
  {
    name: "an unknown log type",
    text: '[log]\nlog_type = ["eror"]\n',
    expected: [
      'midge.toml:2: log.log_type: unknown type "eror": use debug, error, warning, notice, ' +
      "information, subscribe, unsubscribe, websockets, none, all",
    ],
  },
  {
    name: "a bad duration",
    text: 'persistent_client_expiration = "14 days"\n',
    expected: [
      "midge.toml:1: persistent_client_expiration: must be a number followed by h, d, w, m " +
      'or y, not "14 days"',
    ],
  },
  {
    name: "a TOML syntax error gives line and column",
    text: "max_keepalive = 60\n[log\nlog_timestamp = true\n",
    expected: ["midge.toml:2:5: TOML syntax: illegal character in key"],
  },
  {
    name: "an unknown table gets a suggestion",
    text: "[listeners]\nport = 1\n",
    expected: ["midge.toml:1: listeners: unknown table; did you mean listener?"],
  },
  {
    name: "[listener] instead of [[listener]]",
    text: "[listener]\nport = 1883\n",
    expected: ["midge.toml:1: listener: write [[listener]], a list of tables"],
  },
  {
    name: "a security option in a listener without per_listener_settings",
    text: "[[listener]]\nport = 1883\nallow_anonymous = true\n",
    expected: [
      "midge.toml:3: listener[1].allow_anonymous: set it in [security], or set " +
      "per_listener_settings = true in [security]",
    ],
  },
  {
    name: "a per-listener option in [security] with per_listener_settings",
    text: "[security]\nper_listener_settings = true\nallow_anonymous = true\n",
    expected: [
      "midge.toml:3: security.allow_anonymous: per_listener_settings = true: set it in each " +
      "[[listener]] instead",
    ],
  },
  {
    name: "two listeners on one port and address",
    text: "[[listener]]\nport = 1883\n[[listener]]\nport = 1883\n",
    expected: [
      "midge.toml:3: listener[2].port: port 1883 on every address is already used by the " +
      "listener at midge.toml:1",
    ],
  },
  {
    name: "socket_domain against the address's family",
    text: '[[listener]]\nport = 1883\nbind_address = "::1"\nsocket_domain = "ipv4"\n',
    expected: ["midge.toml:4: listener[1].socket_domain: ipv4 cannot bind ::1"],
  },
  {
    name: "a refused option says why",
    text: '[security]\nauth_plugin = "/usr/lib/mosquitto_dynamic_security.so"\n',
    expected: [
      "midge.toml:2: security.auth_plugin: not supported: Deno cannot load Mosquitto's C plugins.",
    ],
  },
  {
    name: "an option not built yet is refused rather than ignored",
    text: '[[listener]]\nport = 1883\nbind_interface = "eth0"\n',
    expected: [
      "midge.toml:3: listener[1].bind_interface: not built yet: Deno cannot bind to an " +
      "interface; use bind_address with the interface's address.",
    ],
  },
  {
    name: "a mount point with a wildcard, or empty, is refused",
    text: '[[listener]]\nport = 1883\nmount_point = "site/+/"\n\n[[listener]]\nport = 1884\n' +
      'mount_point = "site/#"\n\n[[listener]]\nport = 1885\nmount_point = ""\n',
    expected: [
      "midge.toml:3: listener[1].mount_point: 'site/+/' has a wildcard (+ or #): a mount " +
      "point is a topic prefix",
      "midge.toml:7: listener[2].mount_point: 'site/#' has a wildcard (+ or #): a mount " +
      "point is a topic prefix",
      "midge.toml:11: listener[3].mount_point: must not be empty",
    ],
  },
  {
    name: "a TLS listener needs both certfile and keyfile",
    text: '[[listener]]\nport = 8883\ncertfile = "/etc/ssl/server.pem"\n',
    expected: ["midge.toml:3: listener[1].certfile: needs keyfile too"],
  },
  {
    name: "client certificate options need TLS, a CA and require_certificate",
    text: '[[listener]]\nport = 1883\ncafile = "/ca.pem"\n\n[[listener]]\nport = 8883\n' +
      'certfile = "/s.pem"\nkeyfile = "/s.key"\nrequire_certificate = true\n' +
      "use_identity_as_username = true\n\n[[listener]]\nport = 8884\n" +
      'certfile = "/s.pem"\nkeyfile = "/s.key"\ncafile = "/ca.pem"\n' +
      "use_subject_as_username = true\n",
    expected: [
      "midge.toml:3: listener[1].cafile: needs certfile and keyfile (TLS)",
      "midge.toml:9: listener[2].require_certificate: needs cafile or capath to check against",
      "midge.toml:10: listener[2].use_identity_as_username: needs cafile or capath to check " +
      "against",
      "midge.toml:17: listener[3].use_subject_as_username: needs require_certificate (a " +
      "client without a certificate has no identity)",
    ],
  },
  {
    name: "options TLS cannot honour are refused with the reason",
    text: '[[listener]]\nport = 8883\ncertfile = "/s.pem"\nkeyfile = "/s.key"\n' +
      'ciphers = "ECDHE-RSA-AES128-GCM-SHA256"\n',
    expected: [
      "midge.toml:5: listener[1].ciphers: not supported: Deno's TLS does not let a server " +
      "choose its ciphers (it offers only AEAD suites with forward secrecy).",
    ],
  },
  {
    name: "PROXY protocol on an HTTP listener (a TLS one takes it)",
    text: '[[listener]]\nport = 8883\ncertfile = "/s.pem"\nkeyfile = "/s.key"\n' +
      "enable_proxy_protocol = 1\n\n[[listener]]\nport = 8080\n" +
      'protocol = "http"\nhttp_open = true\nenable_proxy_protocol = 2\n',
    expected: [
      "midge.toml:11: listener[2].enable_proxy_protocol: is for MQTT listeners (mqtt or " +
      "websockets), not protocol http",
    ],
  },
  {
    name: "a bridge's typos reported, and the address it then lacks",
    text: '[[bridge]]\nconnection = "cloud"\naddres = "example.com:1883"\n',
    expected: [
      "midge.toml:1: bridge[1].address: is required (the remote broker)",
      "midge.toml:3: bridge[1].addres: unknown option; did you mean address?",
    ],
  },
  {
    name: "several problems at once, in line order",
    text: 'max_keepalive = -1\n[[listener]]\nport = "x"\n',
    expected: [
      "midge.toml:1: max_keepalive: must be 0-65535, not -1",
      'midge.toml:3: listener[1].port: must be an integer, not "x"',
    ],
  },
  {
    name: "include_dir is for mosquitto.conf",
    text: 'include_dir = "/etc/midge/conf.d"\n',
    expected: [
      "midge.toml:1: include_dir: only mosquitto.conf files include directories; list " +
      "everything in this file",
    ],
  },
  {
    name: "dotted keys, each on its own line",
    text: 'max_keepalive = 10\n\nlog.log_typ = "all"\n"persistence".autosave_intervall = 5\n',
    expected: [
      "midge.toml:3: log.log_typ: unknown option; did you mean log_type?",
      "midge.toml:4: persistence.autosave_intervall: unknown option; did you mean " +
      "autosave_interval?",
    ],
  },
  {
    name: "an inline table, on its own line",
    text: 'max_keepalive = 10\npersistence = { autosave_interval = "x" }\n',
    expected: ['midge.toml:2: persistence.autosave_interval: must be an integer, not "x"'],
  },
  {
    name: "the inline tables of a listener array, each on its own line",
    text: "listener = [\n  { port = 1883 },\n  # the second\n  { port = 70000 },\n]\n",
    expected: ["midge.toml:4: listener[2].port: must be 0-65535, not 70000"],
  },
];

for (const { name, text, expected } of CASES) {
  Deno.test(`a bad midge.toml is refused with file:line:key: ${name}`, () => {
    assert.deepEqual(problems(text), expected);
  });
}

Deno.test("user: accepted only when it names the user Midge runs as; otherwise refused, pointing at systemd User=", () => {
  const text = 'user = "mosquitto"\n';
  assert.deepEqual(problems(text, { userName: "root", isRoot: true }), [
    "midge.toml:1: user: Midge cannot switch from root to mosquitto itself: start it as " +
    "mosquitto (User=mosquitto in the systemd unit, conf/midge.service), or remove this option",
  ]);
  assert.deepEqual(problems(text, { userName: "pi", isRoot: false }), [
    "midge.toml:1: user: Midge runs as pi, not mosquitto, and cannot change user: start it as " +
    "mosquitto (User=mosquitto in the systemd unit, conf/midge.service), or remove this option",
  ]);
  assert.deepEqual(problems(text, { userName: "mosquitto", isRoot: false }), []);
});

Deno.test("an unquoted dotted option name is explained", () => {
  assert.deepEqual(
    problems('[[listener]]\nport = 1883\nciphers_tls1.3 = "TLS_AES_256_GCM_SHA384"\n'),
    [
      'midge.toml:3: listener[1].ciphers_tls1: write "ciphers_tls1.3" in quotes: a bare dot ' +
      "makes a table",
    ],
  );
});

Deno.test("a top-level option written after a table is pointed back to the top", () => {
  assert.deepEqual(problems("[[listener]]\nport = 1883\nmax_keepalive = 60\n"), [
    "midge.toml:3: listener[1].max_keepalive: belongs at the top level, before the first [table]",
  ]);
});
