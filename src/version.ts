/** Midge's version, as `midge --version` and `$SYS/broker/version` report it. */
export const MIDGE_VERSION = "0.1.0";
