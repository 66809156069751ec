#!/bin/sh
# Installs the Debian packages vouch's tests (or benchmarks, or the demo) need, when any is missing.
# Usage: scripts/system-deps.sh [bench|demo]
# Fast when everything is present: it only checks for the programs.
#
# Demo (restore drills): bwrap (sandbox), prlimit/setpriv (limits, privilege drop),
# initdb/postgres (PostgreSQL checks), sqlite3 (SQLite checks); restic (the demo's restic repository).
# Tests, besides: zstd/openssl/tar/gzip/xz/bzip2/lz4/7zz (archives), restic and borg (repository
# sources, built by the real binaries), real files and real encryption tools
# for detection (gnupg, age, p7zip/7zip, cryptsetup, brotli, netpbm, libjpeg-turbo, qpdf, zip, the
# JDK's jar), pdftotext (printed report), chromium (report and web console in a real browser),
# prometheus (promtool, and a real server for alert tests).
# Benchmarks, besides: lz4, unzip and git derive corpus files; apt-get download + dpkg-deb unpack
# the Debian packages the detection benchmark's real trees are made of; mount makes read-only
# bind mounts of live trees (hard-link copies where mounting is not allowed).
set -eu

need="zstd:zstd openssl:openssl tar:tar gzip:gzip pdftotext:poppler-utils gpg:gnupg age:age 7zr:p7zip cryptsetup:cryptsetup-bin xz:xz-utils bzip2:bzip2 sqlite3:sqlite3 promtool:prometheus /usr/bin/prometheus:prometheus bwrap:bubblewrap cjpeg:libjpeg-turbo-progs pngtopnm:netpbm 7zz:7zip qpdf:qpdf zip:zip brotli:brotli jar:openjdk-17-jdk-headless prlimit:util-linux setpriv:util-linux /usr/bin/chromium:chromium /usr/lib/postgresql/*/bin/initdb:postgresql lz4:lz4 restic:restic borg:borgbackup"
if [ "${1:-}" = "demo" ]; then
  need="bwrap:bubblewrap prlimit:util-linux setpriv:util-linux sqlite3:sqlite3 /usr/lib/postgresql/*/bin/initdb:postgresql restic:restic"
fi
if [ "${1:-}" = "bench" ]; then
  need="$need sha256sum:coreutils b3sum:b3sum /usr/bin/time:time brotli:brotli jpegtran:libjpeg-turbo-progs restic:restic taskset:util-linux lz4:lz4 unzip:unzip git:git dpkg-deb:dpkg mount:mount base64:coreutils"
fi

# A program on PATH, or an executable path (globs allowed: /usr/lib/postgresql/*/bin/initdb).
have() {
  command -v "$1" >/dev/null 2>&1 && return 0
  for candidate in $1; do
    [ -x "$candidate" ] && return 0
  done
  return 1
}

missing=""
for pair in $need; do
  cmd=${pair%%:*}
  pkg=${pair#*:}
  if ! have "$cmd"; then
    case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
  fi
done

[ -z "$missing" ] && exit 0

echo "vouch: installing Debian packages:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "vouch: run as root, or install:$missing" >&2
    exit 1
  fi
else
  SUDO=""
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
