/**
 * A `Conn` seen as a node `Duplex` stream, for node:tls to run over a connection whose first
 * bytes were already read by us (a PROXY header before the TLS handshake). Reads are made as
 * the stream asks for them; a write completes when the Conn has taken all of it.
 *
 * @module
 */

import { Duplex } from "node:stream";
import type { Conn } from "./conn.ts";

/** Bytes asked of the Conn per read. */
const READ_SIZE = 16 * 1024;

/** `conn` as a Duplex; ending it closes `conn`'s write side, destroying it closes `conn`. */
export function connDuplex(conn: Conn): Duplex {
  return new Duplex({
    read() {
      const chunk = new Uint8Array(READ_SIZE);
      conn.read(chunk).then(
        (n) => this.push(n === null ? null : chunk.subarray(0, n)),
        (error) => this.destroy(error),
      );
    },
    write(chunk: Uint8Array, _encoding, done) {
      writeAll(conn, chunk).then(() => done(), done);
    },
    final(done) {
      // Ending the stream half-closes where the Conn can, so reads go on (a lingering close).
      if (conn.closeWrite === undefined) {
        conn.close();
        return done();
      }
      conn.closeWrite().then(() => done(), done);
    },
    destroy(error, done) {
      conn.close();
      done(error);
    },
  });
}

async function writeAll(conn: Conn, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
}
