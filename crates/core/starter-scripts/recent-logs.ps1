# Errors and warnings from the System and Application logs of the last HOURS hours.
$since = (Get-Date).AddHours(-[int]$env:HOURS)
Get-WinEvent -FilterHashtable @{ LogName = 'System', 'Application'; Level = 1, 2, 3; StartTime = $since } -MaxEvents ([int]$env:MAX_LINES) -ErrorAction SilentlyContinue |
  Sort-Object TimeCreated | Format-Table TimeCreated, LogName, LevelDisplayName, ProviderName, Message -AutoSize -Wrap
