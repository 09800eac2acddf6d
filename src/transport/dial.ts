/**
 * Outgoing connections, the byte streams a client talks MQTT over: TCP, TLS, a Unix socket,
 * WebSocket (ws:// and wss://, subprotocol "mqtt"), TCP and WebSocket optionally through a
 * SOCKS5 proxy.
 *
 * @module
 */

import { takeChunks } from "./chunks.ts";
import type { Conn } from "./conn.ts";
import { openNodeSocket, type TlsSettings } from "./node_socket.ts";

/** Where to connect. */
export type DialTarget =
  | {
    kind: "tcp";
    host: string;
    port: number;
    tls?: TlsSettings;
    proxy?: ProxyTarget;
    /** `-A`: local address to connect from (through node:net). */
    localAddress?: string;
    /** `--insecure`: TLS without the host name check (through node:tls). */
    insecure?: boolean;
  }
  | { kind: "unix"; path: string }
  | { kind: "websocket"; url: string; tls?: TlsSettings; proxy?: ProxyTarget };

/** A SOCKS5 proxy (`socks5h://user:pass@host:port`: names are resolved by the proxy). */
export interface ProxyTarget {
  /** Proxy host. */
  host: string;
  /** Proxy port. */
  port: number;
  /** Username for the proxy. */
  username?: string;
  /** Password for the proxy. */
  password?: string;
}

/** What a SOCKS5 proxy turned down: all our authentication methods, the credentials, the CONNECT. */
export type ProxyRefusal = "methods" | "credentials" | "connect";

/** A SOCKS5 proxy turned the connection down. */
export class ProxyRefusedError extends Error {
  /** What it turned down. */
  readonly refusal: ProxyRefusal;

  /** `message` says why, for people. */
  constructor(refusal: ProxyRefusal, message: string) {
    super(message);
    this.refusal = refusal;
  }
}

/** Open a connection to `target`. */
export async function dial(target: DialTarget): Promise<Conn> {
  switch (target.kind) {
    case "unix":
      return await Deno.connect({ transport: "unix", path: target.path });
    case "websocket":
      return await openWebSocket(target.url, target.tls, target.proxy);
    case "tcp": {
      if (target.localAddress !== undefined || (target.insecure && target.tls !== undefined)) {
        if (target.proxy !== undefined) {
          throw new Error("-A and --insecure cannot be combined with --proxy in Midge");
        }
        return await openNodeSocket(target);
      }
      if (target.proxy !== undefined) {
        const conn = await Deno.connect({ hostname: target.proxy.host, port: target.proxy.port });
        await socks5Connect(conn, target.proxy, target.host, target.port);
        if (target.tls === undefined) return conn;
        return await handshake(
          await Deno.startTls(conn, { hostname: target.host, ...tlsOptions(target.tls) }),
        );
      }
      if (target.tls !== undefined) {
        return await handshake(
          await Deno.connectTls({
            hostname: target.host,
            port: target.port,
            ...tlsOptions(target.tls),
          }),
        );
      }
      const conn = await Deno.connect({ hostname: target.host, port: target.port });
      conn.setNoDelay(true);
      return conn;
    }
  }
}

/** The TLS handshake failed: the server's certificate was refused, no common version, ... */
export class TlsHandshakeError extends Error {}

/**
 * Finish the TLS handshake before MQTT starts (Deno would do it on the first read or write),
 * so that its failure is told apart from a connection lost later.
 */
async function handshake(conn: Deno.TlsConn): Promise<Deno.TlsConn> {
  try {
    await conn.handshake();
    return conn;
  } catch (error) {
    conn.close();
    throw new TlsHandshakeError(error instanceof Error ? error.message : String(error), {
      cause: error,
    });
  }
}

/** The TLS fields of Deno's connect options (no hostname or port). */
interface TlsFields {
  caCerts?: string[];
  cert?: string;
  key?: string;
  alpnProtocols?: string[];
}

function tlsOptions(tls: TlsSettings): TlsFields {
  const options: TlsFields = {};
  if (tls.caCerts !== undefined) options.caCerts = tls.caCerts;
  if (tls.cert !== undefined && tls.key !== undefined) {
    options.cert = tls.cert;
    options.key = tls.key;
  }
  if (tls.alpn !== undefined) options.alpnProtocols = [tls.alpn];
  return options;
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = await conn.read(out.subarray(got));
    if (r === null) throw new Error("the proxy closed the connection");
    got += r;
  }
  return out;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/** SOCKS5 (RFC 1928, with RFC 1929 username/password): CONNECT to host:port by name. */
async function socks5Connect(
  conn: Deno.Conn,
  proxy: ProxyTarget,
  host: string,
  port: number,
): Promise<void> {
  const enc = new TextEncoder();
  const withAuth = proxy.username !== undefined;
  await writeAll(conn, new Uint8Array(withAuth ? [5, 2, 0, 2] : [5, 1, 0]));
  const [version, method] = await readExactly(conn, 2);
  if (version !== 5) throw new Error("the proxy does not speak SOCKS5");
  if (method === 2) {
    const user = enc.encode(proxy.username ?? "");
    const pass = enc.encode(proxy.password ?? "");
    await writeAll(conn, new Uint8Array([1, user.length, ...user, pass.length, ...pass]));
    const [, status] = await readExactly(conn, 2);
    if (status !== 0) {
      throw new ProxyRefusedError("credentials", "the proxy refused the username or password");
    }
  } else if (method !== 0) {
    throw new ProxyRefusedError("methods", "the proxy accepts none of our authentication methods");
  }
  const name = enc.encode(host);
  await writeAll(conn, new Uint8Array([5, 1, 0, 3, name.length, ...name, port >> 8, port & 0xff]));
  const head = await readExactly(conn, 4);
  if (head[1] !== 0) {
    throw new ProxyRefusedError("connect", `the proxy could not connect (SOCKS5 reply ${head[1]})`);
  }
  const rest = head[3] === 1 ? 4 : head[3] === 4 ? 16 : (await readExactly(conn, 1))[0];
  await readExactly(conn, rest + 2);
}

/**
 * The HTTP client a WebSocket needs for CA certificates, a client certificate or a SOCKS5
 * proxy; undefined when the default one will do.
 */
function webSocketClient(tls?: TlsSettings, proxy?: ProxyTarget): Deno.HttpClient | undefined {
  const options: Deno.CreateHttpClientOptions = {};
  if (tls?.caCerts !== undefined) options.caCerts = tls.caCerts;
  if (proxy !== undefined) {
    options.proxy = { transport: "socks5", url: `socks5h://${proxy.host}:${proxy.port}` };
    if (proxy.username !== undefined) {
      options.proxy.basicAuth = { username: proxy.username, password: proxy.password ?? "" };
    }
  }
  if (tls?.cert !== undefined && tls.key !== undefined) {
    return Deno.createHttpClient({ ...options, cert: tls.cert, key: tls.key });
  }
  return Object.keys(options).length > 0 ? Deno.createHttpClient(options) : undefined;
}

/** A WebSocket (subprotocol "mqtt") seen as a byte stream. */
async function openWebSocket(
  url: string,
  tls?: TlsSettings,
  proxy?: ProxyTarget,
): Promise<Conn> {
  const client = webSocketClient(tls, proxy);
  const ws = new WebSocket(url, { protocols: ["mqtt"], client });
  ws.binaryType = "arraybuffer";
  const chunks: Uint8Array[] = [];
  let waiting: (() => void) | undefined;
  let ended = false;
  let flushing = 0; // writes waiting for their frames to leave
  const wake = () => {
    const w = waiting;
    waiting = undefined;
    w?.();
  };
  ws.onmessage = (event) => {
    if (event.data instanceof ArrayBuffer) chunks.push(new Uint8Array(event.data));
    wake();
  };
  ws.onclose = () => {
    ended = true;
    client?.close();
    wake();
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = (event) => {
      const why = event instanceof ErrorEvent && event.message !== "" ? `: ${event.message}` : "";
      reject(new Error(`cannot open ${url}${why}`));
    };
  });
  ws.onerror = () => {
    ended = true;
    wake();
  };
  const { hostname, port, protocol } = new URL(url);
  return {
    remoteAddr: {
      transport: "tcp",
      hostname,
      port: port !== "" ? Number(port) : protocol === "wss:" ? 443 : 80,
    },
    async read(buf) {
      while (chunks.length === 0) {
        if (ended && flushing === 0) return null;
        await new Promise<void>((resolve) => waiting = resolve);
      }
      return takeChunks(chunks, buf);
    },
    async write(data) {
      if (ended) throw new Error("the WebSocket is closed");
      ws.send(data.slice());
      // Resolve once the frame has left, as a TCP write does: Deno drops the frames still
      // queued when the process exits (a pub's PUBLISH and DISCONNECT). A broker may close as
      // soon as it has read a DISCONNECT, before this sees the frame gone: read() then tells
      // of the end one turn after this write resolves, once its writer has ended the session.
      flushing++;
      while (ws.bufferedAmount > 0 && !ended) await new Promise((r) => setTimeout(r, 1));
      flushing--;
      if (ended && flushing === 0) setTimeout(wake, 0);
      return data.length;
    },
    close() {
      ended = true;
      ws.close();
      wake();
    },
  };
}
