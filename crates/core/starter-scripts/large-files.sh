#!/bin/bash
# The largest files under FOLDER (one file system), biggest first.
set -u
find "$FOLDER" -xdev -type f -size +"${MIN_MB}"M -printf '%s\t%TY-%Tm-%Td\t%p\n' 2>/dev/null |
  sort -rn | head -n 50 | awk -F'\t' '{ printf "%8.1f MiB  %s  %s\n", $1 / 1048576, $2, $3 }'
