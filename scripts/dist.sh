#!/bin/sh
# SPDX-License-Identifier: ISC
# The release tarball, and a check that it stands on its own.
#
#   sh scripts/dist.sh VERSION      mcr-VERSION.tar.gz: the files git tracks at HEAD, under
#                                   mcr-VERSION/ (uncommitted changes are not in it)
#   sh scripts/dist.sh -c VERSION   unpack mcr-VERSION.tar.gz into a temp dir and run make check
#                                   there; the dir is removed when it passes, kept when not
#
# VERSION comes from config.mk; debian/changelog and NEWS must name it, or there is no tarball.
prog=dist
die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 2
}

check=
[ "$1" = -c ] && { check=1; shift; }
v=$1
[ -n "$v" ] || die "usage: sh scripts/dist.sh [-c] VERSION"
cd "$(dirname "$0")/.." || exit 2
tarball=mcr-$v.tar.gz

if [ -n "$check" ]; then
	[ -f "$tarball" ] || die "no $tarball: run make dist first"
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcr-distcheck.XXXXXX") || die "cannot create a temp dir"
	tar -xzf "$tarball" -C "$tmp" || die "cannot unpack $tarball"
	if (cd "$tmp/mcr-$v" && make check); then
		rm -rf "$tmp"
		echo "$prog: $tarball builds and passes make check on its own"
		exit 0
	fi
	echo "$prog: make check failed in $tmp/mcr-$v (kept)" >&2
	exit 1
fi

cl=$(sed -n '1s/^mcr (\([^)]*\)).*/\1/p' debian/changelog)
[ "$cl" = "$v" ] || die "debian/changelog is at ${cl:-?}, config.mk at $v: add a debian/changelog entry"
news=$(sed -n 's/^mcr \([0-9][^ ]*\) .*/\1/p' NEWS | head -n 1)
[ "$news" = "$v" ] || die "NEWS is at ${news:-?}, config.mk at $v: add a NEWS entry"
git rev-parse --verify -q HEAD >/dev/null 2>&1 || die "make dist needs a git checkout"
git diff-index --quiet HEAD -- 2>/dev/null ||
	echo "$prog: warning: uncommitted changes are not in $tarball (it holds HEAD)" >&2
git archive --format=tar --prefix="mcr-$v/" HEAD | gzip -n -9 >"$tarball.tmp" &&
	mv "$tarball.tmp" "$tarball" || { rm -f "$tarball.tmp"; die "git archive failed"; }
echo "$tarball"
