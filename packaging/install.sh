#!/bin/sh
# Install Midge from this release folder (run as root, from anywhere):
#   - the program into /opt/midge (replaced: this is also how to upgrade), `midge` linked into
#     /usr/local/bin, and mosquitto_pub/_sub/_rr/_passwd too where no command of that name exists;
#   - the system user `midge` and its directories /var/lib/midge (the store) and /var/log/midge;
#   - /etc/midge/midge.toml, only if there is none (an existing configuration is never touched);
#   - the systemd unit /etc/systemd/system/midge.service (change it with `systemctl edit midge`).
# It does not start the broker: `systemctl enable --now midge` does. After an upgrade, restart
# it at once (`systemctl restart midge`): the program loads parts of itself on demand.
# DESTDIR=/some/dir installs under that directory instead of /, without creating the user or
# calling systemctl (to look at the result, or to build a package).
set -eu
src=$(dirname "$(readlink -f "$0")")
root=${DESTDIR:-}
say() { printf 'install: %s\n' "$*"; }

if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install: run as root (sudo $0)" >&2
  exit 1
fi

program="$root/opt/midge"
mkdir -p "$program" "$root/usr/local/bin"
for file in deno lib midge midge.toml midge.service install.sh; do
  # Copy, then swap in whole, so that no command ever sees a half-copied program.
  rm -rf "$program/.$file.new" "$program/.$file.old"
  cp -R "$src/$file" "$program/.$file.new"
  [ ! -e "$program/$file" ] || mv -f "$program/$file" "$program/.$file.old"
  mv -f "$program/.$file.new" "$program/$file"
  rm -rf "$program/.$file.old"
done
say "program in /opt/midge"
ln -sfn /opt/midge/midge "$root/usr/local/bin/midge"
for tool in mosquitto_pub mosquitto_sub mosquitto_rr mosquitto_passwd; do
  ln -sfn midge "$program/$tool"
  link="$root/usr/local/bin/$tool"
  if [ -L "$link" ] && [ "$(readlink "$link")" = "/opt/midge/$tool" ]; then
    continue
  elif [ -e "$link" ] || [ -L "$link" ] || { [ -z "$root" ] && command -v "$tool" >/dev/null 2>&1; }; then
    say "$tool exists already: kept (Midge's is /opt/midge/$tool, or: midge ${tool#mosquitto_})"
  else
    ln -s "/opt/midge/$tool" "$link"
  fi
done
say "commands in /usr/local/bin"

if [ -z "$root" ]; then
  if ! id -u midge >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/midge --shell /usr/sbin/nologin --user-group midge
    say "user midge created"
  fi
  install -d -o midge -g midge -m 0750 /var/lib/midge /var/log/midge
else
  mkdir -p "$root/var/lib/midge" "$root/var/log/midge"
fi
say "store in /var/lib/midge, logs in /var/log/midge"

if [ -e "$root/etc/midge/midge.toml" ]; then
  say "/etc/midge/midge.toml exists: kept as it is (the new defaults: /opt/midge/midge.toml)"
else
  install -D -m 0644 "$src/midge.toml" "$root/etc/midge/midge.toml"
  say "configuration in /etc/midge/midge.toml"
fi

install -D -m 0644 "$src/midge.service" "$root/etc/systemd/system/midge.service"
say "systemd unit in /etc/systemd/system/midge.service"
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  say "start it: systemctl enable --now midge; follow it: journalctl -u midge -f"
fi
