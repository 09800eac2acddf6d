/**
 * `midge [broker]`: run the broker with Mosquitto's command-line options (-c, -p, -v, -d) and
 * `--test-config`; load and validate the configuration, write the pid file, and handle the
 * signals: SIGINT/SIGTERM stop gracefully, SIGHUP reloads, SIGUSR1 saves persistent state.
 * The `protocol http` listeners are started here, after the broker, and closed after it.
 *
 * @module
 */

import { Broker } from "../broker/broker.ts";
import { ConfigError } from "../config/errors.ts";
import { defaultConfig, loadConfig } from "../config/load.ts";
import type { Config } from "../config/options.ts";
import { logConfigNotices, loggerFromConfig } from "../log/from_config.ts";
import type { Logger } from "../log/logger.ts";
import type { HttpServer } from "../http/server.ts";
import { MIDGE_VERSION } from "../version.ts";
import {
  brokerOptionsFromConfig,
  type HttpListenerOptions,
  httpListenersFromConfig,
  isHttpListener,
} from "./broker_options.ts";
import { type LoadedSecurity, loadSecurityFiles } from "./security_files.ts";
import type { CliIo } from "../tools/cli_io.ts";
import { Bridges } from "../bridge/bridges.ts";
import { bridgeSettings } from "../bridge/settings.ts";
import { Reloader } from "./reloader.ts";
import {
  EXIT_CONFIG_INVALID,
  EXIT_START_FAILED,
  EXIT_STORE_FAILED,
  securityFileStatus,
} from "./exit_status.ts";
import { parseCheckedArgs } from "./checked_args.ts";
import { warnWhenRoot } from "./root_warning.ts";
import { guardInspectorPort } from "./inspector_guard.ts";
import { releaseStartupPagesSoon } from "./startup_pages.ts";
import { openSystemdNotifier } from "./systemd_notify.ts";

const USAGE = `midge broker ${MIDGE_VERSION}

Usage: midge [broker] [-c config_file] [-p port] [-v] [--test-config]

 -c : read the configuration from a file: FILE.toml is TOML, any other name is read as a
      mosquitto.conf. Without -c, Midge listens on 127.0.0.1 and ::1 port 1883 only.
 -p : listen on this port instead of 1883 in local only mode; with -c, only when the
      file defines no listener (as Mosquitto).
 -v : verbose mode: log everything, as log_type all.
 -d : not available: Deno cannot put itself in the background (see below).
 --test-config : check the configuration file and the files it names (password, ACL,
      certificates, places to write), print what is wrong, and exit 0 (valid) or 1.

In the background, run Midge under systemd (conf/midge.service) or with
'nohup midge -c FILE &'. SIGHUP reloads the configuration, SIGTERM stops gracefully.`;

/** The parsed command line. */
export interface BrokerArgs {
  /** `-c`. */
  configFile: string | undefined;
  /** `-p`. */
  port: number | undefined;
  /** `-v`. */
  verbose: boolean;
  /** `--test-config`. */
  testConfig: boolean;
}

/** Parse the broker's options; a usage error is thrown as an Error with the message to print. */
export function parseBrokerArgs(args: string[]): BrokerArgs {
  const { values, positionals } = parseCheckedArgs(args, {
    port: { type: "string", short: "p" },
    verbose: { type: "boolean", short: "v" },
    config: { type: "string", short: "c" },
    daemon: { type: "boolean", short: "d" },
    "test-config": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) throw new UsageHelp();
  if (positionals.length > 0) throw new Error(`unexpected argument '${positionals[0]}'`);
  if (values.daemon) {
    throw new Error(
      "-d: Midge cannot put itself in the background (Deno cannot fork). Run it under " +
        "systemd (conf/midge.service) or with 'nohup midge -c FILE &'",
    );
  }
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`-p: invalid port '${values.port}', must be 1-65535`);
    }
  }
  if (values["test-config"] && values.config === undefined) {
    throw new Error("--test-config needs -c FILE");
  }
  return {
    configFile: values.config,
    port,
    verbose: values.verbose ?? false,
    testConfig: values["test-config"] ?? false,
  };
}

/** Thrown for -h: print the usage and exit 0. */
class UsageHelp extends Error {}

/** Run the broker until SIGINT or SIGTERM; resolves to the exit code. */
export async function runBroker(args: string[], io: CliIo): Promise<number> {
  let parsed: BrokerArgs;
  try {
    parsed = parseBrokerArgs(args);
  } catch (error) {
    if (error instanceof UsageHelp) {
      io.out(USAGE);
      return 0;
    }
    io.err(`Error: ${(error as Error).message}`);
    io.err("Run 'midge broker -h' for usage.");
    return EXIT_CONFIG_INVALID;
  }
  let config: Config;
  try {
    config = parsed.configFile === undefined
      ? defaultConfig()
      : await loadConfig(parsed.configFile);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const line of error.message.split("\n")) io.err(line);
    const n = error.problems.length;
    io.err(
      `${parsed.configFile}: ${n} problem${n === 1 ? "" : "s"}; ` +
        (parsed.testConfig ? "the configuration is not valid." : "not starting."),
    );
    return parsed.testConfig ? 1 : EXIT_CONFIG_INVALID;
  }
  if (parsed.testConfig) {
    for (const notice of config.notices) io.err(`${notice.severity}: ${notice.message}`);
    const { checkStart } = await import("./start_checks.ts");
    const { failures, logged } = await checkStart(config);
    for (const { level, line } of logged) io.err(level === "error" ? line : `${level}: ${line}`);
    for (const line of failures.flatMap((failure) => failure.split("\n"))) io.err(line);
    if (failures.length > 0) {
      const n = failures.length;
      io.err(
        `${parsed.configFile}: ${n} problem${n === 1 ? "" : "s"} with the files it names; ` +
          "the configuration is not valid.",
      );
      return 1;
    }
    io.out(`${parsed.configFile}: the configuration is valid.`);
    return 0;
  }
  return await serve(config, parsed, io);
}

/** Start the broker with `config` and serve until a stop signal. */
async function serve(config: Config, parsed: BrokerArgs, io: CliIo): Promise<number> {
  const systemd = openSystemdNotifier(io);
  let log: Logger;
  // log_dest topic publishes through the broker, which exists once the logger does.
  const started: { broker?: Broker } = {};
  const publish = (topic: string, payload: Uint8Array) =>
    started.broker?.publishFromBroker(topic, payload);
  try {
    log = loggerFromConfig(config.log, { verbose: parsed.verbose, publish });
  } catch (error) {
    io.err(`Error: ${(error as Error).message}`);
    return EXIT_START_FAILED;
  }
  log.info(`midge version ${MIDGE_VERSION} starting`);
  if (config.file === undefined) {
    log.info("Using default config.");
  } else {
    log.info(`Config loaded from ${config.file}.`);
  }
  logConfigNotices(log, config.notices);
  warnWhenRoot(log, config.general.user);
  let files: LoadedSecurity;
  try {
    files = await loadSecurityFiles(config);
  } catch (error) {
    for (const line of (error as Error).message.split("\n")) log.error(`Error: ${line}`);
    await log.close();
    return securityFileStatus(error);
  }
  for (const problem of files.problems) log.log(problem.level, problem.line);
  const options = brokerOptionsFromConfig(config, { logger: log, files, localPort: parsed.port });
  if (config.listeners.length === 0) {
    log.notice(
      "Starting in local only mode. Connections will only be possible from clients running on " +
        "this machine.",
    );
    log.notice("Create a configuration file which defines a listener to allow remote access.");
  }
  const closed = config.listeners.filter((l) =>
    !isHttpListener(l) && !l.security.allow_anonymous && l.security.password_file === undefined
  );
  if (closed.length > 0) {
    log.warning(
      `allow_anonymous is false on port${closed.length > 1 ? "s" : ""} ` +
        `${closed.map((l) => l.port).join(", ")} and there is no password_file: ` +
        "no client can connect there (as with Mosquitto 2.0).",
    );
  }
  const pidFile = config.general.pid_file;
  if (pidFile !== undefined) {
    try {
      await Deno.writeTextFile(pidFile, `${Deno.pid}\n`);
    } catch (error) {
      log.error(`Error: Unable to write pid file ${pidFile}: ${(error as Error).message}`);
      await log.close();
      return EXIT_START_FAILED;
    }
  }
  const broker = new Broker(options);
  started.broker = broker;
  try {
    // Loaded only when used, as are the HTTP server, TLS, WebSockets and bridges: a broker
    // pays in memory for what its configuration asks for.
    if (config.persistence.persistence) {
      await (await import("./persistence_start.ts")).startPersistence(broker, config);
    }
  } catch (error) {
    log.error(`Error: ${(error as Error).message}`);
    await removePidFile(pidFile);
    await log.close();
    return EXIT_STORE_FAILED;
  }
  const httpListeners = httpListenersFromConfig(config, files);
  const httpServers: HttpServer[] = [];
  const bridges = new Bridges(broker);
  broker.bridgeStats = () => bridges.stats();
  const stopAll = async () => {
    await bridges.stop();
    await broker.stop();
    await Promise.all(httpServers.map((server) => server.close()));
  };
  try {
    await broker.start();
    for (const l of httpListeners) httpServers.push(await openHttpListener(broker, l));
    await bridges.start(config.bridges.map((b) => bridgeSettings(b, Deno.hostname())));
  } catch (error) {
    log.error(`Error: ${(error as Error).message}`);
    await stopAll();
    await removePidFile(pidFile);
    await log.close();
    return EXIT_START_FAILED;
  }
  log.info(`midge version ${MIDGE_VERSION} running`);
  const inspectorGuard = guardInspectorPort(log); // before SIGUSR1 is handled
  const cancelPageRelease = releaseStartupPagesSoon(log);
  const reloader = new Reloader(broker, config, {
    verbose: parsed.verbose,
    publish,
    httpListeners,
    localPort: parsed.port,
    bridges,
  });
  const { promise: stopped, resolve } = Promise.withResolvers<void>();
  const onStop = () => resolve();
  const onHup = () => void reloader.reload();
  const onUsr1 = () => void reloader.saveState();
  const signals: [Deno.Signal, () => void][] = [
    ["SIGINT", onStop],
    ["SIGTERM", onStop],
    ["SIGHUP", onHup],
    ["SIGUSR1", onUsr1],
  ];
  for (const [signal, handler] of signals) Deno.addSignalListener(signal, handler);
  await systemd?.ready(); // once a stop signal is handled too
  await stopped;
  await systemd?.stopping();
  cancelPageRelease();
  for (const [signal, handler] of signals) Deno.removeSignalListener(signal, handler);
  await reloader.idle();
  broker.log.info(`midge version ${MIDGE_VERSION} terminating`);
  await stopAll(); // HTTP last: /health says 503 while the broker stops
  inspectorGuard.close();
  await removePidFile(pidFile);
  await broker.log.close();
  return 0;
}

/**
 * Open one HTTP listener, logged as Mosquitto logs its listeners; its password file is read
 * from `l` at each request, so a reload that changes it applies at once.
 */
async function openHttpListener(broker: Broker, l: HttpListenerOptions): Promise<HttpServer> {
  const { startHttpServer } = await import("../http/server.ts");
  broker.log.info(`Opening http listen socket on port ${l.port}.`);
  const passwords = l.open ? undefined : {
    verify: (username: string, password: Uint8Array | undefined) =>
      l.passwords?.verify(username, password) ?? Promise.resolve("unknown user" as const),
  };
  let failure = "";
  for (const hostname of l.hostnames) {
    try {
      return startHttpServer(broker, {
        hostname,
        port: l.port,
        open: l.open,
        passwords,
        users: l.users,
        maxConnections: l.maxConnections,
        timeoutMs: l.timeoutMs,
      });
    } catch (error) {
      const where = l.hostnames.length > 1 ? "*" : hostname;
      failure = `${where}:${l.port}: ${(error as Error).message}`;
    }
  }
  throw new Error(`cannot open http listen socket ${failure}`);
}

async function removePidFile(path: string | undefined): Promise<void> {
  if (path === undefined) return;
  try {
    await Deno.remove(path);
  } catch {
    // already gone
  }
}
