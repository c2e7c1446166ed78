# Restarts one Windows service and shows how it stands afterwards.
$ErrorActionPreference = 'Stop'
Restart-Service -Name $env:SERVICE -Force
Get-Service -Name $env:SERVICE | Format-List Name, DisplayName, Status, StartType
