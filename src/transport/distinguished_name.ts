/**
 * X.509 names (a certificate's subject) read from DER: the first common name, and the one-line
 * text Mosquitto uses for `use_subject_as_username`. Mosquitto 2.0 prints the subject with
 * OpenSSL's RFC 2253 style: attributes last-first, "," between them ("+" inside a multi-valued
 * one), short names (CN, O, OU, C...), `,+"\<>;` and a leading "#" or space or trailing space
 * escaped with "\", control and non-ASCII bytes (of the UTF-8) as "\XX", and values of types
 * that are not strings as "#" and the hex of their DER.
 *
 * @module
 */

import { children, type DerElement, oidText } from "./der.ts";

const SHORT_NAMES: Readonly<Record<string, string>> = {
  "2.5.4.3": "CN",
  "2.5.4.4": "SN",
  "2.5.4.5": "serialNumber",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.9": "street",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.12": "title",
  "2.5.4.13": "description",
  "2.5.4.15": "businessCategory",
  "2.5.4.17": "postalCode",
  "2.5.4.41": "name",
  "2.5.4.42": "GN",
  "2.5.4.43": "initials",
  "2.5.4.44": "generationQualifier",
  "2.5.4.46": "dnQualifier",
  "2.5.4.65": "pseudonym",
  "0.9.2342.19200300.100.1.1": "UID",
  "0.9.2342.19200300.100.1.25": "DC",
  "1.2.840.113549.1.9.1": "emailAddress",
};

const COMMON_NAME = "2.5.4.3";

/** One attribute of a name: its OID and its value element. */
interface Attribute {
  oid: string;
  value: DerElement;
}

/** The attributes of a Name, as relative distinguished names in the certificate's order. */
function relativeNames(name: DerElement): Attribute[][] {
  return children(name).map((rdn) =>
    children(rdn).map((pair) => {
      const [type, value] = children(pair);
      return { oid: oidText(type.contents), value };
    })
  );
}

/** A string value as text (UTF-8, BMP, Universal, or one byte a character); undefined if not a string. */
function stringValue(value: DerElement): string | undefined {
  const bytes = value.contents;
  switch (value.tag) {
    case 0x0c: // UTF8String
      return new TextDecoder().decode(bytes);
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x14: // TeletexString
    case 0x16: // IA5String
    case 0x1a: // VisibleString
      return String.fromCharCode(...bytes);
    case 0x1e: // BMPString, UTF-16BE
      return new TextDecoder("utf-16be").decode(bytes);
    case 0x1c: { // UniversalString, UTF-32BE
      const points: number[] = [];
      for (let i = 0; i + 3 < bytes.length; i += 4) {
        points.push(
          ((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>> 0,
        );
      }
      return String.fromCodePoint(...points);
    }
    default:
      return undefined;
  }
}

const hex = (byte: number) => "\\" + byte.toString(16).padStart(2, "0").toUpperCase();

/** A value escaped as RFC 2253 and OpenSSL's ESC_CTRL and ESC_MSB flags want. */
function escapeValue(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let out = "";
  bytes.forEach((byte, i) => {
    const char = String.fromCharCode(byte);
    if (byte < 0x20 || byte === 0x7f || byte >= 0x80) out += hex(byte);
    else if (',+"\\<>;'.includes(char)) out += "\\" + char;
    else if (
      (i === 0 && (char === "#" || char === " ")) || (i === bytes.length - 1 && char === " ")
    ) {
      out += "\\" + char;
    } else out += char;
  });
  return out;
}

/** The subject in Mosquitto's `use_subject_as_username` form, e.g. "CN=dev1,O=acme,C=GB". */
export function subjectText(name: DerElement): string {
  return relativeNames(name).reverse().map((rdn) =>
    rdn.map(({ oid, value }) => {
      const text = stringValue(value);
      const shown = text === undefined
        ? "#" + Array.from(value.bytes, (b) => b.toString(16).padStart(2, "0")).join("")
        : escapeValue(text);
      return `${SHORT_NAMES[oid] ?? oid}=${shown}`;
    }).join("+")
  ).join(",");
}

/** The first common name (CN) of a name, as `use_identity_as_username` takes it. */
export function commonName(name: DerElement): string | undefined {
  for (const rdn of relativeNames(name)) {
    for (const { oid, value } of rdn) if (oid === COMMON_NAME) return stringValue(value);
  }
  return undefined;
}
