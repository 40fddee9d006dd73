#!/usr/bin/env bash
# setup-ocr.sh — installs what internal/document (MRZ and proof-of-address
# OCR) needs:
#   - Debian's `tesseract-ocr` and its English LSTM data (`tesseract-ocr-eng`);
#   - English data that also carries tesseract's legacy (pattern) engine,
#     which reads the OCR-B filler '<' far more reliably than the LSTM one:
#     npm package @tesseract.js-data/eng@1.0.0, file 4.0.0/eng.traineddata,
#     pinned by SHA-256 and unpacked to .cache/tessdata/ (git-ignored).
#
# Idempotent: nothing is installed or fetched when already present and
# intact; `apt-get update` runs only when a package must be installed.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
pkg="@tesseract.js-data/eng@1.0.0"
tgz="tesseract.js-data-eng-1.0.0.tgz"
tgz_sha="c9bddf2e2f0a214ac7918f3f4a3caf45e09ce8674fe26662ae7787ac8927f7bb"
data_sha="daa0c97d651c19fba3b25e81317cd697e9908c8208090c94c3905381c23fc047"
dest="$root/.cache/tessdata"

need=()
command -v tesseract >/dev/null 2>&1 || need+=(tesseract-ocr)
ls /usr/share/tesseract-ocr/*/tessdata/eng.traineddata >/dev/null 2>&1 || need+=(tesseract-ocr-eng)
if ((${#need[@]})); then
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			sudo="sudo"
		else
			echo "setup-ocr: need root to install: ${need[*]}" >&2
			exit 1
		fi
	fi
	echo "setup-ocr: installing ${need[*]}"
	$sudo apt-get update
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${need[@]}"
fi

if ! (cd "$dest" 2>/dev/null && echo "$data_sha  eng.traineddata" | sha256sum -c --status); then
	command -v npm >/dev/null 2>&1 || { echo "setup-ocr: npm is needed to fetch $pkg" >&2; exit 1; }
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	echo "setup-ocr: fetching $pkg"
	(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
	(cd "$tmp" && echo "$tgz_sha  $tgz" | sha256sum -c --status) || { echo "setup-ocr: $tgz checksum mismatch" >&2; exit 1; }
	tar -xzf "$tmp/$tgz" -C "$tmp" package/4.0.0/eng.traineddata.gz
	mkdir -p "$dest"
	gunzip -c "$tmp/package/4.0.0/eng.traineddata.gz" >"$tmp/eng.traineddata"
	(cd "$tmp" && echo "$data_sha  eng.traineddata" | sha256sum -c --status) || { echo "setup-ocr: eng.traineddata checksum mismatch" >&2; exit 1; }
	mv "$tmp/eng.traineddata" "$dest/eng.traineddata"
fi

echo "tesseract: $(tesseract --version 2>/dev/null | head -n1 || echo MISSING) ($(command -v tesseract))"
echo "legacy data: $dest/eng.traineddata (sha256 $data_sha)"
