#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# mcrverify: every class produced on purpose on real servers (drift made through libmemcached's own
# replication or by writing single servers), output formats, key sources, --all, --shard, the
# repair policies and their races, --prometheus, --recheck-delay, --rate, bad input
# (HACKING.md "mcrverify").

bats_require_minimum_version 1.5.0
load helper

setup() {
	[ -x "$MCR_BIN/lmrepl" ] || fail "no $MCR_BIN/lmrepl: run make $MCR_BIN/lmrepl (tests/lmrepl.c)"
	D=$BATS_TEST_TMPDIR
	BGPIDS=()
}

teardown() {
	local p
	for p in "${BGPIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	stop_servers
}

T=$'\t'
SUM='checked [0-9]+ keys? in [0-9]+\.[0-9]+ s: '

# index of server HOST:PORT
idx() {
	local i
	for i in "${!PORTS[@]}"; do
		[ "$(srv "$i")" = "$1" ] && { echo "$i"; return 0; }
	done
	echo "no server $1" >&2
	return 1
}

# copy KEY R [REPLICAS]: index of the server that holds copy R of KEY, as libmemcached's own
# replication places it (lmrepl copies); with REPLICAS = n-1, copy n-1 is the server outside a
# one-replica copy set
copy() {
	local s
	s=$(lmrepl -s "$SERVERS" -r "${3:-1}" copies "$1" | sed -n "$(($2 + 1))p" | cut -f2)
	idx "$s"
}

# server I alone holds KEY=VALUE with flags FL (default 0)
has_copy() {
	local i=$1 key=$2 val=$3 fl=${4:-0} out
	out=$(mc "$i" get "$key")
	[ "$out" = "VALUE $key $fl ${#val}"$'\n'"$val"$'\n'"END" ] ||
		fail "server $i ($(srv "$i")) $key: expected '$val' (flags $fl), got: $out"
}

no_copy() {
	local out
	out=$(mc "$1" get "$2")
	[ "$out" = END ] || fail "server $1 ($(srv "$1")) still holds $2: $out"
}

# KEY=VALUE [FLAGS] on server I alone (ASCII set), bypassing every tool
put() {
	local out
	out=$(mc "$1" "set $2 ${4:-0} 0 ${#3}"$'\r\n'"$3")
	[ "$out" = STORED ] || fail "put $*: $out"
}

del() {
	local out
	out=$(mc "$1" delete "$2")
	[ "$out" = DELETED ] || fail "del $*: $out"
}

# a key among PREFIX0..PREFIX99 whose primary is server P (3 servers, one replica)
key_on() {
	local prefix=$1 p=$2 k i
	for ((i = 0; i < 100; i++)); do
		k=$prefix$i
		[ "$(copy "$k" 0)" = "$p" ] && { echo "$k"; return 0; }
	done
	return 1
}

# FNV-1a 64 of $1 mod $2 (bash arithmetic wraps at 64 bits; the modulo is taken unsigned)
fnv_mod() {
	local LC_ALL=C s=$1 n=$2 h i c
	h=$((0xcbf29ce484222325))
	for ((i = 0; i < ${#s}; i++)); do
		printf -v c '%d' "'${s:i:1}"
		h=$(((h ^ (c & 255)) * 0x100000001b3))
	done
	echo $(((((h >> 1) & 0x7fffffffffffffff) % n * 2 + (h & 1)) % n))
}

# drift_kinds PREFIX ROUNDS STEP: keys written PREFIX0.. with 2 replicas (4 copies counted
# with the stray) get ROUNDS of each drift: primary deleted (PREFIX<13i>), replica1 deleted
# (PREFIX<17i+STEP>), replica2 differing (PREFIX<19i+2STEP>), a stray copy on the server
# after the set (PREFIX<23i+3STEP>)
drift_kinds() {
	local i k
	for ((i = 1; i <= $2; i++)); do
		k=$1$((i * 13))
		del "$(copy "$k" 0 2)" "$k"
		k=$1$((i * 17 + $3))
		del "$(copy "$k" 1 2)" "$k"
		k=$1$((i * 19 + 2 * $3))
		put "$(copy "$k" 2 2)" "$k" other
		k=$1$((i * 23 + 3 * $3))
		put "$(copy "$k" 3 3)" "$k" "$k"
	done
}

# the summary record of a json run ($output) as "checked ok missing differ unreachable misplaced
# strays repaired skipped failed"; the classes of keys add up to the keys checked
json_summary() {
	tail -n 1 <<<"$output" |
		jq -r 'select(.summary == "summary") |
			if .checked != .ok + .missing + .differ + .unreachable + .misplaced then "classes do not add up"
			else "\(.checked) \(.ok) \(.missing) \(.differ) \(.unreachable) \(.misplaced) \(.strays) \(.repaired) \(.skipped) \(.failed)" end'
}

# bad PATTERN ARGS...: exit 2, nothing on stdout, one stderr line "mcrverify: ..." matching the
# ERE PATTERN (case-insensitive), and nothing read from any server
bad() {
	local pat=$1 ok='' i
	shift
	run -2 --separate-stderr mcrverify "$@" </dev/null
	[ -z "$output" ] || fail "mcrverify $*: stdout not empty: $output"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "mcrverify $*: ${#stderr_lines[@]} stderr lines: $stderr"
	[[ ${stderr_lines[0]} == "mcrverify: "?* ]] || fail "mcrverify $*: no program name: $stderr"
	shopt -s nocasematch
	[[ ${stderr_lines[0]} =~ $pat ]] && ok=1
	shopt -u nocasematch
	[ -n "$ok" ] || fail "mcrverify $*: message does not name the problem (/$pat/): $stderr"
	for i in "${!PORTS[@]}"; do
		mc "$i" stats | grep -qx 'STAT cmd_get 0' || fail "mcrverify $*: server $i was read"
	done
}

# ---------------------------------------------------------------------------------------------
# classes

@test "ok keys: exit 0, only the summary with its counts" {
	start_servers 2
	mcrset -s "$SERVERS" k1 v1
	mcrset -s "$SERVERS" k2 v2
	lmrepl -s "$SERVERS" set k3 v3
	run -0 --separate-stderr mcrverify -s "$SERVERS" k1 k2 k3
	assert_output --regexp "^${SUM}ok 3, missing 0, differ 0, unreachable 0, misplaced 0\$"
	[ -z "$stderr" ]
	run -0 --separate-stderr mcrverify -s "$SERVERS" -q k1 k2 k3
	assert_output ''
	# -v: a record for every ok key too
	run -0 --separate-stderr mcrverify -s "$SERVERS" -v k1 k2 k3
	assert_line --regexp "^k1 ok $(srv "$(copy k1 0)")\(primary\)=found $(srv "$(copy k1 1)")\(replica1\)=same\$"
	assert_line --regexp '^k2 ok '
	assert_line --regexp '^k3 ok '
	# then each server's copies, and the summary last
	assert_line --index 3 --regexp "^server $(srv 0): found [0-9]+, absent 0, differs 0, ttl-differs 0, unreachable 0, stray 0\$"
	assert_line --index 4 --regexp "^server $(srv 1): found [0-9]+, absent 0, "
	assert_line --index 5 --regexp "^${SUM}ok 3, "
	run -0 --separate-stderr mcrverify -s "$SERVERS" -v --format=json k1 k2 k3
	[ "$(jq -r 'select(.class == "ok") | .key' <<<"$output" | sort | tr '\n' ' ')" = "k1 k2 k3 " ]
	# the json summary holds them too: 3 keys, 2 copies each
	[ "$(jq -c 'select(.summary) | [.servers[].found] | add' <<<"$output")" = 6 ]
	# tsv: a line per server, the same six counts in the same order, tab-separated
	run -0 --separate-stderr mcrverify -s "$SERVERS" -v --format=tsv k1 k2 k3
	assert_line --index 3 --regexp "^server	$(srv 0)	[0-9]+	0	0	0	0	0\$"
	assert_line --index 4 --regexp "^server	$(srv 1)	[0-9]+	0	0	0	0	0\$"
	[ "$(awk -F'\t' '$1 == "server" { n += $3 } END { print n }' <<<"$output")" = 6 ]
	[[ ${lines[5]} == summary$'\t'3$'\t'3$'\t'* ]] || fail "${lines[5]}"
	run -0 --separate-stderr mcrverify -s "$SERVERS" --format=tsv k1 k2 k3
	[ "${#lines[@]}" = 1 ]
}

@test "differ: an increment through libmemcached's replication changes the primary alone" {
	start_servers 2
	local p r
	p=$(copy cnt 0) r=$(copy cnt 1)
	lmrepl -s "$SERVERS" set cnt 10
	run -0 lmrepl -s "$SERVERS" incr cnt 5
	assert_output 15
	has_copy "$p" cnt 15
	has_copy "$r" cnt 10
	run -1 --separate-stderr mcrverify -s "$SERVERS" cnt
	assert_line --index 0 "cnt differ $(srv "$p")(primary)=found $(srv "$r")(replica1)=differs"
	assert_line --index 1 --regexp "^${SUM}ok 0, missing 0, differ 1, unreachable 0, misplaced 0\$"
	[ "${#lines[@]}" -eq 2 ]
}

@test "missing: a copy deleted on one server (the replica, or the primary)" {
	start_servers 2
	local p r p2 r2
	p=$(copy mr 0) r=$(copy mr 1) p2=$(copy mp 0) r2=$(copy mp 1)
	mcrset -s "$SERVERS" mr v
	mcrset -s "$SERVERS" mp v
	mcrset -s "$SERVERS" fine v
	del "$r" mr
	del "$p2" mp
	run -1 mcrverify -s "$SERVERS" mr mp fine
	assert_line "mr missing $(srv "$p")(primary)=found $(srv "$r")(replica1)=absent"
	assert_line "mp missing $(srv "$p2")(primary)=absent $(srv "$r2")(replica1)=found"
	assert_line --index 2 --regexp "^${SUM}ok 1, missing 2, differ 0, unreachable 0, misplaced 0\$"
	[ "${#lines[@]}" -eq 3 ]
}

@test "differ: the same value with other flags on one copy" {
	start_servers 2
	local p r
	p=$(copy fk 0) r=$(copy fk 1)
	mcrset -s "$SERVERS" -f 3 fk same
	has_copy "$r" fk same 3
	put "$r" fk same 7
	run -1 mcrverify -s "$SERVERS" fk
	assert_line --index 0 "fk differ $(srv "$p")(primary)=found $(srv "$r")(replica1)=differs"
	assert_line --index 1 --regexp "differ 1, "
}

@test "unreachable: a server of the copy set stopped -> exit 2; a key elsewhere still ok" {
	start_servers 3
	local k0 k1 r
	# k0 has copies on servers 0 and 1; k1 on 1 and 2: stopping server 0 leaves k1 whole
	k0=$(key_on u 0) k1=$(key_on u 1)
	mcrset -s "$SERVERS" "$k0" v
	mcrset -s "$SERVERS" "$k1" v
	r=$(copy "$k0" 1)
	stop_server 0 || true
	run -2 --separate-stderr mcrverify -s "$SERVERS" -t 500 "$k0" "$k1"
	assert_line --index 0 "$k0 unreachable $(srv 0)(primary)=unreachable $(srv "$r")(replica1)=found"
	assert_line --index 1 --regexp "^${SUM}ok 1, missing 0, differ 0, unreachable 1, misplaced 0\$"
	[ "${#lines[@]}" -eq 2 ]
	run -2 mcrverify -s "$SERVERS" -t 500 --format=json "$k0"
	jq -e --arg s "$(srv 0)" 'select(.class) | .class == "unreachable" and
		(.copies[] | select(.server == $s) | .state == "unreachable" and .role == "primary")' <<<"${lines[0]}"
	# unreachable keys are never repaired
	run -2 mcrverify -s "$SERVERS" -t 500 -r 1 --repair=missing --format=json "$k0"
	[ "$(jq -r 'select(.key) | .repair' <<<"$output")" != repaired ]
	[ "$(json_summary)" = "1 0 0 0 1 0 0 0 $(jq .skipped <<<"${lines[1]}") 0" ]
	# --all with a server that cannot be listed: trouble
	run -2 --separate-stderr mcrverify -s "$SERVERS" -t 500 --all
	[[ $stderr == *"$(srv 0)"* ]] || fail "the message does not name the server: $stderr"
}

@test "stray (--all): a copy on a server outside the copy set; one key checked once, the stray apart" {
	start_servers 3
	local p r o
	p=$(copy mk 0) r=$(copy mk 1) o=$(copy mk 2 2)
	mcrset -s "$SERVERS" mk v
	put "$o" mk v
	run -1 mcrverify -s "$SERVERS" --all
	assert_line --index 0 "mk stray $(srv "$p")(primary)=found $(srv "$r")(replica1)=same $(srv "$o")(outside)=stray"
	# the cluster holds one key: it is checked once, through its copies (ok); the stray copy is
	# counted apart, not as a second key (checked = ok + missing + differ + unreachable + misplaced)
	assert_line --index 1 --regexp "^checked 1 key in [0-9.]+ s: ok 1, missing 0, differ 0, unreachable 0, misplaced 0, strays 1\$"
	[ "${#lines[@]}" -eq 2 ]
	run -1 mcrverify -s "$SERVERS" --all --format=json
	[ "$(json_summary)" = "1 1 0 0 0 0 1 0 0 0" ]
	# misplaced exists only with --all: the key named alone is consistent
	run -0 mcrverify -s "$SERVERS" mk
	assert_output --regexp "^${SUM}ok 1, "
}

@test "misplaced (--all): a key only on a server outside its copy set: one key checked, misplaced" {
	start_servers 4
	local o
	o=$(copy lost 2 3)
	put "$o" lost v
	run -1 mcrverify -s "$SERVERS" --all --format=json
	jq -e --arg o "$(srv "$o")" 'select(.key == "lost") | .class == "misplaced" and
		([.copies[] | select(.role == "outside")] == [{"server": $o, "role": "outside", "state": "stray"}])' <<<"${lines[0]}"
	# no copy in its copy set: the application cannot read it; a key of its own, misplaced
	[ "$(json_summary)" = "1 0 0 0 0 1 0 0 0 0" ]
	# on two servers outside its copy set: still one key, and one stray copy besides
	put "$(copy lost 3 3)" lost v
	run -1 mcrverify -s "$SERVERS" --all --format=json
	[ "$(json_summary)" = "1 0 0 0 0 1 1 0 0 0" ] || fail "$output"
}

# ---------------------------------------------------------------------------------------------
# output formats

# one ok key, one differ (an increment through libmemcached), one missing (replica deleted)
three_kinds() {
	start_servers 2
	P=$(copy d 0) R=$(copy d 1) PM=$(copy m 0) RM=$(copy m 1)
	lmrepl -s "$SERVERS" set d 1
	lmrepl -s "$SERVERS" incr d 1 >/dev/null
	lmrepl -s "$SERVERS" set m v
	del "$RM" m
	lmrepl -s "$SERVERS" set o v
}

@test "formats: text, tsv and json list the same problem keys, the summary record last" {
	three_kinds
	run -1 --separate-stderr mcrverify -s "$SERVERS" d m o
	assert_equal "${#lines[@]}" 3
	assert_line "d differ $(srv "$P")(primary)=found $(srv "$R")(replica1)=differs"
	assert_line "m missing $(srv "$PM")(primary)=found $(srv "$RM")(replica1)=absent"
	assert_line --index 2 --regexp "^${SUM}ok 1, missing 1, differ 1, unreachable 0, misplaced 0\$"

	run -1 --separate-stderr mcrverify -s "$SERVERS" --format=tsv d m o
	assert_equal "${#lines[@]}" 3
	# repair "-" when not asked; no message (the contract does not say "" or "-")
	assert_line --regexp "^d${T}differ${T}$(srv "$P")\(primary\)=found $(srv "$R")\(replica1\)=differs${T}-${T}-?\$"
	assert_line --regexp "^m${T}missing${T}$(srv "$PM")\(primary\)=found $(srv "$RM")\(replica1\)=absent${T}-${T}-?\$"
	# checked ok missing differ unreachable misplaced strays unresolved repaired skipped failed
	# would_repair interrupted stopped seconds
	assert_line --index 2 --regexp "^summary${T}3${T}1${T}1${T}1${T}0${T}0${T}0${T}0${T}0${T}0${T}0${T}0${T}0${T}0${T}[0-9.]+\$"

	run -1 --separate-stderr mcrverify -s "$SERVERS" --format=json d m o
	assert_equal "${#lines[@]}" 3
	local line
	for line in "${lines[@]}"; do jq -e 'type == "object"' <<<"$line" >/dev/null; done
	jq -se --arg p "$(srv "$P")" --arg r "$(srv "$R")" '.[] | select(.key == "d") | .class == "differ" and
		.copies == [{"server": $p, "role": "primary", "state": "found"},
			    {"server": $r, "role": "replica1", "state": "differs"}] and .repair == null' <<<"$output"
	[ "$(jq -c 'select(.key == "m") | [.class, [.copies[].state], .repair]' <<<"$output")" = '["missing",["found","absent"],null]' ]
	jq -e 'select(.summary) | .summary == "summary" and (.seconds | type == "number")' <<<"${lines[2]}"
	[ "$(json_summary)" = "3 1 1 1 0 0 0 0 0 0" ]
	# -q: the problem records stay, the summary goes
	run -1 --separate-stderr mcrverify -s "$SERVERS" -q --format=json d m o
	assert_equal "${#lines[@]}" 2
	[[ $output != *summary* ]] || fail "a summary with -q: $output"
}

@test "formats: the summary record is last in every format when everything is ok" {
	start_servers 2
	mcrset -s "$SERVERS" a v
	run -0 mcrverify -s "$SERVERS" --format=tsv a
	assert_output --regexp "^summary${T}1${T}1${T}0${T}0${T}0${T}0${T}0${T}0${T}0${T}0${T}0${T}0${T}0${T}0${T}[0-9.]+\$"
	run -0 mcrverify -s "$SERVERS" --format=json a
	assert_equal "${#lines[@]}" 1
	[ "$(json_summary)" = "1 1 0 0 0 0 0 0 0 0" ]
}

# ---------------------------------------------------------------------------------------------
# key sources

# keys with spaces, control bytes, '%' and a non-UTF-8 byte, each drifted: the primary alone
# rewritten (mcrset -r 0 writes the primary only, at the same place)
odd_keys() {
	start_servers 2
	KEYS=("sp ace" $'new\nline' $'tab\tand\x01ctl' "50%" "lit%41" $'bin\xffkey')
	ENC=("sp%20ace" "new%0Aline" "tab%09and%01ctl" "50%25" "lit%2541" "bin%FFkey")
	local k
	for k in "${KEYS[@]}"; do
		mcrset -s "$SERVERS" "$k" v1
		mcrset -s "$SERVERS" -r 0 "$k" v2
	done
	mcrset -s "$SERVERS" "good key" v
	printf '%s\n' "${ENC[@]}" "good%20key" >"$D/keys"
}

@test "-k FILE: percent-encoded keys with spaces and control bytes, listed encoded" {
	odd_keys
	run -1 --separate-stderr mcrverify -s "$SERVERS" -k "$D/keys"
	local e
	for e in "${ENC[@]}"; do assert_line --regexp "^$e differ [^ ]+\(primary\)=found [^ ]+\(replica1\)=differs\$"; done
	assert_line --index 6 --regexp "^${SUM}ok 1, missing 0, differ 6, unreachable 0, misplaced 0\$"
	[ "${#lines[@]}" -eq 7 ]
	# json: the raw key
	run -1 --separate-stderr mcrverify -s "$SERVERS" --format=json --keys-from="$D/keys"
	[ "$(jq -r 'select(.key == "new\nline") | .class' <<<"$output")" = differ ]
	[ "$(jq -r 'select(.key == "tab\tand\u0001ctl") | .class' <<<"$output")" = differ ]
	[ "$(jq -r 'select(.key == "lit%41") | .class' <<<"$output")" = differ ]
	# not UTF-8: key_base64
	[ "$(jq -r --arg b "$(printf 'bin\xffkey' | base64)" 'select(.key_base64 == $b) | .class' <<<"$output")" = differ ]
	[ "$(json_summary)" = "7 1 0 6 0 0 0 0 0 0" ]
}

@test "-k -: the same keys from stdin" {
	odd_keys
	run -1 --separate-stderr mcrverify -s "$SERVERS" -k - <"$D/keys"
	local e
	for e in "${ENC[@]}"; do assert_line --regexp "^$e differ "; done
	assert_line --index 6 --regexp "^${SUM}ok 1, missing 0, differ 6, "
}

@test "key operands are raw bytes: a newline and a space as such, '%41' not decoded" {
	odd_keys
	run -1 --separate-stderr mcrverify -s "$SERVERS" $'new\nline' "sp ace" "lit%41" "good key"
	assert_line --regexp '^new%0Aline differ '
	assert_line --regexp '^sp%20ace differ '
	assert_line --regexp '^lit%2541 differ '
	assert_line --index 3 --regexp "^${SUM}ok 1, missing 0, differ 3, "
	# "sp%20ace" as an operand is that literal key, which nobody wrote: not the drifted "sp ace"
	run -0 --separate-stderr mcrverify -s "$SERVERS" "sp%20ace"
	assert_output --regexp "^checked 1 key .*differ 0, "
}

# ---------------------------------------------------------------------------------------------
# --all and --shard

@test "--all: 3000 keys on 3 servers, each checked once; drift found among them" {
	start_servers 3
	lmrepl -s "$SERVERS" setmany bulk 3000
	run -0 --separate-stderr mcrverify -s "$SERVERS" --all
	assert_output --regexp "^checked 3000 keys in [0-9.]+ s: ok 3000, missing 0, differ 0, unreachable 0, misplaced 0\$"
	# five keys lose their primary copy (listed by the replica alone), five their replica
	local i k
	for i in 1 2 3 4 5; do
		k=bulk$((i * 7))
		del "$(copy "$k" 0)" "$k"
		k=bulk$((i * 11 + 1000))
		del "$(copy "$k" 1)" "$k"
	done
	run -1 --separate-stderr mcrverify -s "$SERVERS" -a --format=json
	[ "$(json_summary)" = "3000 2990 10 0 0 0 0 0 0 0" ]
	[ "$(jq -r 'select(.class) | .key' <<<"$output" | sort -u | wc -l)" -eq 10 ]
	[ "$(jq -r 'select(.class) | .key' <<<"$output" | wc -l)" -eq 10 ]
}

@test "--all: the first-listing rule decided by the listings' fingerprints, in one pass or several, gives the servers' own answers" {
	# small listings are decided in memory (MCR_KNOWN_MAX bytes of fingerprints); above that
	# the servers are asked, a probe per key: both ways check each key once, the same way
	start_servers 4
	lmrepl -s "$SERVERS" -r 2 setmany fp 2000
	drift_kinds fp 6 500
	run -1 --separate-stderr mcrverify -s "$SERVERS" -r 2 -a -vv --format=json
	[[ $stderr == *"decided by the listings' fingerprints"* ]] || fail "not decided in memory: $stderr"
	jq -c 'select(.key)' <<<"$output" | sort >"$D/mem"
	[ "$(json_summary)" = "2000 1982 12 6 0 0 6 0 0 0" ] || fail "$output"
	MCR_KNOWN_MAX=0 run -1 --separate-stderr mcrverify -s "$SERVERS" -r 2 -a -vv --format=json
	[[ $stderr == *"the servers are asked"* ]] || fail "the servers not asked: $stderr"
	[ "$(json_summary)" = "2000 1982 12 6 0 0 6 0 0 0" ] || fail "$output"
	jq -c 'select(.key)' <<<"$output" | sort | diff "$D/mem" - || fail "the two ways differ"
	[ "$(jq -r .class "$D/mem" | sort | uniq -c | tr -s ' ' | tr '\n' ,)" = " 6 differ, 12 missing, 1982 ok, 6 stray," ] ||
		fail "$(jq -r .class "$D/mem" | sort | uniq -c)"
	# fingerprints over 16000 bytes (about 4500 listed before the last server): the listings
	# are read in passes, each with its share of them; batches of 70 straddle the passes, whose
	# keys of the pass before are asked of the servers
	MCR_KNOWN_MAX=16000 run -1 --separate-stderr mcrverify -s "$SERVERS" -r 2 -a -vv --format=json --batch=70
	[[ $stderr =~ "fingerprints ("[0-9]+" keys, "[0-9]+" KiB, in "[234]" passes)" ]] || fail "no passes: $stderr"
	[[ $stderr == *"pass 2 of "* ]] || fail "$stderr"
	[ "$(json_summary)" = "2000 1982 12 6 0 0 6 0 0 0" ] || fail "$output"
	jq -c 'select(.key)' <<<"$output" | sort | diff "$D/mem" - || fail "the passes differ"
	# mcrcopy's listing takes the same way: each key dumped once
	MCR_KNOWN_MAX=16000 run -0 --separate-stderr mcrcopy -s "$SERVERS" -r 2 -a --to=- --batch=70
	[ "$(grep -c '^set ' <<<"$output")" = 2000 ] || fail "$(grep -c '^set ' <<<"$output") keys dumped"
	[ "$(grep '^set ' <<<"$output" | cut -d' ' -f2 | sort -u | wc -l)" = 2000 ] || fail "keys dumped twice"
}

@test "--shard=I/3 with -k: every key in exactly one shard, by FNV-1a 64 mod N" {
	start_servers 2
	lmrepl -s "$SERVERS" setmany sh 30
	local i k shard total=0
	for ((i = 0; i < 30; i++)); do
		del "$(copy "sh$i" 1)" "sh$i"
		echo "sh$i"
	done >"$D/keys"
	: >"$D/reported"
	# (bats' run clobbers a variable named i: the shard number is in its own)
	for shard in 1 2 3; do
		run -1 --separate-stderr mcrverify -s "$SERVERS" --format=json --shard="$shard/3" -k "$D/keys"
		total=$((total + $(tail -n 1 <<<"$output" | jq .checked)))
		[ "$(tail -n 1 <<<"$output" | jq .checked)" = "$(tail -n 1 <<<"$output" | jq .missing)" ]
		for k in $(jq -r 'select(.class) | .key' <<<"$output"); do
			[ "$(fnv_mod "$k" 3)" = $((shard - 1)) ] || fail "$k reported in shard $shard/3"
			echo "$k"
		done >>"$D/reported"
	done
	[ "$total" -eq 30 ]
	[ "$(sort "$D/reported" | uniq -d)" = "" ] || fail "reported twice: $(sort "$D/reported" | uniq -d)"
	[ "$(sort "$D/reported")" = "$(sort "$D/keys")" ]
	# 1/1 is everything
	run -1 mcrverify -s "$SERVERS" --shard=1/1 -k "$D/keys"
	assert_line --regexp "^checked 30 keys .*missing 30, "
}

@test "--shard=I/4 with --all: shards side by side list each server once and find what one run finds" {
	# no LRU maintainer, so no crawl of its own: lru_crawler_starts counts the listings
	start_servers 6 -o no_lru_maintainer
	lmrepl -s "$SERVERS" -r 2 setmany al 3000
	local i shard
	drift_kinds al 8 700
	put "$(copy lonely 3 3)" lonely v # a key on no server of its copy set: misplaced
	run -1 --separate-stderr mcrverify -s "$SERVERS" -r 2 --all --format=json -vv
	jq -c 'select(.key)' <<<"$output" | sort >"$D/one"
	tail -n 1 <<<"$output" | jq -c '[.checked, .ok, .missing, .differ, .misplaced, .strays]' >"$D/one.sum"
	for i in 0 1 2 3 4 5; do [ "$(mstat "$i" lru_crawler_starts)" = 1 ] || fail "server $i: not listed once"; done
	# four shards at once, as xargs -P runs them
	printf '%s\n' 1 2 3 4 | bounded xargs -P 4 -I{} sh -c \
		'mcrverify -s "$1" -r 2 --all --shard={}/4 --format=json -vv >"$2/shard{}" 2>"$2/shard{}.err"; echo $? >"$2/shard{}.rc"' \
		sh "$SERVERS" "$D"
	for shard in 1 2 3 4; do
		[ "$(cat "$D/shard$shard.rc")" = 1 ] || fail "shard $shard: exit $(cat "$D/shard$shard.rc"): $(cat "$D/shard$shard.err")"
		grep -q "shard $shard/4 lists [12] of the 6 servers" "$D/shard$shard.err" || fail "$(cat "$D/shard$shard.err")"
	done
	# each server listed once more, by one shard
	for i in 0 1 2 3 4 5; do [ "$(mstat "$i" lru_crawler_starts)" = 2 ] || fail "server $i: listed $(mstat "$i" lru_crawler_starts) times"; done
	# the same records, key for key, and summaries that add up to the unsharded one
	cat "$D"/shard[1-4] | jq -c 'select(.key)' | sort | diff "$D/one" - || fail "the shards differ from one run"
	cat "$D"/shard[1-4] | jq -s -c '[.[] | select(.summary)] | [(map(.checked) | add), (map(.ok) | add),
		(map(.missing) | add), (map(.differ) | add), (map(.misplaced) | add), (map(.strays) | add)]' |
		diff "$D/one.sum" - || fail "summaries do not add up"
	[ "$(jq -r .class "$D/one" | sort | uniq -c | tr -s ' ' | tr '\n' ,)" = " 8 differ, 1 misplaced, 16 missing, 2976 ok, 8 stray," ] ||
		fail "$(jq -r .class "$D/one" | sort | uniq -c)"
}

@test "--shard with --all: a shard lists no server when there are more shards than servers" {
	start_servers 2
	lmrepl -s "$SERVERS" setmany few 50
	# shard I lists servers [2(I-1)/3, 2I/3): none for the first
	run -0 --separate-stderr mcrverify -s "$SERVERS" --all --shard=1/3 -vv
	[[ $stderr == *"shard 1/3 lists 0 of the 2 servers"* ]] || fail "$stderr"
	assert_line --regexp "^checked 0 keys "
	local total=0
	for shard in 2 3; do
		run -0 --separate-stderr mcrverify -s "$SERVERS" --all --shard=$shard/3 --format=json
		total=$((total + $(tail -n 1 <<<"$output" | jq .checked)))
	done
	[ "$total" -eq 50 ]
}

# ---------------------------------------------------------------------------------------------
# repair

# d: differ (increment on the primary alone: 2 vs 1), mr: replica deleted, mp: primary deleted
drift_two() {
	start_servers 2
	P=$(copy d 0) R=$(copy d 1)
	lmrepl -s "$SERVERS" set d 1
	lmrepl -s "$SERVERS" incr d 1 >/dev/null
	mcrset -s "$SERVERS" -f 5 mr vr
	del "$(copy mr 1)" mr
	mcrset -s "$SERVERS" mp vp
	del "$(copy mp 0)" mp
}

@test "--repair=primary: replicas overwritten with the primary; primary absent -> skipped" {
	drift_two
	run -1 --separate-stderr mcrverify -s "$SERVERS" -r 1 --repair=primary d mr mp
	assert_line --regexp '^d differ .* repaired$'
	assert_line --regexp '^mr missing .* repaired$'
	assert_line --regexp '^mp missing .* skipped(: .*)?$'
	assert_line --index 3 --regexp "^${SUM}ok 0, missing 2, differ 1, unreachable 0, misplaced 0; repaired 2, skipped 1, failed 0\$"
	has_copy "$R" d 2
	has_copy "$P" d 2
	has_copy "$(copy mr 1)" mr vr 5
	no_copy "$(copy mp 0)" mp
	has_copy "$(copy mp 1)" mp vp
	# repaired keys are now consistent: a second run exits 0
	run -0 mcrverify -s "$SERVERS" d mr
	assert_output --regexp "^${SUM}ok 2, "
	run -1 mcrverify -s "$SERVERS" -r 1 --repair=primary --format=json mp
	[ "$(jq -r 'select(.key == "mp") | .repair' <<<"$output")" = skipped ]
}

@test "--repair=majority: 3 copies, two agree -> the third fixed, even the primary" {
	start_servers 3
	local k c
	for k in m0 m1 m2; do mcrset -s "$SERVERS" -r 2 "$k" good; done
	put "$(copy m0 0 2)" m0 bad # the primary is the odd one out
	put "$(copy m1 1 2)" m1 bad
	put "$(copy m2 2 2)" m2 bad
	# all three differ: ties go to the earliest copy, the primary
	mcrset -s "$SERVERS" -r 2 tie a
	put "$(copy tie 1 2)" tie b
	put "$(copy tie 2 2)" tie c
	run -0 --separate-stderr mcrverify -s "$SERVERS" -r 2 --repair=majority m0 m1 m2 tie
	assert_line --regexp '^m0 differ .* repaired$'
	assert_line --index 4 --regexp "differ 4, unreachable 0, misplaced 0; repaired 4, skipped 0, failed 0\$"
	for k in m0 m1 m2; do
		for c in 0 1 2; do has_copy "$(copy "$k" "$c" 2)" "$k" good; done
	done
	for c in 0 1 2; do has_copy "$(copy tie "$c" 2)" tie a; done
	run -0 mcrverify -s "$SERVERS" -r 2 m0 m1 m2 tie
}

@test "--repair=majority: a missing primary filled from the two replicas" {
	start_servers 3
	mcrset -s "$SERVERS" -r 2 mp v
	del "$(copy mp 0 2)" mp
	run -0 mcrverify -s "$SERVERS" -r 2 --repair=majority mp
	has_copy "$(copy mp 0 2)" mp v
}

@test "--repair (missing, the default): only absent copies filled; a differ key skipped and left alone" {
	drift_two
	run -1 --separate-stderr mcrverify -s "$SERVERS" -r 1 --repair d mr mp
	assert_line --regexp '^d differ .* skipped(: .*)?$'
	assert_line --regexp '^mr missing .* repaired$'
	assert_line --regexp '^mp missing .* repaired$'
	assert_line --index 3 --regexp "; repaired 2, skipped 1, failed 0\$"
	has_copy "$P" d 2
	has_copy "$R" d 1
	has_copy "$(copy mr 1)" mr vr 5
	has_copy "$(copy mp 0)" mp vp
	run -0 mcrverify -s "$SERVERS" mr mp
	run -1 --separate-stderr mcrverify -s "$SERVERS" -r 1 --repair=missing --format=json d
	[ "$(jq -r 'select(.key == "d") | .message' <<<"$output")" = "copies differ: --repair fills absent copies only; --repair=primary or --repair=majority says which copy wins" ]
}

@test "--repair -n: nothing written, would-repair reported, exit 1" {
	drift_two
	run -1 --separate-stderr mcrverify -s "$SERVERS" -r 1 --repair=primary -n d mr mp
	assert_line --regexp '^d differ .* would-repair$'
	assert_line --regexp '^mr missing .* would-repair$'
	assert_line --regexp '^mp missing .* skipped(: .*)?$'
	assert_line --index 3 --regexp "; would repair 2, would skip 1\$"
	run -1 --separate-stderr mcrverify -s "$SERVERS" -r 1 --repair=missing --dry-run --format=json d mr mp
	[ "$(jq -r 'select(.key == "mr") | .repair' <<<"$output")" = would-repair ]
	[ "$(jq -r 'select(.key == "d") | .repair' <<<"$output")" = skipped ]
	has_copy "$R" d 1
	no_copy "$(copy mr 1)" mr
	no_copy "$(copy mp 0)" mp
	run -1 mcrverify -s "$SERVERS" d mr mp
	assert_line --index 3 --regexp "missing 2, differ 1, "
}

@test "--repair keeps the TTL: a repaired copy expires with its source, not never" {
	start_servers 2
	local p r t
	mcrset -s "$SERVERS" -e 100 tk v
	mcrset -s "$SERVERS" -e 100 tn 10
	r=$(copy tk 1)
	del "$r" tk
	lmrepl -s "$SERVERS" incr tn 1 >/dev/null # the primary alone: 11
	run -0 mcrverify -s "$SERVERS" -r 1 --repair=primary tk tn
	for p in "$r:tk" "$(copy tn 1):tn"; do
		run mc "${p%%:*}" "mg ${p#*:} t v"
		assert_line --index 0 --regexp '^VA [0-9]+ t[0-9]+$'
		t=${lines[0]##* t}
		[ "$t" -le 100 ] || fail "${p#*:}: TTL $t after the repair, more than it was given"
		same_ttl "$(copy "${p#*:}" 0)" "${p%%:*}" "${p#*:}"
	done
	has_copy "$(copy tn 1)" tn 11
}

@test "--all --repair: a copy added expires with its source, by the listing's expiry where it holds" {
	start_servers 3
	local -a app=(timeout -k 2 "$(slow 60)" /usr/bin/python3 "$BATS_TEST_DIRNAME/app.py" "$SERVERS" --replicas 1)
	local k i n s o
	"${app[@]}" load lt 12 1000
	"${app[@]}" load ln 4 # no TTL: never expires
	# a key held outside its copy set by server 0, which lists it first, with another TTL: that
	# listing is not its source's, and the source's own TTL must be read
	for ((i = 0; i < 100; i++)); do
		[ "$(copy "so$i" 2 2)" = 0 ] && [ "$(copy "so$i" 0)" = 1 ] && break
	done
	k=so$i
	"${app[@]}" set "$k" "v-$k" 200
	[ "$(mc 0 "set $k 0 5000 ${#k}"$'\r\n'"$k")" = STORED ]
	# server 1 restarted empty: every copy it held is missing, its keys' others are the sources
	mc 1 flush_all >/dev/null
	# exit 1: the stray is reported (--remove-strays would delete it)
	run -1 mcrverify -s "$SERVERS" -r 1 --all --repair --misplaced-limit=100 --recheck-delay=0 --confirm-delay=0
	n=$(grep -c ' repaired$' <<<"$output") || true
	[ "$n" -ge 6 ] || fail "only $n keys repaired: $output"
	[[ ${lines[-1]} == *", strays 1; repaired $n, skipped 0, failed 0" ]] || fail "${lines[-1]}"
	for ((i = 0; i < 12; i++)); do
		s=$(copy "lt$i" 0) o=$(copy "lt$i" 1)
		[ "$s" = 1 ] && { s=$o o=1; }
		same_ttl "$s" "$o" "lt$i"
	done
	for ((i = 0; i < 4; i++)); do
		[ "$(ttl_of "$(copy "ln$i" 0)" "ln$i")" = -1 ] && [ "$(ttl_of "$(copy "ln$i" 1)" "ln$i")" = -1 ] ||
			fail "ln$i: a TTL where none was set"
	done
	[ "$(ttl_of 1 "$k")" -le 200 ] || fail "$k: the stray's TTL was taken: $(ttl_of 1 "$k") s"
	same_ttl 2 1 "$k"
	# what the application wrote reads back whole
	[ "$("${app[@]}" read lt 12 | wc -l)" = 12 ]
	[ "$("${app[@]}" read ln 4 | wc -l)" = 4 ]
	[ "$("${app[@]}" get "$k")" = "v-$k" ]
}

@test "--repair: twenty keys from the same two sources in one run, each with its TTL" {
	start_servers 2
	local k i
	lmrepl -s "$SERVERS" setmany many 20
	for ((i = 0; i < 20; i++)); do
		k=many$i
		mcrset -s "$SERVERS" -e 100 "$k" "v$i"
		del "$(copy "$k" 1)" "$k"
	done
	run mcrverify -s "$SERVERS" -r 1 --repair=missing --format=json many{0..19}
	[ "$(json_summary)" = "20 0 20 0 0 0 0 20 0 0" ] ||
		fail "not all repaired: $(jq -c 'select(.class and .repair != "repaired") | [.key, .repair, .message]' <<<"$output" | head -4)"
	assert_equal "$status" 0
	local r
	for ((i = 0; i < 20; i++)); do
		r=$(copy "many$i" 1)
		has_copy "$r" "many$i" "v$i"
		same_ttl "$(copy "many$i" 0)" "$r" "many$i"
	done
	run -0 mcrverify -s "$SERVERS" many{0..19}
}

@test "--remove-strays --all: a stray copy the set holds too is deleted; --repair alone keeps it" {
	start_servers 3
	local o
	o=$(copy mk 2 2)
	mcrset -s "$SERVERS" mk v
	put "$o" mk v
	# one copy listed in three outside its key's copy set is far over the placement guard's 5%:
	# here it is on purpose
	run -2 --separate-stderr mcrverify -s "$SERVERS" -r 1 --all --remove-strays
	[[ $stderr == "mcrverify: stopped before writing anything: 1 of the 3 copies listed (33%, more than --misplaced-limit=5) are outside their key's copy set: "* ]] ||
		fail "$stderr"
	assert_line --index 1 --regexp "misplaced 0, strays 1; repaired 0, skipped 0, failed 0; stopped before writing\$"
	has_copy "$o" mk v
	run -1 --separate-stderr mcrverify -s "$SERVERS" -r 1 --all --repair --misplaced-limit=100
	assert_line --index 0 --regexp '^mk stray .*=stray$'
	assert_line --index 1 --regexp "misplaced 0, strays 1; repaired 0, skipped 0, failed 0\$"
	has_copy "$o" mk v
	run -0 --separate-stderr mcrverify -s "$SERVERS" -r 1 --all --remove-strays --misplaced-limit=100
	assert_line --index 0 --regexp '^mk stray .*=stray repaired$'
	assert_line --index 1 --regexp "misplaced 0, strays 1; repaired 1, skipped 0, failed 0\$"
	no_copy "$o" mk
	has_copy "$(copy mk 0)" mk v
	has_copy "$(copy mk 1)" mk v
	run -0 mcrverify -s "$SERVERS" --all
	assert_output --regexp "^checked 1 key in [0-9.]+ s: ok 1, missing 0, differ 0, unreachable 0, misplaced 0\$"
}

# repair_runs: how many runs of the background repair loop have finished (their summary lines)
repair_runs() { grep -c '^checked' "$D/repairs" || true; }

# runs_since N M: at least M runs have finished since N had
runs_since() { [ "$(repair_runs)" -ge $(($1 + $2)) ]; }

# stopped PID: process PID has exited
stopped() { ! kill -0 "$1" 2>/dev/null; }

@test "--repair racing a writer: the writer's latest value survives on every copy" {
	start_servers 2
	local keys=(w0 w1 w2 w3 w4) k n=0 runs end
	for k in "${keys[@]}"; do lmrepl -s "$SERVERS" set "$k" 0; done
	: >"$D/repairs"
	# repairs run over and over, in the background, until told to stop (a run that leaves keys
	# unrepaired exits 1: the loop goes on)
	(
		while [ ! -e "$D/stop" ]; do
			mcrverify -s "$SERVERS" -t 1000 --recheck-delay=0 -r 1 --repair=primary "${keys[@]}" >>"$D/repairs" 2>&1 || true
		done
	) 3>&- &
	BGPIDS+=($!)
	# the writer: new values, every other round the primary alone (as an unreplicated write
	# would), giving the repairs drift to work on; at least 20 rounds, and on until five repair
	# runs have finished while it wrote, however fast each side is
	runs=$(repair_runs)
	end=$(($(now_ms) + $(slow 60) * 1000))
	while [ "$n" -lt 20 ] || ! runs_since "$runs" 5; do
		[ "$(now_ms)" -lt "$end" ] || fail "$((n)) writer rounds, $(($(repair_runs) - runs)) repair runs in $(slow 60) s"
		n=$((n + 1))
		for k in "${keys[@]}"; do
			if ((n % 2)); then
				lmrepl -s "$SERVERS" -r 0 set "$k" "$n-$k"
			else
				lmrepl -s "$SERVERS" set "$k" "$n-$k"
			fi
		done
	done
	# the writer's last word, while repairs still run: two more runs finish after it, so one
	# at least ran wholly after it
	for k in "${keys[@]}"; do lmrepl -s "$SERVERS" set "$k" "final-$n-$k"; done
	runs=$(repair_runs)
	wait_until runs_since "$runs" 2
	touch "$D/stop"
	wait_until stopped "${BGPIDS[0]}" || fail "the repair loop did not stop"
	for k in "${keys[@]}"; do
		has_copy "$(copy "$k" 0)" "$k" "final-$n-$k"
		has_copy "$(copy "$k" 1)" "$k" "final-$n-$k"
	done
	run -0 mcrverify -s "$SERVERS" "${keys[@]}"
	echo "# $n writer rounds, $(grep -c '^checked' "$D/repairs") repair runs, $(grep -c ' repaired$' "$D/repairs") keys repaired" >&3
}

# ---------------------------------------------------------------------------------------------
# --prometheus, --recheck-delay, --rate

@test "--prometheus=FILE: the metrics, written to a new file renamed over the old one" {
	three_kinds
	local f=$D/prom/mcr.prom t0 t1
	mkdir "$D/prom"
	echo old >"$f"
	ln "$f" "$D/old-link"
	t0=$(date +%s)
	run -1 mcrverify -s "$SERVERS" --prometheus="$f" d m o
	t1=$(date +%s)
	[ "$(cat "$D/old-link")" = old ] || fail "the file was rewritten in place, not replaced"
	grep -qx 'mcr_verify_keys{class="ok"} 1' "$f"
	grep -qx 'mcr_verify_keys{class="missing"} 1' "$f"
	grep -qx 'mcr_verify_keys{class="differ"} 1' "$f"
	grep -qx 'mcr_verify_keys{class="unreachable"} 0' "$f"
	grep -qx 'mcr_verify_keys{class="misplaced"} 0' "$f"
	grep -qx 'mcr_verify_keys_checked 3' "$f"
	grep -qx 'mcr_verify_repairs{result="repaired"} 0' "$f"
	grep -qEx 'mcr_verify_duration_seconds [0-9.]+' "$f"
	grep -qx 'mcr_verify_exit_status 1' "$f"
	local ts
	ts=$(sed -n 's/^mcr_verify_last_run_timestamp_seconds \([0-9]*\).*/\1/p' "$f")
	[ -n "$ts" ] && [ "$ts" -ge "$t0" ] && [ "$ts" -le "$t1" ] || fail "timestamp $ts, not within the run ($t0 to $t1)"
	grep -q '^# TYPE mcr_verify_keys gauge$' "$f"
	[ "$(ls "$D/prom")" = mcr.prom ] || fail "left behind: $(ls "$D/prom")"
	run -0 mcrverify -s "$SERVERS" --prometheus="$f" -r 1 --repair=primary d m o
	grep -qx 'mcr_verify_repairs{result="repaired"} 2' "$f"
	grep -qx 'mcr_verify_exit_status 0' "$f"
	[ "$(ls "$D/prom")" = mcr.prom ] || fail "left behind: $(ls "$D/prom")"
}

@test "--prometheus-label and per-server series: which server lost its copies; promtool accepts the file and the example rules" {
	start_servers 3
	local f=$D/mcr.prom s
	/usr/bin/python3 "$BATS_TEST_DIRNAME/app.py" "$SERVERS" --replicas 1 load pk 300
	mc 1 flush_all >/dev/null
	run -1 mcrverify -s "$SERVERS" -r 1 --all --prometheus="$f" --prometheus-label=cluster=sessions \
		--prometheus-label='shard=1 of "2"'
	# every sample carries the labels, escaped as the format says
	! grep -v '^#' "$f" | grep -qv '^mcr_verify_[a-z_]*{cluster="sessions",shard="1 of \\"2\\""' || fail "$(cat "$f")"
	# server 1 lost its copies: absent there, found on the others, and the counts add up
	local absent=0 found=0
	for s in 0 1 2; do
		a=$(sed -n "s/^mcr_verify_copies{.*,server=\"$(srv "$s")\",state=\"absent\"} //p" "$f")
		fd=$(sed -n "s/^mcr_verify_copies{.*,server=\"$(srv "$s")\",state=\"found\"} //p" "$f")
		if [ "$s" = 1 ]; then [ "$a" -gt 0 ] && [ "$fd" = 0 ]; else [ "$a" = 0 ] && [ "$fd" -gt 0 ]; fi ||
			fail "server $s: absent $a, found $fd"
		absent=$((absent + a)) found=$((found + fd))
	done
	[ $((absent + found)) = 600 ] || fail "$absent absent + $found found copies of 300 keys with 2 copies each"
	grep -qx "mcr_verify_keys{cluster=\"sessions\",shard=.*,class=\"missing\"} $absent" "$f"
	if command -v promtool >/dev/null; then
		run -0 promtool check metrics <"$f"
		run -0 promtool check rules "$BATS_TEST_DIRNAME/../examples/mcr.rules.yml"
		(cd "$BATS_TEST_DIRNAME/../examples" && promtool test rules mcr.rules.test.yml) || fail "promtool test rules failed"
	fi
	# bad labels: refused before anything is read
	run -2 --separate-stderr mcrverify -s "$SERVERS" --prometheus="$f" --prometheus-label=server=x k
	[[ $stderr == *"the metrics use this label name themselves"* ]] || fail "$stderr"
	run -2 --separate-stderr mcrverify -s "$SERVERS" --prometheus="$f" --prometheus-label=a=1 --prometheus-label=a=2 k
	run -2 --separate-stderr mcrverify -s "$SERVERS" --prometheus="$f" --prometheus-label=noequals k
	run -2 --separate-stderr mcrverify -s "$SERVERS" --prometheus-label=cluster=x k
	[[ $stderr == *"give it too"* ]] || fail "$stderr"
}

# read_since I N: server I has answered more than N reads (its cmd_get counter)
read_since() { [ "$(mstat "$1" cmd_get)" -gt "$2" ]; }

# write_after_read I KEY VALUE: in the background, as soon as server I has answered a read that
# it had not answered when this was called (a tool's first read of KEY there), KEY=VALUE is set
# on server I alone; JOB is the writer, to wait for (it fails if no read came)
write_after_read() {
	local i=$1 key=$2 val=$3 gets
	gets=$(mstat "$i" cmd_get)
	(wait_until read_since "$i" "$gets" && put "$i" "$key" "$val") 3>&- &
	JOB=$!
	BGPIDS+=("$JOB")
}

@test "--recheck-delay: a copy missing for a moment is not reported; with 0 it is" {
	start_servers 2
	local r
	r=$(copy rk 1)
	mcrset -s "$SERVERS" rk v
	del "$r" rk
	# the copy comes back right after the tool's first read found it missing, well within the
	# delay: the second read finds it
	write_after_read "$r" rk v
	run -0 mcrverify -s "$SERVERS" --recheck-delay="$(slow 1500)" rk
	assert_output --regexp "^${SUM}ok 1, missing 0, "
	wait "$JOB"
	has_copy "$r" rk v
	# the same with no delay: read once, missing
	del "$r" rk
	write_after_read "$r" rk v
	run -1 mcrverify -s "$SERVERS" --recheck-delay=0 rk
	assert_line --index 0 --regexp '^rk missing '
	wait "$JOB"
	has_copy "$r" rk v
}

@test "--batch: 500 keys by default, 64 per server in a list of more than 7, or what --batch says" {
	start_servers 9
	mcrset -s "$SERVERS" k v >/dev/null
	mcrset -s "$(srv 0),$(srv 1),$(srv 2)" k v >/dev/null
	run -0 --separate-stderr mcrverify -s "$SERVERS" -vv k
	[[ $stderr == *"batches of up to 576 keys and 16777216 bytes of values"* ]] || fail "$stderr"
	run -0 --separate-stderr mcrverify -s "$SERVERS" -vv --batch=20 --batch-bytes=1M k
	[[ $stderr == *"batches of up to 20 keys and 1048576 bytes of values"* ]] || fail "$stderr"
	run -0 --separate-stderr mcrverify -s "$(srv 0),$(srv 1),$(srv 2)" -vv k
	[[ $stderr == *"batches of up to 500 keys "* ]] || fail "$stderr"
	run -0 --separate-stderr mcrcopy -s "$SERVERS" -vv --to=- k
	[[ $stderr == *"batches of up to 576 keys "* ]] || fail "$stderr"
}

@test "--progress: on stderr only, with the share done and an ETA where the whole is known" {
	start_servers 3
	lmrepl -s "$SERVERS" setmany pg 400
	seq -f 'pg%g' 0 399 >"$D/keys"
	local err
	for src in "--all" "-k $D/keys"; do
		# shellcheck disable=SC2086 # two words
		run -0 --separate-stderr mcrverify -s "$SERVERS" $src --progress --rate=1000 --batch=50
		[[ $output =~ ^checked\ 400\ keys ]] && [ "${#lines[@]}" = 1 ] || fail "stdout: $output"
		err=$(tr '\r' '\n' <<<"$stderr" | grep -v '^ *$')
		grep -q '^mcrverify: 400 keys, 0 with problems, [0-9]* keys/s, 100% *$' <<<"$err" || fail "$src: $err"
		grep -Eq '^mcrverify: [0-9]+ keys, 0 with problems, [0-9]+ keys/s, [0-9]+%, ETA 0:00:0[0-9] *$' <<<"$err" ||
			fail "$src: no ETA: $err"
	done
	# a pipe cannot be counted first: no share, no ETA
	run -0 --separate-stderr bash -c 'cat "$1" | timeout 60 "$MCR_BIN/mcrverify" -s "$2" -k - --progress' _ "$D/keys" "$SERVERS"
	[[ $stderr == *"mcrverify: 400 keys, 0 with problems, "*" keys/s"* ]] || fail "$stderr"
	[[ $stderr != *%* ]] || fail "$stderr"
	run -0 --separate-stderr mcrcopy -s "$SERVERS" -k "$D/keys" --to=- --progress
	[[ $stderr == *"mcrcopy: 400 keys, 0 failed, "*" keys/s, 100%"* ]] || fail "$stderr"
}

@test "--rate=400: 200 keys take at least about 0.4 s" {
	start_servers 2
	lmrepl -s "$SERVERS" setmany rt 200
	seq 0 199 | sed 's/^/rt/' >"$D/keys"
	local t0 t1
	t0=$(now_ms)
	run -0 mcrverify -s "$SERVERS" --rate=400 -k "$D/keys"
	t1=$(now_ms)
	assert_output --regexp "^checked 200 keys .*ok 200, "
	[ $((t1 - t0)) -ge 380 ] || fail "200 keys at 400/s took $((t1 - t0)) ms"
	[ $((t1 - t0)) -lt "$(slow 5000)" ] || fail "200 keys at 400/s took $((t1 - t0)) ms"
}

# ---------------------------------------------------------------------------------------------
# bad input

@test "bad input: one line, exit 2, nothing read" {
	start_servers 2
	mcrset -s "$SERVERS" a v
	bad 'nokeys|no such file' -s "$SERVERS" -k "$D/nokeys"
	local s
	for s in 0/3 4/3 1/0 abc 1/ /3 1/3x -1/3; do
		bad 'shard' -s "$SERVERS" --shard="$s" a
	done
	bad 'repair|policy' -s "$SERVERS" --repair=sometimes a
	bad 'dry-run|repair' -s "$SERVERS" -n a
	bad 'dry-run|repair' -s "$SERVERS" --dry-run a
	bad 'all|key' -s "$SERVERS" --all a
	bad 'key' -s "$SERVERS"
	# placement is never guessed for a write: the replica count stated, or nothing is done
	bad '^mcrverify: --repair writes copies where the replica count puts them: give it with -r N ' \
		-s "$SERVERS" --repair a
	bad '^mcrverify: --remove-strays writes copies where the replica count puts them' -s "$SERVERS" --all --remove-strays
	bad 'misplaced-limit' -s "$SERVERS" -r 1 --all --repair --misplaced-limit=101
}

@test "bad input: bad percent-encoding in a -k file names FILE:LINE; no key checked" {
	start_servers 2
	mcrset -s "$SERVERS" a v
	printf 'a\nb%%20c\nbad%%zz\nd\n' >"$D/k1"
	bad "^mcrverify: $D/k1:3: " -s "$SERVERS" -k "$D/k1"
	printf 'a\nx%%4\n' >"$D/k2"
	bad "^mcrverify: $D/k2:2: " -s "$SERVERS" -k "$D/k2"
	printf 'a\n%%\n' >"$D/k3"
	bad "^mcrverify: $D/k3:2: " -s "$SERVERS" -k "$D/k3"
}
