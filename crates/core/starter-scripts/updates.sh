#!/bin/bash
# Lists pending OS updates; installs them when INSTALL is "yes".
set -eu
if command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  if [ "$INSTALL" = "yes" ]; then
    apt-get update -q && apt-get upgrade -y -q
  else
    apt-get -s upgrade | grep '^Inst ' || echo "no pending updates"
  fi
elif command -v dnf >/dev/null; then
  if [ "$INSTALL" = "yes" ]; then dnf upgrade -y -q; else dnf check-update || true; fi
else
  echo "neither apt-get nor dnf is here" >&2
  exit 2
fi
