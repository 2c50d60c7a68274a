#!/usr/bin/env bash
# Optional system libraries for the desktop app, installed when we are root with apt
# (otherwise we say what is missing and what it costs):
# - libpulse.so.0: QtMultimedia (the in-app preview player); desktops have it, bare servers
#   do not. Without it the preview falls back to opening the exported file.
# - the X11 libraries Qt's xcb platform plugin loads (Qt >= 6.5 lists them in its Linux
#   requirements). Without them the app runs only offscreen (screenshots); desktops have them.
# - espeak-ng: real speech for the speech-detection test and bench/mix.py (skipped without it).
set -u
declare -A PACKAGE=(
  [libpulse.so.0]=libpulse0
  [libxcb-cursor.so.0]=libxcb-cursor0 [libxcb-icccm.so.4]=libxcb-icccm4
  [libxcb-keysyms.so.1]=libxcb-keysyms1 [libxcb-image.so.0]=libxcb-image0
  [libxcb-render-util.so.0]=libxcb-render-util0 [libxcb-shape.so.0]=libxcb-shape0
  [libxcb-xkb.so.1]=libxcb-xkb1 [libxkbcommon-x11.so.0]=libxkbcommon-x11-0
  [libxcb-randr.so.0]=libxcb-randr0
  [libespeak-ng.so.1]=espeak-ng
)
missing=()
for lib in "${!PACKAGE[@]}"; do
  ldconfig -p 2>/dev/null | grep -q "$lib" || missing+=("${PACKAGE[$lib]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} for the desktop app (preview player, X11 window)…"
  (apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; }) \
    || echo "note: could not install ${missing[*]}: without libpulse0 there is no in-app preview player, without the xcb libraries no window on X11 (offscreen screenshots still work)"
else
  echo "note: missing ${missing[*]}: install them with your package manager (libpulse0: the in-app preview player; the xcb libraries: the app's window on X11)"
fi
