/**
 * systemd's readiness protocol, for a unit of `Type=notify`: when systemd starts the broker it
 * names a Unix datagram socket in `NOTIFY_SOCKET`; the broker sends `READY=1` there once every
 * listener is open (so units ordered after it start when clients can connect) and `STOPPING=1`
 * when it begins to stop. A name starting with `@` is an abstract socket. Without
 * `NOTIFY_SOCKET` nothing is sent. Under narrow permissions it needs `--allow-env=NOTIFY_SOCKET`,
 * write access to the socket, and read and write access to the temporary directory (below).
 *
 * Deno has Unix datagram sockets only under `--unstable-net` and binds each one to a path: the
 * socket is bound in a temporary directory, removed at once (nothing is sent back to it).
 *
 * @module
 */

import type { CliIo } from "../tools/cli_io.ts";
import { requirePathAccess } from "./permissions.ts";

/** The part of `Deno` used here, which exists only under `--unstable-net`. */
interface UnixDatagramApi {
  listenDatagram?(options: { path: string; transport: "unixpacket" }): Deno.DatagramConn;
}

/** Where the states go: the socket systemd named, and ours. */
export class SystemdNotifier {
  readonly #target: string;
  readonly #conn: Deno.DatagramConn;
  readonly #io: CliIo;
  #failed = false;

  constructor(target: string, conn: Deno.DatagramConn, io: CliIo) {
    this.#target = target;
    this.#conn = conn;
    this.#io = io;
  }

  /** Every listener is open. */
  ready(): Promise<void> {
    return this.#send("READY=1");
  }

  /** The broker begins to stop; the socket is closed after. */
  async stopping(): Promise<void> {
    await this.#send("STOPPING=1");
    this.#conn.close();
  }

  /** Send `state`; a failure is written once to `io`, as the broker runs on without it. */
  async #send(state: string): Promise<void> {
    try {
      await this.#conn.send(new TextEncoder().encode(state), {
        transport: "unixpacket",
        path: this.#target,
      });
    } catch (error) {
      if (this.#failed) return;
      this.#failed = true;
      this.#io.err(`Warning: cannot notify systemd (${state}): ${(error as Error).message}`);
    }
  }
}

/**
 * The notifier for the socket `NOTIFY_SOCKET` names, or undefined when it is unset or Deno has
 * no datagram sockets (said on `io`). A permission Deno refuses is thrown, for the start to
 * stop with its line: under `Type=notify`, systemd would otherwise wait for a `READY=1` that
 * never comes.
 */
export function openSystemdNotifier(io: CliIo): SystemdNotifier | undefined {
  const name = Deno.env.get("NOTIFY_SOCKET");
  if (name === undefined || name === "") return undefined;
  const api = Deno as unknown as UnixDatagramApi;
  if (typeof api.listenDatagram !== "function") {
    io.err(
      "Warning: NOTIFY_SOCKET is set, but Deno has Unix datagram sockets only with " +
        "--unstable-net: systemd is not told when the broker is ready.",
    );
    return undefined;
  }
  const abstract = name.startsWith("@");
  if (!abstract) requirePathAccess("write", name);
  const target = abstract ? `\0${name.slice(1)}` : name;
  const dir = Deno.makeTempDirSync({ prefix: "midge-notify-" });
  try {
    const temp = dir.slice(0, dir.lastIndexOf("/"));
    requirePathAccess("read", temp);
    requirePathAccess("write", temp);
    const conn = api.listenDatagram({ path: `${dir}/socket`, transport: "unixpacket" });
    return new SystemdNotifier(target, conn, io);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    io.err(`Warning: cannot notify systemd: ${(error as Error).message}`);
    return undefined;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
