#!/usr/bin/env bash
# setup-vendor-clients.sh — installs what internal/crypto's client tests need
# to run the vendor guide's encryptedData snippets and the client code of
# docs/encrypted-data.md: Node.js (`node`) and a JDK (`javac`, `java`, 17 or
# later for java.util.HexFormat).
#
# Idempotent: a program already on PATH is left alone; `apt-get update` runs
# only when something has to be installed. Needs root (or sudo) to install.
set -euo pipefail

need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
if ! command -v javac >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then
	need+=(default-jdk-headless)
fi

if ((${#need[@]})); then
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			sudo="sudo"
		else
			echo "setup-vendor-clients: need root to install: ${need[*]}" >&2
			exit 1
		fi
	fi
	echo "setup-vendor-clients: installing ${need[*]}"
	$sudo apt-get update
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${need[@]}"
fi

echo "node:  $(node --version 2>/dev/null || echo MISSING) ($(command -v node))"
echo "javac: $(javac -version 2>&1 || echo MISSING) ($(command -v javac))"
echo "java:  $(java -version 2>&1 | head -n1 || echo MISSING) ($(command -v java))"
