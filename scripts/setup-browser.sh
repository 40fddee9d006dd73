#!/usr/bin/env bash
# setup-browser.sh — installs what the browser tests need: Debian's
# `chromium` (driven headless over CDP by internal/web/browsertest) and
# `ffmpeg` (builds the fake-camera .y4m clips, scripts/make-y4m.sh).
#
# Idempotent: a package already on PATH is left alone; `apt-get update` runs
# only when something has to be installed. Needs root (or sudo) to install.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)

if ((${#need[@]})); then
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			sudo="sudo"
		else
			echo "setup-browser: need root to install: ${need[*]}" >&2
			exit 1
		fi
	fi
	echo "setup-browser: installing ${need[*]}"
	$sudo apt-get update
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${need[@]}"
fi

echo "chromium: $(chromium --version 2>/dev/null || echo MISSING) ($(command -v chromium))"
echo "ffmpeg:   $(ffmpeg -hide_banner -version 2>/dev/null | head -n1 || echo MISSING) ($(command -v ffmpeg))"
