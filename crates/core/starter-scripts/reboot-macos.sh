#!/bin/sh
# Reboots after MINUTES minutes, telling logged-in users why.
osascript -e "display notification \"$MESSAGE\" with title \"Restart in $MINUTES min\"" 2>/dev/null
shutdown -r +"$MINUTES"
