#!/usr/bin/env bash
# Optional system libraries. QtMultimedia (the in-app preview player) needs libpulse.so.0,
# which desktops have and bare servers lack. Installed when we are root with apt; otherwise
# the app still runs and the preview falls back to opening the exported file.
set -u
if ldconfig -p 2>/dev/null | grep -q 'libpulse.so.0'; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing libpulse0 for QtMultimedia (preview player)…"
  (apt-get install -y -qq libpulse0 >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq libpulse0 >/dev/null 2>&1; }) \
    || echo "note: could not install libpulse0; the in-app preview player will be unavailable"
else
  echo "note: libpulse.so.0 not found; install your distribution's libpulse0 for the in-app preview player"
fi
