/**
 * Fixtures of the transport tests (transport_test.ts): a CA, server and client certificates
 * made with openssl for one test, and a small SOCKS5 proxy (RFC 1928 CONNECT, optionally with
 * RFC 1929 user/password) that forwards to wherever it is asked and keeps what it was asked.
 *
 * @module
 */

import type { Peer } from "../interop/helpers.ts";

/** The openssl command, which makes the test certificates. */
export const OPENSSL: Peer = (() => {
  try {
    const out = new Deno.Command("openssl", {
      args: ["version"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).outputSync();
    if (out.success) return { name: "openssl", missing: undefined };
  } catch {
    // not installed
  }
  return { name: "openssl", missing: "openssl not found on PATH" };
})();

/** Certificate and key files (PEM) in a test's directory. */
export interface Pki {
  /** The CA that signed the server's and the client's certificates. */
  ca: string;
  /** A CA that signed neither. */
  otherCa: string;
  /** The server's certificate: localhost and 127.0.0.1. */
  serverCert: string;
  /** Its key. */
  serverKey: string;
  /** A client certificate (extended key usage clientAuth). */
  clientCert: string;
  /** Its key. */
  clientKey: string;
}

async function openssl(args: string[], dir: string): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
}

/** P-256 keys: quick to make, and both OpenSSL and rustls take them. */
const NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/**
 * Make two CAs and, signed by the first, a server certificate for localhost and 127.0.0.1 and
 * a client certificate, valid for two days, in `dir` (some 50 ms). The files are readable by
 * all: Mosquitto started as root reads them as the mosquitto user.
 */
export async function makePki(dir: string): Promise<Pki> {
  const caExtensions = [
    ...["-addext", "basicConstraints=critical,CA:TRUE"],
    ...["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
  ];
  await Promise.all(["ca", "other-ca"].map((name) =>
    openssl([
      ...["req", "-x509", ...NEW_KEY, "-keyout", `${name}.key`, "-out", `${name}.pem`],
      ...["-days", "2", "-subj", `/CN=Midge test ${name}`, ...caExtensions],
    ], dir)
  ));
  const leaves = {
    server: ["extendedKeyUsage=serverAuth", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
    client: ["extendedKeyUsage=clientAuth"],
  };
  await Promise.all(
    Object.entries(leaves).map(async ([name, extensions], i) => {
      const common = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature"];
      await Deno.writeTextFile(`${dir}/${name}.ext`, [...common, ...extensions].join("\n") + "\n");
      await openssl(
        [
          "req",
          ...NEW_KEY,
          "-keyout",
          `${name}.key`,
          "-out",
          `${name}.csr`,
          "-subj",
          `/CN=${name}`,
        ],
        dir,
      );
      await openssl([
        ...["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key"],
        ...[
          "-set_serial",
          `${i + 2}`,
          "-days",
          "2",
          "-extfile",
          `${name}.ext`,
          "-out",
          `${name}.pem`,
        ],
      ], dir);
    }),
  );
  for (const key of ["ca", "other-ca", "server", "client"]) {
    await Deno.chmod(`${dir}/${key}.key`, 0o644);
  }
  return {
    ca: `${dir}/ca.pem`,
    otherCa: `${dir}/other-ca.pem`,
    serverCert: `${dir}/server.pem`,
    serverKey: `${dir}/server.key`,
    clientCert: `${dir}/client.pem`,
    clientKey: `${dir}/client.key`,
  };
}

/** A CONNECT the proxy was asked for. */
export interface ProxyRequest {
  /** The user name it authenticated with (user/password proxies only). */
  user?: string;
  /** The address asked for: a name, or an IPv4 or IPv6 address, as sent. */
  host: string;
  /** The port asked for. */
  port: number;
}

/** Bytes read from a connection, taken in the sizes a protocol's fields have. */
class FieldReader {
  #conn: Deno.Conn;
  #buffered = new Uint8Array(0);

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** The next `n` bytes; throws at the end of the stream. */
  async take(n: number): Promise<Uint8Array> {
    while (this.#buffered.length < n) {
      const chunk = new Uint8Array(4096);
      const got = await this.#conn.read(chunk);
      if (got === null) throw new Error("the client closed the connection");
      const joined = new Uint8Array(this.#buffered.length + got);
      joined.set(this.#buffered);
      joined.set(chunk.subarray(0, got), this.#buffered.length);
      this.#buffered = joined;
    }
    const field = this.#buffered.slice(0, n);
    this.#buffered = this.#buffered.slice(n);
    return field;
  }

  /** What was read beyond the last field. */
  rest(): Uint8Array {
    return this.#buffered;
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

/** Copy `from` to `to` until either ends, then close both. */
async function pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(16 * 1024);
  try {
    for (;;) {
      const n = await from.read(buf);
      if (n === null) break;
      await writeAll(to, buf.subarray(0, n));
    }
  } catch {
    // one side went away
  } finally {
    closeQuietly(from);
    closeQuietly(to);
  }
}

/**
 * A SOCKS5 proxy on 127.0.0.1 for one test. Without credentials it offers "no
 * authentication"; with them it requires user/password. It connects where each CONNECT says and
 * copies bytes both ways. `close()` ends every connection and waits for all of them.
 */
export class Socks5Proxy {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Every CONNECT asked for, in order (after authentication). */
  readonly requests: ProxyRequest[] = [];
  /** The `user:password` pairs it refused. */
  readonly refused: string[] = [];
  #credentials: { username: string; password: string } | undefined;
  #listener: Deno.Listener;
  #conns = new Set<Deno.Conn>();
  #serving = new Set<Promise<void>>();
  #accepting: Promise<void>;

  /** Listen on a free port of 127.0.0.1. */
  constructor(credentials?: { username: string; password: string }) {
    this.#credentials = credentials;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#accepting = this.#accept();
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.#conns.add(conn);
        const serving = this.#serve(conn).finally(() => {
          this.#conns.delete(conn);
          this.#serving.delete(serving);
        });
        this.#serving.add(serving);
      }
    } catch {
      // the listener was closed
    }
  }

  async #serve(client: Deno.Conn): Promise<void> {
    const input = new FieldReader(client);
    const decoder = new TextDecoder();
    let upstream: Deno.Conn | undefined;
    try {
      const [, methodCount] = await input.take(2);
      const methods = [...await input.take(methodCount)];
      const method = this.#credentials === undefined ? 0 : 2;
      if (!methods.includes(method)) {
        await writeAll(client, new Uint8Array([5, 0xff]));
        return;
      }
      await writeAll(client, new Uint8Array([5, method]));
      let user: string | undefined;
      if (method === 2) {
        const [, userLength] = await input.take(2);
        user = decoder.decode(await input.take(userLength));
        const [passwordLength] = await input.take(1);
        const password = decoder.decode(await input.take(passwordLength));
        const ok = user === this.#credentials?.username &&
          password === this.#credentials?.password;
        await writeAll(client, new Uint8Array([1, ok ? 0 : 1]));
        if (!ok) {
          this.refused.push(`${user}:${password}`);
          return;
        }
      }
      const [, command, , addressType] = await input.take(4);
      let host: string;
      if (addressType === 1) {
        host = [...await input.take(4)].join(".");
      } else if (addressType === 3) {
        host = decoder.decode(await input.take((await input.take(1))[0]));
      } else {
        const bytes = await input.take(16);
        host = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] << 8) | bytes[2 * i + 1]))
          .map((group) => group.toString(16)).join(":");
      }
      const [high, low] = await input.take(2);
      const port = (high << 8) | low;
      this.requests.push({ ...(user === undefined ? {} : { user }), host, port });
      const reply = (code: number) => new Uint8Array([5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
      if (command !== 1) {
        await writeAll(client, reply(7)); // command not supported
        return;
      }
      try {
        upstream = await Deno.connect({ hostname: host, port });
      } catch {
        await writeAll(client, reply(5)); // connection refused
        return;
      }
      this.#conns.add(upstream);
      await writeAll(client, reply(0));
      if (input.rest().length > 0) await writeAll(upstream, input.rest());
      await Promise.all([pipe(client, upstream), pipe(upstream, client)]);
    } catch {
      // the client went away
    } finally {
      closeQuietly(client);
      if (upstream !== undefined) {
        closeQuietly(upstream);
        this.#conns.delete(upstream);
      }
    }
  }

  /** Stop listening, close every connection and wait for them. */
  async close(): Promise<void> {
    this.#listener.close();
    for (const conn of this.#conns) closeQuietly(conn);
    await this.#accepting;
    await Promise.all(this.#serving);
  }
}
