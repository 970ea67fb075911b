#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# mcrget: fallback order, outages vs misses, output formats, --all, --where, --copy, --server,
# --namespace, key display; plus the server sources shared by every tool (environment, --config,
# unix sockets) and hung servers (HACKING.md "mcrget", "Common options").

bats_require_minimum_version 1.5.0
load helper
load mcrlib

SOCKPID=
teardown() {
	if [ -n "$SOCKPID" ]; then
		kill "$SOCKPID" 2>/dev/null
		wait "$SOCKPID" 2>/dev/null || true
	fi
	stop_all
}

# a memcached on a unix socket: SOCK
start_sock() {
	SOCK=$BATS_TEST_TMPDIR/mc.sock
	memcached -s "$SOCK" -u root </dev/null >"$BATS_TEST_TMPDIR/sock.log" 2>&1 3>&- &
	SOCKPID=$!
	wait_until -t 5 test -S "$SOCK" || fail "memcached on $SOCK did not start: $(cat "$BATS_TEST_TMPDIR/sock.log")"
}

# `mcrget ARGS... >FILE` and compare FILE with the bytes printf makes of FMT
assert_stdout_bytes() {
	local fmt=$1; shift
	mcrget "$@" >"$BATS_TEST_TMPDIR/stdout" || true
	# shellcheck disable=SC2059
	printf "$fmt" | cmp - "$BATS_TEST_TMPDIR/stdout" || fail "stdout differs: $(od -c "$BATS_TEST_TMPDIR/stdout")"
}

@test "one key: the value's bytes exactly, no newline added" {
	start_servers 2
	mcrset -s "$SERVERS" k hello </dev/null
	run -0 --separate-stderr mcrget -s "$SERVERS" k
	assert_output hello
	[ -z "$stderr" ]
	assert_stdout_bytes 'hello' -s "$SERVERS" k
}

@test "fallback: key deleted on the primary only is read from the replica, json names it" {
	start_servers 2
	local p r
	p=$(copy_idx fb 2 0) r=$(copy_idx fb 2 1)
	mcrset -s "$SERVERS" fb value </dev/null
	run mc "$p" delete fb
	assert_output DELETED
	run -0 mcrget -s "$SERVERS" fb
	assert_output value
	run -0 mcrget -s "$SERVERS" --format=json fb
	jq -e --arg r "$(srv "$r")" '.key == "fb" and .status == "found" and .server == $r and .value == "value"' <<<"$output"
}

@test "fallback: the primary served when it has the key" {
	start_servers 2
	local p
	p=$(copy_idx fb 2 0)
	mcrset -s "$SERVERS" fb value </dev/null
	run -0 mcrget -s "$SERVERS" --format=json fb
	jq -e --arg p "$(srv "$p")" '.server == $p' <<<"$output"
}

@test "fallback: the primary server stopped -> read from the replica" {
	start_servers 2
	local p r
	p=$(copy_idx fb 2 0) r=$(copy_idx fb 2 1)
	mcrset -s "$SERVERS" fb value </dev/null
	server_down "$p"
	run -0 mcrget -s "$SERVERS" -t 500 fb
	assert_output value
	run -0 mcrget -s "$SERVERS" -t 500 --format=json fb
	jq -e --arg r "$(srv "$r")" '.server == $r and .value == "value"' <<<"$output"
}

@test "a replica server stopped -> read from the primary" {
	start_servers 2
	mcrset -s "$SERVERS" fb value </dev/null
	server_down "$(copy_idx fb 2 1)"
	run -0 mcrget -s "$SERVERS" -t 500 fb
	assert_output value
}

@test "-r 2 with 3 servers: falls through two missing copies to replica2" {
	start_servers 3
	local r2
	r2=$(copy_idx deep 3 2)
	mcrset -s "$SERVERS" -r 2 deep down </dev/null
	mc "$(copy_idx deep 3 0)" delete deep
	mc "$(copy_idx deep 3 1)" delete deep
	run -0 mcrget -s "$SERVERS" -r 2 --format=json deep
	jq -e --arg s "$(srv "$r2")" '.server == $s and .value == "down"' <<<"$output"
}

@test "every copy's server stopped: exit 2 with a message, never 'not found'" {
	start_servers 2
	mcrset -s "$SERVERS" gone v </dev/null
	server_down 0
	server_down 1
	run -2 --separate-stderr mcrget -s "$SERVERS" -t 500 gone
	assert_output ''
	[ -n "$stderr" ]
	[[ $stderr == *gone* ]] || fail "message does not name the key: $stderr"
	[[ $stderr != *"not found"* ]] || fail "an outage reported as a miss: $stderr"
	run -2 --separate-stderr mcrget -s "$SERVERS" -t 500 --format=tsv gone
	assert_line --index 0 --regexp "^gone${T}unreachable${T}"
	run -2 --separate-stderr mcrget -s "$SERVERS" -t 500 --format=json gone
	jq -e '.key == "gone" and .status == "unreachable"' <<<"$output"
}

@test "both copies down among 3 servers: exit 2; another key still read" {
	start_servers 3
	# copies of k0 are on servers 0 and 1; find a key whose primary is server 2 (copies 2, 0)
	local k0 k2 k
	for k in a b c d e f g h i j; do
		[ "$(copy_idx "$k" 3 0)" = 0 ] && k0=${k0:-$k}
		[ "$(copy_idx "$k" 3 0)" = 2 ] && k2=${k2:-$k}
	done
	mcrset -s "$SERVERS" "$k0" v0 </dev/null
	mcrset -s "$SERVERS" "$k2" v2 </dev/null
	server_down 0
	server_down 1
	run -2 --separate-stderr mcrget -s "$SERVERS" -t 500 "$k0"
	[[ $stderr != *"not found"* ]] || fail "an outage reported as a miss: $stderr"
	run -0 mcrget -s "$SERVERS" -t 500 "$k2"
	assert_output v2
	run -2 --separate-stderr mcrget -s "$SERVERS" -t 500 "$k2" "$k0"
	assert_output v2
}

@test "not found anywhere: exit 1, 'not found' on stderr, nothing on stdout" {
	start_servers 2
	run -1 --separate-stderr mcrget -s "$SERVERS" nokey
	assert_output ''
	[ "$stderr" = "mcrget: nokey: not found" ]
	run -1 --separate-stderr mcrget -s "$SERVERS" --format=json nokey
	jq -e '.key == "nokey" and .status == "not-found"' <<<"$output"
	run -1 --separate-stderr mcrget -s "$SERVERS" --format=tsv nokey
	assert_line --index 0 --regexp "^nokey${T}not-found${T}"
}

@test "-q: no diagnostics for a miss or an outage, the exit status alone" {
	start_servers 2
	run -1 --separate-stderr mcrget -s "$SERVERS" -q nokey
	[ -z "$stderr" ]
	server_down 0
	server_down 1
	run -2 --separate-stderr mcrget -s "$SERVERS" -t 500 --quiet nokey
	[ -z "$stderr" ]
	run -1 --separate-stderr mcrset -s "$SERVERS" -t 500 -q k v </dev/null
	[ -z "$stderr" ]
	run -1 --separate-stderr mcrdel -s "$SERVERS" -t 500 -q k
	[ -z "$stderr" ]
}

@test "several keys: each value followed by a newline; a missing one -> exit 1" {
	start_servers 2
	mcrset -s "$SERVERS" a va </dev/null
	mcrset -s "$SERVERS" b vb </dev/null
	mcrset -s "$SERVERS" c vc </dev/null
	run -0 mcrget -s "$SERVERS" a b c
	assert_stdout_bytes 'va\nvb\nvc\n' -s "$SERVERS" a b c
	assert_stdout_bytes 'vc\nva\n' -s "$SERVERS" c a
	run -1 --separate-stderr mcrget -s "$SERVERS" a missing c
	assert_output $'va\nvc'
	[ "$stderr" = "mcrget: missing: not found" ]
	assert_stdout_bytes 'va\nvc\n' -s "$SERVERS" a missing c
}

@test "-o/--output writes the exact bytes, nothing on stdout" {
	start_servers 2
	local b=$BATS_TEST_TMPDIR/bin
	printf '\0\r\n\377x\0' >"$b"
	head -c 3000 /dev/urandom >>"$b"
	mcrset -s "$SERVERS" --file="$b" bk </dev/null
	run -0 --separate-stderr mcrget -s "$SERVERS" -o "$BATS_TEST_TMPDIR/o1" bk
	assert_output ''
	cmp "$b" "$BATS_TEST_TMPDIR/o1"
	run -0 --separate-stderr mcrget -s "$SERVERS" --output="$BATS_TEST_TMPDIR/o2" bk
	assert_output ''
	cmp "$b" "$BATS_TEST_TMPDIR/o2"
}

@test "--format=json: value for UTF-8, value_base64 for binary, flags" {
	start_servers 2
	local p b=$BATS_TEST_TMPDIR/bin
	p=$(copy_idx u 2 0)
	mcrset -s "$SERVERS" -f 3 u 'héllo ✓ "q" \ end' </dev/null
	run -0 --separate-stderr mcrget -s "$SERVERS" --format=json u
	[ "${#lines[@]}" -eq 1 ]
	jq -e --arg p "$(srv "$p")" '.key == "u" and .status == "found" and .flags == 3 and .server == $p and
		.value == "héllo ✓ \"q\" \\ end" and (has("value_base64") | not)' <<<"$output"

	printf 'bin\0\377\376' >"$b"
	mcrset -s "$SERVERS" --file="$b" bk </dev/null
	run -0 --separate-stderr mcrget -s "$SERVERS" --format=json bk
	jq -e --arg b64 "$(base64 -w0 "$b")" '.value_base64 == $b64 and (has("value") | not)' <<<"$output"

	run -1 --separate-stderr mcrget -s "$SERVERS" --format=json u nokey bk
	[ "${#lines[@]}" -eq 3 ]
	assert_json_lines
	jq -se '[.[].key] == ["u", "nokey", "bk"] and [.[].status] == ["found", "not-found", "found"]' <<<"$output"
}

@test "--format=tsv: key status flags server value, value backslash-escaped" {
	start_servers 2
	local p
	p=$(copy_idx t 2 0)
	mcrset -s "$SERVERS" -f 9 t "$(printf 'a\tb\nc\\d\r\001\020\200\231z')" </dev/null
	run -0 --separate-stderr mcrget -s "$SERVERS" --format=tsv t
	[ "${#lines[@]}" -eq 1 ]
	assert_output "t${T}found${T}9${T}$(srv "$p")${T}"'a\tb\nc\\d\r\x01\x10\x80\x99z'
}

@test "--all: every copy found and identical -> exit 0, flags size cas SAME" {
	start_servers 2
	local p r
	p=$(copy_idx ak 2 0) r=$(copy_idx ak 2 1)
	mcrset -s "$SERVERS" -f 5 ak hello </dev/null
	run -0 --separate-stderr mcrget -s "$SERVERS" --all ak
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 0 --regexp "^ak $(srv "$p") primary found 5 5 [1-9][0-9]* -1 (yes|-)$"
	assert_line --index 1 --regexp "^ak $(srv "$r") replica1 found 5 5 [1-9][0-9]* -1 yes$"
	run -0 --separate-stderr mcrget -s "$SERVERS" --all --format=tsv ak
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 0 --regexp "^ak${T}$(srv "$p")${T}primary${T}found${T}5${T}5${T}[1-9][0-9]*${T}-1${T}(yes|-)${T}-$"
	assert_line --index 1 --regexp "^ak${T}$(srv "$r")${T}replica1${T}found${T}5${T}5${T}[1-9][0-9]*${T}-1${T}yes${T}-$"
	run -0 --separate-stderr mcrget -s "$SERVERS" --all --format=json ak
	assert_json_lines
	jq -se --arg p "$(srv "$p")" --arg r "$(srv "$r")" '
		length == 2 and all(.[]; .key == "ak" and .status == "found" and .flags == 5 and .size == 5 and
			(.cas | tonumber) > 0 and .ttl == -1 and has("same")) and
		.[0].server == $p and .[0].role == "primary" and
		.[1].server == $r and .[1].role == "replica1" and
		(.[1].same == "yes" or .[1].same == true)' <<<"$output"
}

@test "--all: each copy's TTL; an application's touch (PHP, libmemcached replication) reaches the primary alone" {
	php -r 'exit(class_exists("Memcached") ? 0 : 1);' 2>/dev/null || fail "PHP's memcached extension is needed"
	start_servers 3
	local app=(timeout 60 php "$BATS_TEST_DIRNAME/app.php" "$SERVERS" --replicas 1)
	"${app[@]}" set tk v 99
	"${app[@]}" touch tk 5000
	run -0 --separate-stderr mcrget -s "$SERVERS" -r 1 --all --format=json tk
	jq -se 'length == 2 and .[0].role == "primary" and .[0].ttl > 4900 and .[0].ttl <= 5000 and
		.[1].ttl > 0 and .[1].ttl <= 99 and .[1].same == "yes"' <<<"$output" || fail "$output"
	run -0 --separate-stderr mcrget -s "$SERVERS" -r 1 --all tk
	assert_line --index 0 --regexp "^tk [^ ]+ primary found 0 1 [0-9]+ (4[89][0-9][0-9]|5000) -$"
	assert_line --index 1 --regexp "^tk [^ ]+ replica1 found 0 1 [0-9]+ [0-9]{1,2} yes$"
	# a copy without expiry: -1; the application still reads its value
	"${app[@]}" set nk v
	run -0 mcrget -s "$SERVERS" -r 1 --all --format=tsv nk
	[ "$(cut -f 8 <<<"$output" | tr '\n' ' ')" = "-1 -1 " ] || fail "$output"
	[ "$("${app[@]}" get tk)" = v ]
}

@test "--all: a different copy -> SAME no, exit 1" {
	start_servers 2
	local r
	r=$(copy_idx ak 2 1)
	mcrset -s "$SERVERS" ak hello </dev/null
	mcset "$r" ak other
	run -1 --separate-stderr mcrget -s "$SERVERS" --all ak
	assert_line --index 1 --regexp "^ak $(srv "$r") replica1 found 0 5 [0-9]+ -1 no$"
}

@test "--all: a missing copy -> not-found, exit 1; missing everywhere -> exit 1" {
	start_servers 2
	local r
	r=$(copy_idx ak 2 1)
	mcrset -s "$SERVERS" ak hello </dev/null
	mc "$r" delete ak
	run -1 --separate-stderr mcrget -s "$SERVERS" --all ak
	assert_line --index 1 --regexp "^ak $(srv "$r") replica1 not-found - - - - [^ :]+(: .*)?$"
	run -1 --separate-stderr mcrget -s "$SERVERS" --all --format=tsv ak
	assert_line --index 1 --regexp "^ak${T}$(srv "$r")${T}replica1${T}not-found(${T}[^${T}]+){6}$"
	run -1 --separate-stderr mcrget -s "$SERVERS" --all nokey
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 0 --regexp "^nokey [^ ]+ primary not-found "
	assert_line --index 1 --regexp "^nokey [^ ]+ replica1 not-found "
}

@test "--all: a copy's server stopped -> unreachable, exit 1; every copy down -> exit 2" {
	start_servers 2
	local p r
	p=$(copy_idx ak 2 0) r=$(copy_idx ak 2 1)
	mcrset -s "$SERVERS" ak hello </dev/null
	server_down "$r"
	run -1 --separate-stderr mcrget -s "$SERVERS" -t 500 --all ak
	assert_line --index 0 --regexp "^ak $(srv "$p") primary found 0 5 "
	assert_line --index 1 --regexp "^ak $(srv "$r") replica1 unreachable - - - - -: .+$"
	run -1 --separate-stderr mcrget -s "$SERVERS" -t 500 --all --format=tsv ak
	assert_line --index 1 --regexp "^ak${T}$(srv "$r")${T}replica1${T}unreachable${T}-${T}-${T}-${T}-${T}-${T}[^${T}]+$"
	run -1 --separate-stderr mcrget -s "$SERVERS" -t 500 --all --format=json ak
	jq -se '.[1].status == "unreachable" and (.[1].message | length > 0) and .[0].message == null' <<<"$output"
	server_down "$p"
	run -2 --separate-stderr mcrget -s "$SERVERS" -t 500 --all ak
	assert_line --index 0 --regexp "^ak $(srv "$p") primary unreachable "
}

@test "--where: copy servers in placement order, in every format, with every server stopped" {
	start_servers 3
	local k p r1 r2
	for k in alpha beta gamma; do
		p=$(copy_idx "$k" 3 0) r1=$(copy_idx "$k" 3 1)
		run -0 --separate-stderr mcrget -s "$SERVERS" --where "$k"
		[ "${#lines[@]}" -eq 2 ]
		assert_line --index 0 "$k $(srv "$p") primary"
		assert_line --index 1 "$k $(srv "$r1") replica1"
	done
	local i
	for i in 0 1 2; do
		run mc "$i" stats
		assert_line "STAT cmd_get 0"
	done
	p=$(copy_idx alpha 3 0) r1=$(copy_idx alpha 3 1) r2=$(copy_idx alpha 3 2)
	server_down 0
	server_down 1
	server_down 2
	run -0 --separate-stderr mcrget -s "$SERVERS" -r 2 --where alpha
	assert_output "alpha $(srv "$p") primary"$'\n'"alpha $(srv "$r1") replica1"$'\n'"alpha $(srv "$r2") replica2"
	run -0 --separate-stderr mcrget -s "$SERVERS" --where --format=tsv alpha beta
	[ "${#lines[@]}" -eq 4 ]
	assert_line --index 0 "alpha${T}$(srv "$p")${T}primary"
	assert_line --index 1 "alpha${T}$(srv "$r1")${T}replica1"
	run -0 --separate-stderr mcrget -s "$SERVERS" --where --format=json alpha
	jq -se --arg p "$(srv "$p")" --arg r "$(srv "$r1")" '
		. == [{"key": "alpha", "server": $p, "role": "primary"},
		      {"key": "alpha", "server": $r, "role": "replica1"}]' <<<"$output"
}

@test "--copy=N and --server=HOST:PORT read one copy only" {
	start_servers 2
	local p r
	p=$(copy_idx ck 2 0) r=$(copy_idx ck 2 1)
	mcset "$p" ck P
	mcset "$r" ck R
	run -0 mcrget -s "$SERVERS" --copy=0 ck
	assert_output P
	run -0 mcrget -s "$SERVERS" --copy=1 ck
	assert_output R
	run -0 mcrget -s "$SERVERS" --server="$(srv "$r")" ck
	assert_output R
	run -0 mcrget -s "$SERVERS" --server="$(srv "$p")" ck
	assert_output P
	run -0 mcrget -s "$SERVERS" --copy=1 --format=json ck
	jq -e --arg r "$(srv "$r")" '.server == $r and .value == "R"' <<<"$output"
	# no fallback to another copy
	mc "$r" delete ck
	run -1 mcrget -s "$SERVERS" --copy=1 ck
	run -1 mcrget -s "$SERVERS" --server="$(srv "$r")" ck
	mc "$p" delete ck
	mcset "$r" ck R
	run -1 mcrget -s "$SERVERS" --copy=0 ck
	# that copy's server down: an outage, not a miss
	server_down "$p"
	run -2 mcrget -s "$SERVERS" -t 500 --copy=0 ck
	run -0 mcrget -s "$SERVERS" -t 500 --copy=1 ck
	assert_output R
}

@test "--namespace: the server holds prefix+key; placement hashes the bare key" {
	start_servers 3
	local p r o
	p=$(copy_idx nk 3 0) r=$(copy_idx nk 3 1) o=$(copy_idx nk 3 2)
	run -0 mcrset -s "$SERVERS" --namespace=app: nk v </dev/null
	assert_copy "$p" app:nk v
	assert_copy "$r" app:nk v
	assert_no_copy "$o" app:nk
	assert_no_copy "$p" nk
	run -0 mcrget -s "$SERVERS" --namespace=app: nk
	assert_output v
	run -1 mcrget -s "$SERVERS" nk
	run -0 mcrget -s "$SERVERS" --namespace app: --all nk
	assert_line --index 1 --regexp " replica1 found 0 1 [0-9]+ -1 yes$"
}

@test "keys with space, newline, % and high bytes are percent-encoded in text and tsv, raw in json" {
	start_servers 3
	local k p
	for k in 'a b' $'x\ny' 'p%q' $'k\xff'; do
		run -0 mcrset -s "$SERVERS" "$k" "v:$k" </dev/null
		run -0 mcrget -s "$SERVERS" "$k"
		assert_output "v:$k"
	done
	p=$(copy_idx 'a b' 3 0)
	run -0 --separate-stderr mcrget -s "$SERVERS" --where 'a b'
	assert_line --index 0 "a%20b $(srv "$p") primary"
	p=$(copy_idx $'x\ny' 3 0)
	run -0 --separate-stderr mcrget -s "$SERVERS" --all $'x\ny'
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 0 --regexp "^x%0Ay $(srv "$p") primary found 0 5 "
	run -0 --separate-stderr mcrget -s "$SERVERS" --where --format=tsv 'p%q'
	assert_line --index 0 "p%25q${T}$(srv "$(copy_idx 'p%q' 3 0)")${T}primary"
	run -0 --separate-stderr mcrget -s "$SERVERS" --all --format=tsv $'k\xff'
	assert_line --index 0 --regexp "^k%FF${T}$(srv "$(copy_idx $'k\xff' 3 0)")${T}primary${T}found${T}"
	run -0 --separate-stderr mcrget -s "$SERVERS" --format=tsv 'a b'
	assert_output "a%20b${T}found${T}0${T}$(srv "$(copy_idx 'a b' 3 0)")${T}v:a b"
	run -0 --separate-stderr mcrget -s "$SERVERS" --where --format=json $'x\ny'
	jq -se 'all(.[]; .key == "x\ny")' <<<"$output"
	run -0 --separate-stderr mcrget -s "$SERVERS" --where --format=json $'k\xff'
	jq -se 'all(.[]; .key_base64 == "a/8=" and (has("key") | not))' <<<"$output"
	run -1 --separate-stderr mcrget -s "$SERVERS" 'no such'
	[ "$stderr" = "mcrget: no%20such: not found" ]
}

@test "a paused primary with --timeout=300: the replica serves, done within 2 s (times MCR_SLOW)" {
	start_servers 2
	local p r t0
	p=$(copy_idx hk 2 0) r=$(copy_idx hk 2 1)
	mcrset -s "$SERVERS" hk value </dev/null
	pause_server "$p"
	t0=$(now_ms)
	run -0 --separate-stderr mcrget -s "$SERVERS" --timeout=300 --format=json hk
	within 2000 "$t0"
	resume_server "$p"
	jq -e --arg r "$(srv "$r")" '.server == $r and .value == "value"' <<<"$output"
}

@test "every copy paused with --timeout=300: exit 2 within 2 s (times MCR_SLOW), not a miss" {
	start_servers 2
	local t0
	mcrset -s "$SERVERS" hk value </dev/null
	pause_server 0
	pause_server 1
	t0=$(now_ms)
	run -2 --separate-stderr mcrget -s "$SERVERS" -t 300 hk
	within 2000 "$t0"
	resume_server 0
	resume_server 1
	[[ $stderr != *"not found"* ]] || fail "an outage reported as a miss: $stderr"
}

# --- server sources, shared by every tool -------------------------------------------------

@test "MEMCACHED_SERVERS is the fallback; --servers wins over it" {
	start_servers 2
	MEMCACHED_SERVERS=$SERVERS run -0 mcrset envk v </dev/null
	assert_copy 0 envk v
	assert_copy 1 envk v
	MEMCACHED_SERVERS=$SERVERS run -0 mcrget envk
	assert_output v
	MEMCACHED_SERVERS=$SERVERS run -0 mcrdel envk
	assert_no_copy 0 envk
	# a dead list in the environment is ignored when --servers is given
	MEMCACHED_SERVERS=127.0.0.1:1,127.0.0.1:2 run -0 mcrset -s "$SERVERS" envk2 v </dev/null
	assert_copy 1 envk2 v
}

@test "--config string and --config-file name the servers and the replicas" {
	start_servers 3
	local k=ck p r o cfg
	p=$(copy_idx "$k" 3 0) r=$(copy_idx "$k" 3 1) o=$(copy_idx "$k" 3 2)
	cfg="--SERVER=$(srv 0) --SERVER=$(srv 1) --SERVER=$(srv 2) --NUMBER-OF-REPLICAS=2"
	run -0 mcrset --config="$cfg" "$k" v </dev/null
	assert_copy "$p" "$k" v
	assert_copy "$r" "$k" v
	assert_copy "$o" "$k" v
	run -0 mcrget --config "$cfg" --all "$k"
	[ "${#lines[@]}" -eq 3 ]

	printf '%s\n' "--SERVER=$(srv 0) --SERVER=$(srv 1) --SERVER=$(srv 2) --NUMBER-OF-REPLICAS=1" \
		>"$BATS_TEST_TMPDIR/cfg"
	run -0 mcrset --config-file="$BATS_TEST_TMPDIR/cfg" k2 v </dev/null
	assert_copy "$(copy_idx k2 3 0)" k2 v
	assert_copy "$(copy_idx k2 3 1)" k2 v
	assert_no_copy "$(copy_idx k2 3 2)" k2
	run -0 mcrget --config-file "$BATS_TEST_TMPDIR/cfg" --where k2
	[ "${#lines[@]}" -eq 2 ]
}

@test "command-line placement options override the configuration" {
	start_servers 3
	local cfg
	cfg="--SERVER=$(srv 0) --SERVER=$(srv 1) --SERVER=$(srv 2) --NUMBER-OF-REPLICAS=0"
	run -0 mcrset --config="$cfg" k0 v </dev/null
	assert_copy "$(copy_idx k0 3 0)" k0 v
	assert_no_copy "$(copy_idx k0 3 1)" k0
	run -0 mcrset --config="$cfg" -r 2 k2 v </dev/null
	assert_copy 0 k2 v
	assert_copy 1 k2 v
	assert_copy 2 k2 v
	# a configuration without servers, with --servers
	run -0 mcrset --config='--NUMBER-OF-REPLICAS=0' -s "$SERVERS" k3 v </dev/null
	assert_copy "$(copy_idx k3 3 0)" k3 v
	assert_no_copy "$(copy_idx k3 3 1)" k3
}

@test "\$LIBMEMCACHED is the fallback; --config wins over it" {
	start_servers 2
	LIBMEMCACHED="--SERVER=$(srv 0) --SERVER=$(srv 1) --NUMBER-OF-REPLICAS=1" run -0 mcrset lk v </dev/null
	assert_copy 0 lk v
	assert_copy 1 lk v
	LIBMEMCACHED="--SERVER=$(srv 0) --SERVER=$(srv 1)" run -0 mcrget lk
	assert_output v
	LIBMEMCACHED='--SERVER=127.0.0.1:1 --SERVER=127.0.0.1:2' \
		run -0 mcrget --config="--SERVER=$(srv 0) --SERVER=$(srv 1)" lk
	assert_output v
}

@test "--servers plus a configuration that names servers: exit 2, nothing stored" {
	start_servers 2
	run -2 --separate-stderr mcrset -s "$SERVERS" --config="--SERVER=$(srv 0) --SERVER=$(srv 1)" k v </dev/null
	assert_output ''
	[ "${#stderr_lines[@]}" -eq 1 ]
	printf '%s\n' "--SERVER=$(srv 0) --SERVER=$(srv 1)" >"$BATS_TEST_TMPDIR/cfg"
	run -2 --separate-stderr mcrget -s "$SERVERS" --config-file="$BATS_TEST_TMPDIR/cfg" k
	assert_output ''
	[ "${#stderr_lines[@]}" -eq 1 ]
	assert_servers_empty
}

@test "a unix socket server via -s /path/to/sock, alone and beside a TCP server" {
	start_servers 1
	start_sock
	run -0 mcrset -s "$SOCK" -r 0 sk v </dev/null
	run -0 mcrget -s "$SOCK" -r 0 sk
	assert_output v
	run -0 mcrset -s "$SOCK,$(srv 0)" sk2 both </dev/null
	assert_copy 0 sk2 both
	run -0 mcrget -s "$SOCK,$(srv 0)" --server="$SOCK" sk2
	assert_output both
	run -0 mcrget -s "$SOCK,$(srv 0)" --all sk2
	assert_line --regexp "^sk2 $SOCK (primary|replica1) found 0 4 "
	run -0 mcrdel -s "$SOCK,$(srv 0)" sk2
	run -1 mcrget -s "$SOCK" -r 0 sk2
}
