/**
 * How an option's value is shown in the documentation: its default written as TOML when it has
 * one that TOML can express, otherwise an example value, checked against the option's parser.
 *
 * @module
 */

import type { OptionSpec } from "../../src/config/schema.ts";

/** A TOML value as the documentation writes it. */
export type TomlValue = string | number | boolean | readonly (string | number | boolean)[];

/**
 * Example values of options that have no default (or an empty list, or a default TOML cannot
 * write), by option name. An option missing here gets one derived from its kind; every
 * example must pass the option's own parser, or the generator stops.
 */
const EXAMPLES: Readonly<Record<string, TomlValue>> = {
  // top level
  persistent_client_expiration: "14d",
  pid_file: "/run/midge/midge.pid",
  user: "midge",
  // [log]
  log_facility: 5,
  log_timestamp_format: "%Y-%m-%dT%H:%M:%S",
  // [persistence]
  persistence_location: "/var/lib/midge/",
  // [security]
  acl_file: "/etc/midge/acl",
  allow_anonymous: false,
  auth_plugin: "/usr/lib/mosquitto_dynamic_security.so",
  clientid_prefixes: "secure-",
  password_file: "/etc/midge/passwd",
  plugin: "/usr/lib/mosquitto_dynamic_security.so",
  psk_file: "/etc/midge/psk",
  "auth_opt_*": "value",
  "plugin_opt_*": "value",
  // [[listener]]
  port: 1883,
  bind_address: "127.0.0.1",
  bind_interface: "eth0",
  http_dir: "/var/www/midge",
  mount_point: "site-a/",
  socket_domain: "ipv4",
  cafile: "/etc/midge/certs/ca.pem",
  capath: "/etc/midge/certs/",
  certfile: "/etc/midge/certs/server.pem",
  ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384",
  "ciphers_tls1.3": "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
  crlfile: "/etc/midge/certs/crl.pem",
  dhparamfile: "/etc/midge/certs/dhparam.pem",
  keyfile: "/etc/midge/certs/server.key",
  tls_engine: "tpm",
  tls_engine_kpass_sha1: "da39a3ee5e6b4b0d3255bfef95601890afd80709",
  tls_version: "tlsv1.2",
  psk_hint: "midge",
  http_users: ["admin", "ops"],
  // [[bridge]]
  connection: "upstream",
  address: ["broker.example.com:1883"],
  addresses: ["broker.example.com:1883", "backup.example.com:1883"],
  bridge_bind_address: "192.0.2.10",
  local_clientid: "local.upstream",
  local_password: "secret",
  local_username: "bridge",
  notification_topic: "$SYS/broker/connection/upstream/state",
  remote_clientid: "upstream.myhost",
  remote_password: "secret",
  remote_username: "bridge",
  restart_timeout: "5 30",
  threshold: 10,
  topic: ["sensors/# out 1", "commands/# in 1"],
  bridge_alpn: "mqtt",
  bridge_cafile: "/etc/midge/certs/ca.pem",
  bridge_capath: "/etc/midge/certs/",
  bridge_certfile: "/etc/midge/certs/bridge.pem",
  bridge_identity: "bridge",
  bridge_keyfile: "/etc/midge/certs/bridge.key",
  bridge_psk: "deadbeef",
  bridge_tls_version: "tlsv1.2",
};

/** What the documentation shows for one option. */
export interface Shown {
  /** The value written after `key =`. */
  value: TomlValue;
  /** True when `value` is the default; false when it is an example of an unset option. */
  isDefault: boolean;
}

/** The default of `spec` as TOML, or an example when it has none TOML can write. */
export function shownValue(spec: OptionSpec): Shown {
  const fallback = spec.default;
  if (isTomlValue(fallback) && !(Array.isArray(fallback) && fallback.length === 0)) {
    if (parsesTo(spec, fallback, fallback)) return { value: fallback, isDefault: true };
  }
  const example = EXAMPLES[spec.name] ?? exampleFromKind(spec.kind);
  let parsed: unknown;
  try {
    parsed = spec.parse(
      example as string | number | boolean | (string | number | boolean)[],
      false,
    );
  } catch (error) {
    throw new Error(
      `${spec.name}: the example ${tomlValue(example)} does not parse (${
        (error as Error).message
      });` +
        " add a valid one to EXAMPLES in scripts/config_docs/values.ts",
    );
  }
  if (sameValue(parsed, spec.default)) {
    throw new Error(`${spec.name}: the example ${tomlValue(example)} is the default`);
  }
  return { value: example, isDefault: false };
}

/** `value` written as TOML. */
export function tomlValue(value: TomlValue): string {
  if (Array.isArray(value)) return `[${value.map((v) => tomlValue(v)).join(", ")}]`;
  // JSON escapes are TOML escapes too; TOML also wants DEL escaped.
  if (typeof value === "string") return JSON.stringify(value).replaceAll("\x7f", "\\u007F");
  return String(value);
}

/** Whether two option values are equal (lists item by item). */
function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => v === b[i]);
  }
  return a === b;
}

function isTomlValue(value: unknown): value is TomlValue {
  if (Array.isArray(value)) return value.every((v) => isTomlValue(v) && !Array.isArray(v));
  return typeof value === "string" || typeof value === "boolean" ||
    (typeof value === "number" && Number.isSafeInteger(value));
}

/** Whether `spec` parses the TOML value `written` to `expected`. */
function parsesTo(spec: OptionSpec, written: TomlValue, expected: unknown): boolean {
  try {
    const parsed = spec.parse(written as string | number | boolean | string[], false);
    return sameValue(parsed, expected);
  } catch {
    return false;
  }
}

/** A plausible value from a kind such as "boolean", "integer 0-7" or "mqtt | websockets". */
function exampleFromKind(kind: string): TomlValue {
  if (kind === "boolean") return true;
  const integer = /^integer (-?[0-9]+)/.exec(kind);
  if (integer !== null) return Number(integer[1]) + 1;
  if (kind.includes(" | ")) return kind.split(" | ")[0].trim();
  return "example";
}
