@echo off
rem Empties the Windows DNS client cache.
ipconfig /flushdns
