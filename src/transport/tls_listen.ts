/**
 * TLS listeners on Deno's node:tls, which (unlike `Deno.listenTls`) can ask for a client
 * certificate. Each accepted socket is wrapped by hand, so that handshakes are bounded in time,
 * a failed one is reported with the client's address and never ends the accept loop, and a
 * reload changes the certificates for the next handshakes while connected clients stay. Behind a
 * load balancer that passes TLS through, the PROXY header that comes first is read before the
 * handshake, which then runs over the rest of the connection (`connDuplex`).
 *
 * @module
 */

import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import net from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import type { Conn } from "./conn.ts";
import { connDuplex } from "./conn_duplex.ts";
import { nodeConn } from "./node_conn.ts";
import { readProxyHeader } from "./proxy_protocol.ts";
import {
  CertificateRefused,
  loadTrust,
  type PeerIdentity,
  type Trust,
  type TrustFiles,
  verifyPeer,
} from "./peer_certificate.ts";

/** The minimum TLS versions a listener can be given (`tls_version`). */
export const TLS_VERSIONS = ["tlsv1.3", "tlsv1.2", "tlsv1.1"] as const;

/** A `tls_version` value. */
export type TlsVersion = typeof TLS_VERSIONS[number];

/** A TLS listener's settings: file paths, read by the listener (again on `reload`). */
export interface TlsListenSettings extends TrustFiles {
  /** PEM server certificate (chain). */
  certfile: string;
  /** PEM private key of `certfile`. */
  keyfile: string;
  /**
   * The lowest TLS version accepted. Deno's TLS has no TLS 1.1, so "tlsv1.1" accepts what
   * "tlsv1.2" does.
   */
  tlsVersion?: TlsVersion;
  /** TLS 1.2 cipher list: refused, Deno's TLS does not let a server choose (see `listenTls`). */
  ciphers?: string;
  /** TLS 1.3 cipher suites: refused likewise. */
  ciphers13?: string;
  /** Refuse a client that sends no certificate (needs `cafile` or `capath`). */
  requireCertificate: boolean;
  /**
   * The PROXY protocol version whose header comes before the TLS handshake (a load balancer
   * passing TLS through); the connection's address is then the one it carries. Read at
   * listen time only.
   */
  proxyProtocol?: 1 | 2;
}

/** An accepted TLS connection. */
export interface TlsConn extends Conn {
  /** The client's verified certificate, or undefined when it sent none. */
  readonly peer: PeerIdentity | undefined;
}

/** An open TLS listener. */
export interface TlsListener {
  /** The port it is bound to (useful with port 0). */
  readonly port: number;
  /** The address it is bound to. */
  readonly hostname: string;
  /**
   * Connections whose handshake (and client certificate) passed, until the listener is
   * closed. A socket that fails is closed, never yielded, and reported to `onRefused` with
   * the reason ("certificate has expired", "no certificate", a handshake error); an accept
   * error (EMFILE) goes to `onError` and does not end the listener.
   */
  accept(
    onError?: (error: Error) => void,
    onRefused?: (address: Deno.NetAddr, reason: string) => void,
  ): AsyncIterable<TlsConn>;
  /**
   * Read the files again for the next handshakes; connected clients keep their session. A file
   * that cannot be used throws (naming it) and the settings in force stay.
   */
  reload(settings: TlsListenSettings): Promise<void>;
  /** Stop accepting; sockets still in their handshake are closed. */
  close(): void;
}

/** How long a client has to finish its handshake. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Input a TLS client may have sent and the broker not read yet (it stops reading a client that
 * does not read its own output): Deno's node:tls cannot stop reading the socket, so past this
 * the client is cut off rather than held in memory without a bound. The same 16 MiB as a
 * client's unsent output (`maxOutputBytes`).
 */
export const UNREAD_LIMIT_BYTES = 16 * 1024 * 1024;

const MIN_VERSIONS: Readonly<Record<TlsVersion, tls.SecureVersion>> = {
  "tlsv1.3": "TLSv1.3",
  "tlsv1.2": "TLSv1.2",
  "tlsv1.1": "TLSv1.2",
};

/** What a handshake is checked with: made whole from the files, swapped whole on reload. */
interface Context {
  secure: tls.SecureContext;
  trust: Trust | undefined;
  requireCertificate: boolean;
}

async function readFor(key: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`${key}: cannot read "${path}": ${(error as Error).message}`);
  }
}

/**
 * Throws naming the option at fault unless `cert` holds a certificate and `key` its private key
 * (Deno's TLS takes any text here and would fail every handshake instead).
 */
function checkKeyPair(settings: TlsListenSettings, cert: string, key: string): void {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new Error(`certfile: "${settings.certfile}" holds no PEM certificate`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new Error(`keyfile: "${settings.keyfile}" holds no PEM private key`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new Error(
      `keyfile: "${settings.keyfile}" is not the key of certfile "${settings.certfile}"`,
    );
  }
}

/** Read and check `settings`' files, as a TLS listener would; throws naming the option at fault. */
export async function checkTlsFiles(settings: TlsListenSettings): Promise<void> {
  await makeContext(settings);
}

/** Read and check `settings`' files; throws naming the option at fault. */
async function makeContext(settings: TlsListenSettings): Promise<Context> {
  if (settings.ciphers !== undefined || settings.ciphers13 !== undefined) {
    const key = settings.ciphers !== undefined ? "ciphers" : "ciphers_tls1.3";
    throw new Error(
      `${key}: not supported: Deno's TLS (rustls) does not let a server choose ciphers`,
    );
  }
  const asksCertificate = settings.cafile !== undefined || settings.capath !== undefined;
  if (settings.requireCertificate && !asksCertificate) {
    throw new Error("require_certificate: needs cafile or capath");
  }
  if (settings.crlfile !== undefined && !asksCertificate) {
    throw new Error("crlfile: needs cafile or capath");
  }
  const cert = await readFor("certfile", settings.certfile);
  const key = await readFor("keyfile", settings.keyfile);
  checkKeyPair(settings, cert, key);
  const trust = asksCertificate ? await loadTrust(settings) : undefined;
  let secure: tls.SecureContext;
  try {
    secure = tls.createSecureContext({
      cert,
      key,
      minVersion: MIN_VERSIONS[settings.tlsVersion ?? "tlsv1.2"],
    });
  } catch (error) {
    throw new Error(
      `certfile/keyfile: "${settings.certfile}" and "${settings.keyfile}" cannot be used: ${
        (error as Error).message
      }`,
    );
  }
  return { secure, trust, requireCertificate: settings.requireCertificate };
}

/** The DER certificates a client sent, its own first. */
function peerChain(socket: tls.TLSSocket): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (cert?.raw !== undefined && chain.length < 10) {
    chain.push(new Uint8Array(cert.raw));
    if (cert.issuerCertificate === cert) break;
    cert = cert.issuerCertificate;
  }
  return chain;
}

/** The identity of a handshaken client, or throws `CertificateRefused`. */
function checkPeer(socket: tls.TLSSocket, context: Context): PeerIdentity | undefined {
  if (context.trust === undefined) return undefined;
  const chain = peerChain(socket);
  if (chain.length === 0) {
    if (context.requireCertificate) throw new CertificateRefused("no certificate");
    return undefined;
  }
  return verifyPeer(chain, context.trust);
}

/** Listen on `hostname:port` with TLS as `settings` say; throws if a file cannot be used. */
export async function listenTls(
  hostname: string | undefined,
  port: number,
  settings: TlsListenSettings,
): Promise<TlsListener> {
  let context = await makeContext(settings);
  const ready: TlsConn[] = [];
  const handshaking = new Set<net.Socket>();
  let wake: (() => void) | undefined;
  let closed = false;
  let onError: ((error: Error) => void) | undefined;
  let onRefused: ((address: Deno.NetAddr, reason: string) => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  /** Handshake over `carrier` (`raw` itself, or a stream over it) with a client at `address`. */
  const handshake = (raw: net.Socket, carrier: net.Socket | Duplex, address: Deno.NetAddr) => {
    const used = context;
    const socket = new tls.TLSSocket(carrier as net.Socket, {
      isServer: true,
      secureContext: used.secure,
      requestCert: used.trust !== undefined,
      rejectUnauthorized: false, // Deno's node:tls fails every chain: verifyPeer checks it
    });
    const refuse = (reason: string) => {
      clearTimeout(timer);
      handshaking.delete(raw);
      socket.destroy();
      raw.destroy();
      if (!closed) onRefused?.(address, reason);
    };
    const timer = setTimeout(() => refuse("TLS handshake timed out"), HANDSHAKE_TIMEOUT_MS);
    socket.once("error", (error: Error) => refuse(`TLS handshake failed: ${error.message}`));
    socket.once("secure", () => {
      let peer: PeerIdentity | undefined;
      try {
        peer = checkPeer(socket, used);
      } catch (error) {
        const message = (error as Error).message;
        refuse(error instanceof CertificateRefused ? message : `bad certificate: ${message}`);
        return;
      }
      clearTimeout(timer);
      handshaking.delete(raw);
      socket.removeAllListeners("error");
      ready.push({ ...nodeConn(socket, address, { maxUnreadBytes: UNREAD_LIMIT_BYTES }), peer });
      notify();
    });
  };

  const proxyVersion = settings.proxyProtocol;
  const server = net.createServer({ noDelay: true }, (raw) => {
    const address: Deno.NetAddr = {
      transport: "tcp",
      hostname: raw.remoteAddress ?? "",
      port: raw.remotePort ?? 0,
    };
    handshaking.add(raw);
    if (proxyVersion === undefined) return handshake(raw, raw, address);
    readProxyHeader(nodeConn(raw, address), proxyVersion, HANDSHAKE_TIMEOUT_MS).then(
      (proxied) => {
        const client = proxied.remoteAddr;
        handshake(raw, connDuplex(proxied), "hostname" in client ? client : address);
      },
      (error: Error) => {
        handshaking.delete(raw);
        raw.destroy();
        if (!closed) onRefused?.(address, error.message);
      },
    );
  });
  server.on("error", (error: Error) => onError?.(error));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as net.AddressInfo;

  return {
    port: bound.port,
    hostname: bound.address,
    async *accept(errors, refusals) {
      onError = errors;
      onRefused = refusals;
      while (!closed) {
        const conn = ready.shift();
        if (conn !== undefined) yield conn;
        else await new Promise<void>((resolve) => wake = resolve);
      }
    },
    async reload(next) {
      context = await makeContext(next);
    },
    close() {
      closed = true;
      server.close();
      for (const raw of handshaking) raw.destroy();
      handshaking.clear();
      for (const conn of ready.splice(0)) conn.close();
      notify();
    },
  };
}
