/**
 * TLS listening over real sockets: handshakes and bytes both ways, client certificates (the
 * identity, and the ones refused with their reason), the minimum version, plain text sent to
 * the port, a reload, and a reader that stops reading.
 */

import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import { makeCertificates, type TestCertificates } from "../fixtures/certs.ts";
import { encodeProxyHeaderV1, encodeProxyHeaderV2 } from "../fixtures/proxy_header.ts";
import { UnreadLimitError } from "../../src/transport/conn.ts";
import {
  listenTls,
  type TlsConn,
  type TlsListener,
  type TlsListenSettings,
  UNREAD_LIMIT_BYTES,
} from "../../src/transport/tls_listen.ts";

const certs: TestCertificates = await makeCertificates();
const text = (path: string) => Deno.readTextFileSync(path);
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A listener, what it accepted and what it refused. */
interface Served {
  listener: TlsListener;
  accepted: TlsConn[];
  refused: string[];
  next(): Promise<TlsConn>;
  stop(): Promise<void>;
}

async function serve(settings: Partial<TlsListenSettings> = {}): Promise<Served> {
  const listener = await listenTls("127.0.0.1", 0, {
    certfile: certs.server.cert,
    keyfile: certs.server.key,
    requireCertificate: false,
    ...settings,
  });
  const accepted: TlsConn[] = [];
  const refused: string[] = [];
  const iterator = listener.accept(undefined, (address, reason) => {
    assert.equal(address.hostname, "127.0.0.1");
    refused.push(reason);
  })[Symbol.asyncIterator]();
  let pending = iterator.next();
  return {
    listener,
    accepted,
    refused,
    async next() {
      const result = await pending;
      pending = iterator.next();
      assert.ok(!result.done);
      accepted.push(result.value);
      return result.value;
    },
    async stop() {
      listener.close();
      for (const conn of accepted) conn.close();
      await pending;
      await new Promise((resolve) => setTimeout(resolve, 10)); // let node's sockets finish closing
    },
  };
}

/** Connect with node:tls; resolves to the socket once secure, or to the error's message. */
function connect(
  port: number,
  options: tls.ConnectionOptions = {},
): Promise<tls.TLSSocket | string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca: text(certs.ca), ...options });
    socket.once("secureConnect", () => resolve(socket));
    socket.once("error", (error) => resolve(error.message));
  });
}

function withCert(pair: { cert: string; key: string }): tls.ConnectionOptions {
  return { cert: text(pair.cert), key: text(pair.key) };
}

/** Wait up to 2 s for `check` to hold. */
async function eventually(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check());
}

/** Read `n` bytes from a Conn (at most 10000 reads). */
async function readBytes(conn: TlsConn, n: number): Promise<string> {
  const buf = new Uint8Array(n);
  let got = 0;
  for (let i = 0; got < n && i < 10000; i++) {
    const r = await conn.read(buf.subarray(got));
    if (r === null) break;
    got += r;
  }
  return dec.decode(buf.subarray(0, got));
}

/** Whether the client socket is closed by the server within 2 s. */
function closedByServer(socket: tls.TLSSocket): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 2000);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.on("error", () => {});
    socket.resume();
  });
}

Deno.test("listenTls carries bytes both ways after a TLS 1.3 handshake", async () => {
  const served = await serve();
  const client = await connect(served.listener.port);
  assert.ok(typeof client !== "string", String(client));
  const conn = await served.next();
  assert.equal(conn.peer, undefined);
  assert.equal(client.getProtocol(), "TLSv1.3");
  client.write("ping");
  assert.equal(await readBytes(conn, 4), "ping");
  const got = new Promise<string>((resolve) => client.once("data", (d) => resolve(String(d))));
  await conn.write(enc.encode("pong"));
  assert.equal(await got, "pong");
  client.destroy();
  await served.stop();
});

Deno.test("listenTls gives a verified client certificate's CN and subject (Mosquitto's RFC 2253 form)", async () => {
  const served = await serve({ cafile: certs.ca });
  const client = await connect(served.listener.port, withCert(certs.client));
  assert.ok(typeof client !== "string", String(client));
  const conn = await served.next();
  assert.deepEqual(conn.peer, { commonName: "dev1", subject: "CN=dev1,O=acme,C=GB" });
  client.destroy();
  await served.stop();
});

Deno.test("listenTls with require_certificate refuses a client without one", async () => {
  const served = await serve({ cafile: certs.ca, requireCertificate: true });
  const client = await connect(served.listener.port);
  assert.ok(typeof client !== "string", String(client));
  assert.ok(await closedByServer(client));
  await eventually(() => served.refused.length === 1);
  assert.deepEqual(served.refused, ["no certificate"]);
  await served.stop();
});

for (
  const [name, pair, settings, reason] of [
    ["an expired", certs.expiredClient, {}, "certificate has expired"],
    ["another CA's", certs.otherCaClient, {}, "unable to get local issuer certificate"],
    ["a revoked", certs.revokedClient, { crlfile: certs.crl }, "certificate revoked"],
  ] as const
) {
  Deno.test(`listenTls refuses ${name} client certificate, saying why`, async () => {
    const served = await serve({ cafile: certs.ca, ...settings });
    const client = await connect(served.listener.port, withCert(pair));
    if (typeof client !== "string") assert.ok(await closedByServer(client));
    await eventually(() => served.refused.length === 1);
    assert.deepEqual(served.refused, [reason]);
    // the listener still serves a good client, which the CRL does not name
    const good = await connect(served.listener.port, withCert(certs.client));
    assert.ok(typeof good !== "string", String(good));
    assert.equal((await served.next()).peer?.commonName, "dev1");
    good.destroy();
    await served.stop();
  });
}

Deno.test("listenTls with tls_version tlsv1.3 refuses a TLS 1.2 client", async () => {
  const served = await serve({ tlsVersion: "tlsv1.3" });
  const client = await connect(served.listener.port, { maxVersion: "TLSv1.2" });
  assert.equal(typeof client, "string");
  await eventually(() => served.refused.length === 1);
  assert.match(served.refused[0], /^TLS handshake failed/);
  await served.stop();
});

Deno.test("listenTls survives plain text on its port and serves the next client", async () => {
  const served = await serve();
  const plain = await Deno.connect({ hostname: "127.0.0.1", port: served.listener.port });
  await plain.write(enc.encode("\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00"));
  const buf = new Uint8Array(64);
  for (let i = 0; i < 10 && (await plain.read(buf).catch(() => null)) !== null; i++);
  plain.close();
  await eventually(() => served.refused.length === 1);
  assert.match(served.refused[0], /^TLS handshake failed/);
  const client = await connect(served.listener.port);
  assert.ok(typeof client !== "string", String(client));
  await served.next();
  client.destroy();
  await served.stop();
});

Deno.test("listenTls refuses ciphers (the platform cannot choose them) and a missing file", async () => {
  const base = {
    certfile: certs.server.cert,
    keyfile: certs.server.key,
    requireCertificate: false,
  };
  await assert.rejects(
    listenTls("127.0.0.1", 0, { ...base, ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256" }),
    /^Error: ciphers: not supported/,
  );
  await assert.rejects(
    listenTls("127.0.0.1", 0, { ...base, cafile: `${certs.dir}/none.pem` }),
    /^Error: cafile: cannot read/,
  );
  await assert.rejects(
    listenTls("127.0.0.1", 0, { ...base, requireCertificate: true }),
    /require_certificate: needs cafile/,
  );
});

Deno.test("listenTls reload swaps the server certificate; connected clients keep working", async () => {
  const served = await serve();
  const before = await connect(served.listener.port);
  assert.ok(typeof before !== "string", String(before));
  const kept = await served.next();
  // the new certificate is signed by the other CA: only clients trusting it get through now
  await assert.rejects(
    served.listener.reload({
      certfile: `${certs.dir}/none.crt`,
      keyfile: certs.server.key,
      requireCertificate: false,
    }),
    /certfile: cannot read/,
  );
  await served.listener.reload({
    certfile: certs.otherCaClient.cert,
    keyfile: certs.otherCaClient.key,
    requireCertificate: false,
  });
  const after = await connect(served.listener.port, {
    ca: text(certs.otherCa),
    checkServerIdentity: () => undefined,
  });
  assert.ok(typeof after !== "string", String(after));
  await served.next();
  assert.equal(typeof await connect(served.listener.port), "string"); // trusts the first CA only
  before.write("still");
  assert.equal(await readBytes(kept, 5), "still");
  before.destroy();
  after.destroy();
  await served.stop();
});

Deno.test("listenTls: a reader that stops and starts again gets every byte in order", async () => {
  const served = await serve();
  const client = await connect(served.listener.port);
  assert.ok(typeof client !== "string", String(client));
  const conn = await served.next();
  const total = 8 * 1024 * 1024;
  const block = new Uint8Array(64 * 1024);
  for (let sent = 0; sent < total; sent += block.length) {
    client.write(block.map((_, i) => (sent + i) % 251));
  }
  await new Promise((resolve) => setTimeout(resolve, 300)); // the reader stalls; bytes wait
  const buf = new Uint8Array(256 * 1024);
  let got = 0;
  for (let i = 0; got < total && i < 100_000; i++) {
    const n = await conn.read(buf);
    if (n === null) break;
    for (let j = 0; j < n; j++) assert.equal(buf[j], (got + j) % 251);
    got += n;
  }
  assert.equal(got, total);
  client.destroy();
  await served.stop();
});

Deno.test("listenTls: a client that sends more than UNREAD_LIMIT_BYTES nobody reads is cut off", async () => {
  const served = await serve();
  const client = await connect(served.listener.port);
  assert.ok(typeof client !== "string", String(client));
  const conn = await served.next();
  const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
  client.on("error", () => {}); // the reset that cuts it off
  const block = new Uint8Array(256 * 1024);
  const blocks = UNREAD_LIMIT_BYTES / block.length + 16; // 4 MiB past the limit
  for (let i = 0; i < blocks && !client.destroyed; i++) client.write(block);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("the client was not cut off within 5 s")), 5000);
  });
  await Promise.race([closed, late]).finally(() => clearTimeout(timer)); // nothing read it
  await assert.rejects(conn.read(new Uint8Array(16)), UnreadLimitError);
  await served.stop();
});

/** Connect in plain TCP, send `header`, then start TLS over the rest (node:tls, like `connect`). */
function connectBehindProxy(
  port: number,
  header: Uint8Array,
  options: tls.ConnectionOptions = {},
): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const raw = net.connect({ host: "127.0.0.1", port }, () => {
      raw.write(header);
      const socket = tls.connect({
        socket: raw,
        ca: text(certs.ca),
        servername: "localhost",
        ...options,
      });
      socket.once("secureConnect", () => resolve(socket));
      socket.once("error", reject);
    });
  });
}

const PROXY_ENDS = {
  source: { hostname: "203.0.113.7", port: 51000 },
  destination: { hostname: "10.0.0.1", port: 8883 },
};

for (const version of [1, 2] as const) {
  Deno.test(`listenTls: a PROXY v${version} header before the handshake gives the client's address`, async () => {
    const served = await serve({ proxyProtocol: version, cafile: certs.ca });
    const header = version === 1
      ? encodeProxyHeaderV1(PROXY_ENDS)
      : encodeProxyHeaderV2(PROXY_ENDS);
    const client = await connectBehindProxy(served.listener.port, header, {
      cert: text(certs.client.cert),
      key: text(certs.client.key),
    });
    client.write("over TLS");
    const conn = await served.next();
    assert.deepEqual(conn.remoteAddr, { transport: "tcp", hostname: "203.0.113.7", port: 51000 });
    assert.equal(conn.peer?.commonName, "dev1");
    const buf = new Uint8Array(16);
    assert.equal(dec.decode(buf.subarray(0, (await conn.read(buf))!)), "over TLS");
    const back = new Promise<string>((resolve) => client.once("data", (d) => resolve(String(d))));
    await conn.write(enc.encode("back"));
    assert.equal(await back, "back");
    client.destroy();
    await served.stop();
  });
}

Deno.test("listenTls: expecting a PROXY header, a plain TLS hello is refused with the reason", async () => {
  const served = await serve({ proxyProtocol: 2 });
  assert.equal(typeof await connect(served.listener.port), "string");
  await eventually(() => served.refused.length === 1);
  assert.match(served.refused[0], /PROXY/);
  // A client that does send the header is still served.
  const client = await connectBehindProxy(served.listener.port, encodeProxyHeaderV2(PROXY_ENDS));
  assert.equal((await served.next()).remoteAddr.transport, "tcp");
  client.destroy();
  await served.stop();
});

Deno.test({
  name: "certificates fixture cleanup",
  fn: () => Deno.remove(certs.dir, { recursive: true }),
});
