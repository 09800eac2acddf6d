/**
 * From a file as read (`RawConfig`) to a validated, frozen `Config`: every key looked up in
 * the schema, every value parsed and checked, defaults filled in, Mosquitto 2.0's rules
 * applied (local-only mode and anonymous access), and every problem collected with its file,
 * line and key.
 *
 * @module
 */

import { closestName, ConfigError, type ConfigProblem, sortProblems } from "./errors.ts";
import {
  type BridgeConfig,
  type Config,
  type ConfigNotice,
  findOption,
  type ListenerConfig,
  SECTION_NAMES,
  SECTION_TABLES,
  sectionOf,
  type SecurityConfig,
  tomlHeader,
} from "./options.ts";
import type { Origin, RawConfig, RawEntry, RawSection } from "./raw.ts";
import { type OptionSpec, type SectionName, ValueProblem } from "./schema.ts";

/** Facts about the process that some options are checked against. */
export interface ProcessFacts {
  /** The user the process runs as. */
  userName: string;
  /** Whether it runs as root. */
  isRoot: boolean;
}

/** Collects problems and notices while validating one file. */
class Checker {
  readonly problems: ConfigProblem[] = [];
  readonly notices: ConfigNotice[] = [];

  constructor(readonly raw: RawConfig) {}

  /** How a key is named in messages: its TOML path, or the bare name in mosquitto.conf. */
  path(prefix: string, key: string): string {
    return this.raw.format === "toml" ? prefix + key : key;
  }

  problem(origin: Origin, key: string, message: string): void {
    this.problems.push({ origin, key, message });
  }

  notice(severity: ConfigNotice["severity"], origin: Origin, key: string, message: string): void {
    this.notices.push({ severity, message: `${origin.file}:${origin.line}: ${key}: ${message}` });
  }
}

/** Validate `raw`; throws `ConfigError` listing every problem. */
export function validateConfig(raw: RawConfig, facts: ProcessFacts): Config {
  const c = new Checker(raw);
  const general = section(c, "general", raw.general, "", false);
  const log = section(c, "log", raw.log, "log.", false);
  const persistence = section(c, "persistence", raw.persistence, "persistence.", false);
  const globalSecurity = section(c, "security", raw.security, "security.", false);
  const perListener = globalSecurity.per_listener_settings === true;
  if (perListener && raw.format === "toml") rejectGlobalPerListenerKeys(c, raw.security);
  const localOnly = raw.listeners.length === 0;
  const security = resolveSecurity(globalSecurity, {}, localOnly);
  const listeners = raw.listeners.map((rawListener, i) =>
    listener(c, rawListener, i, { perListener, globalSecurity, localOnly })
  );
  checkListenerClashes(c, listeners);
  const bridges = raw.bridges.map((rawBridge, i) => {
    const values = section(c, "bridge", rawBridge, `bridge[${i + 1}].`, false, false);
    checkBridge(c, rawBridge, `bridge[${i + 1}].`, values as unknown as BridgeConfig);
    return values as unknown as BridgeConfig;
  });
  checkBridgeNames(c, raw.bridges, bridges);
  checkLog(c, raw.log, log);
  checkUser(c, raw.general, general.user as string | undefined, facts);
  if (c.problems.length > 0) throw new ConfigError(sortProblems(c.problems));
  return deepFreeze({
    file: raw.file === "" ? undefined : raw.file,
    general,
    log,
    persistence,
    security,
    listeners,
    bridges: bridges.map((b, i) => ({ ...b, origin: raw.bridges[i].origin })),
    notices: c.notices,
  }) as unknown as Config;
}

type Values = Record<string, unknown>;

/** Validate the keys of one section; returns its values with defaults filled in. */
function section(
  c: Checker,
  name: SectionName,
  raw: RawSection,
  prefix: string,
  allowSecurity: boolean,
  refusePending = true,
): Values {
  const table = SECTION_TABLES[name];
  const values: Values = {};
  for (const [key, spec] of Object.entries(table)) values[key] = spec.default;
  for (const [key, entries] of raw.entries) {
    const last = entries[entries.length - 1];
    let spec = findOption(name, key);
    let securityKey = false;
    if (spec === undefined && allowSecurity) {
      spec = findOption("security", key);
      securityKey = spec?.perListener === true;
      if (!securityKey) spec = undefined;
    }
    if (spec === undefined) {
      if (ignoredBeforeListener(c, name, key)) {
        c.notice(
          "warning",
          last.origin,
          key,
          "written before any listener line, where Mosquitto ignores it, and so does Midge: " +
            "put it after a listener line",
        );
      } else {
        c.problem(last.origin, c.path(prefix, key), unknownKeyMessage(c, name, key));
      }
      continue;
    }
    if (securityKey) continue; // validated by the listener, against the security table
    const value = valueOf(c, spec, entries, c.path(prefix, key), refusePending);
    if (value !== undefined) values[key] = value.parsed;
  }
  return values;
}

/** Parse the occurrences of one key; undefined when there is a problem. */
function valueOf(
  c: Checker,
  spec: OptionSpec,
  entries: RawEntry[],
  path: string,
  refusePending = true,
): { parsed: unknown } | undefined {
  const last = entries[entries.length - 1];
  let parsed: unknown;
  if (spec.repeatable) {
    // Line by line, so that every bad line is named with its own line number.
    const each = entries.map((e) => parseEntry(c, spec, e, path));
    if (each.includes(undefined)) return undefined;
    parsed = each.flatMap((one) => one!.parsed as unknown[]);
  } else {
    if (entries.length > 1) {
      const first = entries[entries.length - 2].origin;
      c.notice(
        "warning",
        last.origin,
        path,
        `set again (also at ${first.file}:${first.line}); this value is used`,
      );
    }
    const one = parseEntry(c, spec, last, path);
    if (one === undefined) return undefined;
    parsed = one.parsed;
  }
  switch (spec.support) {
    case "refused":
      c.problem(last.origin, path, `not supported: ${spec.note}`);
      return undefined;
    case "pending":
      if (!refusePending || sameValue(parsed, spec.default)) break;
      if (spec.pendingSeverity === "warning") {
        c.notice("warning", last.origin, path, `not built yet: ${spec.note}`);
      } else {
        c.problem(last.origin, path, `not built yet: ${spec.note}`);
        return undefined;
      }
      break;
    case "legacy":
      c.notice("notice", last.origin, path, spec.note ?? "ignored");
      break;
  }
  return { parsed };
}

/** Parse one occurrence of a key; undefined (and a problem at its line) when it does not fit. */
function parseEntry(
  c: Checker,
  spec: OptionSpec,
  entry: RawEntry,
  path: string,
): { parsed: unknown } | undefined {
  try {
    return { parsed: spec.parse(entry.value, entry.text) };
  } catch (error) {
    if (!(error instanceof ValueProblem)) throw error;
    c.problem(entry.origin, path, error.message);
    return undefined;
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => v === b[i]);
  }
  return a === b;
}

/**
 * In mosquitto.conf, a listener option (or, with per_listener_settings, a security option)
 * before any listener line that does not open the default listener: Mosquitto ignores it
 * (the reader leaves it at the top level). mount_point there is an error in Mosquitto too.
 */
function ignoredBeforeListener(c: Checker, name: SectionName, key: string): boolean {
  if (c.raw.format !== "mosquitto" || name !== "general" || key === "mount_point") return false;
  const home = sectionOf(key);
  return home === "listener" ||
    (home === "security" && findOption(home, key)?.perListener === true);
}

/** "unknown option", with the closest name and the section a known option belongs in. */
function unknownKeyMessage(c: Checker, name: SectionName, key: string): string {
  const home = sectionOf(key);
  if (home !== undefined && home !== name) {
    if (c.raw.format === "mosquitto") {
      return home === "bridge"
        ? "a bridge option outside a bridge: put it after a connection line"
        : "written before any listener line: put it after a listener line";
    }
    if (home === "security" && name === "listener") {
      return "set it in [security], or set per_listener_settings = true in [security]";
    }
    return home === "general"
      ? "belongs at the top level, before the first [table]"
      : `belongs in ${tomlHeader(home)}`;
  }
  const candidates = new Set(Object.keys(SECTION_TABLES[name]));
  if (c.raw.format === "mosquitto") {
    for (const s of SECTION_NAMES) {
      for (const k of Object.keys(SECTION_TABLES[s])) candidates.add(k);
    }
  }
  const guess = closestName(key, candidates);
  return guess === undefined ? "unknown option" : `unknown option; did you mean ${guess}?`;
}

/** With per_listener_settings, TOML files must put per-listener options in the listeners. */
function rejectGlobalPerListenerKeys(c: Checker, raw: RawSection): void {
  for (const [key, entries] of raw.entries) {
    if (findOption("security", key)?.perListener) {
      c.problem(
        entries[entries.length - 1].origin,
        c.path("security.", key),
        "per_listener_settings = true: set it in each [[listener]] instead",
      );
    }
  }
}

/** The security in force: `own` over `global`, with allow_anonymous resolved. */
function resolveSecurity(global: Values, own: Values, localOnly: boolean): SecurityConfig {
  const merged = { ...global, ...own };
  merged.allow_anonymous ??= localOnly;
  return merged as unknown as SecurityConfig;
}

interface ListenerContext {
  perListener: boolean;
  globalSecurity: Values;
  localOnly: boolean;
}

function listener(
  c: Checker,
  raw: RawSection,
  index: number,
  context: ListenerContext,
): ListenerConfig {
  const prefix = `listener[${index + 1}].`;
  const values = section(c, "listener", raw, prefix, true);
  const own: Values = {};
  for (const [key, entries] of raw.entries) {
    const spec = findOption("listener", key) === undefined
      ? findOption("security", key)
      : undefined;
    if (spec === undefined || !spec.perListener) continue;
    const origin = entries[entries.length - 1].origin;
    if (!context.perListener) {
      c.problem(
        origin,
        c.path(prefix, key),
        c.raw.format === "toml"
          ? "set it in [security], or set per_listener_settings = true in [security]"
          : "per_listener_settings is false",
      );
      continue;
    }
    const value = valueOf(c, spec, entries, c.path(prefix, key));
    if (value !== undefined) own[key] = value.parsed;
  }
  if (!raw.entries.has("port")) c.problem(raw.origin, c.path(prefix, "port"), "is required");
  const security = resolveSecurity(context.globalSecurity, own, context.localOnly);
  checkHttp(c, raw, prefix, values, security);
  checkUnixSocket(c, raw, prefix, values);
  checkTls(c, raw, prefix, values);
  checkTransportKeys(c, raw, prefix, values);
  checkMountPoint(c, raw, prefix, values);
  const address = values.bind_address as string | undefined;
  const domain = values.socket_domain as string | undefined;
  if (address !== undefined && domain !== undefined && isIpLiteral(address)) {
    const family = address.includes(":") ? "ipv6" : "ipv4";
    if (family !== domain) {
      const origin = raw.entries.get("socket_domain")?.at(-1)?.origin ?? raw.origin;
      c.problem(origin, c.path(prefix, "socket_domain"), `${domain} cannot bind ${address}`);
    }
  }
  return {
    ...values,
    port: (values.port as number) ?? 0,
    security,
    origin: raw.origin,
  } as unknown as ListenerConfig;
}

/** Listener keys that mean something only to MQTT clients. */
const MQTT_ONLY_LISTENER_KEYS = [
  "max_connections",
  "max_connection_rate",
  "max_qos",
  "max_topic_alias",
  "mount_point",
  "use_username_as_clientid",
];

/**
 * `protocol http` serves the broker's state: behind basic auth with the listener's password
 * file (every user of it, unless `http_users` names some: warned), or open only when
 * `http_open` says so. `http_open` means nothing elsewhere.
 */
function checkHttp(
  c: Checker,
  raw: RawSection,
  prefix: string,
  values: Values,
  security: SecurityConfig,
): void {
  const originOf = (key: string) => raw.entries.get(key)?.at(-1)?.origin ?? raw.origin;
  const openWord = c.raw.format === "toml" ? "http_open = true" : "http_open true";
  if (values.protocol === "http") {
    for (const key of MQTT_ONLY_LISTENER_KEYS) {
      if (raw.entries.has(key)) {
        c.notice(
          "warning",
          originOf(key),
          c.path(prefix, key),
          "ignored: it applies to MQTT listeners, and this one has protocol http",
        );
      }
    }
    if (values.http_open !== true && security.password_file === undefined) {
      c.problem(
        originOf("protocol"),
        c.path(prefix, "protocol"),
        "http needs a password_file for its basic auth (the same users as MQTT), or " +
          `${openWord} to serve it to anyone who can reach it`,
      );
    } else if (
      raw.entries.has("http_users") && (values.http_users as readonly string[]).length === 0
    ) {
      c.problem(
        originOf("http_users"),
        c.path(prefix, "http_users"),
        "must name at least one user (leave it out to let every user of the password_file in)",
      );
    } else if (values.http_open === true && raw.entries.has("http_users")) {
      c.notice(
        "warning",
        originOf("http_users"),
        c.path(prefix, "http_users"),
        `ignored: ${openWord} lets everyone in`,
      );
    } else if (values.http_open !== true && !raw.entries.has("http_users")) {
      c.notice(
        "warning",
        originOf("protocol"),
        c.path(prefix, "protocol"),
        "every user of the password_file may read this HTTP listener's clients, usernames " +
          "and subscriptions; name the ones who may in http_users",
      );
    }
  } else if (values.http_open === true) {
    c.problem(
      originOf("http_open"),
      c.path(prefix, "http_open"),
      `only a listener with protocol http can be open; this one is ${values.protocol}`,
    );
  }
}

/** `port 0` listens on the Unix socket `bind_address` names (Mosquitto's `listener 0 PATH`). */
function checkUnixSocket(c: Checker, raw: RawSection, prefix: string, values: Values): void {
  if (values.port !== 0) return;
  const origin = raw.entries.get("port")?.at(-1)?.origin ?? raw.origin;
  const path = values.bind_address as string | undefined;
  if (path === undefined || !path.startsWith("/")) {
    c.problem(
      origin,
      c.path(prefix, "port"),
      "0 means a Unix socket listener: bind_address must then be the socket's absolute path",
    );
  } else if (values.protocol === "http") {
    c.problem(origin, c.path(prefix, "port"), "protocol http listens on TCP only");
  } else if (raw.entries.has("socket_domain")) {
    c.problem(origin, c.path(prefix, "socket_domain"), "means nothing on a Unix socket");
  }
}

/** Keys that make sense only with a certificate (TLS), and what they need besides. */
const TLS_KEYS = [
  "cafile",
  "capath",
  "crlfile",
  "require_certificate",
  "tls_version",
  "use_identity_as_username",
  "use_subject_as_username",
];

/**
 * A bridge needs an address; its client certificate needs its key (and the other way round)
 * and a CA to check the remote against.
 */
function checkBridge(c: Checker, raw: RawSection, prefix: string, bridge: BridgeConfig): void {
  const originOf = (key: string) => raw.entries.get(key)?.at(-1)?.origin ?? raw.origin;
  if (!raw.entries.has("address") && !raw.entries.has("addresses")) {
    c.problem(raw.origin, c.path(prefix, "address"), "is required (the remote broker)");
  }
  const cert = bridge.bridge_certfile !== undefined;
  if (cert !== (bridge.bridge_keyfile !== undefined)) {
    const [given, missing] = cert
      ? ["bridge_certfile", "bridge_keyfile"]
      : ["bridge_keyfile", "bridge_certfile"];
    c.problem(originOf(given), c.path(prefix, given), `needs ${missing} too`);
  }
  const ca = bridge.bridge_cafile !== undefined || bridge.bridge_capath !== undefined;
  for (const key of ["bridge_certfile", "bridge_insecure", "bridge_tls_version", "bridge_alpn"]) {
    const value = (bridge as unknown as Values)[key];
    if (!ca && value !== undefined && value !== false) {
      c.problem(originOf(key), c.path(prefix, key), "needs bridge_cafile or bridge_capath (TLS)");
    }
  }
}

/** Two bridges may not share a name, nor a client id on this broker. */
function checkBridgeNames(
  c: Checker,
  raws: readonly RawSection[],
  bridges: readonly BridgeConfig[],
): void {
  const names = new Map<string, number>();
  bridges.forEach((bridge, i) => {
    const name = bridge.connection ?? "";
    const first = names.get(name);
    if (first === undefined) names.set(name, i);
    else {
      c.problem(
        raws[i].origin,
        c.path(`bridge[${i + 1}].`, "connection"),
        `${JSON.stringify(name)} is already the name of bridge ${first + 1}`,
      );
    }
  });
}

/** A TLS listener needs both certfile and keyfile; client certificates need a CA. */
function checkTls(c: Checker, raw: RawSection, prefix: string, values: Values): void {
  const originOf = (key: string) => raw.entries.get(key)?.at(-1)?.origin ?? raw.origin;
  const set = (key: string) => values[key] !== undefined && values[key] !== false;
  const tls = set("certfile") || set("keyfile");
  if (tls && !(set("certfile") && set("keyfile"))) {
    const missing = set("certfile") ? "keyfile" : "certfile";
    const given = missing === "keyfile" ? "certfile" : "keyfile";
    c.problem(originOf(given), c.path(prefix, given), `needs ${missing} too`);
    return;
  }
  if (tls && values.protocol === "http") {
    c.problem(originOf("certfile"), c.path(prefix, "certfile"), "protocol http has no TLS yet");
    return;
  }
  for (const key of TLS_KEYS) {
    if (!tls && set(key)) {
      c.problem(originOf(key), c.path(prefix, key), "needs certfile and keyfile (TLS)");
    }
  }
  if (!tls) return;
  const ca = set("cafile") || set("capath");
  for (const key of ["require_certificate", "use_identity_as_username", "crlfile"]) {
    if (set(key) && !ca) {
      c.problem(originOf(key), c.path(prefix, key), "needs cafile or capath to check against");
    }
  }
  for (const key of ["use_identity_as_username", "use_subject_as_username"]) {
    if (set(key) && !set("require_certificate")) {
      c.problem(
        originOf(key),
        c.path(prefix, key),
        "needs require_certificate (a client without a certificate has no identity)",
      );
    }
  }
  if (set("use_identity_as_username") && set("use_subject_as_username")) {
    c.problem(
      originOf("use_subject_as_username"),
      c.path(prefix, "use_subject_as_username"),
      "cannot be set with use_identity_as_username: choose one",
    );
  }
}

/** Keys of one transport (WebSockets, PROXY protocol) set on a listener of another. */
function checkTransportKeys(c: Checker, raw: RawSection, prefix: string, values: Values): void {
  const originOf = (key: string) => raw.entries.get(key)?.at(-1)?.origin ?? raw.origin;
  for (const key of ["http_dir", "websockets_max_frame_size"]) {
    if (raw.entries.has(key) && values.protocol !== "websockets") {
      c.notice(
        "warning",
        originOf(key),
        c.path(prefix, key),
        `ignored: it applies to protocol websockets, and this listener has ${values.protocol}`,
      );
    }
  }
  if ((values.enable_proxy_protocol as number) > 0 && values.protocol === "http") {
    c.problem(
      originOf("enable_proxy_protocol"),
      c.path(prefix, "enable_proxy_protocol"),
      "is for MQTT listeners (mqtt or websockets), not protocol http",
    );
  }
}

/** A mount point is a topic prefix: not empty, no wildcard (Mosquitto refuses both). */
function checkMountPoint(c: Checker, raw: RawSection, prefix: string, values: Values): void {
  const mount = values.mount_point as string | undefined;
  if (mount === undefined) return;
  const origin = raw.entries.get("mount_point")?.at(-1)?.origin ?? raw.origin;
  if (mount === "") c.problem(origin, c.path(prefix, "mount_point"), "must not be empty");
  else if (mount.includes("+") || mount.includes("#")) {
    c.problem(
      origin,
      c.path(prefix, "mount_point"),
      `'${mount}' has a wildcard (+ or #): a mount point is a topic prefix`,
    );
  }
}

function isIpLiteral(address: string): boolean {
  return address.includes(":") || /^[0-9.]+$/.test(address);
}

/** Two listeners on the same port and address cannot both listen. */
function checkListenerClashes(c: Checker, listeners: ListenerConfig[]): void {
  const seen = new Map<string, ListenerConfig>();
  listeners.forEach((l, i) => {
    if (l.port === 0 && l.bind_address === undefined) return; // no port: said already
    const key = `${l.bind_address ?? "*"} ${l.port}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      c.problem(
        l.origin,
        c.path(`listener[${i + 1}].`, "port"),
        `port ${l.port} on ${l.bind_address ?? "every address"} is already used by the ` +
          `listener at ${earlier.origin.file}:${earlier.origin.line}`,
      );
    } else {
      seen.set(key, l);
    }
  });
}

/**
 * log_dest and log_type combinations in TOML, where a list is written at once. (In
 * mosquitto.conf, as in Mosquitto, `none` drops what was listed before it.)
 */
function checkLog(c: Checker, raw: RawSection, log: Values): void {
  if (c.raw.format !== "toml") return;
  const dests = log.log_dest as string[];
  const destOrigin = raw.entries.get("log_dest")?.at(-1)?.origin;
  if (destOrigin !== undefined) {
    if (dests.includes("none") && dests.length > 1) {
      c.problem(destOrigin, c.path("log.", "log_dest"), "none cannot be combined with others");
    }
    if (dests.filter((d) => d.startsWith("file ")).length > 1) {
      c.problem(destOrigin, c.path("log.", "log_dest"), "only one file destination is allowed");
    }
  }
  const types = log.log_type as string[];
  const typeOrigin = raw.entries.get("log_type")?.at(-1)?.origin;
  if (typeOrigin !== undefined && types.includes("none") && types.length > 1) {
    c.problem(typeOrigin, c.path("log.", "log_type"), "none cannot be combined with others");
  }
}

/**
 * `user`: Deno cannot change user, so only the user Midge already runs as is accepted. (As
 * root the file asks for a switch Midge cannot make; as another user, Mosquitto would ignore
 * the option, but a file that names a user Midge does not run as is refused all the same,
 * so that nobody believes the broker runs as that user.)
 */
function checkUser(c: Checker, raw: RawSection, user: string | undefined, facts: ProcessFacts) {
  if (user === undefined || user === facts.userName) return;
  const origin = raw.entries.get("user")!.at(-1)!.origin;
  const why = facts.isRoot
    ? `Midge cannot switch from root to ${user} itself`
    : `Midge runs as ${facts.userName}, not ${user}, and cannot change user`;
  c.problem(
    origin,
    c.path("", "user"),
    `${why}: start it as ${user} (User=${user} in the systemd unit, conf/midge.service), or ` +
      "remove this option",
  );
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
