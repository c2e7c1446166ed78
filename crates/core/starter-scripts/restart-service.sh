#!/bin/bash
# Restarts one systemd service and shows how it stands afterwards.
set -eu
systemctl restart -- "$SERVICE"
systemctl --no-pager --lines=5 status -- "$SERVICE"
