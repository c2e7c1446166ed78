#!/bin/bash
# Frees disk space that is safe to free: package caches, old journal entries, old temp files.
set -u
before=$(df -Pk / | awk 'NR==2 {print $4}')
if command -v apt-get >/dev/null; then apt-get clean; fi
if command -v dnf >/dev/null; then dnf clean all -q; fi
if command -v journalctl >/dev/null; then journalctl --vacuum-time="${KEEP_DAYS}d" 2>&1 | tail -n 1; fi
find /tmp /var/tmp -xdev -type f -atime +"${KEEP_DAYS}" -delete 2>/dev/null
after=$(df -Pk / | awk 'NR==2 {print $4}')
echo "free on /: $((before / 1024)) MiB before, $((after / 1024)) MiB after"
