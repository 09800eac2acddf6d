/**
 * SIGHUP and SIGUSR1 for a running broker: reload the configuration file, build the broker's
 * options from it as at start and hand them to `Broker.reconfigure` (limits, security,
 * logging; log files are reopened), log each change, and keep the running configuration when
 * the file has become invalid.
 *
 * @module
 */

import type { Broker } from "../broker/broker.ts";
import { ConfigError } from "../config/errors.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/options.ts";
import { logConfigNotices, loggerFromConfig } from "../log/from_config.ts";
import {
  applyHttpReloadable,
  brokerOptionsFromConfig,
  type HttpListenerOptions,
  httpListenersFromConfig,
} from "./broker_options.ts";
import { configChanges } from "./config_changes.ts";
import type { Bridges } from "../bridge/bridges.ts";
import { bridgeSettings } from "../bridge/settings.ts";
import { loadSecurityFiles, securityFilePaths } from "./security_files.ts";

/** How loggers are built for this process. */
export interface LoggerSettings {
  /** `-v` was given. */
  verbose: boolean;
  /** Publishes log lines for `log_dest topic`. */
  publish: (topic: string, payload: Uint8Array) => void;
  /** The running `protocol http` listeners, whose password files a reload replaces. */
  httpListeners?: readonly HttpListenerOptions[];
  /** The port of local-only mode (`-p`). */
  localPort?: number;
  /** The running bridges, which a reload adds, stops or restarts. */
  bridges?: Bridges;
}

/** Reloads one broker's configuration on request. */
export class Reloader {
  #broker: Broker;
  #config: Config;
  #settings: LoggerSettings;
  #running: Promise<void> = Promise.resolve();

  /** Reload `broker`, started with `config`. */
  constructor(broker: Broker, config: Config, settings: LoggerSettings) {
    this.#broker = broker;
    this.#config = config;
    this.#settings = settings;
  }

  /** The configuration in force. */
  get config(): Config {
    return this.#config;
  }

  /** Reload now (SIGHUP); reloads run one at a time. */
  reload(): Promise<void> {
    this.#running = this.#running.then(() => this.#reload());
    return this.#running;
  }

  /** Resolves when no reload is running. */
  idle(): Promise<void> {
    return this.#running;
  }

  async #reload(): Promise<void> {
    const log = () => this.#broker.log;
    const file = this.#config.file;
    log().reopen(); // first, so that a rotated log file gets the lines below
    log().notice("Reloading config.");
    if (file === undefined) return;
    let next: Config;
    try {
      next = await loadConfig(file);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      log().error(`Reload of ${file} rejected; the running configuration is kept:`);
      for (const line of error.message.split("\n")) log().error(line);
      return;
    }
    // Password and ACL files are read again on every reload, changed or not (Mosquitto does).
    let files;
    try {
      files = await loadSecurityFiles(next);
    } catch (error) {
      log().error(`Reload of ${file} rejected; the running configuration is kept:`);
      for (const line of (error as Error).message.split("\n")) log().error(line);
      return;
    }
    const changes = configChanges(this.#config, next);
    let logger = log();
    if (JSON.stringify(this.#config.log) !== JSON.stringify(next.log)) {
      try {
        logger = loggerFromConfig(next.log, this.#settings);
      } catch (error) {
        log().error(`Reload of ${file} rejected: ${(error as Error).message}`);
        return;
      }
    }
    const { localPort } = this.#settings;
    this.#broker.reconfigure(brokerOptionsFromConfig(next, { logger, files, localPort }));
    applyHttpReloadable(this.#settings.httpListeners ?? [], httpListenersFromConfig(next, files));
    for (const problem of files.problems) log().log(problem.level, problem.line);
    const reread = securityFilePaths(next);
    if (reread.length > 0) log().notice(`Reloaded ${reread.join(", ")}.`);
    logConfigNotices(log(), next.notices);
    for (const change of changes.applied) log().notice(`Reloaded ${change}.`);
    for (const change of changes.needRestart) {
      log().warning(`Not reloaded (restart to apply): ${change}.`);
    }
    const bridged = await this.#settings.bridges?.reload(
      next.bridges.map((b) => bridgeSettings(b, Deno.hostname())),
    );
    const bridgeChanges = bridged === undefined ? [] : [
      ...bridged.added.map((name) => `bridge ${name} started`),
      ...bridged.removed.map((name) => `bridge ${name} stopped`),
      ...bridged.changed.map((name) => `bridge ${name} restarted with its new settings`),
    ];
    for (const change of bridgeChanges) log().notice(`Reload: ${change}.`);
    if (
      changes.applied.length === 0 && changes.needRestart.length === 0 && reread.length === 0 &&
      bridgeChanges.length === 0
    ) {
      log().notice("Reload: nothing changed.");
    }
    this.#config = next;
  }

  /** SIGUSR1: save persistent state now (Midge stores as it goes: wait for that, and say so). */
  async saveState(): Promise<void> {
    const log = this.#broker.log;
    const persistence = this.#broker.persistence;
    if (persistence === undefined) {
      log.notice("SIGUSR1: persistence is off; nothing to save.");
      return;
    }
    await persistence.flush();
    const stats = persistence.store.stats();
    log.notice(
      `SIGUSR1: everything is stored in ${persistence.store.location} ` +
        `(${stats.records} records, ${stats.liveBytes} bytes).`,
    );
  }
}
