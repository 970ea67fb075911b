#!/bin/sh
# SPDX-License-Identifier: ISC
# The Debian package, and the test suite against it once installed.
#
#   sh scripts/deb.sh VERSION           build mcr_VERSION_ARCH.deb and check it with lintian
#   sh scripts/deb.sh VERSION check     the same, then install it (dpkg -i, as root), run the
#                                       bats suite against /usr/bin, and purge it again unless
#                                       mcr was installed before
#
# The package is built with dpkg-buildpackage -us -uc -b in build/deb/mcr-VERSION, a copy of
# the tree (the files git tracks, as they are in the work tree; or the whole of an unpacked
# release tarball), so that the source tree gets no debian/ build files. The .deb, .changes,
# .buildinfo (and the -dbgsym .deb) stay in build/deb; the .deb is copied to the top directory,
# for `apt install ./mcr_VERSION_ARCH.deb`. Lintian must report no error and no warning.
prog=deb
die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 2
}

v=$1 what=$2
[ -n "$v" ] || die "usage: sh scripts/deb.sh VERSION [check]"
cd "$(dirname "$0")/.." || exit 2
top=$(pwd)
start=$(date +%s)
arch=$(dpkg --print-architecture) || die "dpkg is needed"
cl=$(dpkg-parsechangelog -S Version) || die "dpkg-parsechangelog is needed (dpkg-dev)"
[ "$cl" = "$v" ] || die "debian/changelog is at $cl, config.mk at $v: add a debian/changelog entry"

out=build/deb
src=$out/mcr-$v
rm -rf "$out" && mkdir -p "$src" || die "cannot create $src"
if git rev-parse --verify -q HEAD >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$src"
else
	tar --exclude=./build --exclude='./mcr_*' --exclude='./mcr-*.tar.gz' -cf - . | tar -xf - -C "$src"
fi || die "cannot copy the tree to $src"

(cd "$src" && dpkg-buildpackage -us -uc -b) || die "dpkg-buildpackage failed"
deb=mcr_${v}_$arch.deb
changes=$out/mcr_${v}_$arch.changes
[ -f "$out/$deb" ] && [ -f "$changes" ] || die "no $out/$deb or no $changes"
echo "$prog: lintian $changes"
lintian --info --display-info --pedantic --fail-on error,warning "$changes" || die "lintian failed"
cp "$out/$deb" "$deb" || exit 2
echo "$prog: $deb built in $(($(date +%s) - start)) s"
[ "$what" = check ] || exit 0

[ "$(id -u)" -eq 0 ] || die "installing the package needs root"
before=$(dpkg-query -W -f='${Status}' mcr 2>/dev/null)
dpkg -i "$deb" || die "dpkg -i $deb failed"
case $before in
*"ok installed"*) echo "$prog: mcr was installed before: the new package stays installed" ;;
*) trap 'dpkg -P mcr >/dev/null || echo "$prog: dpkg -P mcr failed" >&2' EXIT ;;
esac
make -s O="$top/build/deb-check" "$top/build/deb-check/lmrepl" || die "cannot build the test helper"
MCR_BIN=/usr/bin MCR_TESTBIN=$top/build/deb-check bats tests
rc=$?
echo "$prog: the suite against the installed package exited $rc after $(($(date +%s) - start)) s"
exit $rc
