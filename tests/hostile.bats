#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Hostile input and exact output (issue 13): every server from any source passes the same
# checks, every number is range-checked where it is parsed, every read is bounded, a reply
# frame is checked against what its request allows, dumps say where they end and keep expiry
# times exact, output is exact for any server name, and a closed stdout ends a run quietly.
# Input cases assert exit 2, the one line naming what is wrong, and that nothing was sent:
# memcached's connection counters (`stats` curr_connections, total_connections) are the
# same before and after, but for the one connection that reads them.

bats_require_minimum_version 1.5.0
load helper
load mcrlib

mcrverify() { timeout -k 2 60 "$MCR_BIN/mcrverify" "$@"; }
mcrcopy() { timeout -k 2 60 "$MCR_BIN/mcrcopy" "$@"; }
lmrepl() { timeout -k 2 60 "$MCR_BIN/lmrepl" "$@"; }
export -f mcrverify mcrcopy

FAKEPIDS=()
setup() {
	D=$BATS_TEST_TMPDIR
	start_servers 2
}

teardown() {
	local p
	for p in "${FAKEPIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	stop_all
	[ -z "${SOCKDIR:-}" ] || rm -rf "$SOCKDIR"
}

# conns I: "curr_connections total_connections" of server I (this connection included)
conns() {
	mc "$1" stats | awk '$2 == "curr_connections" { c = $3 } $2 == "total_connections" { t = $3 }
		END { print c, t }'
}

# snap: the counters of every server; unsent: nothing reached any server since snap
snap() {
	local i
	SNAP=()
	for i in "${!PORTS[@]}"; do SNAP[$i]=$(conns "$i"); done
}
unsent() {
	local i now c t
	for i in "${!PORTS[@]}"; do
		now=$(conns "$i")
		read -r c t <<<"${SNAP[$i]}"
		[ "$now" = "$c $((t + 1))" ] || fail "server $i was contacted: before '${SNAP[$i]}', after '$now'"
	done
}

# bad TOOL PATTERN ARGS...: exit 2, empty stdout, one stderr line "TOOL: ..." matching the ERE
# PATTERN (case-insensitive), and no server contacted
bad() {
	local tool=$1 pat=$2 ok="" args
	shift 2
	args="$tool $*"
	args=${args:0:200}
	snap
	run --separate-stderr "$tool" "$@" </dev/null
	[ "$status" -eq 2 ] || fail "$args: exit $status, expected 2; stderr: ${stderr:0:500}"
	[ -z "$output" ] || fail "$args: stdout not empty: ${output:0:300}"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "$args: ${#stderr_lines[@]} stderr lines: ${stderr:0:500}"
	[[ ${stderr_lines[0]} == "$tool: "?* ]] || fail "$args: message without the program name: ${stderr:0:300}"
	shopt -s nocasematch
	[[ ${stderr_lines[0]} =~ $pat ]] && ok=1
	shopt -u nocasematch
	[ -n "$ok" ] || fail "$args: message does not name the problem (/$pat/): ${stderr_lines[0]:0:300}"
	unsent
}

# bad5 PATTERN ARGS...: the same for each of the five tools, ARGS naming the servers
bad5() {
	local pat=$1
	shift
	bad mcrset "$pat" "$@" k v
	bad mcrget "$pat" "$@" k
	bad mcrdel "$pat" "$@" k
	bad mcrverify "$pat" "$@" k
	bad mcrcopy "$pat" "$@" --to="$SERVERS" k
}

LONG=$(printf 'a%.0s' {1..300})

# ---------------------------------------------------------------------------------------------
# servers: the same checks from every source

@test "a socket path over sun_path from a configuration (string, file, LIBMEMCACHED): exit 2 in all five tools, nothing sent" {
	local cfg="--SERVER=$(srv 0) --SERVER=$(srv 1) --SOCKET=\"/tmp/$LONG\""
	bad5 'SOCKET=.*socket path too long' --config="$cfg"
	printf '%s\n' "--SERVER=$(srv 0)" "--SOCKET=\"/tmp/$LONG\"" >"$D/cfg"
	bad5 'SOCKET=.*socket path too long' --config-file="$D/cfg"
	LIBMEMCACHED=$cfg bad5 '^[a-z]+: LIBMEMCACHED: .*socket path too long'
	# the limit itself: 107 bytes fit sun_path with its NUL, 108 do not
	local p107 p108
	p107=/tmp/$(printf 's%.0s' {1..102})
	p108=${p107}s
	bad mcrget 'socket path too long' --config="--SOCKET=\"$p108\"" k
	bad mcrget 'socket path too long' -s "$p108" k
	run -0 mcrget --config="--SERVER=$(srv 0) --SOCKET=\"$p107\"" --where k
	# a relative or unquoted socket path, a control byte in one
	bad mcrget 'start with /' --config='--SOCKET="tmp/x"' k
	bad mcrget 'double quotes' --config='--SOCKET=/tmp/x' k
	bad mcrget 'control character' --config=$'--SOCKET="/tmp/a\tb"' k
}

@test "a server named twice, from any source, is refused by name" {
	local a b
	a=$(srv 0) b=$(srv 1)
	bad5 '--servers: server "127\.0\.0\.1:[0-9]+" is listed twice' -s "$a,$b,$a"
	bad5 'listed twice' --config="--SERVER=$a --SERVER=$b --SERVER=$a"
	MEMCACHED_SERVERS="$a,$b,$a" bad5 '^[a-z]+: MEMCACHED_SERVERS: server .* listed twice'
	# one name in two spellings: the default port, a host name's case, a weight
	bad mcrget 'listed twice' -s "localhost,localhost:11211" k
	bad mcrget 'listed twice' -s "LocalHost:1,localhost:1" k
	bad mcrget 'listed twice' -s "$a:2,$a" k
	bad mcrget 'listed twice' --config="--SERVER=abc --SERVER=ABC:11211" k
	bad mcrget 'listed twice' -s "/tmp/mc.sock,$a,/tmp/mc.sock" k
	# a host and its address are two names: the tools cannot know they are one server
	run -0 mcrget -s "localhost:${PORTS[0]},$a" -r 1 --where k
}

@test "every number in a configuration is range-checked before libmemcached reads it" {
	local s="--SERVER=$(srv 0) --SERVER=$(srv 1)"
	# libmemcached reads 99999999999 as 1215752191
	bad5 'NUMBER-OF-REPLICAS=99999999999: out of range \(0 to 1000000\)' --config="$s --NUMBER-OF-REPLICAS=99999999999"
	bad mcrget 'CONNECT-TIMEOUT=2147483648: out of range' --config="$s --CONNECT-TIMEOUT=2147483648" k
	bad mcrget 'POOL-MAX=4294967297: out of range' --config="$s --POOL-MAX=4294967297" k
	bad mcrget 'SERVER=127.0.0.1:99999: port' --config="--SERVER=127.0.0.1:99999" k
	bad mcrget 'weight' --config="--SERVER=$(srv 0)/?0" k
	bad mcrget 'INCLUDE' --config="$s INCLUDE \"$D/x\"" k
	run -0 mcrget --config="$s --NUMBER-OF-REPLICAS=1 --CONNECT-TIMEOUT=2147483647" --where k
}

@test "--behavior: a value the behaviour cannot hold is an error, not a default" {
	local h
	for h in 11 12 99 18446744073709551615; do
		bad5 "--behavior: hash: $h is not a hash number" -s "$SERVERS" --behavior=hash="$h"
	done
	bad mcrget 'KETAMA_HASH: 99 is not a hash number' -s "$SERVERS" --behavior=KETAMA_HASH=99 k
	bad5 'distribution: 99 is not a distribution number' -s "$SERVERS" --behavior=distribution=99
	bad mcrget 'distribution: 7 is not a distribution' -s "$SERVERS" --behavior=distribution=7 k
	bad5 'number_of_replicas: 99999999999 is out of range \(0 to 1000000\)' -s "$SERVERS" \
		--behavior=number_of_replicas=99999999999
	bad mcrget 'sort_hosts: 2 is not 0 \(off\) or 1 \(on\)' -s "$SERVERS" --behavior=sort_hosts=2 k
	bad mcrget 'connect_timeout: 2147483648 is out of range' -s "$SERVERS" --behavior=connect_timeout=2147483648 k
	bad mcrget 'io_msg_watermark: 4294967296 is out of range' -s "$SERVERS" --behavior=io_msg_watermark=4294967296 k
	# the values themselves work, and place keys as the named options do
	run -0 mcrget -s "$SERVERS" --behavior=hash=10 --where k
	local byname=$output
	run -0 mcrget -s "$SERVERS" --hash=murmur3 --where k
	assert_equal "$output" "$byname"
	run -0 mcrget -s "$SERVERS" --behavior=distribution=2 --behavior=sort_hosts=1 --where k
}

@test "--namespace: 1 to 127 bytes, checked before libmemcached (option and configuration)" {
	local n127 n128 k123 k124
	n127=$(printf 'n%.0s' {1..127})
	n128=${n127}n
	k123=$(printf 'k%.0s' {1..123})
	k124=${k123}k
	bad5 '--namespace: must be 1 to 127 bytes' -s "$SERVERS" --namespace="$n128"
	bad mcrget '--namespace: must be 1 to 127 bytes' -s "$SERVERS" --namespace= k
	bad5 '--config: --NAMESPACE: longer than 127 bytes' --config="--SERVER=$(srv 0) --SERVER=$(srv 1) --NAMESPACE=$n128"
	# no raw pointer from libmemcached in any message
	bad mcrget '^mcrget: --config: [^(]*$' --config="--SERVER=$(srv 0) --NAMESPACE=\"a b\"" k
	# the limits: a 127-byte namespace and a 123-byte key make 250 bytes
	run -0 mcrset -s "$SERVERS" --namespace="$n127" "$k123" v </dev/null
	run -0 mcrget -s "$SERVERS" --namespace="$n127" "$k123"
	assert_output v
	run -0 mcrget --config="--SERVER=$(srv 0) --SERVER=$(srv 1) --NAMESPACE=$n127" "$k123"
	assert_output v
	bad mcrget 'key too long with the namespace' -s "$SERVERS" --namespace="$n127" "$k124"
}

@test "mcrcopy: errors about the destination name --to and its --to-* options" {
	bad mcrcopy '^mcrcopy: --to: server "127\.0\.0\.1:[0-9]+" is listed twice$' -s "$SERVERS" --to="$(srv 0),$(srv 0)" k
	bad mcrcopy '^mcrcopy: --to: server 2 \("127\.0\.0\.1:0"\): port' -s "$SERVERS" --to="$(srv 0),127.0.0.1:0" k
	bad mcrcopy '^mcrcopy: --to: .*SOCKET=.*socket path too long' -s "$SERVERS" --to="--SOCKET=\"/tmp/$LONG\"" k
	bad mcrcopy '^mcrcopy: --to: 3 replicas need at least 4 servers' -s "$SERVERS" --to="$SERVERS" --to-replicas=3 k
	bad mcrcopy '^mcrcopy: --to-distribution: unknown distribution' -s "$SERVERS" --to="$SERVERS" --to-distribution=x k
	bad mcrcopy '^mcrcopy: --to-hash: unknown hash' -s "$SERVERS" --to="$SERVERS" --to-hash=x k
	bad mcrcopy '^mcrcopy: --to: no servers' -s "$SERVERS" --to="--NUMBER-OF-REPLICAS=0" k
	bad mcrcopy '^mcrcopy: --to: empty server list' -s "$SERVERS" --to= k
	# the source's errors still name the source's options
	bad mcrcopy '^mcrcopy: --servers: server .* listed twice' -s "$(srv 0),$(srv 0)" --to="$SERVERS" k
}

# ---------------------------------------------------------------------------------------------
# bounded reads

@test "files too large to be what they claim are refused after a bounded read: --config-file, --password-file /dev/zero" {
	bad5 '--config-file: /dev/zero: larger than 1048576 bytes' --config-file=/dev/zero
	bad mcrget '--password-file: /dev/zero: larger than 65536 bytes' -s "$SERVERS" -u u --password-file=/dev/zero k
	head -c 2000000 /dev/zero | tr '\0' ' ' >"$D/big.cfg"
	bad mcrget 'larger than 1048576 bytes' --config-file="$D/big.cfg" k
	bad mcrget 'Is a directory' --config-file="$D" k
}

@test "a value over 1 GiB, or over what the binary protocol carries, is refused before anything is sent" {
	# sparse files: refused by their size, never read
	truncate -s $((4294967295 - 24 - 8 - 1 + 1)) "$D/over4g"
	truncate -s $((1073741824 + 1)) "$D/over1g"
	bad mcrset 'over4g: value over 1 GiB' -s "$SERVERS" --file="$D/over4g" k
	bad mcrset 'over1g: value over 1 GiB' -s "$SERVERS" --file="$D/over1g" k
	# in a batch, the byte count says so before any data is read
	printf 'set k 0 0 1073741825\r\n' >"$D/b"
	bad mcrset "$D/b:1: bad byte count" -s "$SERVERS" --batch "$D/b"
	printf 'set k 0 0 4294967296\r\n' >"$D/b"
	bad mcrset "$D/b:1: bad byte count" -s "$SERVERS" --batch "$D/b"
}

@test "batch and dump input without a newline, or endless, stops after a bounded read" {
	local rss
	bad mcrset '/dev/zero:1: command line too long' -s "$SERVERS" --batch /dev/zero
	snap
	run --separate-stderr bash -c 'head -c 300000000 /dev/zero | tr "\0" a |
		/usr/bin/time -f "rss %M" "$MCR_BIN/mcrcopy" --from=- --to="$1" --to-replicas=1' _ "$SERVERS"
	[ "$status" = 2 ] || fail "exit $status: $stderr"
	[[ ${stderr_lines[0]} == "mcrcopy: stdin: item at line 1: command line too long (at most 1024 bytes)" ]] ||
		fail "stderr: $stderr"
	rss=$(sed -n 's/^rss //p' <<<"$stderr")
	# a few MiB (more under ASan), not the 300 MB it was sent
	[ "$rss" -lt 150000 ] || fail "max RSS $rss KiB"
	unsent
	# a key file line
	printf '%s\n' "$(printf 'k%.0s' {1..752})" >"$D/keys"
	bad mcrverify "$D/keys:1: line too long" -s "$SERVERS" -k "$D/keys"
	bad mcrverify '/dev/zero:1: line too long' -s "$SERVERS" -k /dev/zero
}

@test "a reply frame is checked against what its request allows: 1 GiB announced for a delete, a key over 250 bytes" {
	start_fake huge-delete
	run -1 --separate-stderr mcrdel -s "$FAKE" -r 0 k
	[[ $stderr == "mcrdel: k: $FAKE (primary): unreachable: protocol error: oversized response" ]] ||
		fail "stderr: $stderr"
	start_fake long-key
	run -2 --separate-stderr mcrget -s "$FAKE" -r 0 k
	[[ $stderr == *"protocol error: bad lengths in a response"* ]] || fail "stderr: $stderr"
	start_fake text
	run -1 --separate-stderr mcrset -s "$FAKE" -r 0 k v
	[[ $stderr == *"unreachable: the server answered in text: ERROR Too many open connections"* ]] ||
		fail "stderr: $stderr"
}

# ---------------------------------------------------------------------------------------------
# key files

@test "-k: a directory and a read error are trouble; CRLF and blank lines as documented; a second -k refused" {
	mcrset -s "$SERVERS" k1 v1
	mcrset -s "$SERVERS" k2 v2
	bad mcrverify "$D: Is a directory" -s "$SERVERS" -k "$D"
	bad mcrcopy "$D: Is a directory" -s "$SERVERS" --to="$SERVERS" --to-replicas=1 -k "$D"
	# reading /proc/self/mem from offset 0 fails with EIO
	bad mcrverify '/proc/self/mem:1: Input/output error' -s "$SERVERS" -k /proc/self/mem
	bad mcrverify '--keys-from: given twice' -s "$SERVERS" -k "$D/a" -k "$D/b"
	bad mcrcopy '--keys-from: given twice' -s "$SERVERS" --to="$SERVERS" --to-replicas=1 --keys-from="$D/a" -k "$D/a"
	# CRLF lines, blank CRLF lines, a blank last line and no final newline
	printf 'k1\r\n\r\n\r\nk2\r\n\n' >"$D/crlf"
	run -0 mcrverify -s "$SERVERS" -k "$D/crlf"
	assert_output --regexp '^checked 2 keys in '
	run -0 mcrverify -s "$SERVERS" -k - <"$D/crlf"
	assert_output --regexp '^checked 2 keys in '
	printf 'k1\r\nk2' >"$D/nofinal"
	run -0 mcrverify -s "$SERVERS" -k "$D/nofinal"
	assert_output --regexp '^checked 2 keys in '
	# a lone \r is a blank line, not a key; a \r inside a key is percent-encoded
	printf 'k1\r\n\r\nk%%0D2\n' >"$D/cr"
	run -0 mcrverify -s "$SERVERS" -k "$D/cr"
	assert_output --regexp '^checked 2 keys in '
	mcrset -s "$SERVERS" $'k\r2' v
	run -0 mcrcopy -s "$SERVERS" --to="$SERVERS" --to-replicas=1 -k "$D/cr"
	assert_output --regexp '^0 copied, 2 already present, '
}

@test "the key-list spool of --all is created in TMPDIR" {
	mcrset -s "$SERVERS" k1 v1
	mkdir "$D/tmp"
	TMPDIR=$D/tmp run -0 mcrverify -s "$SERVERS" -a
	assert_output --regexp '^checked 1 key in '
	# a TMPDIR where no file can be created: every listing fails there, naming it
	TMPDIR=$D/none run -2 --separate-stderr mcrverify -s "$SERVERS" -a
	[[ ${stderr_lines[0]} == "mcrverify: $(srv 0): cannot list keys: cannot create a temporary file for the key list in $D/none: No such file or directory" ]] ||
		fail "stderr: $stderr"
	TMPDIR=$D/none run -2 --separate-stderr mcrcopy -s "$SERVERS" -a --to=-
	[[ $stderr == *"cannot create a temporary file for the key list in $D/none"* ]] || fail "stderr: $stderr"
}

# ---------------------------------------------------------------------------------------------
# dumps

@test "a dump ends with the end mark mn, which memcached itself accepts: the dump replays with nc" {
	local i
	for i in 1 2 3; do mcrset -s "$SERVERS" -e 1000 -f "$i" "d$i" "value $i"; done
	mcrcopy -s "$SERVERS" -a --to=- >"$D/dump" 2>"$D/err"
	[ "$(tail -c 4 "$D/dump")" = $'mn\r' ] || fail "dump ends with: $(tail -c 20 "$D/dump" | od -c)"
	[ "$(grep -ac '^set ' "$D/dump")" = 3 ]
	# replayed into a fresh memcached as nc would: every item stored, then MN
	start_server_at 2
	{ cat "$D/dump"; printf 'quit\r\n'; } |
		timeout 5 bash -c "exec 9<>/dev/tcp/127.0.0.1/${PORTS[2]}; cat >&9; cat <&9" | tr -d '\r' >"$D/replies"
	[ "$(cat "$D/replies")" = $'STORED\nSTORED\nSTORED\nMN' ] || fail "replies: $(cat "$D/replies")"
	run -0 mcrget -s "$(srv 2)" d1 d2 d3
	assert_output $'value 1\nvalue 2\nvalue 3'
	# a dump of nothing is still marked whole
	run -0 --separate-stderr mcrcopy -s "$(srv 1)" -r 0 -k /dev/null --to=-
	assert_output $'mn\r'
}

@test "restore requires the end mark: a dump cut at an item's end is trouble, unless --no-end-mark" {
	mcrset -s "$SERVERS" a1 v1
	mcrset -s "$SERVERS" a2 v2
	mcrcopy -s "$SERVERS" -a --to=- >"$D/dump" 2>/dev/null
	head -c -4 "$D/dump" >"$D/cut"
	grep -aq '^mn' "$D/cut" && fail "the cut dump still has its end mark"
	start_server_at 2
	run -2 --separate-stderr mcrcopy --from=- --to="$(srv 2)" <"$D/cut"
	[[ $stderr == 'mcrcopy: stdin: the dump ends without its end mark (a line "mn"): it was cut short; '* ]] ||
		fail "stderr: $stderr"
	[ "${#stderr_lines[@]}" = 1 ] || fail "stderr: $stderr"
	# the items read whole were written, as with a truncated item
	run -0 mcrget -s "$(srv 2)" a1 a2
	run -0 --separate-stderr mcrcopy --from=- --to="$(srv 2)" --no-end-mark --overwrite <"$D/cut"
	assert_output --regexp '^2 copied, 0 already present, 0 expired, 0 failed in '
	# empty input: no dump at all
	run -2 --separate-stderr mcrcopy --from=- --to="$(srv 2)" </dev/null
	[[ $stderr == *"without its end mark"* ]] || fail "stderr: $stderr"
	run -0 mcrcopy --from=- --to="$(srv 2)" --no-end-mark </dev/null
	# dumps concatenated: each ends with its mark, the input ends with one
	cat "$D/dump" "$D/dump" | mcrcopy --from=- --to="$(srv 2)" --overwrite
	bad mcrcopy '--no-end-mark is for a restore' -s "$SERVERS" -a --to=- --no-end-mark
}

@test "a dump with bare \\n line ends is accepted by restore and by mcrset --batch" {
	printf 'set n1 0 0 2\nv1\nset n2 5 0 5\na\r\nbc\nmn\n' >"$D/lf"
	run -0 mcrcopy --from=- --to="$SERVERS" --to-replicas=1 <"$D/lf"
	assert_output --regexp '^2 copied, '
	mcrget -s "$SERVERS" -o "$D/n2" n2
	[ "$(od -An -c "$D/n2" | tr -s ' ')" = ' a \r \n b c' ] || fail "n2: $(od -c "$D/n2")"
	run -0 mcrset -s "$SERVERS" --batch "$D/lf"
	# a data block followed by neither \r\n nor \n is still refused
	printf 'set n3 0 0 2\nv1x\nmn\n' >"$D/bad"
	run -2 --separate-stderr mcrcopy --from=- --to="$SERVERS" --to-replicas=1 <"$D/bad"
	[[ $stderr == "mcrcopy: stdin: item at line 1: data longer than <bytes> or not ended by \\r\\n" ]] ||
		fail "stderr: $stderr"
}

@test "a dump whose writes fail (/dev/full) says so in its summary and exits 2" {
	lmrepl -s "$SERVERS" setmany full 1200
	run -2 --separate-stderr bash -c '"$MCR_BIN/mcrcopy" -s "$1" -a --to=- --batch=500 >/dev/full' _ "$SERVERS"
	[ "${#stderr_lines[@]}" = 502 ] || fail "stderr: ${#stderr_lines[@]} lines: ${stderr:0:300}"
	[ "$(grep -c ': not copied: the dump could not be written$' <<<"$stderr")" = 500 ]
	assert_equal "${stderr_lines[500]}" 'mcrcopy: standard output: No space left on device: the dump is incomplete'
	# the first batch failed and the run stopped there: nothing counted copied
	[[ ${stderr_lines[501]} =~ ^0\ copied,\ 0\ already\ present,\ 0\ expired,\ 500\ failed\ in\ [0-9.]+\ s$ ]] ||
		fail "summary: ${stderr_lines[501]}"
	run -2 --separate-stderr bash -c '"$MCR_BIN/mcrcopy" -s "$1" -a --to=- --format=json >/dev/full' _ "$SERVERS"
	jq -e '.copied == 0 and .failed == 500' <<<"${stderr_lines[-1]}"
	# -q: nothing said, the exit status tells
	run -2 --separate-stderr bash -c '"$MCR_BIN/mcrcopy" -s "$1" -a --to=- -q >/dev/full' _ "$SERVERS"
	[ -z "$stderr" ] || fail "-q: $stderr"
}

# metadump's exp of every key on server I, sorted: "key exp" lines (read up to its END: the
# crawler streams after the commands that follow it, such as the quit of mc)
exps() {
	timeout 10 bash -c 'exec 9<>"/dev/tcp/127.0.0.1/$1"; printf "lru_crawler metadump all\r\n" >&9
		while IFS= read -r l <&9; do l=${l%$'\''\r'\''}; [ "$l" = END ] && break; echo "$l"; done' _ "${PORTS[$1]}" |
		sed -n 's/^key=\([^ ]*\) exp=\([^ ]*\) .*/\1 \2/p' | sort
}

# the set lines of a dump, sorted
sets() { grep -a '^set ' "$1" | tr -d '\r' | sort; }

@test "expiry times are exact across dump, restore and copy hops (three hops, then a dump again)" {
	local n=3000 i
	stop_all
	start_servers 8
	local A="$(srv 0),$(srv 1)" B="$(srv 2),$(srv 3)" C="$(srv 4),$(srv 5)" E="$(srv 6),$(srv 7)"
	# relative TTLs, as applications set them, over more than a second of the servers' clocks
	for ((i = 0; i < n; i++)); do
		printf 'set t%d 0 %d 1\r\nx\r\n' "$i" $((1000 + i % 997))
	done >"$D/batch"
	mcrset -s "$A" -r 1 --batch "$D/batch"
	sleep 1.2
	mcrset -s "$A" -r 1 -e 500 late v
	# hop 1: dump; hop 2: restore; hop 3: copy, every key listed
	mcrcopy -s "$A" -r 1 -a --to=- >"$D/dump1" 2>/dev/null
	mcrcopy --from=- --to="$B" --to-replicas=1 <"$D/dump1"
	sleep 1.3
	run -0 mcrcopy -s "$B" -r 1 -a --to="$C" --to-replicas=1
	assert_output --regexp "^$((n + 1)) copied, "
	sleep 1.1
	mcrcopy -s "$C" -r 1 -a --to=- >"$D/dump2" 2>/dev/null
	# the same times at the end as at the start: each copy expires when its source copy (the
	# one the first dump took) does; the two copies on A may differ by a second, as each server
	# added the TTL to its own clock
	diff <(sets "$D/dump1") <(sets "$D/dump2") >"$D/diff" || fail "dumps differ: $(head -n 6 "$D/diff")"
	sets "$D/dump1" | awk '{ print $2, $4 }' | sort >"$D/want"
	for i in 2 3 4 5; do
		diff "$D/want" <(exps "$i") >"$D/diff" ||
			fail "server $i differs from the source: $(head -n 6 "$D/diff") ($(grep -c '^>' "$D/diff") keys)"
	done
	# and a fourth hop, restored from the last dump
	mcrcopy --from=- --to="$E" --to-replicas=1 <"$D/dump2"
	for i in 6 7; do
		diff "$D/want" <(exps "$i") >"$D/diff" || fail "server $i differs from the source: $(head -n 6 "$D/diff")"
	done
}

# ---------------------------------------------------------------------------------------------
# output: server names with any byte

# a memcached on a unix socket whose path holds a space and the byte 0xFF: SOCK
start_odd_socket() {
	SOCKDIR=$(mktemp -d /tmp/mcr.XXXXXX)
	SOCK=$SOCKDIR/$'m c\xff.sock'
	memcached -s "$SOCK" -u root </dev/null >"$D/sock.log" 2>&1 3>&- &
	PIDS[9]=$!
	local n=0
	until [ -S "$SOCK" ]; do
		n=$((n + 1))
		[ $n -lt 100 ] || fail "memcached on $SOCK did not start: $(cat "$D/sock.log")"
		sleep 0.05
	done
}

@test "a server name with a space and a byte 0xFF: every copy in every format, text fields one token, diagnostics escaped" {
	start_odd_socket
	local list="$(srv 0),$SOCK" esc k
	esc=$SOCKDIR/'m\x20c\xFF.sock'
	# a key whose copies are on both servers, missing on one
	mcrset -s "$list" -r 1 k1 v1
	mc 0 "delete k1" >/dev/null
	run -1 --separate-stderr mcrverify -s "$list" -r 1 --format=json k1
	jq -e -s --arg b64 "$(printf '%s' "$SOCK" | base64 -w0)" \
		'.[0].copies | length == 2 and any(.server_base64 == $b64)' <<<"$output" >/dev/null ||
		fail "json: $output"
	run -1 --separate-stderr mcrverify -s "$list" -r 1 k1
	for k in "${lines[@]:0:1}"; do
		[ "$(wc -w <<<"$k")" = 4 ] || fail "not 4 tokens: $k"
	done
	assert_line --index 0 --partial "$esc("
	run -1 --separate-stderr mcrverify -s "$list" -r 1 --format=tsv k1
	[[ ${lines[0]} == *"$esc("* ]] || fail "tsv: ${lines[0]}"
	# per-copy records: the server field one token in text, exact in json
	run -0 --separate-stderr mcrset -s "$list" -r 1 -v k2 v2
	for k in "${lines[@]}"; do [ "$(wc -w <<<"$k")" = 4 ] || fail "not 4 tokens: $k"; done
	assert_line --partial " $esc "
	run -0 --separate-stderr mcrget -s "$list" -r 1 --where --format=json k2
	[ "$(jq -s 'map(select(has("server_base64"))) | length' <<<"$output")" = 1 ] || fail "json: $output"
	run -0 --separate-stderr mcrget -s "$list" -r 1 --all k2
	for k in "${lines[@]}"; do [ "$(wc -w <<<"$k")" = 9 ] || fail "not 9 tokens: $k"; done
	# diagnostics: no raw byte, the name escaped as every diagnostic is
	run -0 --separate-stderr mcrget -s "$list" -r 1 -v k2
	[ "$(LC_ALL=C tr -d '\040-\176\n' <<<"$stderr" | wc -c)" = 0 ] || fail "raw bytes: $(od -c <<<"$stderr" | head)"
	[[ $stderr == *"$SOCKDIR/m c\\xFF.sock"* ]] || fail "stderr: $stderr"
	stop_server 9
	run -1 --separate-stderr mcrset -s "$list" -r 1 k3 v3
	[ "$(LC_ALL=C tr -d '\040-\176\n' <<<"$stderr" | wc -c)" = 0 ] || fail "raw bytes: $(od -c <<<"$stderr" | head)"
}

@test "every field of the tsv and json summaries is documented in the tool's page" {
	local f
	mcrset -s "$SERVERS" k v
	# a field is named in the mdoc source as a quoted member (.Qq f) or a list entry (.It Cm f, or
	# one of several: .It Cm a , b)
	documents() { grep -Eq "^\.(It )?(Cm|Qq) ([a-z_]+ , )*$2( |\$)" "$BATS_TEST_DIRNAME/../man/$1.1"; }
	for f in $(mcrverify -s "$SERVERS" --format=json k | jq -r 'keys[]'); do
		documents mcrverify "$f" || fail "mcrverify(1) does not document \"$f\""
	done
	for f in $(mcrcopy -s "$SERVERS" --to="$SERVERS" --to-replicas=1 --format=json k | jq -r 'keys[]'); do
		documents mcrcopy "$f" || fail "mcrcopy(1) does not document \"$f\""
	done
}

# ---------------------------------------------------------------------------------------------
# a closed stdout

@test "a closed stdout (| head -1) ends the run at once and quietly, by SIGPIPE, even if ignored" {
	local i
	# more output than a pipe holds, so no run can write it all before head(1) is gone
	lmrepl -s "$SERVERS" setmany pipe 20000
	# at 2000 keys/s a whole run takes 10 s or more; each stops within its first batches
	run bash -c '"$MCR_BIN/mcrverify" -s "$1" -a -v --rate=2000 --batch=100 --prometheus="$2/prom" 2>"$2/err" | head -n 1 >/dev/null;
		echo "${PIPESTATUS[0]}"' _ "$SERVERS" "$D"
	assert_output 141
	[ ! -s "$D/err" ] || fail "stderr: $(cat "$D/err")"
	[ ! -e "$D/prom" ] || fail "the run went on to its end"
	# SIGPIPE ignored by the parent: the same
	run bash -c 'trap "" PIPE; "$MCR_BIN/mcrverify" -s "$1" -a -v --rate=2000 --batch=100 --prometheus="$2/prom" 2>"$2/err" | head -n 1 >/dev/null;
		echo "${PIPESTATUS[0]}"' _ "$SERVERS" "$D"
	assert_output 141
	[ ! -s "$D/err" ] || fail "stderr: $(cat "$D/err")"
	[ ! -e "$D/prom" ] || fail "the run went on to its end"
	# a dump, mcrcopy -v records, mcrget values
	run bash -c 'trap "" PIPE; "$MCR_BIN/mcrcopy" -s "$1" -a --to=- --rate=2000 --batch=100 2>"$2/err" | head -c 100 >/dev/null;
		echo "${PIPESTATUS[0]}"' _ "$SERVERS" "$D"
	assert_output 141
	[ ! -s "$D/err" ] || fail "stderr: $(cat "$D/err")"
	run bash -c 'trap "" PIPE; "$MCR_BIN/mcrcopy" -s "$1" -a --to="$1" --to-replicas=1 -v --rate=2000 --batch=100 2>"$2/err" | head -n 1 >/dev/null;
		echo "${PIPESTATUS[0]}"' _ "$SERVERS" "$D"
	assert_output 141
	[ ! -s "$D/err" ] || fail "stderr: $(cat "$D/err")"
	head -c 100000 /dev/zero | tr '\0' v >"$D/big"
	for i in 1 2 3; do mcrset -s "$SERVERS" --file="$D/big" "big$i"; done
	run bash -c 'trap "" PIPE; "$MCR_BIN/mcrget" -s "$1" big1 big2 big3 2>"$2/err" | head -c 1 >/dev/null;
		echo "${PIPESTATUS[0]}"' _ "$SERVERS" "$D"
	assert_output 141
	[ ! -s "$D/err" ] || fail "stderr: $(cat "$D/err")"
}

# A fake memcached (perl) that answers every binary request with what MODE says:
# huge-delete: a header announcing a 1 GiB body, and nothing more;
# long-key: a GET reply with a key length of 300; text: memcached's refusal at its -c limit.
start_fake() {
	local mode=$1 pf=$D/fake.$1.port n=0
	cat >"$D/fake.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::INET;
my ($portfile, $mode) = @ARGV;
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 64, ReuseAddr => 1)
	or die "listen: $!";
open(my $fh, '>', "$portfile.tmp") or die;
print $fh $srv->sockport, "\n";
close $fh;
rename("$portfile.tmp", $portfile) or die;
$SIG{CHLD} = 'IGNORE';
while (1) {
	my $c = $srv->accept or next;
	my $pid = fork;
	if (!defined $pid || $pid) { close $c; next; }
	close $srv;
	binmode $c;
	my $h = '';
	while (length($h) < 24) { sysread($c, $h, 24 - length($h), length($h)) or exit 0; }
	my ($magic, $op, $klen, $elen, $dt, $vb, $blen, $opaque) = unpack('CCnCCnNN', $h);
	if ($mode eq 'text') { syswrite($c, "ERROR Too many open connections\r\n"); }
	elsif ($mode eq 'huge-delete') { syswrite($c, pack('CCnCCnNNQ>', 0x81, $op, 0, 0, 0, 0, 1 << 30, $opaque, 0)); }
	else { syswrite($c, pack('CCnCCnNNQ>', 0x81, $op, 300, 4, 0, 0, 310, $opaque, 0) . ("x" x 310)); }
	sleep 30;
	exit 0;
}
PERL
	perl "$D/fake.pl" "$pf" "$mode" </dev/null >"$D/fake.$mode.log" 2>&1 3>&- &
	FAKEPIDS+=($!)
	until [ -s "$pf" ]; do
		n=$((n + 1))
		[ $n -lt 100 ] || fail "the fake server did not start: $(cat "$D/fake.$mode.log")"
		sleep 0.05
	done
	FAKE=127.0.0.1:$(<"$pf")
}
