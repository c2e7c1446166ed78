#!/bin/bash
# Warnings and errors from the system log of the last HOURS hours (newest last).
set -u
if command -v journalctl >/dev/null && [ -d /run/systemd/system ]; then
  journalctl --no-pager --since "-${HOURS}h" -p warning | tail -n "${MAX_LINES}"
else
  tail -n "${MAX_LINES}" /var/log/syslog 2>/dev/null || tail -n "${MAX_LINES}" /var/log/messages
fi
