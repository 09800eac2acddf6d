/**
 * `[security]`: who may connect. With `per_listener_settings = true` the options marked
 * per-listener are set in each `[[listener]]` instead.
 *
 * @module
 */

import { bool, optionalBool, type OptionFamily, string } from "./schema.ts";

const NO_PLUGINS = "Deno cannot load Mosquitto's C plugins.";

/** `[security]` options. */
export const SECURITY_OPTIONS = {
  acl_file: string<string | undefined>("acl_file", "file path", {
    default: undefined,
    doc: "Access control list: which users may read and write which topics.",
    perListener: true,
  }),
  allow_anonymous: optionalBool("allow_anonymous", {
    default: undefined,
    doc: "Let clients connect without a username. Default: true with no listener configured " +
      "(local only), false otherwise.",
    perListener: true,
  }),
  allow_zero_length_clientid: bool("allow_zero_length_clientid", {
    default: true,
    doc: "Assign an id to a client that sends an empty one (3.1.1 clean session, 5.0).",
    perListener: true,
  }),
  auth_plugin: string<string | undefined>("auth_plugin", "file path", {
    default: undefined,
    doc: "An authentication plugin (shared library).",
    support: "refused",
    note: NO_PLUGINS,
    perListener: true,
  }),
  auth_plugin_deny_special_chars: bool("auth_plugin_deny_special_chars", {
    default: true,
    doc: "Deny ACL checks of users or client ids containing + or # before a plugin sees them.",
    support: "different",
    note: "Accepted and ignored: it only concerns plugins, which Midge cannot load.",
  }),
  auto_id_prefix: string<string>("auto_id_prefix", "string", {
    default: "auto-",
    doc: "Prefix of the client ids Midge assigns.",
    perListener: true,
  }),
  clientid_prefixes: string<string | undefined>("clientid_prefixes", "string", {
    default: undefined,
    doc: "Deprecated: only client ids starting with this prefix may connect.",
  }),
  password_file: string<string | undefined>("password_file", "file path", {
    default: undefined,
    doc: "Users and password hashes, as written by mosquitto_passwd or midge passwd.",
    perListener: true,
  }),
  per_listener_settings: bool("per_listener_settings", {
    default: false,
    doc: "Set the per-listener security options in each [[listener]] instead of here.",
    reload: false,
  }),
  plugin: string<string | undefined>("plugin", "file path", {
    default: undefined,
    doc: "Mosquitto 2.0's name for auth_plugin.",
    support: "refused",
    note: NO_PLUGINS,
    perListener: true,
  }),
  psk_file: string<string | undefined>("psk_file", "file path", {
    default: undefined,
    doc: "Pre-shared keys for TLS-PSK listeners.",
    support: "refused",
    note: "Deno's TLS has no pre-shared-key support.",
    perListener: true,
  }),
} as const;

/** Options with a suffix, matched by prefix (`auth_opt_NAME`, `plugin_opt_NAME`). */
export const SECURITY_FAMILIES: readonly OptionFamily[] = [
  {
    prefix: "auth_opt_",
    spec: string<string | undefined>("auth_opt_*", "string", {
      default: undefined,
      doc: "An option for the authentication plugin.",
      support: "refused",
      note: NO_PLUGINS,
      perListener: true,
    }),
  },
  {
    prefix: "plugin_opt_",
    spec: string<string | undefined>("plugin_opt_*", "string", {
      default: undefined,
      doc: "An option for the plugin.",
      support: "refused",
      note: NO_PLUGINS,
      perListener: true,
    }),
  },
];
