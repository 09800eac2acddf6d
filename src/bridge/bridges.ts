/**
 * The broker's bridges: started with it, stopped before it, and on reload (SIGHUP) replaced
 * where their settings changed, added or stopped, the unchanged ones left alone.
 *
 * @module
 */

import type { Bridge, BridgeStats } from "./bridge.ts";
import type { BridgeHost } from "./host.ts";
import type { BridgeSettings } from "./settings.ts";

/**
 * The bridge runtime (with the MQTT client and the dialing code under it), loaded with the
 * first bridge: a broker without bridges does not spend the memory.
 */
let runtime: Promise<typeof import("./bridge.ts")> | undefined;

/** The running bridges of one broker. */
export class Bridges {
  #host: BridgeHost;
  #running = new Map<string, Bridge>();

  /** Bridges of `host` (none running yet). */
  constructor(host: BridgeHost) {
    this.#host = host;
  }

  /** Start a bridge for each of `settings`. */
  async start(settings: readonly BridgeSettings[]): Promise<void> {
    for (const s of settings) await this.#startOne(s);
  }

  /**
   * Bring the running bridges to `settings`: stop those gone or changed, start those new or
   * changed. Returns the names of the bridges stopped, started and replaced.
   */
  async reload(
    settings: readonly BridgeSettings[],
  ): Promise<{ added: string[]; removed: string[]; changed: string[] }> {
    const next = new Map(settings.map((s) => [s.name, s]));
    const added: string[] = [];
    const removed: string[] = [];
    const changed: string[] = [];
    for (const [name, bridge] of this.#running) {
      const wanted = next.get(name);
      if (wanted === undefined) removed.push(name);
      else if (JSON.stringify(wanted) !== JSON.stringify(bridge.settings)) changed.push(name);
    }
    for (const name of next.keys()) if (!this.#running.has(name)) added.push(name);
    await Promise.all([...removed, ...changed].map((name) => this.#stopOne(name)));
    for (const name of [...changed, ...added]) await this.#startOne(next.get(name)!);
    return { added, removed, changed };
  }

  /** Stop every bridge (their local sessions are kept). */
  async stop(): Promise<void> {
    await Promise.all([...this.#running.keys()].map((name) => this.#stopOne(name)));
  }

  /** The figures of each bridge, in start order. */
  stats(): BridgeStats[] {
    return [...this.#running.values()].map((b) => b.stats());
  }

  async #startOne(settings: BridgeSettings): Promise<void> {
    const { Bridge } = await (runtime ??= import("./bridge.ts"));
    const bridge = new Bridge(this.#host, settings);
    this.#running.set(settings.name, bridge);
    bridge.start();
  }

  async #stopOne(name: string): Promise<void> {
    const bridge = this.#running.get(name);
    this.#running.delete(name);
    await bridge?.stop();
  }
}
