#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# mcrset: values from every source, every copy written, storage modes, TTL, flags, --min-copies,
# per-copy reports, --batch, too-large values and a hung replica (HACKING.md "mcrset").

bats_require_minimum_version 1.5.0
load helper
load mcrlib

# a value with NUL, CR, LF and high bytes, plus random bytes
mkbin() {
	printf 'a\0b\0\r\n\377\200 %%s\n' >"$1"
	head -c "${2:-4096}" /dev/urandom >>"$1"
	printf '\0' >>"$1"
}

# every server in 0..N-1 holds exactly the bytes of FILE under KEY (read one server at a time)
assert_all_hold() {
	local key=$1 file=$2 n=$3 i
	for ((i = 0; i < n; i++)); do
		mcrget -s "$SERVERS" --server="$(srv "$i")" "$key" >"$BATS_TEST_TMPDIR/copy.$i" ||
			fail "server $i: mcrget --server exited $?"
		cmp "$file" "$BATS_TEST_TMPDIR/copy.$i" || fail "server $i holds other bytes"
	done
}

@test "value from the argument: quiet success, every copy holds it" {
	start_servers 2
	run -0 --separate-stderr mcrset -s "$SERVERS" k1 hello </dev/null
	assert_output ''
	[ -z "$stderr" ]
	assert_copy 0 k1 hello
	assert_copy 1 k1 hello
	run -0 mcrget -s "$SERVERS" --server="$(srv 0)" k1
	assert_output hello
	run -0 mcrget -s "$SERVERS" --server="$(srv 1)" k1
	assert_output hello
}

@test "value from stdin: '-' and omitted" {
	start_servers 2
	printf 'from stdin\n' >"$BATS_TEST_TMPDIR/in"
	run -0 mcrset -s "$SERVERS" dash - <"$BATS_TEST_TMPDIR/in"
	run -0 mcrset -s "$SERVERS" omitted <"$BATS_TEST_TMPDIR/in"
	assert_all_hold dash "$BATS_TEST_TMPDIR/in" 2
	assert_all_hold omitted "$BATS_TEST_TMPDIR/in" 2
	run -0 mcrset -s "$SERVERS" piped < <(printf 'via a pipe')
	assert_copy 0 piped 'via a pipe'
	assert_copy 1 piped 'via a pipe'
}

@test "value from --file" {
	start_servers 2
	printf 'file contents' >"$BATS_TEST_TMPDIR/v"
	run -0 mcrset -s "$SERVERS" --file="$BATS_TEST_TMPDIR/v" fk </dev/null
	assert_copy 0 fk 'file contents'
	assert_copy 1 fk 'file contents'
	run -0 mcrset -s "$SERVERS" --file "$BATS_TEST_TMPDIR/v" fk2 </dev/null
	assert_copy 1 fk2 'file contents'
}

@test "an empty value is stored" {
	start_servers 2
	run -0 mcrset -s "$SERVERS" ek '' </dev/null
	assert_copy 0 ek ''
	assert_copy 1 ek ''
	run -0 mcrget -s "$SERVERS" ek
	assert_output ''
}

@test "binary values with NUL bytes round-trip exactly (--file, stdin; mcrget -o and stdout)" {
	start_servers 2
	local b=$BATS_TEST_TMPDIR/bin
	mkbin "$b" 4096
	run -0 mcrset -s "$SERVERS" --file="$b" bk </dev/null
	mcrget -s "$SERVERS" -o "$BATS_TEST_TMPDIR/out1" bk
	cmp "$b" "$BATS_TEST_TMPDIR/out1"
	mcrget -s "$SERVERS" bk >"$BATS_TEST_TMPDIR/out2"
	cmp "$b" "$BATS_TEST_TMPDIR/out2"
	assert_all_hold bk "$b" 2

	run -0 mcrset -s "$SERVERS" bk2 <"$b"
	assert_all_hold bk2 "$b" 2
	run -0 mcrset -s "$SERVERS" bk3 - <"$b"
	mcrget -s "$SERVERS" --output="$BATS_TEST_TMPDIR/out3" bk3
	cmp "$b" "$BATS_TEST_TMPDIR/out3"
}

@test "a large value (600 kB) from stdin round-trips" {
	start_servers 2
	head -c 600000 /dev/urandom >"$BATS_TEST_TMPDIR/large"
	run -0 mcrset -s "$SERVERS" large <"$BATS_TEST_TMPDIR/large"
	assert_all_hold large "$BATS_TEST_TMPDIR/large" 2
}

@test "-r 2 with 3 servers: all three servers hold the value" {
	start_servers 3
	run -0 mcrset -s "$SERVERS" -r 2 k3 three </dev/null
	assert_copy 0 k3 three
	assert_copy 1 k3 three
	assert_copy 2 k3 three
}

@test "-r 1 with 3 servers: exactly the primary and replica1 servers hold the value" {
	start_servers 3
	local k p r o
	for k in alpha beta gamma delta; do
		p=$(copy_idx "$k" 3 0) r=$(copy_idx "$k" 3 1) o=$(copy_idx "$k" 3 2)
		run -0 mcrset -s "$SERVERS" --replicas=1 "$k" "v-$k" </dev/null
		assert_copy "$p" "$k" "v-$k"
		assert_copy "$r" "$k" "v-$k"
		assert_no_copy "$o" "$k"
	done
}

@test "--add: key present on the primary -> exit 1, replicas untouched" {
	start_servers 2
	local p r
	p=$(copy_idx ak 2 0) r=$(copy_idx ak 2 1)
	mcset "$p" ak old
	run -1 --separate-stderr mcrset -s "$SERVERS" --add ak new </dev/null
	assert_output ''
	[[ $stderr == *ak* ]] || fail "stderr does not name the key: $stderr"
	assert_copy "$p" ak old
	assert_no_copy "$r" ak

	# the replica keeps its own diverging value too, and the report says skipped
	mcset "$r" ak rold
	run -1 --separate-stderr mcrset -s "$SERVERS" --add --format=tsv ak new </dev/null
	assert_line --index 0 --regexp "^ak${T}$(srv "$p")${T}primary${T}(not-stored|exists)${T}.*$"
	assert_line --index 1 --regexp "^ak${T}$(srv "$r")${T}replica1${T}skipped${T}.*$"
	assert_copy "$p" ak old
	assert_copy "$r" ak rold
}

@test "--add: key absent on the primary -> every copy gets the value" {
	start_servers 2
	local p r
	p=$(copy_idx ak 2 0) r=$(copy_idx ak 2 1)
	run -0 mcrset -s "$SERVERS" --add ak new </dev/null
	assert_copy "$p" ak new
	assert_copy "$r" ak new
	# present on the replica only: the primary decides, the replica is made to match
	p=$(copy_idx ak2 2 0) r=$(copy_idx ak2 2 1)
	mcset "$r" ak2 stale
	run -0 mcrset -s "$SERVERS" --add ak2 fresh </dev/null
	assert_copy "$p" ak2 fresh
	assert_copy "$r" ak2 fresh
}

@test "--replace: absent -> exit 1 nothing stored; present on the primary -> every copy replaced" {
	start_servers 2
	local p r
	run -1 mcrset -s "$SERVERS" --replace rk new </dev/null
	assert_servers_empty

	p=$(copy_idx rk 2 0) r=$(copy_idx rk 2 1)
	mcset "$p" rk old
	run -0 mcrset -s "$SERVERS" --replace rk new </dev/null
	assert_copy "$p" rk new
	assert_copy "$r" rk new

	# present on the replica only: the primary refuses, the replica is skipped
	p=$(copy_idx rk2 2 0) r=$(copy_idx rk2 2 1)
	mcset "$r" rk2 old
	run -1 mcrset -s "$SERVERS" --replace rk2 new </dev/null
	assert_no_copy "$p" rk2
	assert_copy "$r" rk2 old
}

@test "--append and --prepend reach every copy" {
	start_servers 2
	mcset 0 apk ab
	mcset 1 apk ab
	run -0 mcrset -s "$SERVERS" --append apk cd </dev/null
	assert_copy 0 apk abcd
	assert_copy 1 apk abcd
	run -0 mcrset -s "$SERVERS" --prepend apk xy </dev/null
	assert_copy 0 apk xyabcd
	assert_copy 1 apk xyabcd
}

@test "--append to a key missing on a copy: that copy is not stored" {
	start_servers 2
	local p r
	p=$(copy_idx apk 2 0) r=$(copy_idx apk 2 1)
	mcset "$p" apk ab
	run -1 --separate-stderr mcrset -s "$SERVERS" --append --format=tsv apk cd </dev/null
	assert_line --index 0 --regexp "^apk${T}$(srv "$p")${T}primary${T}stored${T}.*$"
	assert_line --index 1 --regexp "^apk${T}$(srv "$r")${T}replica1${T}not-stored${T}.*$"
	assert_copy "$p" apk abcd
	assert_no_copy "$r" apk
	# one copy is enough with -w 1
	run -0 mcrset -s "$SERVERS" --append -w 1 apk ef </dev/null
	assert_copy "$p" apk abcdef
	# missing everywhere
	run -1 mcrset -s "$SERVERS" --prepend nowhere x </dev/null
	assert_no_copy 0 nowhere
	assert_no_copy 1 nowhere
}

# gone KEY...: no server holds any KEY
gone() {
	local i k
	for i in "${!PORTS[@]}"; do
		for k in "$@"; do [ "$(mc "$i" get "$k")" = END ] || return 1; done
	done
}

@test "-e/--expire: every copy gets the TTL; a 1 s TTL expires on every copy" {
	start_servers 2
	local i t set_at
	# a 1 s TTL lasts up to a second (memcached's clock ticks once a second), so whether it is
	# still there after another tool run is luck: each copy is reported stored, holds at most
	# 1 s if it is still there, and is gone from every copy once that second has passed
	run -0 --separate-stderr mcrset -s "$SERVERS" -e 1 --format=json e1 v </dev/null
	jq -se 'length == 2 and all(.[]; .key == "e1" and .result == "stored")' <<<"$output"
	run -0 mcrset -s "$SERVERS" --expire=1 e2 v </dev/null
	for i in 0 1; do
		t=$(ttl_of "$i" e2)
		[ -z "$t" ] || { [ "$t" -ge 0 ] && [ "$t" -le 1 ]; } || fail "server $i: e2 holds a TTL of $t s, not 1"
	done
	# a long one: every copy holds it, counting down from what was given since it was set (less
	# a whole-second clock's own second or two)
	set_at=$(date +%s)
	run -0 mcrset -s "$SERVERS" --expire=1000 e3 v </dev/null
	for i in 0 1; do
		t=$(ttl_of "$i" e3)
		[ -n "$t" ] && [ "$t" -le 1000 ] && [ "$t" -ge $((1000 - ($(date +%s) - set_at) - 2)) ] ||
			fail "server $i: e3 TTL '$t', not 1000 less the $(($(date +%s) - set_at)) s since it was set"
	done
	wait_until -t 5 gone e1 e2
	run -1 mcrget -s "$SERVERS" e1
	run -1 mcrget -s "$SERVERS" e2
	run -0 mcrget -s "$SERVERS" e3
	assert_output v
	for i in 0 1; do
		assert_no_copy "$i" e1
		assert_no_copy "$i" e2
		assert_copy "$i" e3 v
	done
}

@test "-f/--flags: stored on every copy, shown by mcrget --all and json" {
	start_servers 2
	run -0 mcrset -s "$SERVERS" -f 42 fl v </dev/null
	assert_copy 0 fl v 42
	assert_copy 1 fl v 42
	run -0 mcrset -s "$SERVERS" --flags=4294967295 flmax v </dev/null
	assert_copy 0 flmax v 4294967295
	assert_copy 1 flmax v 4294967295

	local p r
	p=$(copy_idx fl 2 0) r=$(copy_idx fl 2 1)
	run -0 mcrget -s "$SERVERS" --all fl
	assert_line --index 0 --regexp "^fl $(srv "$p") primary found 42 1 [0-9]+ -1 [a-z-]+$"
	assert_line --index 1 --regexp "^fl $(srv "$r") replica1 found 42 1 [0-9]+ -1 yes$"
	run -0 mcrget -s "$SERVERS" --format=json fl
	jq -e '.flags == 42 and .value == "v" and .status == "found"' <<<"$output"
	run -0 mcrget -s "$SERVERS" --all --format=json fl
	assert_json_lines
	[ "$(jq -c '.flags' <<<"$output" | sort -u)" = 42 ]
}

@test "-w/--min-copies with a replica server stopped (3 copies)" {
	start_servers 3
	local r2 p
	p=$(copy_idx wk 3 0) r2=$(copy_idx wk 3 2)
	server_down "$r2"
	run -0 mcrset -s "$SERVERS" -r 2 -t 500 -w 2 wk v </dev/null
	assert_copy "$p" wk v
	run -0 mcrset -s "$SERVERS" -r 2 -t 500 --min-copies=majority wk v </dev/null
	run -0 mcrset -s "$SERVERS" -r 2 -t 500 -w 1 wk v </dev/null
	run -1 mcrset -s "$SERVERS" -r 2 -t 500 --min-copies=all wk v </dev/null
	run -1 mcrset -s "$SERVERS" -r 2 -t 500 -w 3 wk v </dev/null
	run -1 --separate-stderr mcrset -s "$SERVERS" -r 2 -t 500 wk v </dev/null
	assert_output ''
	[[ $stderr =~ (^|$'\n')"mcrset: wk: $(srv "$r2") (replica2): ". ]] ||
		fail "no per-copy failure line on stderr: $stderr"
}

@test "the primary's server stopped: set still reaches the replica; add cannot be decided" {
	start_servers 2
	local p r
	p=$(copy_idx pk 2 0) r=$(copy_idx pk 2 1)
	server_down "$p"
	run -1 --separate-stderr mcrset -s "$SERVERS" -t 500 pk v </dev/null
	[[ $stderr == *"mcrset: pk: $(srv "$p") (primary): "?* ]] || fail "stderr: $stderr"
	assert_copy "$r" pk v
	run -0 mcrset -s "$SERVERS" -t 500 -w 1 pk v2 </dev/null
	assert_copy "$r" pk v2
	run -1 --separate-stderr mcrset -s "$SERVERS" -t 500 -w 1 --add --format=tsv pk v3 </dev/null
	assert_line --index 0 --regexp "^pk${T}$(srv "$p")${T}primary${T}unreachable${T}"
	assert_line --index 1 --regexp "^pk${T}$(srv "$r")${T}replica1${T}skipped${T}"
	assert_copy "$r" pk v2
}

@test "-w majority of 2 copies needs both" {
	start_servers 2
	server_down "$(copy_idx mk 2 1)"
	run -1 mcrset -s "$SERVERS" -t 500 -w majority mk v </dev/null
	run -0 mcrset -s "$SERVERS" -t 500 -w 1 mk v </dev/null
}

@test "-v: per-copy text report on stdout" {
	start_servers 2
	local p r
	p=$(copy_idx vk 2 0) r=$(copy_idx vk 2 1)
	run -0 --separate-stderr mcrset -s "$SERVERS" -v vk hello </dev/null
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 0 --regexp "^vk $(srv "$p") primary stored(: .*)?$"
	assert_line --index 1 --regexp "^vk $(srv "$r") replica1 stored(: .*)?$"
}

@test "--format=tsv and --format=json per-copy reports" {
	start_servers 3
	local p r1 r2
	p=$(copy_idx fk 3 0) r1=$(copy_idx fk 3 1) r2=$(copy_idx fk 3 2)
	run -0 --separate-stderr mcrset -s "$SERVERS" -r 2 --format=tsv fk hello </dev/null
	[ "${#lines[@]}" -eq 3 ]
	assert_line --index 0 --regexp "^fk${T}$(srv "$p")${T}primary${T}stored${T}[^${T}]*$"
	assert_line --index 1 --regexp "^fk${T}$(srv "$r1")${T}replica1${T}stored${T}[^${T}]*$"
	assert_line --index 2 --regexp "^fk${T}$(srv "$r2")${T}replica2${T}stored${T}[^${T}]*$"

	run -0 --separate-stderr mcrset -s "$SERVERS" -r 2 --format=json fk hello </dev/null
	assert_json_lines
	jq -se --arg p "$(srv "$p")" --arg r1 "$(srv "$r1")" --arg r2 "$(srv "$r2")" '
		length == 3 and all(.[]; .key == "fk" and .result == "stored") and
		.[0].server == $p and .[0].role == "primary" and
		.[1].server == $r1 and .[1].role == "replica1" and
		.[2].server == $r2 and .[2].role == "replica2"' <<<"$output"
}

# a batch of set/add/set noreply/append with a binary value; writes $BATS_TEST_TMPDIR/batch
mkbatch() {
	local d=$BATS_TEST_TMPDIR
	mkbin "$d/bin" 1000
	{
		printf 'set b1 5 0 3\r\nabc\r\n'
		printf 'add b2 7 0 %d\r\n' "$(stat -c %s "$d/bin")"
		cat "$d/bin"
		printf '\r\nset b3 0 0 2 noreply\r\nxy\r\n'
		printf 'append b1 0 0 3\r\ndef\r\n'
	} >"$d/batch"
}

check_batch() {
	local i
	for i in 0 1; do
		assert_copy "$i" b1 abcdef 5
		assert_copy "$i" b3 xy
	done
	assert_all_hold b2 "$BATS_TEST_TMPDIR/bin" 2
	run -0 mcrget -s "$SERVERS" --format=json b2
	jq -e '.flags == 7 and has("value_base64")' <<<"$output"
}

@test "--batch from a file: set, add, noreply, append, binary value" {
	start_servers 2
	mkbatch
	run -0 --separate-stderr mcrset -s "$SERVERS" --batch "$BATS_TEST_TMPDIR/batch" </dev/null
	assert_output ''
	check_batch
}

@test "--batch from stdin" {
	start_servers 2
	mkbatch
	run -0 --separate-stderr mcrset -s "$SERVERS" --batch <"$BATS_TEST_TMPDIR/batch"
	check_batch
}

@test "--batch per-copy report; a refused add makes exit 1, the other items are stored" {
	start_servers 2
	mkbatch
	run -0 --separate-stderr mcrset -s "$SERVERS" --format=tsv --batch "$BATS_TEST_TMPDIR/batch" </dev/null
	[ "${#lines[@]}" -eq 8 ]
	[ "$(cut -f4 <<<"$output" | sort -u)" = stored ]
	printf 'add b1 0 0 1\r\nz\r\nset b4 0 0 2\r\nok\r\n' >"$BATS_TEST_TMPDIR/b2"
	run -1 --separate-stderr mcrset -s "$SERVERS" --batch "$BATS_TEST_TMPDIR/b2" </dev/null
	assert_copy 0 b4 ok
	assert_copy 1 b4 ok
	assert_copy 0 b1 abcdef 5
	assert_copy 1 b1 abcdef 5
}

@test "--batch: a malformed item reports FILE:LINE, exit 2, nothing stored" {
	start_servers 2
	local f=$BATS_TEST_TMPDIR/bad
	printf 'set m1 0 0 3\r\nabc\r\nset m2 0 0 x\r\nabc\r\n' >"$f"
	run -2 --separate-stderr mcrset -s "$SERVERS" --batch "$f" </dev/null
	assert_output ''
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ ${stderr_lines[0]} == "mcrset: $f:3: "?* ]] || fail "stderr: $stderr"

	printf 'get m1\r\n' >"$f"
	run -2 --separate-stderr mcrset -s "$SERVERS" --batch "$f" </dev/null
	[[ $stderr == "mcrset: $f:1: "?* ]] || fail "stderr: $stderr"

	# a data block shorter than its byte count, after a good item
	printf 'set m1 0 0 3\r\nabc\r\nset m2 0 0 5\r\nabc\r\n' >"$f"
	run -2 --separate-stderr mcrset -s "$SERVERS" --batch "$f" </dev/null
	[[ $stderr =~ ^"mcrset: $f:"[0-9]+": ". ]] || fail "stderr: $stderr"

	# truncated input, flags out of range, a key over 250 bytes
	printf 'set m1 0 0 3\r\nab' >"$f"
	run -2 mcrset -s "$SERVERS" --batch "$f" </dev/null
	printf 'set m1 0 0 3\r\nabc\r\nset m2 4294967296 0 1\r\nz\r\n' >"$f"
	run -2 --separate-stderr mcrset -s "$SERVERS" --batch "$f" </dev/null
	[[ $stderr == "mcrset: $f:3: "?* ]] || fail "stderr: $stderr"
	printf 'set m1 0 0 3\r\nabc\r\nset %s 0 0 1\r\nz\r\n' "$(printf 'k%.0s' {1..251})" >"$f"
	run -2 --separate-stderr mcrset -s "$SERVERS" --batch "$f" </dev/null
	[[ $stderr == "mcrset: $f:3: "?* ]] || fail "stderr: $stderr"

	# from stdin too
	printf 'set m1 0 0 3\r\nabc\r\nbogus m2 0 0 1\r\nz\r\n' >"$f"
	run -2 --separate-stderr mcrset -s "$SERVERS" --batch <"$f"
	[[ $stderr =~ ^mcrset:\ .*:3:\ . ]] || fail "stderr: $stderr"
	assert_servers_empty
}

@test "a value over the server's item size limit: too-large per copy with the reason, exit 1" {
	start_servers 2 -I 1024 -o slab_chunk_max=512
	head -c 2000 /dev/zero | tr '\0' x >"$BATS_TEST_TMPDIR/big"
	local p r
	p=$(copy_idx bigk 2 0) r=$(copy_idx bigk 2 1)
	run -1 --separate-stderr mcrset -s "$SERVERS" --file="$BATS_TEST_TMPDIR/big" bigk </dev/null
	assert_output ''
	[ "${#stderr_lines[@]}" -eq 2 ]
	[[ ${stderr_lines[0]} =~ ^"mcrset: bigk: $(srv "$p") (primary): ". ]] || fail "stderr: $stderr"
	[[ ${stderr_lines[1]} =~ ^"mcrset: bigk: $(srv "$r") (replica1): ". ]] || fail "stderr: $stderr"
	run -1 --separate-stderr mcrset -s "$SERVERS" --format=tsv --file="$BATS_TEST_TMPDIR/big" bigk </dev/null
	assert_line --index 0 --regexp "^bigk${T}$(srv "$p")${T}primary${T}too-large${T}.+$"
	assert_line --index 1 --regexp "^bigk${T}$(srv "$r")${T}replica1${T}too-large${T}.+$"
	assert_no_copy 0 bigk
	assert_no_copy 1 bigk

	# the connection stays usable: a small item after the big one in one batch is stored
	{
		printf 'set bigk 0 0 2000\r\n'
		cat "$BATS_TEST_TMPDIR/big"
		printf '\r\nset small 0 0 2\r\nok\r\n'
	} >"$BATS_TEST_TMPDIR/batch"
	run -1 mcrset -s "$SERVERS" --batch "$BATS_TEST_TMPDIR/batch" </dev/null
	assert_copy 0 small ok
	assert_copy 1 small ok
}

@test "a paused (hung) replica: finishes within the timeout, that copy unreachable, exit 1" {
	start_servers 2
	local p r t0
	p=$(copy_idx pk 2 0) r=$(copy_idx pk 2 1)
	pause_server "$r"
	t0=$(now_ms)
	run -1 --separate-stderr mcrset -s "$SERVERS" -t 300 --format=tsv pk v </dev/null
	within 2000 "$t0"
	resume_server "$r"
	assert_line --index 0 --regexp "^pk${T}$(srv "$p")${T}primary${T}stored${T}.*$"
	assert_line --index 1 --regexp "^pk${T}$(srv "$r")${T}replica1${T}unreachable${T}.*$"
	assert_copy "$p" pk v
}
