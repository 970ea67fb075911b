#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# mcrcopy against real servers: a source cluster (servers 0..2) and a destination cluster
# (servers 3..5). Rebuild of a restarted server, migration to other placement settings (read
# back through libmemcached's own replication), dump and restore with binary values, flags and
# TTLs, add versus --overwrite, a destination or source server down, --failed and -k, corrupt
# and truncated dumps, expired items, --verify, --dry-run, --shard, keys a dump cannot carry,
# output formats and bad usage (HACKING.md "mcrcopy").

bats_require_minimum_version 1.5.0
load helper

setup() {
	[ -x "$MCR_BIN/lmrepl" ] || fail "no $MCR_BIN/lmrepl: run make $MCR_BIN/lmrepl (tests/lmrepl.c)"
	D=$BATS_TEST_TMPDIR
}

T=$'\t'

# the text summary as an ERE: COPIED PRESENT EXPIRED FAILED
summ() { echo "^$1 copied, $2 already present, $3 expired, $4 failed in [0-9]+\.[0-9]+ s\$"; }

# SRC: servers 0..2, DST: servers 3..5, each a cluster of its own
two_clusters() {
	local s
	start_servers 3
	for s in 3 4 5; do start_server_at "$s"; done
	SRC=$SERVERS
	DST=$(srv 3),$(srv 4),$(srv 5)
}

# index of server HOST:PORT
idx() {
	local s
	for s in "${!PORTS[@]}"; do
		[ "$(srv "$s")" = "$1" ] && { echo "$s"; return 0; }
	done
	echo "no server $1" >&2
	return 1
}

# where LIST KEY R [lmrepl placement flags]: index of the server that holds copy R of KEY, as
# libmemcached's own replication places it
where() {
	local list=$1 key=$2 r=$3 s
	shift 3
	s=$(lmrepl -s "$list" "$@" copies "$key" | sed -n "$((r + 1))p" | cut -f2)
	idx "$s"
}

# holding LIST SERVER KEY...: the keys that have a copy on SERVER (host:port), one per line
holding() {
	local list=$1 s=$2
	shift 2
	lmrepl -s "$list" copies "$@" | awk -F'\t' -v s="$s" '$2 == s { print $1 }' | sort -u
}

# server I alone holds KEY=VALUE with flags FL (default 0)
has_copy() {
	local out
	out=$(mc "$1" get "$2")
	[ "$out" = "VALUE $2 ${4:-0} ${#3}"$'\n'"$3"$'\n'"END" ] ||
		fail "server $1 ($(srv "$1")) $2: expected '$3' (flags ${4:-0}), got: $out"
}

no_copy() {
	local out
	out=$(mc "$1" get "$2")
	[ "$out" = END ] || fail "server $1 ($(srv "$1")) holds $2: $out"
}

# sum_stat NAME I...: the field summed over servers I...
sum_stat() {
	local name=$1 s n=0
	shift
	for s in "$@"; do n=$((n + $(mstat "$s" "$name"))); done
	echo "$n"
}

# ttl_between I KEY LO HI: server I holds KEY with a remaining TTL from LO to HI (-1: none)
ttl_between() {
	local out t
	out=$(mc "$1" "mg $2 t")
	[[ $out =~ ^HD\ t(-?[0-9]+)$ ]] || fail "server $1 $2: mg says: $out"
	t=${BASH_REMATCH[1]}
	[ "$t" -ge "$3" ] && [ "$t" -le "$4" ] || fail "server $1 $2: TTL $t, not from $3 to $4"
}

# FNV-1a 64 of $1 mod $2 (bash arithmetic wraps at 64 bits; the modulo is taken unsigned)
fnv_mod() {
	local LC_ALL=C s=$1 n=$2 h k c
	h=$((0xcbf29ce484222325))
	for ((k = 0; k < ${#s}; k++)); do
		printf -v c '%d' "'${s:k:1}"
		h=$(((h ^ (c & 255)) * 0x100000001b3))
	done
	echo $(((((h >> 1) & 0x7fffffffffffffff) % n * 2 + (h & 1)) % n))
}

# bad PATTERN ARGS...: exit 2, nothing on stdout, one stderr line "mcrcopy: ..." matching the
# ERE PATTERN (case-insensitive), and no server read or written
bad() {
	local pat=$1 ok='' s
	shift
	run -2 --separate-stderr mcrcopy "$@" </dev/null
	[ -z "$output" ] || fail "mcrcopy $*: stdout not empty: $output"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "mcrcopy $*: ${#stderr_lines[@]} stderr lines: $stderr"
	[[ ${stderr_lines[0]} == "mcrcopy: "?* ]] || fail "mcrcopy $*: no program name: $stderr"
	shopt -s nocasematch
	[[ ${stderr_lines[0]} =~ $pat ]] && ok=1
	shopt -u nocasematch
	[ -n "$ok" ] || fail "mcrcopy $*: message does not name the problem (/$pat/): $stderr"
	for s in "${!PORTS[@]}"; do
		[ -n "${PIDS[$s]}" ] || continue
		[ "$(mstat "$s" cmd_get)" = 0 ] || fail "mcrcopy $*: server $s was read"
		[ "$(mstat "$s" cmd_set)" = 0 ] || fail "mcrcopy $*: server $s was written"
	done
}

# ---------------------------------------------------------------------------------------------
# --rebuild

@test "--rebuild: a restarted, empty server refilled from the other copies; mcrverify --all is clean" {
	start_servers 3
	local n before0 before2 k tk src
	lmrepl -s "$SERVERS" setmany rb 300
	# a key with a TTL and flags that has a copy on server 1
	for k in t0 t1 t2 t3 t4 t5 t6 t7 t8 t9; do
		[ "$(where "$SERVERS" "$k" 0)" = 1 ] || [ "$(where "$SERVERS" "$k" 1)" = 1 ] || continue
		tk=$k
		break
	done
	[ -n "$tk" ] || fail "no key among t0..t9 has a copy on server 1"
	mcrset -s "$SERVERS" -e 1000 -f 9 "$tk" ttlval
	n=$(holding "$SERVERS" "$(srv 1)" $(seq -f 'rb%g' 0 299) "$tk" | wc -l)
	[ "$n" -gt 100 ] || fail "only $n keys on server 1"

	stop_server 1 || true
	start_server_at 1
	run -1 mcrverify -s "$SERVERS" --all
	assert_line --regexp "^checked 301 keys .* missing $n, "
	before0=$(mstat 0 cmd_set) before2=$(mstat 2 cmd_set)

	run -0 --separate-stderr mcrcopy -s "$SERVERS" -r 1 --rebuild="$(srv 1)"
	assert_output --regexp "$(summ "$n" 0 0 0)"
	[ -z "$stderr" ] || fail "stderr: $stderr"
	run -0 mcrverify -s "$SERVERS" --all
	assert_output --regexp "^checked 301 keys in [0-9.]+ s: ok 301, missing 0, differ 0, unreachable 0, misplaced 0\$"
	# only the rebuilt server was written, and it holds exactly its keys
	[ "$(mstat 0 cmd_set)" = "$before0" ] || fail "server 0 was written"
	[ "$(mstat 2 cmd_set)" = "$before2" ] || fail "server 2 was written"
	[ "$(mstat 1 curr_items)" = "$n" ]
	# flags and the remaining TTL came along (from the key's other copy)
	has_copy 1 "$tk" ttlval 9
	src=$(where "$SERVERS" "$tk" 0)
	[ "$src" != 1 ] || src=$(where "$SERVERS" "$tk" 1)
	same_ttl "$src" 1 "$tk"

	# a second rebuild finds every copy in place
	run -0 mcrcopy -s "$SERVERS" -r 1 --rebuild="$(srv 1)"
	assert_output --regexp "$(summ 0 "$n" 0 0)"
}

# ---------------------------------------------------------------------------------------------
# migration

@test "migrate to 2 replicas with ketama: libmemcached's replicated get reads every key there" {
	two_clusters
	local k n=0 out
	lmrepl -s "$SRC" setmany mg 150
	mcrset -s "$SRC" -f 77 flagged fv
	run -0 --separate-stderr mcrcopy -s "$SRC" --all --to="$DST" --to-replicas=2 --to-distribution=ketama
	assert_output --regexp "$(summ 151 0 0 0)"
	# three copies of every key
	[ "$(sum_stat curr_items 3 4 5)" = 453 ]
	# read back through libmemcached's own replication, with the destination's settings
	for ((k = 0; k < 150; k++)); do
		out=$(lmrepl -s "$DST" -r 2 -d ketama get "mg$k") || fail "lmrepl get mg$k: exit $?"
		[ "$out" = "mg$k" ] || fail "mg$k reads '$out'"
		n=$((n + 1))
	done
	[ "$n" = 150 ]
	run -0 lmrepl -s "$DST" -r 2 -d ketama get flagged
	assert_output fv
	run -0 mcrget -s "$DST" -r 2 --distribution=ketama --all flagged
	assert_equal "${#lines[@]}" 3
	for k in 0 1 2; do assert_line --index "$k" --regexp "^flagged [^ ]+ [a-z0-9]+ found 77 2 "; done
	# every copy where the destination's clients look, none elsewhere
	run -0 mcrverify -s "$DST" -r 2 --distribution=ketama --all
	assert_output --regexp "^checked 151 keys in [0-9.]+ s: ok 151, missing 0, differ 0, unreachable 0, misplaced 0\$"
	# the destination's placement is not the source's
	run -1 mcrverify -s "$DST" -r 1 --all
	assert_output --regexp "misplaced 0, strays [1-9][0-9]*\$"
}

@test "migrate with --to-hash and --to-distribution=consistent; --to as a configuration string" {
	two_clusters
	local s k
	for s in 6 7 8; do start_server_at "$s"; done
	local D2=$(srv 6),$(srv 7),$(srv 8)
	lmrepl -s "$SRC" setmany h 40
	run -0 mcrcopy -s "$SRC" --all --to="$D2" --to-replicas=1 --to-hash=md5 --to-distribution=consistent
	assert_output --regexp "$(summ 40 0 0 0)"
	for ((k = 0; k < 40; k++)); do
		for s in 0 1; do
			has_copy "$(where "$D2" "h$k" "$s" -H md5 -d consistent)" "h$k" "h$k"
		done
	done
	run -0 mcrverify -s "$D2" --hash=md5 --distribution=consistent --all
	assert_output --regexp "ok 40, missing 0, differ 0, unreachable 0, misplaced 0\$"
	# a configuration string names the destination; the placement options apply on top
	run -0 mcrcopy -s "$SRC" --all --to="--SERVER=$(srv 3) --SERVER=$(srv 4) --SERVER=$(srv 5) --NUMBER-OF-REPLICAS=2"
	assert_output --regexp "$(summ 40 0 0 0)"
	[ "$(sum_stat curr_items 3 4 5)" = 120 ]
	run -0 mcrverify -s "$DST" -r 2 --all
	assert_output --regexp "ok 40, missing 0, differ 0, unreachable 0, misplaced 0\$"
}

@test "the destination is --to alone: never MEMCACHED_SERVERS or LIBMEMCACHED; it shares the namespace" {
	two_clusters
	mcrset -s "$SRC" --namespace=app: user v
	# a configuration without servers: the environment does not fill them in
	MEMCACHED_SERVERS=$DST LIBMEMCACHED="--SERVER=$(srv 3)" run -2 mcrcopy -s "$SRC" --namespace=app: --to=--NUMBER-OF-REPLICAS=1 user
	[ "$(sum_stat cmd_set 3 4 5)" = 0 ] || fail "the destination from the environment was written"
	run -0 mcrcopy -s "$SRC" --namespace=app: --to="$DST" --to-replicas=1 user
	assert_output --regexp "$(summ 1 0 0 0)"
	# placed and stored under the namespaced key, as an application with that prefix finds it
	run -0 lmrepl -s "$DST" -n app: get user
	assert_output v
	has_copy "$(where "$DST" app:user 0)" app:user v
	no_copy "$(where "$DST" app:user 0)" user
	# with --all, only the keys in the namespace, and a dump holds them without it
	mcrset -s "$SRC" other v
	run -0 --separate-stderr mcrcopy -s "$SRC" --namespace=app: --all --to=-
	assert_output $'set user 0 0 1\r\nv\r\nmn\r'
}

# ---------------------------------------------------------------------------------------------
# dump and restore

@test "dump (--to=-) and restore (--from=-): binary values, flags and TTLs round-trip" {
	two_clusters
	local now e line p r set_at
	printf 'a\0b\r\nc\r\n\r\nset x 0 0 1\r\nend\0' >"$D/bin"
	head -c 100000 /dev/urandom >"$D/big"
	mcrset -s "$SRC" -f 42 bin <"$D/bin"
	mcrset -s "$SRC" -f 4294967295 big <"$D/big"
	set_at=$(date +%s)
	mcrset -s "$SRC" -e 1000 -f 7 ttlk tv
	mcrset -s "$SRC" forever fv
	mcrset -s "$SRC" empty ''
	now=$(date +%s)
	# the dump owns stdout, the summary goes to stderr
	run -0 --separate-stderr mcrcopy -s "$SRC" --all --to=-
	[[ $stderr =~ $(summ 5 0 0 0) ]] || fail "summary on stderr: $stderr"
	[[ $output == set\ * ]] || fail "stdout is not a dump: ${output:0:100}"
	mcrcopy -s "$SRC" --all --to=- 2>/dev/null >"$D/dump"
	[ "$(grep -ac '^set ' "$D/dump")" -ge 5 ]
	grep -aqx "set bin 42 0 $(wc -c <"$D/bin")"$'\r' "$D/dump"
	grep -aqx $'set forever 0 0 2\r' "$D/dump"
	grep -aqx $'set empty 0 0 0\r' "$D/dump"
	grep -aqx $'set big 4294967295 0 100000\r' "$D/dump"
	# a TTL is dumped as an absolute unix time: 1000 s after the item was set (within the
	# servers' whole-second clocks), however long the runs in between took
	line=$(grep -a '^set ttlk ' "$D/dump" | tr -d '\r')
	[[ $line =~ ^set\ ttlk\ 7\ ([0-9]+)\ 2$ ]] || fail "dump line: $line"
	e=${BASH_REMATCH[1]}
	[ "$e" -ge $((set_at + 1000 - 3)) ] && [ "$e" -le $((now + 1001)) ] || fail "exptime $e, set at $set_at, now $now"

	run -0 --separate-stderr mcrcopy --from=- --to="$DST" --to-replicas=1 <"$D/dump"
	assert_output --regexp "$(summ 5 0 0 0)"
	[ -z "$stderr" ] || fail "stderr: $stderr"
	mcrget -s "$DST" -o "$D/bin.out" bin
	cmp "$D/bin" "$D/bin.out"
	mcrget -s "$DST" -o "$D/big.out" big
	cmp "$D/big" "$D/big.out"
	run -0 mcrget -s "$DST" --all bin big ttlk forever empty
	assert_line --regexp "^bin [^ ]+ primary found 42 $(wc -c <"$D/bin") "
	assert_line --regexp "^bin [^ ]+ replica1 found 42 $(wc -c <"$D/bin") [0-9]+ -?[0-9]+ yes\$"
	assert_line --regexp "^big [^ ]+ replica1 found 4294967295 100000 [0-9]+ -?[0-9]+ yes\$"
	assert_line --regexp "^ttlk [^ ]+ replica1 found 7 2 [0-9]+ -?[0-9]+ yes\$"
	assert_line --regexp "^empty [^ ]+ replica1 found 0 0 [0-9]+ -?[0-9]+ yes\$"
	for r in 0 1; do
		p=$(where "$DST" ttlk "$r")
		same_ttl "$(where "$SRC" ttlk 0)" "$p" ttlk
		p=$(where "$DST" forever "$r")
		ttl_between "$p" forever -1 -1
	done
	run -0 mcrverify -s "$DST" --all
	assert_output --regexp "ok 5, missing 0, differ 0, "
	# restored again: everything is already there
	run -0 mcrcopy --from=- --to="$DST" --to-replicas=1 <"$D/dump"
	assert_output --regexp "$(summ 0 5 0 0)"
}

@test "named keys (KEY operands, -k): the TTL of each is read, several keys from one server" {
	two_clusters
	local k p r keys=()
	for ((k = 0; k < 12; k++)); do
		mcrset -s "$SRC" -e 1000 "nk$k" "v$k"
		keys+=("nk$k")
	done
	mcrset -s "$SRC" nkforever v
	# twelve keys on three servers: several are read from the same server
	run -0 --separate-stderr mcrcopy -s "$SRC" --to="$DST" --to-replicas=1 "${keys[@]}" nkforever
	assert_output --regexp "$(summ 13 0 0 0)"
	[ -z "$stderr" ] || fail "stderr: $stderr"
	for k in "${keys[@]}"; do
		for r in 0 1; do
			p=$(where "$DST" "$k" "$r")
			same_ttl "$(where "$SRC" "$k" 0)" "$p" "$k"
		done
	done
	ttl_between "$(where "$DST" nkforever 0)" nkforever -1 -1
	# a dump of named keys from a -k file
	printf '%s\n' "${keys[@]}" >"$D/keys"
	run -0 --separate-stderr mcrcopy -s "$SRC" -k "$D/keys" --to=-
	[ "$(grep -c '^set nk[0-9]* 0 [1-9][0-9]* [23]' <<<"$output")" = 12 ] || fail "dump: $output"
}

# dump_head [PREFIX]: a hand-made dump of three items, PREFIXd1..PREFIXd3: d1's data holds a
# \r\n (lines 1-3), d2 is on lines 4-5, a blank line 6, d3 on lines 7-8; what a test appends
# starts at line 9
dump_head() {
	printf 'set %sd1 1 0 4\r\nx\r\ny\r\nset %sd2 2 0 2\r\nv2\r\n\r\nset %sd3 3 0 2\r\nv3\r\n' "${1-}" "${1-}" "${1-}"
}

@test "a truncated dump on stdin: the item's line named, exit 2, the items before it written" {
	start_servers 3
	local s last lastkey
	# data shorter than <bytes>
	{ dump_head; printf 'set d4 0 0 10\r\nshort'; } >"$D/t1"
	run -2 --separate-stderr mcrcopy --from=- --to="$SERVERS" --to-replicas=1 <"$D/t1"
	[[ $stderr == "mcrcopy: stdin: item at line 9: "*truncat* ]] || fail "stderr: $stderr"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "stderr: $stderr"
	[ -z "$output" ] || fail "stdout: $output"
	run -0 mcrget -s "$SERVERS" --format=tsv d1 d2 d3
	assert_line "d1${T}found${T}1${T}$(srv "$(where "$SERVERS" d1 0)")${T}x\\r\\ny"
	assert_line --regexp "^d3${T}found${T}3${T}"
	for s in 0 1 2; do no_copy "$s" d4; done
	# a command line cut short
	{ dump_head e; printf 'set e4 0 0 2\r\nv4\r\nset e5 0'; } >"$D/t2"
	run -2 --separate-stderr mcrcopy --from=- --to="$SERVERS" --to-replicas=1 <"$D/t2"
	[[ $stderr == "mcrcopy: stdin: item at line 11: "*truncat* ]] || fail "stderr: $stderr"
	run -0 mcrget -s "$SERVERS" ed1 ed2 ed3 e4
	# the final \r\n missing
	{ dump_head f; printf 'set f4 0 0 2\r\nv4'; } >"$D/t3"
	run -2 --separate-stderr mcrcopy --from=- --to="$SERVERS" --to-replicas=1 <"$D/t3"
	[[ $stderr == "mcrcopy: stdin: item at line 9: "*truncat* ]] || fail "stderr: $stderr"
	run -0 mcrget -s "$SERVERS" fd1 fd2 fd3
	for s in 0 1 2; do no_copy "$s" f4; done
	# a real dump cut in the middle of its last item's data, restored to one server
	lmrepl -s "$SERVERS" setmany cut 20
	mcrcopy -s "$SERVERS" --all --to=- 2>/dev/null >"$D/full"
	last=$(grep -an '^set ' "$D/full" | tail -n 1)
	lastkey=$(cut -d' ' -f2 <<<"$last")
	head -c $(($(wc -c <"$D/full") - 7)) "$D/full" >"$D/t4" # the end mark mn\r\n, and 3 bytes
	start_server_at 6
	run -2 --separate-stderr mcrcopy --from=- --to="$(srv 6)" -r 0 <"$D/t4"
	[[ $stderr == "mcrcopy: stdin: item at line ${last%%:*}: "*truncat* ]] || fail "stderr: $stderr (last item: $last)"
	[ "$(mstat 6 curr_items)" = $(($(grep -ac '^set ' "$D/full") - 1)) ]
	no_copy 6 "$lastkey"
}

@test "a corrupt dump on stdin: the item's line named, exit 2; items before it written, none after" {
	start_servers 3
	local what bad p=0 s
	# each corrupt item at line 9, after three good ones, followed by a good one
	for what in 'bad exptime|set c 0 zz 2\r\nv1\r\n' \
		'unknown command|bogus line here\r\n' \
		'set commands only|add c 0 0 2\r\nv1\r\n' \
		'longer|set c 0 0 2\r\nv1xx\r\n' \
		'flags|set c -1 0 2\r\nv1\r\n' \
		'byte count|set c 0 0 two\r\nv1\r\n' \
		"too long|set $(printf 'k%.0s' {1..251}) 0 0 2\\r\\nv1\\r\\n"; do
		bad=${what#*|}
		p=$((p + 1))
		{ dump_head "p$p"; printf "$bad"; printf 'set p%safter 0 0 2\r\nv9\r\n' "$p"; } >"$D/c"
		run -2 --separate-stderr mcrcopy --from=- --to="$SERVERS" --to-replicas=1 <"$D/c"
		[ "${#stderr_lines[@]}" -eq 1 ] || fail "$bad: stderr: $stderr"
		[[ $stderr == "mcrcopy: stdin: item at line 9: "* ]] || fail "$bad: stderr: $stderr"
		shopt -s nocasematch
		[[ $stderr =~ ${what%%|*} ]] || fail "$bad: the message does not say what is wrong: $stderr"
		shopt -u nocasematch
		run -0 mcrget -s "$SERVERS" "p${p}d1" "p${p}d2" "p${p}d3"
		for s in 0 1 2; do
			no_copy "$s" c
			no_copy "$s" "p${p}after"
		done
	done
}

@test "a corrupt item after full batches: the batches before it written, nothing after it" {
	start_servers 3
	local k
	{
		for k in 1 2 3 4 5; do printf 'set b%s 0 0 2\r\nv%s\r\n' "$k" "$k"; done
		printf 'set b6 0 0 5\r\nv6\r\n'
		printf 'set b7 0 0 2\r\nv7\r\n'
	} >"$D/c"
	run -2 --separate-stderr mcrcopy --from=- --to="$SERVERS" --to-replicas=1 --batch=2 <"$D/c"
	[[ $stderr == "mcrcopy: stdin: item at line 11: "* ]] || fail "stderr: $stderr"
	run -0 mcrget -s "$SERVERS" b1 b2 b3 b4 b5
	run -1 mcrget -s "$SERVERS" b7
	[ "$(sum_stat curr_items 0 1 2)" = 10 ]
}

# ---------------------------------------------------------------------------------------------
# the source copy

# put I KEY VALUE: KEY=VALUE on server I alone (ASCII set), bypassing every tool
put() {
	local out
	out=$(mc "$1" "set $2 0 0 ${#3}"$'\r\n'"$3")
	[ "$out" = STORED ] || fail "put $*: $out"
}

@test "the source copy is the first found in placement order; with -a a key is copied once" {
	two_clusters
	local c
	# pk: the copies differ; rk: the primary lost it
	put "$(where "$SRC" pk 0)" pk from-primary
	put "$(where "$SRC" pk 1)" pk from-replica
	put "$(where "$SRC" rk 1)" rk from-replica
	run -0 mcrcopy -s "$SRC" --to="$DST" --to-replicas=1 pk rk
	assert_output --regexp "$(summ 2 0 0 0)"
	for c in 0 1; do
		has_copy "$(where "$DST" pk "$c")" pk from-primary
		has_copy "$(where "$DST" rk "$c")" rk from-replica
	done
	# -a: pk is listed by two servers, rk by one; each dumped once, from its first copy
	run -0 --separate-stderr mcrcopy -s "$SRC" --all --to=-
	assert_equal "${#lines[@]}" 5
	assert_line --index 0 --regexp $'^set (pk 0 0 12|rk 0 0 12)\r$'
	assert_line $'from-primary\r'
	assert_line $'from-replica\r'
	[[ $stderr =~ $(summ 2 0 0 0 | sed 's/^\^//') ]] || fail "summary: $stderr"
}

@test "-r 2: a replica after the first is read only for a key its earlier copies miss; the copy taken is still the first found" {
	start_servers 4
	start_server_at 4
	local src=$SERVERS dst k K= n=300 before gets
	dst=$(srv 4)
	# K: its second replica is listed first (earlier in the server list than its first), the
	# primary lost it, the replicas differ; read with the primary and the copy that listed
	# it, K would be copied from the second replica
	for k in $(seq -f 'q%g' 0 80); do
		if [ "$(where "$src" "$k" 2 -r 2)" -lt "$(where "$src" "$k" 1 -r 2)" ]; then K=$k; break; fi
	done
	[ -n "$K" ]
	put "$(where "$src" "$K" 1 -r 2)" "$K" from-replica1
	put "$(where "$src" "$K" 2 -r 2)" "$K" from-replica2
	run -0 mcrcopy -s "$src" -r 2 --all --to="$dst" --to-replicas=0
	assert_output --regexp "$(summ 1 0 0 0)"
	has_copy 4 "$K" from-replica1
	run -0 --separate-stderr mcrcopy -s "$src" -r 2 --to=- "$K"
	assert_equal "${lines[1]}" $'from-replica1\r'
	# a whole cluster: the primary and the first listing's copy, not every copy (3 gets a key)
	awk -v n=$n 'BEGIN { for (i = 0; i < n; i++) printf "set w%d 0 0 8\r\nv%07d\r\n", i, i }' >"$D/batch"
	mcrset -s "$src" -r 2 -q --batch "$D/batch"
	before=$(sum_stat cmd_get 0 1 2 3)
	run -0 --separate-stderr mcrcopy -s "$src" -r 2 --all --to=-
	gets=$(($(sum_stat cmd_get 0 1 2 3) - before))
	[[ $stderr =~ $(summ $((n + 1)) 0 0 0 | sed 's/^\^//') ]] || fail "summary: $stderr"
	[ "$gets" -ge $((n + 1)) ] && [ "$gets" -lt $((2 * (n + 1))) ] || fail "$gets gets for $((n + 1)) keys"
}

@test "--rebuild of a server still down, or not in the list: one line up front, nothing read or written" {
	start_servers 3
	lmrepl -s "$SERVERS" setmany rd 100
	local gets0 sets0
	gets0=$(mstat 0 cmd_get) sets0=$(mstat 0 cmd_set)
	stop_server 1
	run -2 --separate-stderr mcrcopy -s "$SERVERS" -r 1 --rebuild="$(srv 1)"
	[ -z "$output" ] || fail "stdout: $output"
	[ "${#stderr_lines[@]}" = 1 ] || fail "stderr: $stderr"
	[[ $stderr == "mcrcopy: --rebuild: $(srv 1) does not answer ("*"): start it, then rebuild it; nothing was copied" ]] ||
		fail "stderr: $stderr"
	run -2 --separate-stderr mcrcopy -s "$SERVERS" -r 1 --rebuild=127.0.0.1:1
	[ "$stderr" = "mcrcopy: --rebuild: 127.0.0.1:1 is not a server of the cluster ($(srv 0), $(srv 1), $(srv 2))" ] ||
		fail "stderr: $stderr"
	[ "$(mstat 0 cmd_get)" = "$gets0" ] && [ "$(mstat 0 cmd_set)" = "$sets0" ] || fail "server 0 was asked"
	# once it answers, the same command rebuilds it
	start_server_at 1
	run -0 mcrcopy -s "$SERVERS" -r 1 --rebuild="$(srv 1)"
	run -0 mcrverify -s "$SERVERS" -r 1 --all
}

@test "--rebuild reads the primary first: a rebuilt replica gets the primary's value" {
	start_servers 3
	local p r1 r2
	p=$(where "$SERVERS" rbk 0 -r 2) r1=$(where "$SERVERS" rbk 1 -r 2) r2=$(where "$SERVERS" rbk 2 -r 2)
	put "$p" rbk from-primary
	put "$r1" rbk from-replica1
	stop_server "$r2" || true
	start_server_at "$r2"
	run -0 mcrcopy -s "$SERVERS" -r 2 --rebuild="$(srv "$r2")" rbk
	assert_output --regexp "$(summ 1 0 0 0)"
	has_copy "$r2" rbk from-primary
	has_copy "$r1" rbk from-replica1
	# a key whose copy set does not include the rebuilt server is left alone, and not counted
	run -0 mcrcopy -s "$SERVERS" -r 1 --rebuild="$(srv "$r2")" rbk
	assert_output --regexp "$(summ 0 0 0 0)"
}

@test "--rebuild with -r 2, the application's keys: a key whose primary lost it is rebuilt from its other replica" {
	app_setup
	start_servers 4
	local x=3 n=600 k c lost=0
	py "$SERVERS" --replicas 2 load rb $n
	stop_server $x
	start_server_at $x
	# (pylibmc stores a str with flags 16)
	# in the rebuilt server's copy sets: the keys, and those whose primary (not it) then lost them
	lmrepl -s "$SERVERS" -r 2 copies $(seq -f 'rb%g' 0 $((n - 1))) >"$D/copies"
	awk -F'\t' -v x="$(srv $x)" '$2 == x { print $1 }' "$D/copies" >"$D/mine"
	awk -F'\t' -v x="$(srv $x)" '$1 != k { k = $1; p = $2 } $2 == x && p != x { print k "\t" p }' "$D/copies" |
		head -n 20 >"$D/lose"
	[ "$(wc -l <"$D/lose")" = 20 ]
	while IFS=$'\t' read -r k c; do
		[ "$(mc "$(idx "$c")" delete "$k")" = DELETED ] || fail "delete $k"
		echo "$k"
	done <"$D/lose" >"$D/lost"
	py "$SERVERS" --replicas 2 read rb $n >"$D/before"
	# named keys: each read from its primary, which misses, then from its other replica
	run -0 mcrcopy -s "$SERVERS" -r 2 --rebuild="$(srv $x)" -k "$D/lost" --confirm-delay=0
	assert_output --regexp "$(summ 20 0 0 0)"
	while read -r k; do has_copy $x "$k" "v-$k" 16; done <"$D/lost"
	run -0 mcrcopy -s "$SERVERS" -r 2 --rebuild="$(srv $x)" --all --confirm-delay=0
	assert_output --regexp "$(summ $(($(wc -l <"$D/mine") - 20)) 20 0 0)"
	while read -r k; do has_copy $x "$k" "v-$k" 16; done <"$D/mine"
	# what the application could read before, it still reads; and now the keys whose primary
	# is the rebuilt server too: all but the 20 whose primary lost them (a miss there is final)
	py "$SERVERS" --replicas 2 read rb $n | sort >"$D/after"
	sort "$D/before" | comm -23 - "$D/after" >"$D/gone"
	[ ! -s "$D/gone" ] || fail "no longer read: $(head -n 3 "$D/gone")"
	[ "$(wc -l <"$D/after")" = $((n - 20)) ] || fail "$(wc -l <"$D/after") keys read"
}

# ---------------------------------------------------------------------------------------------
# add and --overwrite

@test "default add keeps an existing destination value (already present); --overwrite replaces it" {
	two_clusters
	local p r
	mcrset -s "$SRC" -f 5 k new
	mcrset -s "$DST" -f 1 k old
	p=$(where "$DST" k 0) r=$(where "$DST" k 1)
	run -0 --separate-stderr mcrcopy -s "$SRC" --to="$DST" --to-replicas=1 k
	assert_output --regexp "$(summ 0 1 0 0)"
	[ -z "$stderr" ] || fail "stderr: $stderr"
	has_copy "$p" k old 1
	has_copy "$r" k old 1
	run -0 mcrcopy -s "$SRC" --all --to="$DST" --to-replicas=1
	assert_output --regexp "$(summ 0 1 0 0)"
	has_copy "$p" k old 1
	# add is per copy: an absent copy is filled, the present one kept
	mc "$r" delete k >/dev/null
	run -0 mcrcopy -s "$SRC" --to="$DST" --to-replicas=1 k
	assert_output --regexp "$(summ 1 0 0 0)"
	has_copy "$p" k old 1
	has_copy "$r" k new 5
	run -0 --separate-stderr mcrcopy -s "$SRC" --to="$DST" --to-replicas=1 --overwrite k
	assert_output --regexp "$(summ 1 0 0 0)"
	has_copy "$p" k new 5
	has_copy "$r" k new 5
	run -0 mcrverify -s "$DST" k
}

# ---------------------------------------------------------------------------------------------
# servers down

@test "a destination server down: its keys fail, listed in --failed, exit 1; -k FILE retries them" {
	two_clusters
	local expect n f
	lmrepl -s "$SRC" setmany dd 60
	expect=$(holding "$DST" "$(srv 4)" $(seq -f 'dd%g' 0 59))
	n=$(wc -l <<<"$expect")
	[ "$n" -gt 10 ] && [ "$n" -lt 60 ] || fail "$n keys on server 4"
	stop_server 4 || true
	run -1 --separate-stderr mcrcopy -s "$SRC" --all --to="$DST" --to-replicas=1 -t 500 --failed="$D/failed"
	assert_output --regexp "$(summ $((60 - n)) 0 0 "$n")"
	[ "$(sort "$D/failed")" = "$expect" ] || fail "--failed: $(sort "$D/failed" | tr '\n' ' '), expected $(tr '\n' ' ' <<<"$expect")"
	[ "${#stderr_lines[@]}" = "$n" ] || fail "${#stderr_lines[@]} stderr lines for $n failed keys"
	for f in "${stderr_lines[@]}"; do
		[[ $f =~ ^mcrcopy:\ dd[0-9]+:\ not\ copied:\ .+ ]] || fail "stderr: $f"
	done
	start_server_at 4
	run -0 --separate-stderr mcrcopy -s "$SRC" -k "$D/failed" --to="$DST" --to-replicas=1 --failed="$D/failed2"
	assert_output --regexp "$(summ "$n" 0 0 0)"
	[ -f "$D/failed2" ] && [ ! -s "$D/failed2" ] || fail "--failed after a clean run: $(cat "$D/failed2")"
	run -0 mcrverify -s "$DST" --all
	assert_output --regexp "^checked 60 keys .*ok 60, missing 0, "
}

@test "source servers down: keys with no readable copy fail (exit 1); with -a an unlisted server is trouble (2)" {
	two_clusters
	local expect n
	lmrepl -s "$SRC" setmany sd 30
	seq -f 'sd%g' 0 29 >"$D/keys"
	# copies on servers 0 and 1 for keys whose primary is 0
	expect=$(lmrepl -s "$SRC" copies $(cat "$D/keys") | awk -F'\t' -v s="$(srv 0)" '$2 == s && $3 == "primary" { print $1 }' | sort)
	n=$(wc -l <<<"$expect")
	stop_server 0 || true
	stop_server 1 || true
	run -1 --separate-stderr mcrcopy -s "$SRC" -t 500 -k "$D/keys" --to="$DST" --to-replicas=1 --failed="$D/failed"
	assert_output --regexp "$(summ $((30 - n)) 0 0 "$n")"
	[ "$(sort "$D/failed")" = "$expect" ] || fail "--failed: $(sort "$D/failed" | tr '\n' ' ')"
	[ "${#stderr_lines[@]}" = "$n" ] || fail "stderr: $stderr"
	# -a: the servers that cannot be listed are named, the others' keys still copied
	run -2 --separate-stderr mcrcopy -s "$SRC" -t 500 --all --to="$DST" --to-replicas=1
	[[ $stderr == *"$(srv 0)"* ]] || fail "server 0 not named: $stderr"
	[[ $stderr == *"$(srv 1)"* ]] || fail "server 1 not named: $stderr"
	assert_output --regexp "$(summ 0 $((30 - n)) 0 0)"
}

# ---------------------------------------------------------------------------------------------
# expired items, --verify, --dry-run, --shard

# expires_at I KEY: when KEY expires on server I, in unix seconds by the server's clock (its
# remaining TTL, then the server's `stats time`: never early); nothing if I does not hold it
expires_at() {
	local t
	t=$(mc "$1" "mg $2 t" | sed -n 's/^HD t//p')
	[ -z "$t" ] || echo $(($(mstat "$1" time) + t))
}

# clock_past I T: server I's clock is past unix second T (memcached skips an item in a listing
# once its clock is past the item's expiry, and expires it for a read at the expiry itself)
clock_past() { [ "$(mstat "$1" time)" -gt "$2" ]; }

# now_past T: this machine's clock is past unix second T
now_past() { [ "$(date +%s)" -gt "$1" ]; }

@test "expired items: memcached does not list them (not counted, not written); a late restore counts them expired" {
	two_clusters
	local s k e line t
	# soon lives long enough to be dumped on a slow machine too (one tool run), then expires
	mcrset -s "$SRC" -e "$(slow 3)" soon v
	mcrset -s "$SRC" stays v
	mcrcopy -s "$SRC" --all --to=- >"$D/dump" 2>/dev/null
	[ "$(grep -ac '^set ' "$D/dump")" = 2 ]
	line=$(grep -a '^set soon ' "$D/dump" | tr -d '\r')
	[[ $line =~ ^set\ soon\ 0\ ([0-9]+)\ 1$ ]] || fail "dump line: $line"
	mcrset -s "$SRC" -e 1 gone v
	# wait, bounded, until every copy of both has expired by its own server's clock, and the
	# dumped expiry of soon has passed by this machine's (a restore compares with it)
	wait_until now_past "${BASH_REMATCH[1]}"
	for s in 0 1 2; do
		for k in soon gone; do
			e=$(expires_at "$s" "$k")
			[ -z "$e" ] || wait_until clock_past "$s" "$e"
		done
	done
	run -0 mcrcopy -s "$SRC" --all --to="$DST" --to-replicas=1
	assert_output --regexp "$(summ 1 0 0 0)"
	for s in 3 4 5; do
		no_copy "$s" soon
		no_copy "$s" gone
	done
	# the dump holds soon with its absolute expiry time, now past
	run -0 --separate-stderr mcrcopy --from=- --to="$DST" --to-replicas=1 <"$D/dump"
	assert_output --regexp "$(summ 0 1 1 0)"
	for s in 3 4 5; do no_copy "$s" soon; done
	# an absolute time long past (2001) and a relative one
	printf 'set old 0 1000000000 1\r\nx\r\nset rel 0 50 1\r\ny\r\nmn\r\n' >"$D/d2"
	t=$(date +%s)
	run -0 mcrcopy --from=- --to="$DST" --to-replicas=1 --format=json <"$D/d2"
	[ "$(jq -c '[.copied, .present, .expired, .failed]' <<<"$output")" = '[1,0,1,0]' ]
	# 50 s from the restore, less the seconds since (and a whole-second clock's one)
	s=$(where "$DST" rel 0)
	ttl_between "$s" rel $((50 - ($(date +%s) - t) - 2)) 50
	# a key named after it expired reads as absent: nothing to copy, so it is not copied
	run -1 --separate-stderr mcrcopy -s "$SRC" --to="$DST" --to-replicas=1 gone
	assert_output --regexp "$(summ 0 0 0 1)"
	assert_equal "$stderr" "mcrcopy: gone: not copied: not found at the source"
}

@test "--verify reads every written copy back from the destination" {
	two_clusters
	local n1 n2
	lmrepl -s "$SRC" setmany vf 60
	run -0 mcrcopy -s "$SRC" --all --shard=1/2 --to="$DST" --to-replicas=1
	n1=$(sed -E 's/ copied.*//' <<<"$output")
	[ "$(sum_stat cmd_get 3 4 5)" = 0 ] || fail "read without --verify"
	run -0 mcrcopy -s "$SRC" --all --shard=2/2 --to="$DST" --to-replicas=1 --verify
	n2=$(sed -E 's/ copied.*//' <<<"$output")
	[ $((n1 + n2)) = 60 ] || fail "$n1 + $n2 keys copied"
	[ "$(sum_stat get_hits 3 4 5)" = $((2 * n2)) ] || fail "$(sum_stat get_hits 3 4 5) copies read back, not $((2 * n2))"
	# nothing written, nothing to read back
	run -0 mcrcopy -s "$SRC" --all --to="$DST" --to-replicas=1 --verify
	assert_output --regexp "$(summ 0 60 0 0)"
	[ "$(sum_stat get_hits 3 4 5)" = $((2 * n2)) ]
}

@test "-n, --dry-run: reads and counts, writes nothing (cluster, dump, rebuild)" {
	two_clusters
	lmrepl -s "$SRC" setmany dr 20
	run -0 --separate-stderr mcrcopy -s "$SRC" --all --to="$DST" --to-replicas=1 -n
	assert_output --regexp "^dry run: would have 20 copied, 0 already present, 0 expired, 0 failed in [0-9.]+ s\$"
	[ "$(sum_stat cmd_set 3 4 5)" = 0 ] && [ "$(sum_stat curr_items 3 4 5)" = 0 ] || fail "written"
	run -0 --separate-stderr mcrcopy -s "$SRC" --all --to=- --dry-run
	[ -z "$output" ] || fail "a dry-run dump printed: $output"
	[[ $stderr =~ ^dry\ run:\ would\ have\ 20\ copied ]] || fail "stderr: $stderr"
	local before
	stop_server 1 || true
	start_server_at 1
	before=$(sum_stat cmd_set 0 1 2)
	run -0 mcrcopy -s "$SRC" -r 1 --rebuild="$(srv 1)" -n
	assert_output --regexp '^dry run: would have [1-9][0-9]* copied, '
	[ "$(sum_stat cmd_set 0 1 2)" = "$before" ] || fail "the rebuild wrote"
}

@test "--shard=I/3: -k keys by FNV-1a 64 mod N; --all keys by the first server holding a copy" {
	start_servers 3 -o no_lru_maintainer # no crawl of its own: lru_crawler_starts counts listings
	local sh k p r total=0
	lmrepl -s "$SERVERS" setmany sh 60
	seq -f 'sh%g' 0 59 >"$D/keys"
	: >"$D/named"
	for sh in 1 2 3; do
		run -0 --separate-stderr mcrcopy -s "$SERVERS" -k "$D/keys" --shard="$sh/3" --to=-
		for k in $(grep -o '^set [^ ]*' <<<"$output" | cut -d' ' -f2); do
			[ "$(fnv_mod "$k" 3)" = $((sh - 1)) ] || fail "$k in shard $sh/3"
			echo "$k"
		done >>"$D/named"
	done
	[ "$(sort "$D/named" | uniq -d)" = "" ] || fail "in two shards: $(sort "$D/named" | uniq -d)"
	[ "$(sort "$D/named")" = "$(sort "$D/keys")" ]
	# with --all, shard I of 3 lists server I-1 alone: a key is dumped by the shard of the
	# first of its copies in list order
	: >"$D/all"
	for sh in 1 2 3; do
		run -0 --separate-stderr mcrcopy -s "$SERVERS" --all --shard="$sh/3" --to=-
		for k in $(grep -o '^set [^ ]*' <<<"$output" | cut -d' ' -f2); do
			p=$(where "$SERVERS" "$k" 0) r=$(where "$SERVERS" "$k" 1)
			[ $((p < r ? p : r)) = $((sh - 1)) ] || fail "$k (copies on $p and $r) in shard $sh/3"
			echo "$k"
		done >>"$D/all"
		for p in 0 1 2; do
			[ "$(mstat "$p" lru_crawler_starts)" = $((p < sh ? 1 : 0)) ] ||
				fail "after shard $sh/3, server $p listed $(mstat "$p" lru_crawler_starts) times"
		done
	done
	[ "$(sort "$D/all" | uniq -d)" = "" ] || fail "in two shards: $(sort "$D/all" | uniq -d)"
	[ "$(sort "$D/all")" = "$(sort "$D/keys")" ]
}

# ---------------------------------------------------------------------------------------------
# keys a dump cannot carry

@test "keys with spaces or control bytes: failed in a dump (in --failed), copied between clusters" {
	two_clusters
	mcrset -s "$SRC" "sp ace" v1
	mcrset -s "$SRC" $'new\nline' v2
	mcrset -s "$SRC" plain v3
	run -1 --separate-stderr mcrcopy -s "$SRC" --all --to=- --failed="$D/failed"
	[ "$(grep -c '^set ' <<<"$output")" = 1 ] || fail "dump: $output"
	assert_line --index 0 $'set plain 0 0 2\r'
	[ "$(sort "$D/failed")" = $'new%0Aline\nsp%20ace' ] || fail "--failed: $(cat "$D/failed")"
	[[ $stderr == *"mcrcopy: sp%20ace: not copied: "* ]] || fail "stderr: $stderr"
	[[ $stderr == *"mcrcopy: new%0Aline: not copied: "* ]] || fail "stderr: $stderr"
	[[ $stderr =~ $(summ 1 0 0 2 | sed 's/^\^//') ]] || fail "summary: $stderr"
	# between clusters the binary protocol carries them
	run -0 mcrcopy -s "$SRC" --all --to="$DST" --to-replicas=1
	assert_output --regexp "$(summ 3 0 0 0)"
	run -0 mcrget -s "$DST" "sp ace"
	assert_output v1
	run -0 mcrget -s "$DST" $'new\nline'
	assert_output v2
	# the --failed file feeds -k: the keys decoded, copied (here with --overwrite)
	run -0 mcrcopy -s "$SRC" -k "$D/failed" --to="$DST" --to-replicas=1 --overwrite
	assert_output --regexp "$(summ 2 0 0 0)"
}

# ---------------------------------------------------------------------------------------------
# output

@test "summary: text on stdout, tsv and json records, none with -q; a dump puts it on stderr" {
	two_clusters
	lmrepl -s "$SRC" setmany fm 5
	run -0 --separate-stderr mcrcopy -s "$SRC" --all --to="$DST" --to-replicas=1 --format=tsv
	# copied present expired failed interrupted stopped seconds
	assert_output --regexp "^summary${T}5${T}0${T}0${T}0${T}0${T}0${T}[0-9.]+\$"
	run -0 --separate-stderr mcrcopy -s "$SRC" --all --to="$DST" --to-replicas=1 --format=json
	assert_equal "${#lines[@]}" 1
	jq -e '.summary == "summary" and .copied == 0 and .present == 5 and .expired == 0 and
		.failed == 0 and (.seconds | type == "number")' <<<"$output"
	run -0 --separate-stderr mcrcopy -s "$SRC" --all --to="$DST" --to-replicas=1 -q
	[ -z "$output" ] && [ -z "$stderr" ] || fail "-q printed: $output $stderr"
	run -0 --separate-stderr mcrcopy -s "$SRC" --all --to=- --format=json
	jq -e '.summary == "summary" and .copied == 5' <<<"$stderr"
	[ "$(grep -c '^set fm' <<<"$output")" = 5 ]
	run -0 --separate-stderr mcrcopy -s "$SRC" --all --to=- -q
	[ -z "$stderr" ] || fail "-q: $stderr"
	[ "$(grep -c '^set fm' <<<"$output")" = 5 ]
	# -q: no failed-key lines either, but the --failed file and the exit status tell
	run -1 --separate-stderr mcrcopy -s "$SRC" --to="$DST" --to-replicas=1 -q --failed="$D/failed" fm0 nosuchkey
	[ -z "$output" ] && [ -z "$stderr" ] || fail "-q printed: $output $stderr"
	[ "$(cat "$D/failed")" = nosuchkey ]
}

@test "--rate=400: 200 keys take at least about 0.4 s" {
	two_clusters
	local t0 t1
	lmrepl -s "$SRC" setmany rt 200
	t0=$(now_ms)
	run -0 mcrcopy -s "$SRC" --all --to="$DST" --to-replicas=1 --rate=400 --batch=50
	t1=$(now_ms)
	assert_output --regexp "$(summ 200 0 0 0)"
	[ $((t1 - t0)) -ge 350 ] || fail "200 keys at 400/s took $((t1 - t0)) ms"
	[ $((t1 - t0)) -lt "$(slow 5000)" ] || fail "200 keys at 400/s took $((t1 - t0)) ms"
}

# ---------------------------------------------------------------------------------------------
# bad usage

@test "bad usage: one line, exit 2, nothing read or written" {
	two_clusters
	bad 'destination|--to' -s "$SRC" k
	bad 'rebuild.*to|to.*rebuild' -s "$SRC" --rebuild="$(srv 1)" --to="$DST" --to-replicas=1
	bad 'rebuild.*from|from.*rebuild' -s "$SRC" --rebuild="$(srv 1)" --from=-
	bad "$(srv 3).*not .*server|not .*server.*$(srv 3)" -s "$SRC" --rebuild="$(srv 3)"
	bad 'from' -s "$SRC" --from="$D/dump" --to="$DST" --to-replicas=1
	bad 'to-replicas|destination' -s "$SRC" --all --to=- --to-replicas=2
	bad 'to-distribution|destination' -s "$SRC" --all --to=- --to-distribution=ketama
	bad 'to-hash|destination' -s "$SRC" --all --to=- --to-hash=md5
	bad 'to-replicas|destination' -s "$SRC" --rebuild="$(srv 1)" --to-replicas=2
	# placement is never guessed for a write: the replica count stated, or nothing is done
	bad '^mcrcopy: --to writes copies where the replica count puts them: give it with --to-replicas N ' \
		-s "$SRC" --all --to="$DST"
	bad '^mcrcopy: --to writes copies where the replica count puts them' --from=- --to="$DST"
	bad '^mcrcopy: --rebuild writes copies where the replica count puts them: give it with -r N ' \
		-s "$SRC" --rebuild="$(srv 1)"
	bad 'key|from' --from=- --to="$DST" --to-replicas=1 k
	bad 'from|all' --from=- --to="$DST" --to-replicas=1 --all
	bad 'from|shard' --from=- --to="$DST" --to-replicas=1 --shard=1/2
	bad 'key' -s "$SRC" --to="$DST" --to-replicas=1
	bad 'all|key' -s "$SRC" --all --to="$DST" --to-replicas=1 k
	bad 'nothing|from|to' --from=- --to=-
	bad 'replicas|servers' -s "$SRC" --all --to="$DST" --to-replicas=3
	bad 'distribution' -s "$SRC" --all --to="$DST" --to-replicas=1 --to-distribution=bogus
	bad 'hash' -s "$SRC" --all --to="$DST" --to-replicas=1 --to-hash=bogus
	bad 'batch' -s "$SRC" --all --to="$DST" --to-replicas=1 --batch=0
	bad 'rate' -s "$SRC" --all --to="$DST" --to-replicas=1 --rate=x
	local s
	for s in 0/3 4/3 abc; do bad 'shard' -s "$SRC" --all --to="$DST" --shard="$s"; done
	bad 'nokeys|no such file' -s "$SRC" -k "$D/nokeys" --to="$DST" --to-replicas=1
	printf 'a\nbad%%zz\n' >"$D/k"
	bad "$D/k:2" -s "$SRC" -k "$D/k" --to="$DST" --to-replicas=1
	bad 'failed|directory' -s "$SRC" --all --to="$DST" --to-replicas=1 --failed="$D/no/such/dir/f"
}
