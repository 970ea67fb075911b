#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# One stall or restart never poisons a run: a server stopped for a second (SIGSTOP) or killed and
# restarted empty in the middle of mcrverify --all and mcrcopy --all over 300,000 keys with -t 500
# costs seconds, not minutes, and only the keys that server could not answer; every key is counted
# once. Keys put aside are read again once, after one delay for the whole run. Interrupted runs
# write every record whole. Every wait is a bounded poll on a server's counters; every time limit
# scales with MCR_SLOW.

bats_require_minimum_version 1.5.0
load helper

N=300000

setup() {
	D=$BATS_TEST_TMPDIR
	SLOW=${MCR_SLOW:-1}
	[[ $SLOW =~ ^[0-9]+$ ]] || SLOW=1
	BG=
}

teardown() {
	[ -z "$BG" ] || { kill "$BG" 2>/dev/null; wait "$BG" 2>/dev/null; } || true
	stop_servers
}

mstat() { mc "$1" stats | sed -n "s/^STAT $2 //p"; }

# N keys k0.. on the cluster, one replica, through mcrset --batch
load_keys() {
	awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "set k%d 0 0 8\r\nv%07d\r\n", i, i }' >"$D/batch"
	timeout $((120 * SLOW)) "$MCR_BIN/mcrset" -s "$2" -r 1 -q --batch "$D/batch"
}

# wait_gets I COUNT: until server I has answered COUNT more gets than when called (the tool is
# well into its run); bounded
wait_gets() {
	local base k
	base=$(mstat "$1" cmd_get)
	for ((k = 0; k < 600 * SLOW; k++)); do
		[ "$(($(mstat "$1" cmd_get) - base))" -lt "$2" ] || return 0
		kill -0 "$BG" 2>/dev/null || return 0
		sleep 0.02
	done
	fail "server $1 was not read"
}

# bg OUT CMD...: run the tool in the background, bounded; finish waits for it: $RC, $ELAPSED ms
bg() {
	local out=$1
	shift
	T0=$(date +%s%N)
	# kill -INT $BG signals timeout(1), which passes it on and kills the tool if it has not
	# finished its batch and written its records within the -k grace
	timeout -k $((5 * SLOW)) $((300 * SLOW)) "$@" >"$out" 2>"$out.err" 3>&- &
	BG=$!
}
finish() {
	RC=0
	wait "$BG" || RC=$?
	BG=
	ELAPSED=$((($(date +%s%N) - T0) / 1000000))
}

summary() { tail -n 1 "$1" | jq -c "select(.summary) | $2"; }

@test "mcrverify --all: a server stopped for a second mid-run costs about a second; every key counted once" {
	start_servers 3 -m 256
	load_keys $N "$SERVERS"
	bg "$D/v.json" "$MCR_BIN/mcrverify" -s "$SERVERS" -r 1 -t 500 --all --format=json
	wait_gets 1 20000
	pause_server 1
	sleep 1
	resume_server 1
	finish
	summary "$D/v.json" . >&3
	# every key once; what could not be answered (if anything) is unreachable, and exit 2 says so
	[ "$(summary "$D/v.json" '.checked + .unresolved')" = $N ] || fail "$(summary "$D/v.json" .)"
	[ "$(summary "$D/v.json" '.missing + .differ + .misplaced + .strays')" = 0 ] || fail "$(summary "$D/v.json" .)"
	if [ "$(summary "$D/v.json" '.unreachable + .unresolved')" = 0 ]; then [ "$RC" = 0 ]; else [ "$RC" = 2 ]; fi ||
		fail "exit $RC with $(summary "$D/v.json" .)"
	[ "$(summary "$D/v.json" '.unreachable + .unresolved < 15000')" = true ] || fail "$(summary "$D/v.json" .)"
	[ "$ELAPSED" -lt $((30000 * SLOW)) ] || fail "$ELAPSED ms"
	[ "$(jq -r 'select(.key) | .key' "$D/v.json" | sort | uniq -d | wc -l)" = 0 ] || fail "a key reported twice"
}

# restart_mid_run: a server killed and restarted empty while mcrverify --all --repair reads;
# MCR_KNOWN_MAX, when set, chooses how the first-listing rule is decided
restart_mid_run() {
	start_servers 3 -m 256
	load_keys $N "$SERVERS"
	bg "$D/v.json" "$MCR_BIN/mcrverify" -s "$SERVERS" -r 1 -t 500 --all --repair --format=json
	wait_gets 1 20000
	stop_server 1
	start_server_at 1 -m 256
	finish
	summary "$D/v.json" . >&3
	[ "$(summary "$D/v.json" '.checked + .unresolved')" = $N ] || fail "$(summary "$D/v.json" .)"
	[ "$(summary "$D/v.json" '.missing > 0 and .differ == 0 and .failed == 0')" = true ] || fail "$(summary "$D/v.json" .)"
	[ "$(summary "$D/v.json" '.unreachable + .unresolved < 15000')" = true ] || fail "$(summary "$D/v.json" .)"
	[ "$ELAPSED" -lt $((60000 * SLOW)) ] || fail "$ELAPSED ms"
	[ "$(jq -r 'select(.key) | .key' "$D/v.json" | sort | uniq -d | wc -l)" = 0 ] || fail "a key reported twice"
	# the keys found missing were the restarted server's copies, and each repaired one is whole
	jq -s -e --arg x "$(srv 1)" '[.[] | select(.class == "missing") |
		[.copies[] | select(.state == "absent") | .server] == [$x]] | all' "$D/v.json" >/dev/null
	jq -r 'select(.repair == "repaired") | .key' "$D/v.json" >"$D/repaired"
	[ -s "$D/repaired" ]
	run -0 timeout $((120 * SLOW)) "$MCR_BIN/mcrverify" -s "$SERVERS" -r 1 -k "$D/repaired"
}

@test "mcrverify --all --repair: a server killed and restarted empty mid-run: its lost copies found once and refilled" {
	restart_mid_run
}

@test "the same restart with the servers asked (fingerprints over MCR_KNOWN_MAX), and in passes" {
	# 0: every earlier copy probed, a restart seen through the probes' "not found";
	# 1500000: the 3.2 MB of fingerprints read in 3 passes, a pass's keys of the batch that
	# straddles the next asked
	MCR_KNOWN_MAX=0 restart_mid_run
	stop_servers
	MCR_KNOWN_MAX=1500000 restart_mid_run
}

@test "mcrverify --all --repair: a server killed, down 1.5 s, restarted empty: every key counted once" {
	# down longer than the timeout: the tool's connections to it back off, and the probes of
	# later listings may reach the new process on one connection while its stats cannot be
	# asked on the other: such a "not found" proves nothing, and no key is counted twice
	start_servers 3 -m 256
	load_keys $N "$SERVERS"
	bg "$D/v.json" "$MCR_BIN/mcrverify" -s "$SERVERS" -r 1 -t 500 --all --repair --format=json
	wait_gets 1 20000
	stop_server 1
	sleep 1.5
	start_server_at 1 -m 256
	finish
	summary "$D/v.json" . >&3
	# an unresolved key may have been checked at an earlier listing, or not: every key is
	# checked at most once, and those not checked are unresolved
	[ "$(summary "$D/v.json" ".checked <= $N and .checked + .unresolved >= $N")" = true ] ||
		fail "$(summary "$D/v.json" .)"
	[ "$(jq -r 'select(.key and .class != "unresolved") | .key' "$D/v.json" | sort | uniq -d | wc -l)" = 0 ] ||
		fail "a key checked twice"
	[ "$(summary "$D/v.json" '.differ == 0 and .failed == 0')" = true ] || fail "$(summary "$D/v.json" .)"
	[ "$ELAPSED" -lt $((60000 * SLOW)) ] || fail "$ELAPSED ms"
}

@test "mcrcopy --all: a source server stopped for a second, then a destination server: nothing lost" {
	start_servers 3 -m 256
	start_server_at 3 -m 256
	start_server_at 4 -m 256
	local src=$SERVERS dst
	dst=$(srv 3),$(srv 4)
	load_keys $N "$src"
	bg "$D/c1.json" "$MCR_BIN/mcrcopy" -s "$src" -r 1 -t 500 --all --to="$dst" --to-replicas=1 --format=json
	wait_gets 1 20000
	pause_server 1
	sleep 1
	resume_server 1
	finish
	summary "$D/c1.json" . >&3
	[ "$RC" = 0 ] && [ "$(summary "$D/c1.json" '.copied + .present')" = $N ] || fail "exit $RC: $(summary "$D/c1.json" .)"
	[ "$ELAPSED" -lt $((60000 * SLOW)) ] || fail "$ELAPSED ms"
	run -0 timeout $((120 * SLOW)) "$MCR_BIN/mcrverify" -s "$dst" -r 1 --all
	assert_output --regexp "^checked $N keys .*ok $N, "

	mc 3 flush_all >/dev/null
	mc 4 flush_all >/dev/null
	bg "$D/c2.json" "$MCR_BIN/mcrcopy" -s "$src" -r 1 -t 500 --all --to="$dst" --to-replicas=1 --format=json
	wait_gets 1 20000
	pause_server 4
	sleep 1
	resume_server 4
	finish
	summary "$D/c2.json" . >&3
	# the writes the stall cut off are tried again at the end: an add twice is harmless
	[ "$RC" = 0 ] && [ "$(summary "$D/c2.json" '.copied + .present')" = $N ] || fail "exit $RC: $(summary "$D/c2.json" .)"
	[ "$ELAPSED" -lt $((60000 * SLOW)) ] || fail "$ELAPSED ms"
	run -0 timeout $((120 * SLOW)) "$MCR_BIN/mcrverify" -s "$dst" -r 1 --all
	assert_output --regexp "^checked $N keys .*ok $N, "
}

@test "mcrcopy --all: a source server killed and restarted empty mid-run: every key still readable is copied" {
	start_servers 3 -m 256
	start_server_at 3 -m 256
	local src=$SERVERS dst
	dst=$(srv 3)
	load_keys $N "$src"
	bg "$D/c.json" "$MCR_BIN/mcrcopy" -s "$src" -r 1 -t 500 --all --to="$dst" --format=json --failed="$D/failed"
	wait_gets 1 20000
	stop_server 1
	start_server_at 1 -m 256
	finish
	summary "$D/c.json" . >&3
	# each key had its other copy on a server that stayed: all of them reach the destination
	[ "$RC" = 0 ] && [ "$(summary "$D/c.json" '.copied + .present')" = $N ] || fail "exit $RC: $(summary "$D/c.json" .)"
	[ ! -s "$D/failed" ]
	[ "$ELAPSED" -lt $((60000 * SLOW)) ] || fail "$ELAPSED ms"
	[ "$(mstat 3 curr_items)" = $N ]
}

# restart_found TOOL ARGS...: a key K whose primary is server 0 and replica server 1 is on
# server 1 alone (listed by it, not by server 0); with the servers asked (MCR_KNOWN_MAX=0), the
# tool is stopped while it handles server 0's listing, server 0 is restarted empty, and the
# application writes K again (both copies "NEW"); the tool goes on: server 1's keys are probed
# on server 0, which has restarted, did not list K, and now says K is there
restart_found() {
	app_setup
	start_servers 3 -m 64
	load_keys 30000 "$SERVERS"
	K=$("$MCR_BIN/mcrget" -s "$SERVERS" -r 1 --where $(seq -f 'p%g' 0 60) |
		awk -v a="$(srv 0)" -v b="$(srv 1)" '$2 == a && $3 == "primary" { k = $1 }
			$1 == k && $2 == b && $3 == "replica1" { print k; exit }')
	[ -n "$K" ]
	[ "$(mc 1 "set $K 0 0 3"$'\r\n'"OLD")" = STORED ]
	bg "$D/out" env MCR_KNOWN_MAX=0 "$@" -s "$SERVERS" -r 1 --all --rate=4000 --batch=100 -vv
	local tool
	# server 0's listing alone is 20,000 keys, 5 s at this rate: the tool is stopped well inside it
	# (asked for only once it has read: right after bg, timeout(1) may not have started it yet)
	wait_gets 0 2000
	tool=$(pgrep -P "$BG") || fail "the tool is not running: $(tail -n 3 "$D/out.err")"
	kill -STOP "$tool"
	stop_server 0
	start_server_at 0 -m 64
	py "$SERVERS" --replicas 1 set "$K" NEW
	kill -CONT "$tool"
	finish
	grep -q ': restarted since it was listed$' "$D/out.err" || fail "the restart was not seen: $(tail -n 3 "$D/out.err")"
}

@test "mcrcopy --all, servers asked: a key a restarted server holds again is copied with its value, not as the probe's bare \"found\"" {
	start_server_at 3 -m 64
	local dst
	dst=$(srv 3)
	restart_found "$MCR_BIN/mcrcopy" --to="$dst" --to-replicas=0
	[ "$RC" = 0 ] || fail "exit $RC: $(tail -n 3 "$D/out.err")"
	grep -qx "$K copied" "$D/out" || fail "$K: $(grep "^$K " "$D/out")"
	# the application reads from the destination what it wrote, not an empty value
	run -0 py "$dst" --replicas 0 get "$K"
	[ "$output" = NEW ] || fail "$K reads \"$output\" on the destination"
}

@test "mcrverify --all, servers asked: a copy a restarted server holds again is compared by its value" {
	# no second read: the first read alone classes every key
	restart_found "$MCR_BIN/mcrverify" --format=json --recheck-delay=0
	[ "$RC" = 1 ] || fail "exit $RC: $(tail -n 3 "$D/out.err")"
	# server 0's lost copies are missing; K's two copies, both "NEW", agree
	[ "$(summary "$D/out" '.missing > 0 and .differ == 0')" = true ] || fail "$(summary "$D/out" .)"
	run -0 jq -r --arg k "$K" 'select(.key == $k) | .class' "$D/out"
	[ -z "$output" ] || [ "$output" = ok ] || fail "$K: $output"
}

@test "one recheck pass: a flushed server costs the recheck delay once, not once per batch" {
	start_servers 3
	load_keys 30000 "$SERVERS"
	mc 1 flush_all >/dev/null
	local t0 ms
	t0=$(date +%s%N)
	run -1 --separate-stderr timeout $((120 * SLOW)) "$MCR_BIN/mcrverify" -s "$SERVERS" -r 1 --all --batch=100 \
		--recheck-delay=1000
	ms=$((($(date +%s%N) - t0) / 1000000))
	assert_line --regexp '^checked 30000 keys in [0-9.]+ s: ok [0-9]+, missing [1-9][0-9]+, differ 0, '
	# 300 batches with missing keys: a delay per batch would take 300 s
	[ "$ms" -ge 1000 ] && [ "$ms" -lt $((10000 * SLOW)) ] || fail "$ms ms"
}

@test "interrupted: SIGINT ends mcrcopy and mcrverify --repair with whole records, --failed complete, exit 2" {
	start_servers 3
	start_server_at 3
	local src=$SERVERS
	load_keys 20000 "$src"
	# a destination server that is down: its keys fail; the run is slowed so it can be interrupted
	stop_server 3
	bg "$D/c.out" "$MCR_BIN/mcrcopy" -s "$src" -r 1 -t 200 --all --to="$(srv 3),$(srv 0)" --to-replicas=1 \
		--rate=4000 --failed="$D/failed"
	wait_gets 0 2000
	kill -INT "$BG"
	local t=$(date +%s%N)
	finish
	echo "# mcrcopy stopped $((($(date +%s%N) - t) / 1000000)) ms after SIGINT" >&3
	[ "$RC" = 2 ] || fail "exit $RC: $(head -n 3 "$D/c.out.err")"
	[[ $(cat "$D/c.out") == *"; interrupted" ]] || fail "summary: $(cat "$D/c.out")"
	grep -qx 'mcrcopy: interrupted: the counts cover the keys handled so far' "$D/c.out.err"
	# --failed lists exactly the keys stderr says were not copied, every line whole
	sed -n 's/^mcrcopy: \(.*\): not copied: .*/\1/p' "$D/c.out.err" | sort >"$D/warned"
	[ -s "$D/warned" ]
	diff "$D/warned" <(sort "$D/failed")
	! grep -qv '^k[0-9]*$' "$D/failed" || fail "a cut line in --failed"

	# mcrverify --repair: records whole, the summary marked interrupted, the metrics too
	start_server_at 3
	mc 1 flush_all >/dev/null
	bg "$D/v.json" "$MCR_BIN/mcrverify" -s "$src" -r 1 --all --repair --rate=4000 -v --format=json \
		--prometheus="$D/v.prom"
	wait_gets 0 2000
	kill -TERM "$BG"
	finish
	[ "$RC" = 2 ] || fail "exit $RC"
	jq -e 'type == "object"' "$D/v.json" >/dev/null || fail "a record cut short"
	[ "$(summary "$D/v.json" .interrupted)" = true ]
	grep -qx 'mcr_verify_interrupted 1' "$D/v.prom"
	grep -qx 'mcr_verify_exit_status 2' "$D/v.prom"
}

@test "a signal sent twice at once (timeout(1) does) stops cleanly; a second one a second later kills" {
	start_servers 3
	load_keys 20000 "$SERVERS"
	# timeout(1) signals the tool, then its whole process group: two SIGTERMs at once
	bg "$D/v.out" "$MCR_BIN/mcrverify" -s "$SERVERS" -r 1 --all --rate=4000
	wait_gets 0 2000
	kill -TERM "$BG"
	finish
	[ "$RC" = 2 ] || fail "exit $RC: $(head -n 3 "$D/v.out.err")"
	[[ $(tail -n 1 "$D/v.out") == *"; interrupted" ]] || fail "summary: $(cat "$D/v.out")"
	# a second signal from the operator, later, while the tool still waits for a stalled
	# server's answers (up to -t): the tool dies of it
	"$MCR_BIN/mcrverify" -s "$SERVERS" -r 1 -t $((8000 * SLOW)) --all --rate=4000 >"$D/w.out" 2>"$D/w.err" 3>&- &
	BG=$!
	T0=$(date +%s%N)
	wait_gets 0 2000
	pause_server 1
	sleep 0.5
	kill -INT "$BG"
	sleep 1.2
	kill -0 "$BG" 2>/dev/null || fail "the first signal did not leave time: $(cat "$D/w.err")"
	kill -INT "$BG"
	finish
	resume_server 1
	[ "$RC" = 130 ] || fail "exit $RC: $(cat "$D/w.err")"
}
