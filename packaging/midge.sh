#!/bin/sh
# Midge's launcher in a release folder: runs the bundled program (lib/main.js) with the Deno binary
# beside it, under the flags of `deno task start` (filled in by `deno task dist`). Started
# through a link named mosquitto_pub, mosquitto_sub, mosquitto_rr or mosquitto_passwd, it runs
# that tool (`midge pub`, ...). Needs nothing else: no network, no Deno cache to fill.
set -e
here=$(dirname "$(readlink -f "$0")")
name=$(basename "$0")
case "$name" in
  mosquitto_*) set -- "${name#mosquitto_}" "$@" ;;
esac
exec "$here/deno" run --no-config --no-lock -A @DENO_FLAGS@ "$here/lib/main.js" "$@"
