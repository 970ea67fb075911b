#!/bin/sh
# Install what mcr needs to build, test and demo, on Debian, only what is missing.
pkgs="build-essential pkg-config libmemcached-dev libmemcached-tools libjansson-dev memcached
bats bats-support bats-assert mandoc sasl2-bin jq procps clang libclang-rt-14-dev cppcheck clang-tidy
time valgrind"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing (run as root, or install them with apt-get)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null
