/**
 * A minimal DER reader (and PEM unwrapping): just enough of ASN.1 to read what node:crypto does not give about a
 * certificate (its names in order and in bytes, its validity) and a CRL (its revoked serial
 * numbers and the bytes its signature covers).
 *
 * @module
 */

/** One DER element: its tag and where its header and contents lie in `bytes`. */
export interface DerElement {
  /** The identifier octet (e.g. 0x30 SEQUENCE, 0x02 INTEGER). */
  readonly tag: number;
  /** The whole encoding (header and contents), as a view of the source. */
  readonly bytes: Uint8Array;
  /** The contents, as a view of the source. */
  readonly contents: Uint8Array;
}

/** DER tags this reader's callers name. */
export const Tag = {
  integer: 0x02,
  bitString: 0x03,
  oid: 0x06,
  sequence: 0x30,
  set: 0x31,
  utcTime: 0x17,
  generalizedTime: 0x18,
} as const;

/** Read the element starting at `offset` in `bytes`. Throws on a truncated or long form. */
export function readElement(bytes: Uint8Array, offset = 0): DerElement {
  if (offset + 2 > bytes.length) throw new Error("truncated DER element");
  const tag = bytes[offset];
  if ((tag & 0x1f) === 0x1f) throw new Error("multi-byte DER tags are not supported");
  let length = bytes[offset + 1];
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new Error("bad DER length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 2 + i];
    header += count;
  }
  const end = offset + header + length;
  if (end > bytes.length) throw new Error("truncated DER element");
  return {
    tag,
    bytes: bytes.subarray(offset, end),
    contents: bytes.subarray(offset + header, end),
  };
}

/** The elements inside a constructed element (a SEQUENCE or SET), in order. */
export function children(element: DerElement): DerElement[] {
  const out: DerElement[] = [];
  for (let offset = 0; offset < element.contents.length;) {
    const child = readElement(element.contents, offset);
    out.push(child);
    offset += child.bytes.length;
  }
  return out;
}

/** An OBJECT IDENTIFIER's contents as dotted text ("2.5.4.3"). */
export function oidText(contents: Uint8Array): string {
  const arcs: number[] = [];
  let value = 0;
  for (const byte of contents) {
    value = value * 128 + (byte & 0x7f);
    if (byte & 0x80) continue;
    arcs.push(value);
    value = 0;
  }
  if (arcs.length === 0) return "";
  const first = Math.min(Math.floor(arcs[0] / 40), 2);
  return [first, arcs[0] - first * 40, ...arcs.slice(1)].join(".");
}

/** An INTEGER's contents as upper-case hex without leading zero octets (a serial number). */
export function integerHex(contents: Uint8Array): string {
  let start = 0;
  while (start < contents.length - 1 && contents[start] === 0) start++;
  return Array.from(contents.subarray(start), (b) => b.toString(16).padStart(2, "0"))
    .join("").toUpperCase();
}

/** A UTCTime or GeneralizedTime element as a Date. */
export function timeValue(element: DerElement): Date {
  const text = new TextDecoder().decode(element.contents);
  const match = element.tag === Tag.utcTime
    ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text)
    : /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text);
  if (match === null) throw new Error(`bad DER time "${text}"`);
  let year = Number(match[1]);
  if (element.tag === Tag.utcTime) year += year < 50 ? 2000 : 1900; // RFC 5280 4.1.2.5.1
  const [month, day, hour, minute, second] = match.slice(2).map(Number);
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

/** Whether two byte strings are equal. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** The DER contents of every PEM block labelled `label` ("CERTIFICATE", "X509 CRL") in `text`. */
export function pemBlocks(text: string, label: string): Uint8Array[] {
  const pattern = new RegExp(`-----BEGIN ${label}-----([^-]*)-----END ${label}-----`, "g");
  return Array.from(
    text.matchAll(pattern),
    (match) => Uint8Array.from(atob(match[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0)),
  );
}
