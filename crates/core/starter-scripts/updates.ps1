# Lists pending application updates (winget); installs them all when INSTALL is "yes".
if ($env:INSTALL -eq 'yes') {
  winget upgrade --all --silent --accept-package-agreements --accept-source-agreements
} else {
  winget upgrade --accept-source-agreements
}
exit $LASTEXITCODE
