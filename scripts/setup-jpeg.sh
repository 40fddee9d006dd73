#!/usr/bin/env bash
# setup-jpeg.sh — installs libjpeg-turbo's TurboJPEG library and headers
# (Debian `libturbojpeg0-dev`), which internal/imageio links through cgo to
# decode JPEGs at reduced scale in the DCT domain, and `libjpeg-turbo-progs`
# (jpegtran, cjpeg), which regenerates the small progressive JPEG test
# inputs. A build without the library uses `-tags purego` (standard
# library decoder only). At run time a binary built with TurboJPEG needs the
# `libturbojpeg0` package, which the -dev package pulls in.
#
# Idempotent: a package already installed is left alone; `apt-get update`
# runs only when something has to be installed. Needs root (or sudo).
set -euo pipefail

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

need=()
installed libturbojpeg0-dev || need+=(libturbojpeg0-dev)
installed libjpeg-turbo-progs || need+=(libjpeg-turbo-progs)

if ((${#need[@]})); then
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			sudo="sudo"
		else
			echo "setup-jpeg: need root to install: ${need[*]}" >&2
			exit 1
		fi
	fi
	echo "setup-jpeg: installing ${need[*]}"
	$sudo apt-get update
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${need[@]}"
fi

echo "libturbojpeg: $(dpkg-query -W -f='${Version}' libturbojpeg0-dev 2>/dev/null || echo MISSING)"
echo "jpegtran:     $(command -v jpegtran || echo MISSING)"
