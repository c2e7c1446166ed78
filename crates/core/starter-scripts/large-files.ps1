# The largest files under FOLDER, biggest first.
Get-ChildItem -Path $env:FOLDER -Recurse -File -Force -ErrorAction SilentlyContinue |
  Where-Object { $_.Length -gt ([int64]$env:MIN_MB * 1MB) } |
  Sort-Object Length -Descending | Select-Object -First 50 |
  ForEach-Object { "{0,10:N1} MiB  {1:yyyy-MM-dd}  {2}" -f ($_.Length / 1MB), $_.LastWriteTime, $_.FullName }
