/**
 * Lines written by Mosquitto 2.0.11's mosquitto_passwd (Debian's build), with the passwords
 * they were made from:
 *
 * ```
 * mosquitto_passwd -c -b vec alice secret
 * mosquitto_passwd -H sha512 -b vec bob 'p@ss wörd'
 * mosquitto_passwd -I 1000 -b vec carol hunter2
 * mosquitto_passwd -b vec empty ''
 * ```
 *
 * @module
 */

/** One user's line and its password. */
export interface Vector {
  /** Username. */
  username: string;
  /** The password it was made from. */
  password: string;
  /** The hash field (after `username:`). */
  field: string;
}

/** The four lines, in file order. */
export const MOSQUITTO_VECTORS: readonly Vector[] = [
  {
    username: "alice",
    password: "secret",
    field: "$7$101$oQBlfpmSOMcrcaCY$tUBqLcEle+FgttaF8rxFvyReYnPJ1pofBRdR4YTzxUMw0NfMI7FgIiIFHMFD" +
      "+M5hk008UAFOnUHTsK6dkB4xqg==",
  },
  {
    username: "bob",
    password: "p@ss wörd",
    field: "$6$DM1saczN5MsN3SWM$GpTVHRJVFT8pV17f0+WY3B+GDWrvcf+2pmsp7bHVGgUvXvASR8D6kSfavxxj3hKT" +
      "u0Cvh74SnyRJ8ccUqaAydA==",
  },
  {
    username: "carol",
    password: "hunter2",
    field: "$7$1000$s0xXwgRIy7g1pMxx$5StzrtZlvznn4W8ggwemTI1z2obCVY2FHETmwCNDielL46yTFEx4TQIND+kg" +
      "OLGrJYPDmanBRpg8esR1O/yfJQ==",
  },
  {
    username: "empty",
    password: "",
    field: "$7$101$5KXXLzi9uHvW6RCn$Xvqf9It83+NAS/nK2sRVnlBfXWEQWLHgvYaEuWFcsKrh5ZfizMo2FRiw13bJ" +
      "mpbgWajmFlcrCVl/E7Xerz6TQA==",
  },
];

/** The four lines as a password file. */
export const MOSQUITTO_FILE: string = MOSQUITTO_VECTORS.map((v) => `${v.username}:${v.field}\n`)
  .join("");
