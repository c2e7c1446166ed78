# Frees disk space that is safe to free: temp files older than KEEP_DAYS, the update cache.
$days = [int]$env:KEEP_DAYS
$before = (Get-PSDrive C).Free
foreach ($dir in @($env:TEMP, "$env:SystemRoot\Temp")) {
  Get-ChildItem -Path $dir -Recurse -Force -ErrorAction SilentlyContinue |
    Where-Object { -not $_.PSIsContainer -and $_.LastAccessTime -lt (Get-Date).AddDays(-$days) } |
    Remove-Item -Force -ErrorAction SilentlyContinue
}
Stop-Service wuauserv -ErrorAction SilentlyContinue
Remove-Item "$env:SystemRoot\SoftwareDistribution\Download\*" -Recurse -Force -ErrorAction SilentlyContinue
Start-Service wuauserv -ErrorAction SilentlyContinue
$after = (Get-PSDrive C).Free
"free on C: {0:N0} MiB before, {1:N0} MiB after" -f ($before / 1MB), ($after / 1MB)
