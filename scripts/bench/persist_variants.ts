/**
 * The broker set-ups the persistence benchmark compares, and how one is started: each start
 * (but a restart after a crash) gets a fresh, empty persistence directory.
 *
 * @module
 */

import { type BrokerName, type RunningBroker, startBroker } from "./brokers.ts";

/** Names of the set-ups, as the report shows them. */
export type VariantName =
  | "Midge, persistence off"
  | "Midge, persistence on"
  | "Mosquitto 2.0, persistence true";

/** One broker set-up. */
export interface Variant {
  /** Column or row label. */
  name: VariantName;
  /** The broker run. */
  broker: BrokerName;
  /** Whether its configuration says `persistence true` (with a `persistence_location`). */
  persistence: boolean;
}

/** Every set-up, Midge off first (the reference of the ratios). */
export const VARIANTS: readonly Variant[] = [
  { name: "Midge, persistence off", broker: "Midge", persistence: false },
  { name: "Midge, persistence on", broker: "Midge", persistence: true },
  { name: "Mosquitto 2.0, persistence true", broker: "Mosquitto", persistence: true },
];

/** Where and how a variant runs. */
export interface VariantPlace {
  /** Port (127.0.0.1). */
  port: number;
  /** The broker's core. */
  cpu: number;
  /** Directory for the configuration file and, with persistence, the store. */
  workDir: string;
}

/** A started variant and how to crash and restart it on the same configuration and store. */
export interface VariantRun {
  /** The broker process now serving (a new one after `restart`). */
  broker: RunningBroker;
  /** Start the broker again with the same configuration and persistence directory. */
  restart(): Promise<void>;
  /** Stop the broker (SIGTERM, then SIGKILL) and remove the persistence directory. */
  close(): Promise<void>;
}

/**
 * Start `variant` at `place`. With persistence it gets a new empty directory `store-<port>-*`
 * in the work directory; both are opened to other users, since Mosquitto started as root drops
 * to the user `mosquitto` and must still be able to write there.
 */
export async function startVariant(variant: Variant, place: VariantPlace): Promise<VariantRun> {
  let persistenceDir: string | undefined;
  if (variant.persistence) {
    await Deno.chmod(place.workDir, 0o711);
    persistenceDir = await Deno.makeTempDir({
      dir: place.workDir,
      prefix: `store-${place.port}-`,
    });
    await Deno.chmod(persistenceDir, 0o777);
  }
  const removeDir = async () => {
    if (persistenceDir !== undefined) await Deno.remove(persistenceDir, { recursive: true });
  };
  const options = { ...place, persistenceDir };
  let broker: RunningBroker;
  try {
    broker = await startBroker(variant.broker, options);
  } catch (error) {
    await removeDir();
    throw error;
  }
  const run: VariantRun = {
    broker,
    async restart() {
      run.broker = await startBroker(variant.broker, options);
    },
    async close() {
      await run.broker.stop();
      await removeDir();
    },
  };
  return run;
}
