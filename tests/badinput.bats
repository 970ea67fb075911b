#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Bad input: every case exits exactly 2 (never a crash), prints nothing on stdout and one line on
# stderr that names the problem, and sends nothing: the servers stay empty (HACKING.md "Messages").

bats_require_minimum_version 1.5.0
load helper
load mcrlib

setup() { start_servers 2; }

# bad TOOL PATTERN ARGS...: exit 2, empty stdout, one stderr line "TOOL: ..." matching the ERE
# PATTERN (case-insensitive)
bad() {
	local tool=$1 pat=$2 ok="" args
	shift 2
	args="$tool $*"
	args=${args:0:200}
	run --separate-stderr "$tool" "$@" </dev/null
	[ "$status" -eq 2 ] || fail "$args: exit $status, expected 2; stderr: ${stderr:0:500}"
	[ -z "$output" ] || fail "$args: stdout not empty: $output"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "$args: ${#stderr_lines[@]} stderr lines: ${stderr:0:500}"
	[[ ${stderr_lines[0]} == "$tool: "?* ]] || fail "$args: message without the program name: ${stderr:0:300}"
	shopt -s nocasematch
	[[ ${stderr_lines[0]} =~ $pat ]] && ok=1
	shopt -u nocasematch
	[ -n "$ok" ] || fail "$args: message does not name the problem (/$pat/): ${stderr_lines[0]:0:300}"
}

# bad3 PATTERN ARGS...: the same for mcrset ARGS k v, mcrget ARGS k and mcrdel ARGS k
bad3() {
	local pat=$1
	shift
	bad mcrset "$pat" "$@" k v
	bad mcrget "$pat" "$@" k
	bad mcrdel "$pat" "$@" k
}

@test "no server at all" {
	bad3 'server'
}

@test "empty server lists: '', ',', 'a,,b'" {
	bad3 'server|empty' -s ''
	bad3 'server|empty' -s ','
	bad3 'server|empty|host' -s "$(srv 0),,$(srv 1)"
	bad3 'server|empty|host' -s "$SERVERS,"
	assert_servers_empty
}

@test "bad ports: 0, 65536, abc, -1; bad weight" {
	bad3 'port' -s "$SERVERS,127.0.0.1:0"
	bad3 'port' -s "$SERVERS,127.0.0.1:65536"
	bad3 'port' -s "$SERVERS,127.0.0.1:abc"
	bad3 'port' -s "$SERVERS,127.0.0.1:-1"
	bad3 'port' -s "$SERVERS,127.0.0.1:99999999999999999999"
	bad3 'weight' -s "$SERVERS,127.0.0.1:11211:abc"
	assert_servers_empty
}

@test "an over-long hostname (2000 bytes) and an over-long entry (10000 bytes)" {
	local h2k h10k w10k
	h2k=$(printf 'a%.0s' {1..2000})
	h10k=$(printf 'b%.0s' {1..10000})
	w10k=$(printf '1%.0s' {1..10000})
	bad3 'long|host|server' -s "$SERVERS,$h2k:11211"
	bad3 'long|host|server' -s "$SERVERS,$h2k"
	bad3 'long|host|server' -s "$h10k:11211,$SERVERS"
	bad3 'long|weight|server' -s "$SERVERS,127.0.0.1:11211:$w10k"
	bad3 'long|server|socket|path' -s "/$h10k"
	assert_servers_empty
}

@test "unknown --hash and --distribution" {
	bad3 'hash' -s "$SERVERS" --hash=nope
	bad3 'hash' -s "$SERVERS" --hash=
	bad3 'distribution' -s "$SERVERS" --distribution=nope
	assert_servers_empty
}

@test "random and vbucket distributions are refused (option, behaviour, configuration)" {
	bad3 'random|distribution' -s "$SERVERS" --distribution=random
	bad3 'bucket|distribution' -s "$SERVERS" --distribution=vbucket
	bad3 'bucket|distribution' -s "$SERVERS" --distribution=virtual_bucket
	# MEMCACHED_DISTRIBUTION_RANDOM = 3, MEMCACHED_DISTRIBUTION_VIRTUAL_BUCKET = 6
	bad3 'random|distribution|behavio' -s "$SERVERS" --behavior=DISTRIBUTION=3
	bad3 'bucket|distribution|behavio' -s "$SERVERS" --behavior=distribution=6
	bad3 'random|distribution' --config="--SERVER=$(srv 0) --SERVER=$(srv 1) --DISTRIBUTION=random"
	assert_servers_empty
}

@test "-r larger than servers-1, negative, huge, trailing garbage" {
	bad3 '2 replicas need at least 3 servers' -s "$SERVERS" -r 2
	bad3 '5 replicas need at least 6 servers' -s "$SERVERS" --replicas=5
	bad3 'replica|-r' -s "$SERVERS" -r -1
	bad3 'replica|-r' -s "$SERVERS" -r 99999999999999999999
	bad3 'replica|-r' -s "$SERVERS" -r 1x
	bad3 'replica|-r' -s "$SERVERS" -r ''
	bad3 'replica' --config="--SERVER=$(srv 0) --SERVER=$(srv 1) --NUMBER-OF-REPLICAS=2"
	assert_servers_empty
}

@test "-t: 0, negative, not a number, huge" {
	bad mcrget '^mcrget: --timeout: "abc" is not a ' -s "$SERVERS" --timeout=abc k
	bad3 'timeout|-t' -s "$SERVERS" -t 0
	bad3 'timeout|-t' -s "$SERVERS" -t -5
	bad3 'timeout|-t' -s "$SERVERS" -t abc
	bad3 'timeout|-t' -s "$SERVERS" -t 99999999999999999999
	assert_servers_empty
}

@test "--expire and --flags out of range" {
	bad mcrset 'expire|-e' -s "$SERVERS" --expire -5 k v
	bad mcrset 'expire|-e' -s "$SERVERS" -e abc k v
	bad mcrset 'expire|-e' -s "$SERVERS" -e 99999999999999999999 k v
	bad mcrset 'flags|-f' -s "$SERVERS" --flags 4294967296 k v
	bad mcrset 'flags|-f' -s "$SERVERS" -f -1 k v
	bad mcrset 'flags|-f' -s "$SERVERS" -f 1.5 k v
	assert_servers_empty
}

@test "empty key" {
	mcrset -s "$SERVERS" a v </dev/null
	bad mcrset 'key' -s "$SERVERS" '' v
	bad mcrget 'key' -s "$SERVERS" ''
	bad mcrget 'key' -s "$SERVERS" a ''
	bad mcrdel 'key' -s "$SERVERS" a ''
	bad mcrget 'key' -s "$SERVERS" --where ''
	# nothing was deleted either
	run -0 mcrget -s "$SERVERS" a
}

@test "key over 250 bytes, namespace included" {
	local k250 k251 k245 k240
	k250=$(printf 'k%.0s' {1..250})
	k251=${k250}x
	k245=${k250:0:245}
	k240=${k250:0:240}
	bad mcrset 'key|long|250' -s "$SERVERS" "$k251" v
	bad mcrget 'key|long|250' -s "$SERVERS" "$k251"
	bad mcrdel 'key|long|250' -s "$SERVERS" "$k251"
	bad mcrget 'key|long|250' -s "$SERVERS" --where "$k251"
	bad mcrset 'key|long|250' -s "$SERVERS" --namespace=0123456789 "$k245" v
	bad mcrget 'key|long|250' -s "$SERVERS" --namespace=0123456789 "$k245"
	bad mcrdel 'key|long|250' -s "$SERVERS" --namespace=0123456789 "$k245"
	assert_servers_empty
	# the limits themselves are fine
	run -0 mcrset -s "$SERVERS" "$k250" v </dev/null
	run -0 mcrget -s "$SERVERS" "$k250"
	assert_output v
	run -0 mcrset -s "$SERVERS" --namespace=0123456789 "$k240" w </dev/null
	run -0 mcrget -s "$SERVERS" --namespace=0123456789 "$k240"
	assert_output w
}

@test "unreadable --file, --config-file, --password-file" {
	local nf=$BATS_TEST_TMPDIR/does-not-exist
	bad mcrset 'does-not-exist' -s "$SERVERS" --file="$nf" k
	bad mcrset "$BATS_TEST_TMPDIR|directory|read" -s "$SERVERS" --file="$BATS_TEST_TMPDIR" k
	bad3 'does-not-exist' --config-file="$nf"
	bad3 'does-not-exist' -s "$SERVERS" -u user --password-file="$nf"
	bad mcrset 'does-not-exist' -s "$SERVERS" --batch "$nf"
	assert_servers_empty
}

@test "unknown option, missing KEY, extra operands" {
	bad3 'bogus' -s "$SERVERS" --bogus
	bad3 'Z' -s "$SERVERS" -Z
	bad mcrset 'key|usage|operand|argument|missing' -s "$SERVERS"
	bad mcrget 'key|usage|operand|argument|missing' -s "$SERVERS"
	bad mcrdel 'key|usage|operand|argument|missing' -s "$SERVERS"
	bad mcrget 'key|usage|operand|argument|missing' -s "$SERVERS" --where
	bad mcrset 'operand|argument|usage|many|extra' -s "$SERVERS" k v extra
	bad mcrset 'add|replace|append|prepend|one|mode' -s "$SERVERS" --add --replace k v
	bad mcrset 'append|prepend|one|mode' -s "$SERVERS" --append --prepend k v
	assert_servers_empty
}

@test "errors that guide: did you mean, ambiguous abbreviations, no value taken as a key, commas" {
	# a typo one or two edits away is named; a name near nothing is only unknown
	bad mcrget 'unknown option --wehre; did you mean --where\?' -s "$SERVERS" --wehre k
	bad mcrverify 'unknown option --sever; did you mean --servers\?' --sever="$SERVERS" k
	bad mcrcopy 'unknown option --rebiuld; did you mean --rebuild\?' -s "$SERVERS" --rebiuld="$(srv 0)"
	bad mcrverify '^mcrverify: unknown option --xyzzy \(try --help\)$' -s "$SERVERS" --xyzzy k
	# the value of a mistyped option is never shown: it may be a password
	bad mcrget '^mcrget: unknown option --pasword-file; did you mean --password-file\? \(try --help\)$' \
		-s "$SERVERS" --pasword-file=s3cret k
	bad mcrget '^mcrget: unknown option --passwrd \(try --help\)$' -s "$SERVERS" --passwrd=s3cret k
	# an abbreviation of several options lists them; a unique one still works
	bad mcrverify 'ambiguous option --re: .*--repair.*--replicas' -s "$SERVERS" --re k
	run -0 mcrverify -s "$SERVERS" --repa=missing -n k
	# a value given to an option that takes none
	bad mcrverify 'option --all takes no value' -s "$SERVERS" --all=yes
	# an optional value given with a space would check a key named majority with the default
	# policy: refused, with the two ways to say it
	bad mcrverify "--repair majority: give the value with '=' \(--repair=majority\), or a key of that name after --" \
		-s "$SERVERS" --repair majority
	run -0 mcrverify -s "$SERVERS" -v --repair -n -- majority
	[[ $output == *majority* ]] || fail "the key named majority was not checked: $output"
	run -0 mcrverify -s "$SERVERS" --repair -n other
	# servers separated by a space instead of a comma
	bad3 'bad port; separate servers with commas' -s "$(srv 0) $(srv 1)"
	bad3 'space in host name; separate servers with commas' -s "a b"
	assert_servers_empty
}

@test "bad --behavior names and values" {
	bad3 'NO_SUCH_THING|behavio' -s "$SERVERS" --behavior=NO_SUCH_THING=1
	bad3 'TCP_NODELAY|behavio' -s "$SERVERS" --behavior=TCP_NODELAY
	bad3 'TCP_NODELAY|behavio|abc|number' -s "$SERVERS" --behavior=TCP_NODELAY=abc
	bad3 'behavio' -s "$SERVERS" --behavior==1
	bad3 'behavio|replica' -s "$SERVERS" --behavior=NUMBER_OF_REPLICAS=-1
	assert_servers_empty
}

@test "a bad --config string shows the library's own message" {
	bad3 'syntax error|pars' --config="--SERVER=$(srv 0) --SERVER=$(srv 1) --NO-SUCH-OPTION"
	bad3 'syntax error|pars' --config='garbage'
	printf '%s\n' '--SERVER=' >"$BATS_TEST_TMPDIR/cfg"
	bad3 'syntax error|pars|server' --config-file="$BATS_TEST_TMPDIR/cfg"
	LIBMEMCACHED='--NO-SUCH-OPTION' bad3 'syntax error|pars'
	assert_servers_empty
}

@test "--format=xml" {
	bad3 'format|xml' -s "$SERVERS" --format=xml
	bad3 'format' -s "$SERVERS" --format=
	assert_servers_empty
}

@test "--min-copies: 0, more than the copies, not a number" {
	bad mcrset 'min-copies|-w|copies' -s "$SERVERS" --min-copies=0 k v
	bad mcrset 'min-copies|-w|copies' -s "$SERVERS" -w 3 k v
	bad mcrset 'min-copies|-w|copies' -s "$SERVERS" -r 0 -w 2 k v
	bad mcrset 'min-copies|-w|copies' -s "$SERVERS" -w most k v
	bad mcrset 'min-copies|-w|copies' -s "$SERVERS" -w -1 k v
	assert_servers_empty
}

@test "--copy out of range; bad --server" {
	bad mcrget 'copy' -s "$SERVERS" --copy=2 k
	bad mcrget 'copy' -s "$SERVERS" -r 0 --copy=1 k
	bad mcrget 'copy' -s "$SERVERS" --copy=-1 k
	bad mcrget 'copy' -s "$SERVERS" --copy=x k
	bad mcrget 'port|server' -s "$SERVERS" --server=127.0.0.1:0 k
	bad mcrget 'port|server' -s "$SERVERS" --server=127.0.0.1:abc k
}

@test "-u without a password" {
	bad3 'password' -s "$SERVERS" -u user
	bad3 'password' -s "$SERVERS" --username=user
	assert_servers_empty
}

@test "-q still prints the one line for bad input" {
	bad mcrget 'port' -q -s "$SERVERS,127.0.0.1:0" k
	bad mcrset 'replica' -q -s "$SERVERS" -r 7 k v
}
