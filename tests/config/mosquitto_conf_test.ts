import assert from "node:assert/strict";
import {
  isDefaultListener,
  isImpliedPort,
  parseMosquittoConf,
  readMosquittoConf,
} from "../../src/config/mosquitto_conf.ts";
import { validateConfig } from "../../src/config/validate.ts";
import {
  FACTS,
  fixture,
  load,
  mosquittoExample,
  origins,
  parse,
  ports,
  problemsOf,
  problemsOfAsync,
  values,
} from "./mosquitto_helpers.ts";

// --- syntax ---

Deno.test("parseMosquittoConf skips comments and blank lines and keeps inner spaces", () => {
  const raw = parse(
    "# comment\r\n\r\n   \r\n#port 1\r\nlog_dest file /var/log/my broker.log  \r\n" +
      "max_queued_messages\t 200\r\n  retain_available false\r\n",
  );
  assert.deepEqual(values(raw.log, "log_dest"), ["file /var/log/my broker.log"]);
  assert.deepEqual(origins(raw.log, "log_dest"), ["m.conf:5"]);
  assert.deepEqual(values(raw.general, "max_queued_messages"), ["200"]);
  assert.deepEqual(values(raw.general, "retain_available"), ["false"]);
  assert.equal(raw.listeners.length, 0);
  assert.equal(raw.format, "mosquitto");
  assert.ok(raw.log.entries.get("log_dest")![0].text);
});

Deno.test("parseMosquittoConf: an option without a value needs one; an unknown one is passed on", () => {
  assert.deepEqual(problemsOf(() => parse("listener 1883\nmax_connections\nlistener\n")), [
    "m.conf:2: max_connections: needs a value",
    "m.conf:3: listener: needs a value",
  ]);
  const raw = parse("frobnicate\n");
  assert.deepEqual(values(raw.general, "frobnicate"), [""]);
});

Deno.test("parseMosquittoConf: a # after spaces is not a comment, as in Mosquitto", () => {
  assert.match(problemsOf(() => parse("  # indented\n"))[0], /^m\.conf:1: a comment must start/);
});

Deno.test("parseMosquittoConf collects every structural problem into one ConfigError", () => {
  assert.deepEqual(
    problemsOf(() =>
      parse(
        "listener abc\nlistener 70000\nlistener 0\nlistener 1883 /run/m.sock\n" +
          "listener 1884 127.0.0.1 extra\n",
      )
    ),
    [
      'm.conf:1: listener: needs a port 1-65535 first, not "abc"',
      'm.conf:2: listener: needs a port 1-65535 first, not "70000"',
      "m.conf:3: listener: port 0 means a Unix socket listener: give the socket's path after " +
      "it (listener 0 /run/midge.sock)",
      "m.conf:4: listener: a Unix socket path needs port 0 before it",
      'm.conf:5: listener: takes a port and an address, not also "extra"',
    ],
  );
});

Deno.test("readMosquittoConf: an unreadable main file names the file and the reason", async () => {
  const missing = fixture("no-such-file.conf");
  assert.deepEqual(await problemsOfAsync(() => readMosquittoConf(missing)), [
    `${missing}: cannot read: No such file or directory`,
  ]);
});

const EXAMPLE = mosquittoExample();

Deno.test("the Mosquitto example file, all comments, loads to the default configuration", {
  ignore: EXAMPLE === undefined,
}, async () => {
  const raw = parseMosquittoConf({ file: EXAMPLE!.file, text: await EXAMPLE!.text });
  for (const name of ["general", "log", "persistence", "security"] as const) {
    assert.equal(raw[name].entries.size, 0, name);
  }
  assert.deepEqual([raw.listeners, raw.bridges], [[], []]);
  const config = validateConfig(raw, FACTS);
  assert.deepEqual(config.listeners, []);
  assert.equal(config.security.allow_anonymous, true); // local-only mode
});

// --- listeners ---

Deno.test("the Debian layout: settings, then include_dir of local *.conf files", async () => {
  const config = await load("debian.conf");
  assert.equal(config.general.pid_file, "/run/mosquitto/mosquitto.pid");
  assert.equal(config.persistence.persistence, true);
  assert.equal(config.persistence.persistence_location, "/var/lib/mosquitto/");
  assert.deepEqual(config.log.log_dest, ["file /var/log/mosquitto/mosquitto.log"]);
  assert.deepEqual(ports(config), [1883]);
  assert.deepEqual(config.listeners[0].origin, { file: fixture("debian.d/local.conf"), line: 2 });
  assert.equal(config.security.allow_anonymous, true);
});

Deno.test("comments.conf: values after comments, blanks and trailing spaces", async () => {
  const config = await load("comments.conf");
  assert.equal(config.general.max_queued_messages, 200);
  assert.deepEqual(config.log.log_dest, ["file /var/log/mosquitto/broker log.txt"]);
  assert.deepEqual(config.log.log_type, ["error", "warning"]);
  assert.equal(config.general.retain_available, false);
  assert.equal(config.general.max_inflight_messages, 20);
});

Deno.test("port and bind_address set the default listener", async () => {
  const config = await load("default_port.conf");
  assert.equal(config.listeners.length, 1);
  const [l] = config.listeners;
  assert.deepEqual([l.port, l.bind_address, l.max_connections], [1884, "127.0.0.1", 100]);
  assert.deepEqual(l.origin, { file: fixture("default_port.conf"), line: 3 });
  assert.equal(l.security.allow_anonymous, true);
});

Deno.test("listener options before any listener line open the default listener on 1883, last", async () => {
  const raw = await readMosquittoConf(fixture("default_options.conf"));
  assert.equal(raw.listeners.length, 2);
  assert.ok(isDefaultListener(raw.listeners[1]));
  assert.ok(!isDefaultListener(raw.listeners[0]));
  assert.ok(isImpliedPort(raw.listeners[1].entries.get("port")![0]));
  const config = validateConfig(raw, FACTS);
  assert.deepEqual(ports(config), [8884, 1883]);
  assert.deepEqual(config.listeners.map((l) => l.max_connections), [10, 50]);
  assert.deepEqual(config.listeners.map((l) => l.socket_domain), [undefined, "ipv4"]);
  assert.deepEqual(config.listeners[1].origin, { file: fixture("default_options.conf"), line: 4 });
});

Deno.test("port after a listener line still sets the default listener", () => {
  const raw = parse("listener 1884\nport 1885\nmax_connections 3\n");
  assert.deepEqual(values(raw.listeners[0], "port"), ["1884"]);
  assert.deepEqual(values(raw.listeners[0], "max_connections"), ["3"]);
  assert.deepEqual(values(raw.listeners[1], "port"), ["1885"]);
  assert.ok(!isImpliedPort(raw.listeners[1].entries.get("port")![0]));
});

Deno.test("a default value or an option Mosquitto ignores there does not open the default listener", () => {
  const raw = parse(
    "max_connections -1\nmax_topic_alias 5\nmount_point a/\nlistener 1883\n",
  );
  assert.equal(raw.listeners.length, 1);
  assert.deepEqual(
    [...raw.general.entries.keys()],
    ["mount_point", "max_connections", "max_topic_alias"],
  );
  // Mosquitto refuses mount_point there, and ignores the others: Midge warns about them.
  assert.deepEqual(problemsOf(() => validateConfig(raw, FACTS)), [
    "m.conf:3: mount_point: written before any listener line: put it after a listener line",
  ]);
  const accepted = validateConfig(
    parse("max_connections -1\nmax_topic_alias 5\nlistener 1883\n"),
    FACTS,
  );
  assert.deepEqual(accepted.notices.map((n) => n.message), [
    "m.conf:1: max_connections: written before any listener line, where Mosquitto ignores it, " +
    "and so does Midge: put it after a listener line",
    "m.conf:2: max_topic_alias: written before any listener line, where Mosquitto ignores it, " +
    "and so does Midge: put it after a listener line",
  ]);
  assert.equal(accepted.listeners[0].max_topic_alias, 10);
});

Deno.test("no listener and no default-listener option: no listeners (local-only mode)", () => {
  assert.deepEqual(parse("max_inflight_messages 5\nallow_anonymous false\n").listeners, []);
});

Deno.test("several listeners, each with its own options", async () => {
  const config = await load("listeners.conf");
  assert.deepEqual(ports(config), [1883, 1884, 1885]);
  assert.deepEqual(config.listeners.map((l) => l.bind_address), ["127.0.0.1", undefined, "::1"]);
  assert.deepEqual(config.listeners.map((l) => l.max_connections), [10, -1, 1]);
  assert.deepEqual(config.listeners.map((l) => l.socket_domain), ["ipv4", undefined, undefined]);
  assert.deepEqual(config.listeners.map((l) => l.max_topic_alias), [10, 5, 10]);
  assert.deepEqual(config.listeners.map((l) => l.mount_point), [
    undefined,
    "tenant-a/",
    undefined,
  ]);
  assert.equal(config.general.max_inflight_messages, 10);
  assert.deepEqual(config.log.log_type, ["error", "warning"]);
  assert.equal(config.log.connection_messages, false);
  assert.ok(config.listeners.every((l) => l.security.allow_anonymous));
});

Deno.test("max_qos belongs to the listener it follows; maximum_qos is read as max_qos", () => {
  const config = validateConfig(
    parse("max_qos 0\nlistener 1883\nmax_qos 1\nlistener 1884\nmaximum_qos 0\nlistener 1885\n"),
    FACTS,
  );
  // Before any listener line Mosquitto 2.0.11 applies it to no listener (checked with the
  // binary), and it opens no default listener.
  assert.deepEqual(ports(config), [1883, 1884, 1885]);
  assert.deepEqual(config.listeners.map((l) => l.max_qos), [1, 0, 2]);
  assert.deepEqual(problemsOf(() => validateConfig(parse("listener 1883\nmax_qos 3\n"), FACTS)), [
    "m.conf:2: max_qos: must be 0-2, not 3",
  ]);
});

// --- per_listener_settings ---

Deno.test("per_listener_settings true: security options go to the listener they follow", async () => {
  const raw = await readMosquittoConf(fixture("per_listener_true.conf"));
  assert.deepEqual([...raw.security.entries.keys()], ["per_listener_settings"]);
  assert.deepEqual(values(raw.listeners[1], "auto_id_prefix"), ["net-"]);
  const config = validateConfig(raw, FACTS);
  assert.deepEqual(config.listeners.map((l) => l.security.allow_anonymous), [true, false]);
  assert.deepEqual(config.listeners.map((l) => l.security.auto_id_prefix), ["local-", "net-"]);
  assert.deepEqual(
    config.listeners.map((l) => l.security.allow_zero_length_clientid),
    [true, false],
  );
  assert.equal(config.security.allow_anonymous, false);
  assert.equal(config.security.auto_id_prefix, "auto-");
});

Deno.test("per_listener_settings false: security options are global, the last one wins", async () => {
  const raw = await readMosquittoConf(fixture("per_listener_false.conf"));
  assert.deepEqual(values(raw.security, "allow_anonymous"), ["true", "false"]);
  assert.equal(raw.listeners[0].entries.has("allow_anonymous"), false);
  const config = validateConfig(raw, FACTS);
  assert.equal(config.security.allow_anonymous, false);
  assert.equal(config.security.auto_id_prefix, "local-");
  assert.equal(config.security.allow_zero_length_clientid, false);
  for (const l of config.listeners) {
    assert.deepEqual(
      [
        l.security.allow_anonymous,
        l.security.auto_id_prefix,
        l.security.allow_zero_length_clientid,
      ],
      [false, "local-", false],
    );
  }
});

Deno.test("a mount point with a wildcard is refused with file:line:key, as Mosquitto refuses it", () => {
  assert.deepEqual(
    problemsOf(() =>
      validateConfig(
        parse("listener 1883\nmount_point a/+/\nlistener 1884\nmount_point a/#\n"),
        FACTS,
      )
    ),
    [
      "m.conf:2: mount_point: 'a/+/' has a wildcard (+ or #): a mount point is a " +
      "topic prefix",
      "m.conf:4: mount_point: 'a/#' has a wildcard (+ or #): a mount point is a " +
      "topic prefix",
    ],
  );
});

Deno.test("per_listener_settings applies to the whole file, wherever it is written", () => {
  const raw = parse(
    "listener 1883\nallow_anonymous true\nauth_opt_db x\nper_listener_settings true\n",
  );
  assert.deepEqual(values(raw.listeners[0], "allow_anonymous"), ["true"]);
  assert.deepEqual(values(raw.listeners[0], "auth_opt_db"), ["x"]);
  const off = parse("per_listener_settings true\ninclude_dir d\nlistener 1\npassword_file p\n", {
    d: { "late.conf": "per_listener_settings false\n" },
  });
  assert.deepEqual(values(off.security, "password_file"), ["p"]);
});

Deno.test("per-listener security before any listener goes to the default listener", () => {
  const opened = parse("per_listener_settings true\nallow_zero_length_clientid false\n");
  assert.equal(opened.listeners.length, 1);
  assert.deepEqual(values(opened.listeners[0], "port"), ["1883"]);
  // allow_anonymous alone does not open it in Mosquitto, which then ignores it: a warning.
  const raw = parse("per_listener_settings true\nallow_anonymous true\nlistener 1884\n");
  assert.equal(raw.listeners.length, 1);
  const config = validateConfig(raw, FACTS);
  assert.equal(config.listeners[0].security.allow_anonymous, false);
  assert.deepEqual(config.notices.map((n) => [n.severity, n.message.split(": ")[0]]), [
    ["warning", "m.conf:2"],
  ]);
});

// --- bridges and unknown options ---

Deno.test("connection starts a bridge that lasts until the next connection line", async () => {
  const raw = await readMosquittoConf(fixture("bridge.conf"));
  assert.equal(raw.bridges.length, 1);
  const [bridge] = raw.bridges;
  assert.deepEqual(values(bridge, "connection"), ["cloud"]);
  assert.deepEqual(values(bridge, "topic"), ["sensors/# out 1", "commands/# in 1 local/ remote/"]);
  assert.deepEqual(values(bridge, "remote_clientid"), ["edge-1"]);
  assert.deepEqual(values(raw.listeners[1], "max_connections"), ["3"]);
  const [valid] = validateConfig(raw, FACTS).bridges;
  assert.deepEqual(valid.address, ["broker.example.com:1883"]);
  assert.equal(valid.cleansession, true);
  assert.equal(valid.remote_clientid, "edge-1");
});

Deno.test("a bridge option before any connection line is reported by validation", () => {
  const raw = parse("topic a/# both 0\nconnection b\naddress h\n");
  assert.deepEqual(values(raw.general, "topic"), ["a/# both 0"]);
  assert.deepEqual(problemsOf(() => validateConfig(raw, FACTS)), [
    "m.conf:1: topic: a bridge option outside a bridge: put it after a connection line",
  ]);
});

Deno.test("unknown options are passed on and validation suggests the name", async () => {
  const raw = await readMosquittoConf(fixture("unknown.conf"));
  assert.deepEqual(values(raw.general, "max_conections"), ["10"]);
  assert.deepEqual(values(raw.general, "colour"), ["blue"]);
  assert.deepEqual(problemsOf(() => validateConfig(raw, FACTS)), [
    `${fixture("unknown.conf")}:2: max_conections: unknown option; did you mean max_connections?`,
    `${fixture("unknown.conf")}:3: colour: unknown option`,
  ]);
});
