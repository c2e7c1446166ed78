#!/bin/bash
# Empties the DNS cache (systemd-resolved, nscd or dnsmasq, whichever runs).
set -u
done=no
if command -v resolvectl >/dev/null && resolvectl flush-caches 2>/dev/null; then echo "systemd-resolved cache flushed"; done=yes; fi
if command -v nscd >/dev/null && nscd -i hosts 2>/dev/null; then echo "nscd hosts cache flushed"; done=yes; fi
if pkill -HUP dnsmasq 2>/dev/null; then echo "dnsmasq told to flush"; done=yes; fi
[ "$done" = yes ] || echo "no DNS cache runs on this machine: nothing to flush"
