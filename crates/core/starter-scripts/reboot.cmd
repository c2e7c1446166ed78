@echo off
rem Reboots after MINUTES minutes, telling logged-in users why.
rem Delayed expansion (!VAR!) reads values after the line is parsed: a message cannot add commands.
setlocal EnableDelayedExpansion
set /a SECS=!MINUTES!*60
shutdown /r /t !SECS! /c "!MESSAGE!"
echo reboot scheduled in !MINUTES! minute(s)
