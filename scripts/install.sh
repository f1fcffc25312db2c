#!/usr/bin/env bash
# Production install of cti-daemon on Debian 12 / Ubuntu 24.04 (run as root from a clone):
#
#   scripts/install.sh            # or: scripts/install.sh install, make install
#   scripts/install.sh uninstall  # removes the program and the unit; keeps /etc/cti-daemon, /var/lib/cti-daemon
#
# What it makes (each step is skipped when already done, so running it again is safe; an existing
# configuration, tokens or environment file is never overwritten):
#   - the system user and group cti-daemon (no login, no home)
#   - the program in its own venv: /opt/cti-daemon (pinned by constraints.txt), and /usr/local/bin/cti-daemon
#     linking to it
#   - /etc/cti-daemon/cti-daemon.toml (the example, its tokens_file set), /etc/cti-daemon/tokens (one
#     generated API token) and /etc/cti-daemon/env (for CTI_AMI__SECRET=...): 0640 root:cti-daemon in a
#     0750 directory
#   - /var/lib/cti-daemon owned by cti-daemon, mode 0750 (the SQLite store and the journal spool)
#   - /etc/systemd/system/cti-daemon.service, running /opt/cti-daemon/bin/cti-daemon
#
# Environment:
#   DESTDIR        install under this scratch root instead of / (no user, no chown, no systemctl; the
#                  files still name the real paths). CI and the tests use it.
#   PYTHON         the Python 3.11+ that makes the venv (default python3)
#   CTI_PACKAGE    what pip installs (default: this checkout)
#   CTI_PIP_ARGS   extra pip arguments, e.g. "--no-index --find-links /srv/wheels" for an offline install
set -euo pipefail

SRC="$(cd "$(dirname "$0")/.." && pwd)"
ROOT="${DESTDIR:-}"
ROOT="${ROOT%/}"
PYTHON="${PYTHON:-python3}"
PACKAGE="${CTI_PACKAGE:-$SRC}"
read -r -a PIP_ARGS <<<"${CTI_PIP_ARGS:-}"

NAME=cti-daemon
PREFIX=/opt/cti-daemon
ETC=/etc/cti-daemon
STATE=/var/lib/cti-daemon
UNIT=/etc/systemd/system/cti-daemon.service
LINK=/usr/local/bin/cti-daemon

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
real() { [ -z "$ROOT" ]; }
have_systemd() { real && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; }

# install -d / install -m with the owner only on a real system (a scratch root has no such user).
make_dir() {  # MODE OWNER:GROUP PATH
  if real; then install -d -m "$1" -o "${2%%:*}" -g "${2##*:}" "$3"; else install -d -m "$1" "$ROOT$3"; fi
}
own() {  # MODE OWNER:GROUP PATH (an existing file)
  chmod "$1" "$ROOT$3"
  if real; then chown "$2" "$3"; fi
}

do_install() {
  if real && [ "$(id -u)" -ne 0 ]; then
    die "run as root (sudo scripts/install.sh), or set DESTDIR=/some/scratch/root to try it out"
  fi
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
    || die "$PYTHON is missing or older than 3.11 (set PYTHON=/usr/bin/python3.11 or newer)"

  if real; then
    if getent passwd "$NAME" >/dev/null; then
      say "user $NAME exists"
    else
      useradd --system --user-group --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin "$NAME"
      say "user $NAME created"
    fi
  fi

  if [ -x "$ROOT$PREFIX/bin/python" ]; then
    say "venv $PREFIX exists; updating the program in it"
  else
    "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null \
      || die "$PYTHON cannot make a venv: install it first (Debian/Ubuntu: apt install python3-venv)"
    install -d -m 0755 "$ROOT$PREFIX"
    "$PYTHON" -m venv "$ROOT$PREFIX"
    say "venv $PREFIX created"
  fi
  say "installing $PACKAGE into $PREFIX (pinned by constraints.txt)"
  "$ROOT$PREFIX/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade \
    -c "$SRC/constraints.txt" ${PIP_ARGS[@]+"${PIP_ARGS[@]}"} "$PACKAGE"
  install -d -m 0755 "$ROOT$(dirname "$LINK")"
  ln -sfn "$PREFIX/bin/cti-daemon" "$ROOT$LINK"

  make_dir 0750 "root:$NAME" "$ETC"
  if [ -e "$ROOT$ETC/cti-daemon.toml" ]; then
    say "$ETC/cti-daemon.toml exists; left as it is"
  else
    sed -e "s|^# tokens_file = \"/etc/cti-daemon/tokens\"|tokens_file = \"$ETC/tokens\"|" \
      "$SRC/config/cti-daemon.example.toml" >"$ROOT$ETC/cti-daemon.toml"
    own 0640 "root:$NAME" "$ETC/cti-daemon.toml"
    say "$ETC/cti-daemon.toml written from the example: set [ami] host and [mqtt] url there"
  fi
  if [ -e "$ROOT$ETC/tokens" ]; then
    say "$ETC/tokens exists; left as it is"
  else
    (
      umask 077
      token="$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(24))')"
      printf '# name:token, one a line (see the example configuration); `systemctl reload cti-daemon` re-reads it\nadmin:%s\n' \
        "$token" >"$ROOT$ETC/tokens"
    )
    own 0640 "root:$NAME" "$ETC/tokens"
    say "$ETC/tokens written with one API token (name admin): read it there"
  fi
  if [ -e "$ROOT$ETC/env" ]; then
    say "$ETC/env exists; left as it is"
  else
    (
      umask 077
      printf '# Secrets for the daemon, read by systemd (EnvironmentFile). Uncomment and fill in:\n# CTI_AMI__SECRET=\n# CTI_MQTT__PASSWORD=\n' \
        >"$ROOT$ETC/env"
    )
    own 0640 "root:$NAME" "$ETC/env"
    say "$ETC/env written: put CTI_AMI__SECRET=... there"
  fi

  make_dir 0750 "$NAME:$NAME" "$STATE"
  install -d -m 0755 "$ROOT$(dirname "$UNIT")"
  install -m 0644 "$SRC/systemd/cti-daemon.service" "$ROOT$UNIT"
  say "unit $UNIT installed"
  if have_systemd; then
    systemctl daemon-reload
  fi
  say "next: edit $ETC/cti-daemon.toml and $ETC/env, then (the store's files must belong to $NAME):"
  say "  runuser -u $NAME -- sh -c 'set -a; . $ETC/env; cti-daemon check-config --config $ETC/cti-daemon.toml'"
  say "  runuser -u $NAME -- cti-daemon db upgrade --config $ETC/cti-daemon.toml"
  say "  systemctl enable --now cti-daemon"
}

do_uninstall() {
  if real && [ "$(id -u)" -ne 0 ]; then
    die "run as root (sudo scripts/install.sh uninstall)"
  fi
  if have_systemd && systemctl list-unit-files cti-daemon.service >/dev/null 2>&1; then
    systemctl disable --now cti-daemon.service >/dev/null 2>&1 || true
  fi
  rm -f "$ROOT$UNIT"
  if have_systemd; then
    systemctl daemon-reload
  fi
  if [ -L "$ROOT$LINK" ] && [ "$(readlink "$ROOT$LINK")" = "$PREFIX/bin/cti-daemon" ]; then
    rm -f "$ROOT$LINK"
  fi
  rm -rf "$ROOT$PREFIX"
  say "removed $PREFIX, $LINK and $UNIT"
  say "kept $ETC (configuration, tokens, secrets) and $STATE (the store, the journal spool), and the user $NAME"
}

case "${1:-install}" in
  install) do_install ;;
  uninstall) do_uninstall ;;
  *) die "usage: scripts/install.sh [install|uninstall]" ;;
esac
