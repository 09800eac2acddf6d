/**
 * The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2) on an accepted socket: a
 * load balancer in front of the broker sends, before any MQTT byte, a header that names the
 * client it accepted. `readProxyHeader` reads that header and nothing after it (v2 asks the
 * socket for exactly the bytes the header still needs; v1, whose end is a CRLF, for no more
 * than its 107-byte maximum, and keeps what came after the CRLF for the MQTT reader) and
 * returns a `Conn` that carries the client's address as its `remoteAddr`.
 *
 * A listener expects one version, as Mosquitto 2.1's `enable_proxy_protocol 1` or `2` does; a
 * connection that does not begin with a valid header of that version is refused.
 *
 * @module
 */

import { takeChunks } from "./chunks.ts";
import type { Conn } from "./conn.ts";
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from "./ip_address.ts";

/** A v1 header's longest form, CRLF included (the spec's figure). */
export const V1_MAX_LENGTH = 107;
/** The longest v2 address block (addresses and TLVs) accepted; Mosquitto takes 500. */
export const V2_MAX_BLOCK_LENGTH = 1024;

const V1_PREFIX = "PROXY ";
const V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const V2_FIXED_LENGTH = 16;
const CR = 0x0d;
const LF = 0x0a;
const PORT = /^(0|[1-9][0-9]{0,4})$/;

/** v2 address families (the high nibble of byte 14) and their address block lengths. */
const V2_FAMILIES: Record<number, { name: string; blockLength: number }> = {
  0x0: { name: "UNSPEC", blockLength: 0 },
  0x1: { name: "AF_INET", blockLength: 12 },
  0x2: { name: "AF_INET6", blockLength: 36 },
  0x3: { name: "AF_UNIX", blockLength: 216 },
};
const V2_COMMAND_LOCAL = 0x0;
const V2_COMMAND_PROXY = 0x1;
const V2_TRANSPORT_STREAM = 0x1;
const UNIX_PATH_LENGTH = 108;

/** Why a connection's PROXY header was refused; the message is for the broker's log. */
export class ProxyHeaderError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProxyHeaderError";
  }
}

/** A connection that came through a proxy. */
export interface ProxiedConn extends Conn {
  /**
   * The client's address as the proxy passed it on; the socket's own when the proxy passed
   * none (a v1 `UNKNOWN`, a v2 `LOCAL` command such as a health check, or family `UNSPEC`).
   */
  readonly remoteAddr: Deno.Addr;
  /** The socket's other end: the proxy itself. */
  readonly proxyAddr: Deno.Addr;
}

/** Where a header stands: more bytes needed (at most `need`), or read whole. */
type Step = { need: number } | { length: number; source: Deno.Addr | null };

/**
 * Read the PROXY header of protocol `version` at the start of `conn` within `timeoutMs` and
 * return the connection as the proxy describes it; its `read()` gives first whatever followed
 * the header in the last read, then reads the socket. A missing, truncated, malformed or
 * oversized header, or none within the time, rejects with a `ProxyHeaderError`; the caller
 * closes the socket.
 */
export async function readProxyHeader(
  conn: Conn,
  version: 1 | 2,
  timeoutMs: number,
): Promise<ProxiedConn> {
  const step = version === 1 ? v1Step : v2Step;
  const buf = new Uint8Array(version === 1 ? V1_MAX_LENGTH : V2_FIXED_LENGTH + V2_MAX_BLOCK_LENGTH);
  let have = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const got = have === 0 ? "nothing" : `${have} bytes of it`;
      reject(
        new ProxyHeaderError(`no PROXY v${version} header within ${timeoutMs} ms (got ${got})`),
      );
    }, timeoutMs);
  });
  expired.catch(() => {});
  try {
    // Every read but the last adds at least a byte to `buf`: this ends well before the bound.
    for (let reads = 0; reads <= buf.length; reads++) {
      const now = step(buf.subarray(0, have));
      if ("length" in now) {
        return new ProxiedSocket(conn, now.source, buf.slice(now.length, have));
      }
      const n = await readWithin(conn, buf.subarray(have, have + now.need), expired);
      if (n === null) {
        throw new ProxyHeaderError(
          have === 0
            ? `connection closed before its PROXY v${version} header`
            : `connection closed after ${have} bytes of a PROXY v${version} header`,
        );
      }
      have += n;
    }
    throw new ProxyHeaderError(`PROXY v${version} header reads that return no bytes`);
  } finally {
    clearTimeout(timer);
  }
}

/** One read of `conn` unless `expired` rejects first; a failed read becomes a header error. */
async function readWithin(
  conn: Conn,
  into: Uint8Array,
  expired: Promise<never>,
): Promise<number | null> {
  const read = conn.read(into);
  read.catch(() => {}); // it may settle after the deadline, once the caller closes the socket
  try {
    return await Promise.race([read, expired]);
  } catch (error) {
    if (error instanceof ProxyHeaderError) throw error;
    throw new ProxyHeaderError(`connection failed while reading its PROXY header: ${error}`, {
      cause: error,
    });
  }
}

/** The connection after its header: the bytes read past it come first. */
class ProxiedSocket implements ProxiedConn {
  readonly remoteAddr: Deno.Addr;
  readonly proxyAddr: Deno.Addr;
  #conn: Conn;
  #surplus: Uint8Array[];

  constructor(conn: Conn, source: Deno.Addr | null, surplus: Uint8Array) {
    this.#conn = conn;
    this.proxyAddr = conn.remoteAddr;
    this.remoteAddr = source ?? conn.remoteAddr;
    this.#surplus = surplus.length > 0 ? [surplus] : [];
  }

  read(buf: Uint8Array): Promise<number | null> {
    if (this.#surplus.length > 0) return Promise.resolve(takeChunks(this.#surplus, buf));
    return this.#conn.read(buf);
  }

  write(data: Uint8Array): Promise<number> {
    return this.#conn.write(data);
  }

  close(): void {
    this.#conn.close();
  }
}

// ------------------------------------------------------------------------------- version 1

/** `PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n` or `PROXY UNKNOWN[ ...]\r\n`. */
function v1Step(bytes: Uint8Array): Step {
  for (let i = 0; i < Math.min(bytes.length, V1_PREFIX.length); i++) {
    if (bytes[i] !== V1_PREFIX.charCodeAt(i)) {
      throw new ProxyHeaderError(`no PROXY v1 header: ${describeStart(bytes)}`);
    }
  }
  const lf = bytes.indexOf(LF);
  if (lf < 0) {
    if (bytes.length >= V1_MAX_LENGTH) {
      throw new ProxyHeaderError(`PROXY v1 header longer than ${V1_MAX_LENGTH} bytes`);
    }
    return { need: V1_MAX_LENGTH - bytes.length };
  }
  if (bytes[lf - 1] !== CR) throw new ProxyHeaderError("PROXY v1 header ends in LF without CR");
  const line = String.fromCharCode(...bytes.subarray(0, lf - 1));
  return { length: lf + 1, source: v1Source(line) };
}

/** The client's address in a v1 line (without its CRLF); null for UNKNOWN. */
function v1Source(line: string): Deno.NetAddr | null {
  const fields = line.split(" ");
  const protocol = fields[1];
  if (protocol === "UNKNOWN") return null;
  if (protocol !== "TCP4" && protocol !== "TCP6") {
    throw new ProxyHeaderError(`PROXY v1 header with unknown protocol ${quote(protocol)}`);
  }
  if (fields.length !== 6) {
    throw new ProxyHeaderError(
      `PROXY v1 ${protocol} header needs 4 fields after the protocol, one space apart: ${
        quote(line)
      }`,
    );
  }
  const [source, destination, sourcePort, destinationPort] = fields.slice(2);
  const parse = protocol === "TCP4" ? parseIpv4 : parseIpv6;
  const format = protocol === "TCP4" ? formatIpv4 : formatIpv6;
  const sourceBytes = parse(source);
  if (sourceBytes === null) {
    throw new ProxyHeaderError(`PROXY v1 ${protocol} header with bad source ${quote(source)}`);
  }
  if (parse(destination) === null) {
    throw new ProxyHeaderError(
      `PROXY v1 ${protocol} header with bad destination ${quote(destination)}`,
    );
  }
  const port = v1Port(sourcePort, "source");
  v1Port(destinationPort, "destination");
  return { transport: "tcp", hostname: format(sourceBytes), port };
}

/** A v1 port: decimal 0-65535 without leading zeros. */
function v1Port(text: string, which: string): number {
  const port = PORT.test(text) ? Number(text) : NaN;
  if (!(port <= 65535)) {
    throw new ProxyHeaderError(`PROXY v1 header with bad ${which} port ${quote(text)}`);
  }
  return port;
}

// ------------------------------------------------------------------------------- version 2

/** The 16-byte fixed part (signature, version and command, family, length), then the block. */
function v2Step(bytes: Uint8Array): Step {
  for (let i = 0; i < Math.min(bytes.length, V2_SIGNATURE.length); i++) {
    if (bytes[i] !== V2_SIGNATURE[i]) {
      throw new ProxyHeaderError(`no PROXY v2 header: ${describeStart(bytes)}`);
    }
  }
  if (bytes.length < V2_FIXED_LENGTH) return { need: V2_FIXED_LENGTH - bytes.length };
  const blockLength = v2CheckFixed(bytes);
  const length = V2_FIXED_LENGTH + blockLength;
  if (bytes.length < length) return { need: length - bytes.length };
  return { length, source: v2Source(bytes.subarray(0, length)) };
}

/** Check the fixed part; returns the length of the block that follows. */
function v2CheckFixed(bytes: Uint8Array): number {
  const versionNibble = bytes[12] >> 4;
  const command = bytes[12] & 0x0f;
  const blockLength = (bytes[14] << 8) | bytes[15];
  if (versionNibble !== 2) {
    throw new ProxyHeaderError(`PROXY v2 header with version ${versionNibble}, not 2`);
  }
  if (command !== V2_COMMAND_LOCAL && command !== V2_COMMAND_PROXY) {
    throw new ProxyHeaderError(`PROXY v2 header with unknown command ${command}`);
  }
  if (blockLength > V2_MAX_BLOCK_LENGTH) {
    throw new ProxyHeaderError(
      `PROXY v2 header of ${blockLength} bytes after its fixed part, over ${V2_MAX_BLOCK_LENGTH}`,
    );
  }
  if (command === V2_COMMAND_LOCAL) return blockLength; // its block is ignored whatever it holds
  const family = V2_FAMILIES[bytes[13] >> 4];
  const transport = bytes[13] & 0x0f;
  if (family === undefined) {
    throw new ProxyHeaderError(`PROXY v2 header with unknown address family ${bytes[13] >> 4}`);
  }
  if (family.name !== "UNSPEC" && transport !== V2_TRANSPORT_STREAM) {
    throw new ProxyHeaderError(
      `PROXY v2 header for transport ${transport}, not a stream (1): the broker takes TCP only`,
    );
  }
  if (blockLength < family.blockLength) {
    throw new ProxyHeaderError(
      `PROXY v2 ${family.name} header of ${blockLength} bytes, short of its ${family.blockLength}-byte addresses`,
    );
  }
  return blockLength;
}

/** The client's address in a whole v2 header; null for LOCAL and UNSPEC. TLVs are skipped. */
function v2Source(header: Uint8Array): Deno.Addr | null {
  if ((header[12] & 0x0f) === V2_COMMAND_LOCAL) return null;
  const block = header.subarray(V2_FIXED_LENGTH);
  const family = V2_FAMILIES[header[13] >> 4];
  v2CheckTlvs(block.subarray(family.blockLength));
  const port = (at: number) => (block[at] << 8) | block[at + 1];
  switch (family.name) {
    case "AF_INET":
      return { transport: "tcp", hostname: formatIpv4(block.subarray(0, 4)), port: port(8) };
    case "AF_INET6":
      return { transport: "tcp", hostname: formatIpv6(block.subarray(0, 16)), port: port(32) };
    case "AF_UNIX":
      return { transport: "unix", path: unixPath(block.subarray(0, UNIX_PATH_LENGTH)) };
    default:
      return null;
  }
}

/** Each TLV (type, 16-bit length, value) must end within the block. */
function v2CheckTlvs(tlvs: Uint8Array): void {
  let at = 0;
  while (at < tlvs.length) {
    const end = at + 3 > tlvs.length ? Infinity : at + 3 + ((tlvs[at + 1] << 8) | tlvs[at + 2]);
    if (end > tlvs.length) {
      throw new ProxyHeaderError(`PROXY v2 header with a TLV that overruns it, at byte ${at}`);
    }
    at = end;
  }
}

/** A socket path, NUL-padded. */
function unixPath(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

// ------------------------------------------------------------------------------- messages

/** What a connection began with instead, in a few bytes and a guess. */
function describeStart(bytes: Uint8Array): string {
  const shown = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, "0"));
  const start = `it begins ${shown.join(" ")}${bytes.length > 8 ? " ..." : ""}`;
  if (bytes[0] === 0x10) return `${start}, an MQTT CONNECT (a client that bypassed the proxy?)`;
  if (bytes[0] === 0x16) return `${start}, a TLS handshake`;
  if (bytes[0] === V2_SIGNATURE[0]) return `${start}, a PROXY v2 signature?`;
  if (bytes[0] === V1_PREFIX.charCodeAt(0)) return `${start}, a PROXY v1 header?`;
  return start;
}

/** A field as it came, quoted, for a message. */
function quote(text: string | undefined): string {
  return JSON.stringify(text ?? "");
}
