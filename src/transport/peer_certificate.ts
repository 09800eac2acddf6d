/**
 * Client certificates on a TLS listener: the trusted CAs and CRLs a listener reads from its
 * files (`cafile`, `capath`, `crlfile`), and the check of a certificate a client sends (chain
 * to a trusted CA, dates, revocation), giving the identity Mosquitto takes from it. Deno's
 * node:tls cannot check a client's chain itself (it calls every one unauthorized), so this
 * module does.
 *
 * @module
 */

import { X509Certificate } from "node:crypto";
import { type Crl, parseCrlFile } from "./crl.ts";
import {
  children,
  type DerElement,
  integerHex,
  pemBlocks,
  readElement,
  sameBytes,
  timeValue,
} from "./der.ts";
import { commonName, subjectText } from "./distinguished_name.ts";

/** Who a verified client certificate names. */
export interface PeerIdentity {
  /** The first CN of the subject (`use_identity_as_username`); undefined if it has none. */
  readonly commonName: string | undefined;
  /** The subject as Mosquitto prints it (`use_subject_as_username`): "CN=dev1,O=acme,C=GB". */
  readonly subject: string;
}

/** Where a listener's trusted CAs and CRLs are (file paths). */
export interface TrustFiles {
  /** PEM file of CA certificates. */
  cafile?: string;
  /** Folder whose PEM files hold CA certificates. */
  capath?: string;
  /** PEM or DER file of CRLs; when set, a client certificate's issuer must have one. */
  crlfile?: string;
}

/** The CAs and CRLs a listener checks client certificates against. */
export interface Trust {
  /** Trusted CA certificates. */
  readonly cas: readonly X509Certificate[];
  /** CRLs, each signed by one of `cas`; undefined when no `crlfile` is set. */
  readonly crls: readonly Crl[] | undefined;
}

/** A client certificate that failed the check; the message says why, as OpenSSL words it. */
export class CertificateRefused extends Error {
  /** Name errors of this class. */
  override name = "CertificateRefused";
}

/** The fields of a certificate node:crypto does not give in the form needed. */
interface CertificateFields {
  serial: string;
  issuer: Uint8Array;
  subject: DerElement;
  notBefore: Date;
  notAfter: Date;
}

const MAX_CHAIN = 10;

function certificateFields(raw: Uint8Array): CertificateFields {
  const tbs = children(children(readElement(raw))[0]);
  const at = tbs[0].tag === 0xa0 ? 1 : 0; // optional [0] version
  const [serial, , issuer, validity, subject] = tbs.slice(at);
  const [notBefore, notAfter] = children(validity).map(timeValue);
  return {
    serial: integerHex(serial.contents),
    issuer: issuer.bytes,
    subject,
    notBefore,
    notAfter,
  };
}

async function readFileFor(key: string, path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    throw new Error(`${key}: cannot read "${path}": ${(error as Error).message}`);
  }
}

async function certificatesIn(key: string, path: string): Promise<X509Certificate[]> {
  const text = new TextDecoder().decode(await readFileFor(key, path));
  try {
    return pemBlocks(text, "CERTIFICATE").map((der) => new X509Certificate(der));
  } catch (error) {
    throw new Error(`${key}: "${path}" holds a bad certificate: ${(error as Error).message}`);
  }
}

/** The files directly in `capath`, by name. */
async function pemFilesIn(capath: string): Promise<string[]> {
  const paths: string[] = [];
  try {
    for await (const entry of Deno.readDir(capath)) {
      if (entry.isFile) paths.push(`${capath}/${entry.name}`);
    }
  } catch (error) {
    throw new Error(`capath: cannot read "${capath}": ${(error as Error).message}`);
  }
  return paths.sort();
}

/** Read the trusted CAs and CRLs; throws naming the option and file that cannot be used. */
export async function loadTrust(files: TrustFiles): Promise<Trust> {
  const cas: X509Certificate[] = [];
  if (files.cafile !== undefined) {
    const found = await certificatesIn("cafile", files.cafile);
    if (found.length === 0) throw new Error(`cafile: no certificate in "${files.cafile}"`);
    cas.push(...found);
  }
  if (files.capath !== undefined) {
    for (const path of await pemFilesIn(files.capath)) {
      cas.push(...await certificatesIn("capath", path));
    }
  }
  if (files.crlfile === undefined) return { cas, crls: undefined };
  const bytes = await readFileFor("crlfile", files.crlfile);
  let crls: Crl[];
  try {
    crls = parseCrlFile(bytes);
  } catch (error) {
    throw new Error(`crlfile: "${files.crlfile}" is not a CRL: ${(error as Error).message}`);
  }
  for (const crl of crls) {
    if (!cas.some((ca) => crl.signedBy(ca.publicKey))) {
      throw new Error(`crlfile: "${files.crlfile}" holds a CRL no trusted CA signed`);
    }
  }
  return { cas, crls };
}

function checkDates(fields: CertificateFields, now: Date, what: string): void {
  if (now < fields.notBefore) throw new CertificateRefused(`${what} is not yet valid`);
  if (now > fields.notAfter) throw new CertificateRefused(`${what} has expired`);
}

function checkRevocation(fields: CertificateFields, crls: readonly Crl[], now: Date): void {
  const issued = crls.filter((crl) => sameBytes(crl.issuer, fields.issuer));
  if (issued.length === 0) throw new CertificateRefused("unable to get certificate CRL");
  for (const crl of issued) {
    if (crl.nextUpdate !== undefined && now > crl.nextUpdate) {
      throw new CertificateRefused("CRL has expired");
    }
    if (crl.revoked.has(fields.serial)) throw new CertificateRefused("certificate revoked");
  }
}

function issues(issuer: X509Certificate, cert: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

/**
 * Check the certificate a client sent (`chain`: DER, its own first, then any intermediates it
 * sent) against `trust` at `now`; returns who it names or throws `CertificateRefused`. As in
 * OpenSSL's default, only the client's own certificate is looked up in the CRLs.
 */
export function verifyPeer(
  chain: readonly Uint8Array[],
  trust: Trust,
  now: Date = new Date(),
): PeerIdentity {
  const leafFields = certificateFields(chain[0]);
  let cert = new X509Certificate(chain[0]);
  let fields = leafFields;
  const sent = chain.slice(1).map((der) => new X509Certificate(der));
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    checkDates(fields, now, depth === 0 ? "certificate" : "issuer certificate");
    const root = trust.cas.find((ca) => issues(ca, cert));
    if (root !== undefined) {
      checkDates(certificateFields(new Uint8Array(root.raw)), now, "CA certificate");
      // Revocation is looked up once the chain is trusted, as OpenSSL does: a certificate from
      // an unknown CA is refused for that, not for lacking a CRL.
      if (trust.crls !== undefined) checkRevocation(leafFields, trust.crls, now);
      return {
        commonName: commonName(leafFields.subject),
        subject: subjectText(leafFields.subject),
      };
    }
    const next = sent.find((candidate) => candidate.ca && issues(candidate, cert));
    if (next === undefined) throw new CertificateRefused("unable to get local issuer certificate");
    cert = next;
    fields = certificateFields(new Uint8Array(next.raw));
  }
  throw new CertificateRefused("certificate chain too long");
}
