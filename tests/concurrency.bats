#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Concurrency: `mcrverify --repair` (each policy), `mcrcopy --rebuild` and `mcrcopy --heal` race an application that
# keeps updating and deleting the same keys through libmemcached's own replication
# (tests/lmrepl.c), and must never overwrite one of its writes nor bring back a key it deleted
# (HACKING.md "mcrverify" Repair, "mcrcopy" --rebuild).
#
# What "never overwritten" means: the tool may write a value that the application overwrites
# later (the application's write lands last: fine); what must never happen is the tool's write
# landing AFTER the application's latest write to that copy. So each round ends with the
# writer's last, replicated, write of every key while the tool still runs; once the writer has
# stopped and the tool's last run has finished, every copy of every key must hold the writer's
# last value. Every server is up and reachable whenever the writer writes, so every copy is one
# the writer reached (a replicated set reaches the emptied server being rebuilt too).
#
# The versions: for the race to be likely to bite, the writer must update many keys quickly, and
# the tool must have many keys in flight between its reads and its writes. `lmrepl setmany
# PREFIX COUNT` stores PREFIX0..PREFIX<COUNT-1> in one process, each value its own key; with a
# namespace NS and HASH_WITH_PREFIX_KEY (-P), the key stored is NS+PREFIX+i, placed by hashing
# all of it (as mcr places a key without a namespace), and the value is PREFIX+i. Keeping
# NS+PREFIX = BASE+FILL fixed and moving the split one byte right per version gives every key a
# new value per version: version v of key BASE+FILL+i is "${FILL:v}i" (shorter as v grows),
# written by libmemcached's own replicated memcached_set (primary first, then the replicas).
#
# Two checks: at the end of each round, every copy of every key holds the writer's last version;
# and while the tool runs, a watcher reads the keys the writer has finished with (so that a tool
# that overwrites a copy and puts the right value back on its next run is seen too). A mutant
# tool that replaces copies with plain sets (no CAS), or fills absent ones with set instead of
# add, fails every one of these tests; a read-only tool passes them.
#
# Each test runs ROUNDS races, each on keys of its own, in about 8 to 12 s. A race lasts, whatever
# the speed of the machine, until the writer has written MINV versions, the tool has finished
# MINRUNS runs since the writer's first version, and one run of the race has done work (repaired
# or copied a key); or until the writer has run out of versions. Then the writer has its last
# word, while the tool still runs.

bats_require_minimum_version 1.5.0
load helper

ROUNDS=20     # races per test
# under valgrind (MCR_SLOW=10) a tool run takes about a second: fewer rounds
[ "$MCR_SLOW" -lt 10 ] || ROUNDS=3
MINV=6        # versions the writer writes in a race, at least
MINRUNS=3     # tool runs that finish during a race, after the writer's first version, at least
NKEYS=200     # keys per round
CHUNK=10      # keys the writer retires at a time (their last word)
FILL=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz # 78 versions

setup() {
	WPAUSE= # seconds the writer rests after each version (repair_race majority)
	[ -x "$MCR_BIN/lmrepl" ] || fail "no $MCR_BIN/lmrepl: run make $MCR_BIN/lmrepl (tests/lmrepl.c)"
	D=$BATS_TEST_TMPDIR
	BGPIDS=()
}

teardown() {
	local p
	touch "$D/stop" "$D/tstop" 2>/dev/null || true
	for p in "${BGPIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	stop_servers
}

# The keys of round R: BASE=r<R>., keys BASE+FILL+0 .. BASE+FILL+<NKEYS-1> (in $D/keys, one per
# line, for -k: no byte needs percent-encoding); $D/holds.I lists the keys with a copy on server
# I, as libmemcached's own replication places them with REPL replicas.
round_keys() {
	local round=$1 repl=$2 i map=''
	BASE=r$round.
	for i in "${!PORTS[@]}"; do
		map+="$(srv "$i")=$i "
		: >"$D/holds.$i"
	done
	seq -f "$BASE$FILL%g" 0 $((NKEYS - 1)) >"$D/keys"
	# shellcheck disable=SC2046 # one key a line, no byte that splits or globs
	lmrepl -s "$SERVERS" -r "$repl" copies $(<"$D/keys") |
		awk -F'\t' -v map="$map" -v d="$D" '
			BEGIN { n = split(map, m, " "); for (j = 1; j <= n; j++) { split(m[j], kv, "="); idx[kv[1]] = kv[2] } }
			{ print $1 > (d "/holds." idx[$2]) }'
}

# version V of keys 0..COUNT-1 of the round, with REPL replicas
write_version() { lmrepl -s "$SERVERS" -r "$2" -P -n "$BASE${FILL:0:$1}" setmany "${FILL:$1}" "$3"; }

# server I loses its copies of keys 0..COUNT-1 of the round (pipelined ASCII deletes)
lose_copies() {
	local i=$1 count=$2
	awk -v pre="$BASE$FILL" -v n="$count" '{ if (substr($0, length(pre) + 1) + 0 < n) printf "delete %s noreply\r\n", $0 }
		END { printf "quit\r\n" }' "$D/holds.$i" |
		timeout "$(slow 5)" bash -c "exec 9<>/dev/tcp/127.0.0.1/${PORTS[$i]}; cat >&9; cat <&9" >/dev/null
}

# The application: versions 1, 2, ... of the keys until $D/stop exists, then one last replicated
# version of the keys still being written, and exit. Between, drift for the tool to work on:
# every fourth version reaches the primaries alone (as unreplicated writes would: `differ`
# keys), and every fourth is followed by one server losing its copies (a restarted server:
# `missing` keys, some of them missing their primary). So that every round holds many last
# words, not one, the writer retires the top CHUNK keys after every even (replicated, and not
# followed by lost copies) version; half of them follow a primaries-only one, when the tool is
# busy repairing exactly those keys: that version is their last. $D/last gets a line
# "FROM TO VERSION" per retirement: keys FROM..TO-1 last hold VERSION; every other retirement
# deletes its keys instead (a replicated delete), "FROM TO -": no copy of them may come back. A
# failed write goes to $D/writer.err.
writer() {
	local repl=$1 v=0 c=$NKEYS lost=0
	while [ ! -e "$D/stop" ]; do
		if ((v + 3 >= ${#FILL})); then sleep 0.01; continue; fi # out of versions: wait
		v=$((v + 1))
		case $((v % 4)) in
		1) write_version "$v" 0 "$c" || echo "version $v (primaries only) failed" >>"$D/writer.err" ;;
		3)
			write_version "$v" "$repl" "$c" || echo "version $v failed" >>"$D/writer.err"
			lose_copies $((lost++ % ${#PORTS[@]})) "$c" || echo "lost copies: $?" >>"$D/writer.err"
			;;
		*) write_version "$v" "$repl" "$c" || echo "version $v failed" >>"$D/writer.err" ;;
		esac
		echo "$v" >"$D/version"
		[ -z "$WPAUSE" ] || sleep "$WPAUSE"
		if ((v % 2 == 0 && c > CHUNK)); then
			# every other retirement is a delete: the keys' last word is that they are gone
			if ((v % 4 == 0)); then
				lmrepl -s "$SERVERS" -r "$repl" -P -n "$BASE" deletemany "$FILL" $((c - CHUNK)) "$c" ||
					echo "delete of keys $((c - CHUNK)).. failed" >>"$D/writer.err"
				echo "$((c - CHUNK)) $c -" >>"$D/last"
			else
				echo "$((c - CHUNK)) $c $v" >>"$D/last"
			fi
			c=$((c - CHUNK))
		fi
	done
	# the last word for the rest, while the tool still runs
	v=$((v + 1))
	if write_version "$v" "$repl" "$c"; then
		echo "0 $c $v" >>"$D/last"
		echo "$v" >"$D/writer.done"
	else
		echo "last version $v failed" >>"$D/writer.err"
	fi
}

# The tool, run over and over until $D/tstop exists; each run's exit status goes to $D/tool.rc,
# its stdout to $D/tool.out, its stderr to $D/tool.err (exit 1, keys left unrepaired or not
# copied, is an expected outcome of a race: it must not end the loop).
tool_loop() {
	local rc
	while [ ! -e "$D/tstop" ]; do
		rc=0
		bounded "$@" >>"$D/tool.out" 2>>"$D/tool.err" || rc=$? # bats' errexit holds here too
		echo "$rc" >>"$D/tool.rc"
	done
}

# stopped PID: process PID has exited
stopped() { ! kill -0 "$1" 2>/dev/null; }

# wait_gone PID WHAT: PID exits within 15 s (times MCR_SLOW)
wait_gone() {
	wait_until -t 15 stopped "$1" || fail "$2 did not stop"
	wait "$1" 2>/dev/null || true
}

# written: the last version the writer has written (0: none yet); runs: the tool runs finished
written() {
	local v
	v=$(cat "$D/version" 2>/dev/null || true)
	echo "${v:-0}"
}
runs() { if [ -e "$D/tool.rc" ]; then wc -l <"$D/tool.rc"; else echo 0; fi; }

# worked: a run of this race (its output after OUT0 bytes of $D/tool.out) did work: WORK, a
# field of the json summary (repaired, copied), above 0
worked() {
	tail -c +$((OUT0 + 1)) "$D/tool.out" 2>/dev/null |
		jq -R --arg f "$WORK" 'fromjson? | select(.summary == "summary") | .[$f] | select(type == "number" and . > 0)' |
		grep -q .
}

# raced: the race has gone on long enough (see the top of the file)
raced() {
	local v
	v=$(written)
	[ "$v" -ge "$MINV" ] && [ "$(runs)" -ge $((RUNS0 + MINRUNS)) ] && { worked || [ "$v" -ge $((${#FILL} - 3)) ]; }
}

# copies_off LAST [live]: every copy of every key that the file LAST (lines "FROM TO VERSION")
# gives a last version holds that version, and no copy of a key it deleted ("FROM TO -") is
# left; prints the first few that do not (one get per server). live: while the tool runs,
# deleted keys are not looked at: a fill that races a delete cannot be made atomic by any
# client (an add cannot be made conditional on another server's copy), so the tool takes such
# a copy back once it sees the delete (at once, and again a second later: see mcrverify(1)
# REPAIR); what must hold is that no copy is left once the tool's run is over.
copies_off() {
	local last=$1 live=${2:-} s
	for s in "${!PORTS[@]}"; do
		printf 'get %s\r\nquit\r\n' "$(tr '\n' ' ' <"$D/holds.$s")" |
			timeout "$(slow 5)" bash -c "exec 9<>/dev/tcp/127.0.0.1/${PORTS[$s]}; cat >&9; cat <&9" | tr -d '\r' |
			awk -v holds="$D/holds.$s" -v last="$last" -v fill="$FILL" -v pre="$BASE$FILL" -v s="$s" -v live="$live" '
				BEGIN {
					while ((getline k < holds) > 0) want[k] = 1
					while ((getline l < last) > 0) { split(l, f, " "); for (i = f[1]; i < f[2]; i++) ver[i] = f[3] }
				}
				/^VALUE / { k = $2; getline v; have[k] = v }
				END {
					for (k in want) {
						i = substr(k, length(pre) + 1)
						if (!(i in ver))
							continue
						if (ver[i] == "-") {
							if (live == "" && (k in have))
								print "server " s ": key #" i ": a copy, though the writer deleted it last: the tool brought it back"
							continue
						}
						if (!(k in have))
							print "server " s ": key #" i ": no copy, though the writer wrote its last version " ver[i] " to it"
						else if (have[k] != substr(fill, ver[i] + 1) i)
							print "server " s ": key #" i ": version " length(fill) - (length(have[k]) - length(i)) \
								", the writer'"'"'s last is " ver[i] ": the tool'"'"'s write landed after it"
					}
				}'
	done | sort -t'#' -k2n | head -n 5
}

# The watcher: while the tool runs, the keys the writer no longer writes (their last version is
# acknowledged by every copy) must keep it on every copy. A tool that overwrote one and wrote the
# final value back on its next run would pass the check at the end; here it is seen in between.
watcher() {
	local bad
	while [ ! -e "$D/tstop" ]; do
		[ -s "$D/last" ] || { sleep 0.01; continue; }
		cp "$D/last" "$D/last.seen"
		bad=$(copies_off "$D/last.seen" live)
		[ -z "$bad" ] || echo "$bad" >>"$D/violations"
	done
}

# roles LINE: where the copies of the key a copies_off LINE names are, as "primary=S0 replica1=S1 ..."
roles() {
	local i s role out='' j
	[[ $1 =~ key\ \#([0-9]+) ]] || return 0
	i=${BASH_REMATCH[1]}
	while IFS=$'\t' read -r _ s role; do
		for j in "${!PORTS[@]}"; do [ "$(srv "$j")" = "$s" ] && out+=" $role=server $j"; done
	done < <(lmrepl -s "$SERVERS" -r "$REPL" copies "$BASE$FILL$i")
	echo "(key #$i:$out)"
}

# every copy of every key of the round holds the writer's last version of it
check_final() {
	local round=$1 bad
	[ -s "$D/writer.done" ] || fail "round $round: the writer did not finish"
	if [ -s "$D/violations" ]; then
		bad=$(sort -u "$D/violations" | head -n 5)
		fail "round $round, while the tool ran, keys $BASE$FILL#: $bad $(roles "$bad")"
	fi
	bad=$(copies_off "$D/last")
	[ -z "$bad" ] || fail "round $round, at the end, keys $BASE$FILL#: $bad $(roles "$bad")"
}

# race_round REPL ROUND TOOL ARGS...: one race of TOOL ARGS... against the writer
race_round() {
	local repl=$1 round=$2 wpid tpid opid
	shift 2
	REPL=$repl
	rm -f "$D/stop" "$D/tstop" "$D/last" "$D/writer.done" "$D/version"
	OUT0=0
	[ ! -e "$D/tool.out" ] || OUT0=$(wc -c <"$D/tool.out")
	tool_loop "$@" 3>&- &
	tpid=$!
	BGPIDS+=("$tpid")
	watcher 3>&- &
	opid=$!
	BGPIDS+=("$opid")
	writer "$repl" 3>&- &
	wpid=$!
	BGPIDS+=("$wpid")
	wait_until test -s "$D/version" || fail "round $round: the writer never wrote"
	RUNS0=$(runs)
	wait_until -t 60 raced ||
		fail "round $round: $(written) versions, $(($(runs) - RUNS0)) tool runs, work done: $(worked && echo yes || echo no)"
	touch "$D/stop"
	wait_gone "$wpid" "the writer"
	touch "$D/tstop"
	wait_gone "$tpid" "the tool loop"
	wait_gone "$opid" "the watcher"
	[ ! -s "$D/writer.err" ] || fail "round $round: the application's own writes failed: $(head -n 5 "$D/writer.err")"
	check_final "$round"
}

# the tool's runs: none crashed, hung or found trouble (exit 0 or 1 only)
check_runs() {
	local bad
	[ -s "$D/tool.rc" ] || fail "the tool never ran"
	bad=$(grep -vxE '0|1' "$D/tool.rc" | sort | uniq -c | tr '\n' ' ' || true)
	[ -z "$bad" ] || fail "tool runs exited with (count status): $bad; stderr: $(sort -u "$D/tool.err" | head -n 10)"
}

# sum of a field over the json summary records of every run
json_total() {
	jq -s --arg f "$1" 'map(select(.summary == "summary") | .[$f]) | add // 0' "$D/tool.out"
}

repair_race() {
	local policy=$1 nservers=$2 repl=$3 round t0 r recheck rounds=$ROUNDS
	WORK=repaired
	start_servers "$nservers"
	t0=$(now_ms)
	# majority's readings are 300 ms apart (below), and the writer rests twice that after each
	# version, so that the drift it leaves stays still for a pair of readings and gets
	# repaired; a third of the rounds keeps the test short
	if [ "$policy" = majority ]; then
		rounds=$((ROUNDS > 9 ? ROUNDS / 3 : ROUNDS))
		WPAUSE=$((600 * MCR_SLOW / 1000)).$(printf %03d $((600 * MCR_SLOW % 1000)))
	fi
	for ((round = 1; round <= rounds; round++)); do
		round_keys "$round" "$repl"
		# half the rounds repair what the first read saw; half look again first, as by default
		# --confirm-delay: the writer's deletes reach every copy within milliseconds (it makes
		# no request that would keep them waiting in its write buffer); a tenth of a second is
		# plenty, and keeps the runs short
		recheck=$((round % 2 ? 0 : 20))
		# majority counts the old replicas of a set still in flight against its new primary and
		# writes the old value back there (mcrverify(1) REPAIR says so: give it only where no
		# set is in flight). The writer sends the replicas right after the primary, but with both
		# cores busy it can be descheduled between them for longer than two readings a few
		# milliseconds apart (seen: an old value on the primary after the writer's last word):
		# the readings are kept far enough apart that no such pause spans them
		[ "$policy" != majority ] || recheck=$(slow 300)
		race_round "$repl" "$round" "$MCR_BIN/mcrverify" -s "$SERVERS" -r "$repl" -t 2000 \
			--recheck-delay="$recheck" --confirm-delay=100 --repair="$policy" --format=json -k "$D/keys"
	done
	check_runs
	r=$(json_total repaired)
	echo "# --repair=$policy: $rounds rounds in $(($(now_ms) - t0)) ms, $(wc -l <"$D/tool.rc") runs, $r keys repaired, $(json_total skipped) skipped, $(json_total failed) failed" >&3
	[ "$r" -gt 0 ] || fail "no repair ever happened: the race tested nothing"
	# and the last round's keys are consistent now
	run -0 mcrverify -s "$SERVERS" -r "$repl" -k "$D/keys"
}

@test "--repair=primary racing a replicated writer: every copy ends with the writer's last value" {
	repair_race primary 3 1
}

@test "--repair=majority (3 copies) racing a replicated writer: every copy ends with the writer's last value" {
	repair_race majority 3 2
}

@test "--repair=missing racing a replicated writer: every copy ends with the writer's last value" {
	repair_race missing 3 1
}

@test "--rebuild of an emptied server racing a replicated writer: every copy ends with the writer's last value" {
	# a heal round waits for a restart pass and a confirming pass: fewer rounds than the others
	local round t0 x c rounds=$((ROUNDS < 3 ? ROUNDS : 3))
	WORK=copied
	start_servers 3
	t0=$(now_ms)
	for ((round = 1; round <= rounds; round++)); do
		# the server to rebuild, restarted empty while the application is idle (during the
		# round the writer makes it, and the others, lose copies again)
		x=$((round % 3))
		stop_server "$x" || true
		start_server_at "$x"
		round_keys "$round" 1
		# half the rounds list every key (metadump), half name them
		if ((round % 2)); then
			race_round 1 "$round" "$MCR_BIN/mcrcopy" -s "$SERVERS" -r 1 -t 2000 --rebuild="$(srv "$x")" \
				--confirm-delay=100 --format=json
		else
			race_round 1 "$round" "$MCR_BIN/mcrcopy" -s "$SERVERS" -r 1 -t 2000 --rebuild="$(srv "$x")" \
				--confirm-delay=100 --format=json -k "$D/keys"
		fi
	done
	check_runs
	c=$(json_total copied)
	echo "# --rebuild: $rounds rounds in $(($(now_ms) - t0)) ms, $(wc -l <"$D/tool.rc") runs, $c keys copied, $(json_total present) already present, $(json_total failed) failed" >&3
	[ "$c" -gt 0 ] || fail "no rebuild ever copied a key: the race tested nothing"
	run -0 mcrverify -s "$SERVERS" -k "$D/keys"
}

@test "--heal of a restarted server racing a replicated writer: every copy ends with the writer's last value" {
	# a heal round waits for a restart pass and a confirming pass: fewer rounds than the others
	local round t0 x c rounds=$((ROUNDS < 3 ? ROUNDS : 3))
	WORK=copied
	start_servers 3
	t0=$(now_ms)
	for ((round = 1; round <= rounds; round++)); do
		# the round's keys written once, a pass that records every server, then a server
		# restarted while the application is idle: the heal's passes find the restart by its
		# new process id and rebuild it while the writer writes
		x=$((round % 3))
		round_keys "$round" 1
		write_version 0 1 "$NKEYS"
		bounded "$MCR_BIN/mcrcopy" -q -s "$SERVERS" -r 1 --heal --state="$D/heal.state" || true
		stop_server "$x" || true
		start_server_at "$x"
		race_round 1 "$round" "$MCR_BIN/mcrcopy" -s "$SERVERS" -r 1 -t 2000 --heal --state="$D/heal.state" \
			--confirm-delay=100 --format=json
	done
	check_runs
	c=$(json_total copied)
	echo "# --heal: $rounds rounds in $(($(now_ms) - t0)) ms, $(wc -l <"$D/tool.rc") runs, $c keys copied, $(json_total present) already present, $(json_total failed) failed" >&3
	[ "$c" -gt 0 ] || fail "no heal ever copied a key: the race tested nothing"
	run -0 mcrverify -s "$SERVERS" -k "$D/keys"
}
