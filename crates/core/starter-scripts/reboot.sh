#!/bin/bash
# Reboots after MINUTES minutes, telling logged-in users why.
set -eu
shutdown -r +"$MINUTES" "$MESSAGE"
echo "reboot scheduled in $MINUTES minute(s)"
