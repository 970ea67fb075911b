#!/bin/sh
# SPDX-License-Identifier: ISC
# Every source file names its license near its top: print the files that do not, exit 1 if any.
#
#   sh scripts/spdx-check.sh [FILE...]     default: the sources of the tree (below)
#
# The line is `SPDX-License-Identifier: ISC` (see LICENSE) in the file's comment syntax, within
# its first 5 lines (after a #! line, a #compdef line or an XML declaration).
id='SPDX-License-Identifier: ISC'
cd "$(dirname "$0")/.." || exit 2

sources() {
	# tracked files in a git checkout, else what a release tarball holds
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files
	else
		find . -path ./build -prune -o -path ./.git -prune -o -path ./debian/mcr -prune \
			-o -path ./debian/.debhelper -prune -o -type f -print | sed 's|^\./||'
	fi | grep -E '^(src/.*\.[ch]|tests/.*\.(c|bats|py|php|zsh)|examples/.*|fuzz/[^/]*\.c|bench/.*\.[ch]|.*\.sh|.*\.bash|Makefile|config\.mk|completions/.*|\.ci/run|debian/rules|debian/mcr\.post[a-z]*|debian/tests/[^/]*|systemd/.*)$' |
		grep -v '^debian/tests/control$'
}

[ $# -gt 0 ] || set -- $(sources)
bad=0
for f; do
	if ! head -n 5 "$f" | grep -q "$id"; then
		echo "$f"
		bad=1
	fi
done
exit $bad
