/**
 * Certificate revocation lists (`crlfile`), read with our own DER reader since node:crypto has
 * none: who issued one, the serial numbers it revokes, when the next is due, and whether a CA's
 * key signed it.
 *
 * @module
 */

import { type KeyObject, verify } from "node:crypto";
import { children, integerHex, oidText, pemBlocks, readElement, Tag, timeValue } from "./der.ts";

/** One CRL. */
export interface Crl {
  /** The issuer's Name, DER (compared with a certificate's issuer byte for byte). */
  readonly issuer: Uint8Array;
  /** Revoked serial numbers, upper-case hex without leading zeros. */
  readonly revoked: ReadonlySet<string>;
  /** When the next CRL is due, if said. */
  readonly nextUpdate: Date | undefined;
  /** Whether `key` made the CRL's signature. */
  signedBy(key: KeyObject): boolean;
}

/** Hash for each signature algorithm OID (null: the key's own, as Ed25519). */
const SIGNATURE_HASHES: Readonly<Record<string, string | null>> = {
  "1.2.840.113549.1.1.5": "sha1",
  "1.2.840.113549.1.1.11": "sha256",
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
  "1.2.840.10045.4.1": "sha1",
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512",
  "1.3.101.112": null,
};

/** Parse one DER CertificateList (RFC 5280 5.1). */
export function parseCrl(der: Uint8Array): Crl {
  const [tbs, algorithm, signatureBits] = children(readElement(der));
  const algorithmOid = oidText(children(algorithm)[0].contents);
  if (!(algorithmOid in SIGNATURE_HASHES)) {
    throw new Error(`unsupported CRL signature algorithm ${algorithmOid}`);
  }
  const fields = children(tbs);
  let i = fields[0].tag === Tag.integer ? 1 : 0; // optional version
  i++; // signature algorithm, repeated
  const issuer = fields[i++].bytes;
  i++; // thisUpdate
  let nextUpdate: Date | undefined;
  if (fields[i]?.tag === Tag.utcTime || fields[i]?.tag === Tag.generalizedTime) {
    nextUpdate = timeValue(fields[i++]);
  }
  const revoked = new Set<string>();
  if (fields[i]?.tag === Tag.sequence) {
    for (const entry of children(fields[i])) revoked.add(integerHex(children(entry)[0].contents));
  }
  const signature = signatureBits.contents.subarray(1); // after the unused-bits octet
  return {
    issuer,
    revoked,
    nextUpdate,
    signedBy: (key) => verify(SIGNATURE_HASHES[algorithmOid], tbs.bytes, key, signature),
  };
}

/** The CRLs in a file's bytes: PEM ("X509 CRL" blocks) or one DER CRL. */
export function parseCrlFile(bytes: Uint8Array): Crl[] {
  const blocks = pemBlocks(new TextDecoder().decode(bytes), "X509 CRL");
  return (blocks.length > 0 ? blocks : [bytes]).map(parseCrl);
}
