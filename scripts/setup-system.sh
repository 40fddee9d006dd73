#!/usr/bin/env bash
# setup-system.sh — installs everything Visage needs from Debian and the
# npm registry beyond Go, in one place:
#
#   libturbojpeg0-dev, libjpeg-turbo-progs  cgo JPEG decoding at reduced scale (internal/imageio);
#                                           the progs regenerate progressive test inputs
#   ffmpeg                                  selfie-video frames (internal/video), fake-camera clips
#   tesseract-ocr, tesseract-ocr-eng        MRZ and proof-of-address OCR (internal/document)
#   libzxing-dev                            PDF417 licence barcodes (internal/barcode, cgo); pulls in
#                                           libzxing2, the shared library the binary needs at run time
#   chromium                                headless browser tests of the hosted pages
#   nodejs, default-jdk-headless            the vendor guide's encryptedData snippets (internal/crypto tests)
#
# plus English tesseract data that carries the legacy (pattern) engine, which
# reads the MRZ filler '<' far more reliably than the LSTM one: npm
# @tesseract.js-data/eng@1.0.0, file 4.0.0/eng.traineddata, pinned by SHA-256
# and unpacked to .cache/tessdata/ (git-ignored).
#
# Idempotent: a package already installed is left alone, `apt-get update`
# runs only when something must be installed, and the data is fetched only
# when missing or damaged. Needs root (or sudo) to install packages.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
packages=(libturbojpeg0-dev libjpeg-turbo-progs ffmpeg tesseract-ocr tesseract-ocr-eng libzxing-dev chromium)
if [ "${1:-}" != "--no-test-tools" ]; then
	packages+=(nodejs default-jdk-headless)
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }
need=()
for p in "${packages[@]}"; do
	installed "$p" || need+=("$p")
done
# A program already on PATH from elsewhere counts as installed.
for i in "${!need[@]}"; do
	case ${need[$i]} in
	nodejs) command -v node >/dev/null 2>&1 && unset 'need[i]' ;;
	default-jdk-headless) command -v javac >/dev/null 2>&1 && command -v java >/dev/null 2>&1 && unset 'need[i]' ;;
	chromium) command -v chromium >/dev/null 2>&1 && unset 'need[i]' ;;
	esac
done

if ((${#need[@]})); then
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || { echo "setup-system: need root to install: ${need[*]}" >&2; exit 1; }
		sudo="sudo"
	fi
	echo "setup-system: installing ${need[*]}"
	$sudo apt-get update
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${need[@]}"
fi

# Tesseract's legacy-engine English data.
pkg="@tesseract.js-data/eng@1.0.0"
tgz="tesseract.js-data-eng-1.0.0.tgz"
tgz_sha="c9bddf2e2f0a214ac7918f3f4a3caf45e09ce8674fe26662ae7787ac8927f7bb"
data_sha="daa0c97d651c19fba3b25e81317cd697e9908c8208090c94c3905381c23fc047"
dest="$root/.cache/tessdata"
if ! (cd "$dest" 2>/dev/null && echo "$data_sha  eng.traineddata" | sha256sum -c --status); then
	command -v npm >/dev/null 2>&1 || { echo "setup-system: npm is needed to fetch $pkg" >&2; exit 1; }
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	echo "setup-system: fetching $pkg"
	(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
	(cd "$tmp" && echo "$tgz_sha  $tgz" | sha256sum -c --status) || { echo "setup-system: $tgz checksum mismatch" >&2; exit 1; }
	tar -xzf "$tmp/$tgz" -C "$tmp" package/4.0.0/eng.traineddata.gz
	gunzip -c "$tmp/package/4.0.0/eng.traineddata.gz" >"$tmp/eng.traineddata"
	(cd "$tmp" && echo "$data_sha  eng.traineddata" | sha256sum -c --status) || { echo "setup-system: eng.traineddata checksum mismatch" >&2; exit 1; }
	mkdir -p "$dest"
	mv "$tmp/eng.traineddata" "$dest/eng.traineddata"
fi

version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo MISSING; }
echo "turbojpeg: $(version libturbojpeg0-dev)"
echo "zxing:     $(version libzxing-dev)"
echo "ffmpeg:    $(ffmpeg -hide_banner -version 2>/dev/null | head -n1 || echo MISSING)"
echo "tesseract: $(tesseract --version 2>/dev/null | head -n1 || echo MISSING), legacy data $dest/eng.traineddata"
echo "chromium:  $(chromium --version 2>/dev/null || echo MISSING)"
echo "node:      $(node --version 2>/dev/null || echo MISSING), javac: $(javac -version 2>&1 || echo MISSING)"
