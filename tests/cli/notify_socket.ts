/**
 * A stand-in for systemd's notification socket: a Unix datagram socket a test names in
 * `NOTIFY_SOCKET` for a broker it starts, and reads the states the broker sends.
 *
 * @module
 */

/** The socket and the name to give in `NOTIFY_SOCKET`. */
export interface NotifySocket {
  /** `NOTIFY_SOCKET`'s value: a path, or `@name` for an abstract socket. */
  name: string;
  /** The next datagram as text, or "timeout" after `ms`. */
  next(ms: number): Promise<string>;
  /** Close the socket. */
  close(): void;
}

/** A notification socket at `path`, or an abstract one when `path` starts with "@". */
export function openNotifySocket(path: string): NotifySocket {
  const bound = path.startsWith("@") ? `\0${path.slice(1)}` : path;
  const conn = Deno.listenDatagram({ transport: "unixpacket", path: bound });
  // One receive at a time, kept across timeouts so no datagram is read and dropped.
  let pending: Promise<[Uint8Array, Deno.Addr]> | undefined;
  return {
    name: path,
    async next(ms) {
      pending ??= conn.receive();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), ms);
      });
      const got = await Promise.race([pending, late]);
      clearTimeout(timer);
      if (got === "timeout") return got;
      pending = undefined;
      return new TextDecoder().decode(got[0]);
    },
    close() {
      conn.close();
      pending?.catch(() => {});
    },
  };
}
