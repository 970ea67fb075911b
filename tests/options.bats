#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# The options of every tool are the same in `TOOL --help`, man/TOOL.1 (with mcr(7) for the
# options all tools share), the bash completion
# (completions/mcr.bash, run for real) and the zsh completion (completions/_mcr, read as
# text), down to whether each option takes a value; the man pages lint clean; --help and
# --version behave.

# shellcheck disable=SC2154 # stderr is set by `run --separate-stderr`
bats_require_minimum_version 1.5.0
load helper

ROOT=$BATS_TEST_DIRNAME/..
TOOLS=$(sed -n 's/^TOOLS *= *//p' "$ROOT/Makefile")
VERSION=$(sed -n 's/^VERSION *= *//p' "$ROOT/config.mk")

setup() {
	[ -n "$TOOLS" ] || fail "no TOOLS line in the Makefile"
}

# Each source prints `--name KIND` lines, sorted, KIND being none, required or optional.

# from `TOOL --help`: the first long option of each option line, and what follows it
help_opts() {
	bounded "$MCR_BIN/$1" --help | awk '
		/^ +-/ && match($0, /--[a-z][a-z0-9-]*(=\[|\[=|=)?/) {
			o = substr($0, RSTART, RLENGTH); k = "none"
			if (o ~ /(=\[|\[=)$/) k = "optional"; else if (o ~ /=$/) k = "required"
			sub(/[=[]+$/, "", o); print o, k
		}' | sort -u
}

# the mdoc source that documents TOOL's options: man/TOOL.1, and the COMMON OPTIONS section of
# mcr(7), which every page refers to for the options all tools share
man_src() {
	cat "$ROOT/man/$1.1"
	sed -n '/^\.Sh COMMON OPTIONS/,/^\.Sh /p' "$ROOT/man/mcr.7"
}

# from the mdoc source: the long option of each `.It Fl` entry
man_opts() {
	man_src "$1" | awk '
		/^\.It .*Fl \\-[a-z]/ {
			s = substr($0, index($0, "Fl \\-") + 3)
			gsub(/\\-/, "-", s) # `Fl \-all` is --all: Fl adds one dash
			match(s, /^-[a-z][a-z0-9-]*/)
			o = "-" substr(s, 1, RLENGTH); rest = substr(s, RLENGTH + 1)
			k = "none"
			if (rest ~ /^ Ns Op =/) k = "optional"; else if (rest ~ /^ Ns =/) k = "required"
			print o, k
		}' | sort -u
}

# every --option mentioned anywhere in the rendered man/TOOL.1
man_mentions() {
	mandoc -Tascii "$ROOT/man/$1.1" | col -b | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

# from the bash completion, by running it on `TOOL --<TAB>` (valued options end in =)
bash_opts() {
	bash -c '
		source "$1" || exit 1
		f=$(complete -p "$2" 2>/dev/null | sed -n "s/.* -F \([^ ]*\) .*/\1/p")
		[ -n "$f" ] || { echo "no completion registered for $2" >&2; exit 1; }
		COMP_WORDS=("$2" --) COMP_CWORD=1 COMP_LINE="$2 --" COMP_POINT=${#COMP_LINE}
		"$f" "$2" -- "$2"
		printf "%s\n" "${COMPREPLY[@]}"' bash_opts "$ROOT/completions/mcr.bash" "$1" |
		awk '/=$/ { sub(/=$/, ""); eq[$0] = 1; next } { plain[$0] = 1 }
			END {
				for (o in plain) print o, (o in eq) ? "optional" : "none"
				for (o in eq) if (!(o in plain)) print o, "required"
			}' | sort -u
}

# from the zsh completion: the common specs plus those of the tool's case branch
zsh_opts() {
	awk -v tool="$1" '
		/^common=\(/ { inc = 1; next }
		inc && /^\)/ { inc = 0; next }
		/^case / { incase = 1; next }
		incase && /^[a-z|]+\)/ { split(substr($0, 1, index($0, ")") - 1), t, "|"); intool = 0; for (i in t) if (t[i] == tool) intool = 1; next }
		incase && /^esac/ { incase = intool = 0 }
		inc || intool' "$ROOT/completions/_mcr" |
		sed -E -e 's/\[[^]]*\]//g' -e 's/\((-[-a-zA-Z]*|\*| )+\)//g' |
		grep -oE -- '--[a-z][a-z0-9-]*(=-|=)?' |
		awk '{ k = "none"; if ($0 ~ /=-$/) k = "optional"; else if ($0 ~ /=$/) k = "required"
			sub(/=-?$/, ""); print $0, k }' | sort -u
}

names() { cut -d' ' -f1 | sort -u; }

# the tools that have a man page (the first test reports those that lack one)
documented() {
	local t
	for t in $TOOLS; do [ ! -f "$ROOT/man/$t.1" ] || echo "$t"; done
}

# compare NAME-A FILE-A NAME-B FILE-B TOOL: appends to $problems the lines only one file has
compare() {
	local d
	d=$(comm -3 "$2" "$4" | awk -v a="$1" -v b="$3" '{ if (sub(/^\t/, "")) print "    only in " b ": " $0; else print "    only in " a ": " $0 }')
	[ -z "$d" ] || problems+="$5:"$'\n'"$d"$'\n'
}

@test "every tool's long options are the same in --help, man/TOOL.1, completions/mcr.bash and completions/_mcr" {
	local t problems=
	for t in $TOOLS; do
		[ -x "$MCR_BIN/$t" ] || { problems+="$t: no $MCR_BIN/$t"$'\n'; continue; }
		[ -f "$ROOT/man/$t.1" ] || { problems+="$t: no man/$t.1"$'\n'; continue; }
		help_opts "$t" | names >"$BATS_TEST_TMPDIR/$t.help"
		[ -s "$BATS_TEST_TMPDIR/$t.help" ] || problems+="$t: no options found in --help"$'\n'
		man_opts "$t" | names >"$BATS_TEST_TMPDIR/$t.man"
		bash_opts "$t" | names >"$BATS_TEST_TMPDIR/$t.bash"
		zsh_opts "$t" | names >"$BATS_TEST_TMPDIR/$t.zsh"
		compare --help "$BATS_TEST_TMPDIR/$t.help" "man/$t.1" "$BATS_TEST_TMPDIR/$t.man" "$t"
		compare --help "$BATS_TEST_TMPDIR/$t.help" completions/mcr.bash "$BATS_TEST_TMPDIR/$t.bash" "$t"
		compare --help "$BATS_TEST_TMPDIR/$t.help" completions/_mcr "$BATS_TEST_TMPDIR/$t.zsh" "$t"
	done
	[ -z "$problems" ] || fail "long options differ:"$'\n'"$problems"
}

@test "every option takes a value (or an optional one) alike in --help, the man page and both completions" {
	local t problems=
	for t in $(documented); do
		help_opts "$t" >"$BATS_TEST_TMPDIR/$t.help"
		man_opts "$t" >"$BATS_TEST_TMPDIR/$t.man"
		bash_opts "$t" >"$BATS_TEST_TMPDIR/$t.bash"
		zsh_opts "$t" >"$BATS_TEST_TMPDIR/$t.zsh"
		compare --help "$BATS_TEST_TMPDIR/$t.help" "man/$t.1" "$BATS_TEST_TMPDIR/$t.man" "$t"
		compare --help "$BATS_TEST_TMPDIR/$t.help" completions/mcr.bash "$BATS_TEST_TMPDIR/$t.bash" "$t"
		compare --help "$BATS_TEST_TMPDIR/$t.help" completions/_mcr "$BATS_TEST_TMPDIR/$t.zsh" "$t"
	done
	[ -z "$problems" ] || fail "option arguments differ (--name none|required|optional):"$'\n'"$problems"
}

@test "the short options in --help are those of the man page" {
	local t problems=
	for t in $(documented); do
		bounded "$MCR_BIN/$t" --help | grep -oE '^ +-[a-zA-Z],' | tr -d ' ,' | sort -u >"$BATS_TEST_TMPDIR/$t.hs"
		man_src "$t" | grep '^\.It Fl [a-zA-Z]\>' | awk '{ print "-" $3 }' | sort -u >"$BATS_TEST_TMPDIR/$t.ms"
		compare --help "$BATS_TEST_TMPDIR/$t.hs" "man/$t.1" "$BATS_TEST_TMPDIR/$t.ms" "$t"
	done
	[ -z "$problems" ] || fail "short options differ:"$'\n'"$problems"
}

@test "every --option a man page mentions exists in one of the tools" {
	local t all problems='' unknown
	all=$(for t in $TOOLS; do help_opts "$t"; done | names)
	for t in $(documented) mcr; do
		if [ "$t" = mcr ]; then
			unknown=$(mandoc -Tascii "$ROOT/man/mcr.7" | col -b | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u | comm -23 - <(echo "$all"))
		else
			unknown=$(man_mentions "$t" | comm -23 - <(echo "$all"))
		fi
		[ -z "$unknown" ] || problems+="$t: $(tr '\n' ' ' <<<"$unknown")"$'\n'
	done
	[ -z "$problems" ] || fail "man pages mention options no tool has:"$'\n'"$problems"
}

@test "the completion scripts parse and complete every tool" {
	local t problems=
	run -0 bash -n "$ROOT/completions/mcr.bash"
	if command -v zsh >/dev/null; then
		run -0 zsh -n "$ROOT/completions/_mcr"
	fi
	for t in $TOOLS; do
		bash -c 'source "$1" && complete -p "$2"' _ "$ROOT/completions/mcr.bash" "$t" >/dev/null 2>&1 ||
			problems+="completions/mcr.bash registers no completion for $t"$'\n'
	done
	run -0 head -n 1 "$ROOT/completions/_mcr"
	for t in $TOOLS; do
		[[ "$output " == "#compdef"*" $t "* ]] || problems+="completions/_mcr: #compdef does not name $t"$'\n'
	done
	[ -z "$problems" ] || fail "$problems"
}

# bash_complete WORD...: what the bash completion offers for the words, the last one completed
bash_complete() {
	bash -c 'source "$1" || exit 1; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mcr "$1"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$ROOT/completions/mcr.bash" "$@"
}

@test "bash completes the cluster's servers for --rebuild and --server, and behaviour names" {
	run -0 bash_complete mcrcopy -s 'a:1,b:2:5,/tmp/s,[::1]:5:2' --rebuild = ''
	assert_output $'a:1\nb:2\n/tmp/s\n[::1]:5'
	run -0 bash_complete mcrcopy --servers=c1:11211,c2:11211 --rebuild = c2
	assert_output c2:11211
	MEMCACHED_SERVERS=x:1,y:2 run -0 bash_complete mcrget --server ''
	assert_output $'x:1\ny:2'
	run -0 bash_complete mcrget --behavior = NUMBER_OF
	assert_output NUMBER_OF_REPLICAS=
	run -0 bash_complete mcrdel --dr
	assert_output --dry-run
}

# zsh_complete LINE: what a real interactive zsh offers for LINE (tests/zcomplete.zsh)
zsh_complete() { timeout $((90 * ${MCR_SLOW:-1})) zsh -f "$BATS_TEST_DIRNAME/zcomplete.zsh" "$ROOT/completions" "$1"; }

@test "zsh completes options, their values, the cluster's servers and behaviour names in a real zsh" {
	command -v zsh >/dev/null || fail "zsh is needed: apt-get install zsh"
	local t
	# every tool's long options, as --help lists them
	for t in $TOOLS; do
		run -0 zsh_complete "$t --"
		diff <(grep -o '^--[a-z][a-z-]*' <<<"$output" | sort -u) <(help_opts "$t" | cut -d' ' -f1 | sort -u) ||
			fail "$t: zsh offers other long options than --help lists"
	done
	run -0 zsh_complete 'mcrverify --repair='
	assert_output $'--repair=missing\n--repair=primary\n--repair=majority'
	run -0 zsh_complete 'mcrget --format='
	assert_line --format=json
	run -0 zsh_complete 'mcrcopy -s a:1,b:2:5,/tmp/s --rebuild='
	assert_output $'--rebuild=a:1\n--rebuild=b:2\n--rebuild=/tmp/s'
	MEMCACHED_SERVERS=x:1,y:2 run -0 zsh_complete 'mcrget --server='
	assert_output $'--server=x:1\n--server=y:2'
	run -0 zsh_complete 'mcrget --behavior=NUMBER_OF'
	assert_output --behavior=NUMBER_OF_REPLICAS=
}

@test "mandoc -Tlint -W warning is clean for every man page" {
	local pages=() t
	for t in $(documented); do pages+=("$ROOT/man/$t.1"); done
	pages+=("$ROOT/man/mcr.7")
	run -0 mandoc -Tlint -W warning "${pages[@]}"
	assert_output ""
}

@test "TOOL --version prints 'TOOL (mcr) VERSION' and exits 0; -V the same" {
	local t
	[ -n "$VERSION" ] || fail "no VERSION in config.mk"
	for t in $TOOLS; do
		run -0 --separate-stderr bounded "$MCR_BIN/$t" --version
		assert_output "$t (mcr) $VERSION"
		assert_equal "$stderr" ""
		run -0 --separate-stderr bounded "$MCR_BIN/$t" -V
		assert_output "$t (mcr) $VERSION"
	done
}

@test "TOOL --help prints the usage on stdout and exits 0; -h the same" {
	local t
	for t in $TOOLS; do
		run -0 --separate-stderr bounded "$MCR_BIN/$t" --help
		assert_line --index 0 --regexp "^usage: $t "
		assert_equal "$stderr" ""
		local help=$output
		run -0 --separate-stderr bounded "$MCR_BIN/$t" -h
		assert_output "$help"
	done
}
