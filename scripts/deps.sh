#!/bin/sh
# SPDX-License-Identifier: ISC
# Install the Debian packages mcr needs, only those that are missing (apt-get, non-interactive).
#
#   sh scripts/deps.sh [GROUP...]     GROUP: build (the default), package, dev
#
#   build    compile the tools and run `make demo`
#   package  build the Debian package (`make deb`)
#   dev      everything for development: the test suite (bats, and the application clients
#            that upcoming tests write through), lint, fuzzing, valgrind, benchmarks, the
#            packaging checks (lintian, autopkgtest, systemd-analyze, promtool, zsh)
build="build-essential pkg-config libmemcached-dev libmemcached-tools libjansson-dev memcached"
package="debhelper dpkg-dev fakeroot lintian"
dev="bats bats-support bats-assert mandoc sasl2-bin jq procps time bsdextrautils
clang libclang-rt-14-dev cppcheck clang-tidy valgrind
python3-pylibmc php-cli php-memcached
$package autopkgtest systemd prometheus zsh"

[ $# -gt 0 ] || set -- build
pkgs=
for g; do
	case $g in
	build) pkgs="$pkgs $build" ;;
	package) pkgs="$pkgs $package" ;;
	dev) pkgs="$pkgs $dev" ;;
	*)
		echo "deps: unknown group $g (build, package or dev)" >&2
		exit 2
		;;
	esac
done

missing=
for p in $pkgs; do
	case " $missing " in *" $p "*) continue ;; esac
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
