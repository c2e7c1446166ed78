#!/bin/sh
# Empties the macOS DNS cache.
dscacheutil -flushcache && killall -HUP mDNSResponder && echo "DNS cache flushed"
