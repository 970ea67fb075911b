#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# The documentation agrees with the code: usage lines with each page's SYNOPSIS, every option
# of --help with the pages and the completions.

load helper

TOOLS=(mcrset mcrget mcrdel mcrverify mcrcopy)
MAN=$BATS_TEST_DIRNAME/../man

# the SYNOPSIS lines of a page, as mandoc renders them, one per line without indentation
synopsis() {
	MANWIDTH=200 mandoc -Tascii -O width=200 "$MAN/$1.1" | col -b |
		sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed -n 's/^  *//p'
}

# a page as text: rendered NAME (a tool's section 1 page) or rendered mcr.7
rendered() {
	local page=$MAN/$1.1
	[ "$1" != mcr.7 ] || page=$MAN/mcr.7
	MANWIDTH=200 mandoc -Tascii -O width=200 "$page" | col -b
}

# the usage lines of --help, without "usage:" and the indentation
usage() {
	"$MCR_BIN/$1" --help | sed -n '/^usage:/,/^[^ u]/p' | sed -n 's/^\(usage:\)\{0,1\} *\(mcr[a-z]* \)/\2/p'
}

@test "usage lines in --help are the man page SYNOPSIS, line for line" {
	local t
	for t in "${TOOLS[@]}"; do
		diff <(synopsis "$t") <(usage "$t") || fail "$t: --help usage and $t(1) SYNOPSIS differ"
	done
}

@test "every long option in --help is documented in the tool's page or in mcr(7), and completed" {
	local t o
	for t in "${TOOLS[@]}"; do
		while read -r o; do
			rendered "$t" | grep -q -- "$o\b" || rendered mcr.7 | grep -q -- "$o\b" ||
				fail "$t: $o is in --help but in neither $t(1) nor mcr(7)"
			grep -q -- "$o" "$BATS_TEST_DIRNAME/../completions/mcr.bash" ||
				fail "$t: $o is in --help but not in the bash completion"
			grep -q -- "$o" "$BATS_TEST_DIRNAME/../completions/_mcr" ||
				fail "$t: $o is in --help but not in the zsh completion"
		done < <("$MCR_BIN/$t" --help | grep -o -- '--[a-z][a-z-]*' | sort -u)
	done
}
