#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# mcrcopy --heal: a server that restarted is found by its process id and start time and
# refilled from the other copies, with no one awake. The data is written by a real application
# client (pylibmc, tests/app.py) and read back through it: after a heal, every key it wrote
# reads again through libmemcached's own reads (which stop at the primary).

bats_require_minimum_version 1.5.0
load helper

N=3000

setup() {
	app_setup
}

heal() { timeout -k 2 $((120 * SLOW)) "$MCR_BIN/mcrcopy" -s "$SERVERS" -r 1 --heal --state="$D/state" "$@"; }
readable() { py "$SERVERS" --replicas 1 read k $N | wc -l; }

# a cluster of 3 with N keys written by the application, and a first pass that records it
loaded() {
	start_servers 3 "$@"
	py "$SERVERS" --replicas 1 load k $N
	run -0 heal
	[ -z "$output" ] || fail "a first pass over a whole cluster rebuilt something: $output"
	[ "$(grep -vc '^#' "$D/state")" = 3 ]
}

# server I killed and started again, empty, on the same port
restart() {
	stop_server "$1"
	start_server_at "$@"
}

@test "--heal: a server restarted empty is found and refilled; every key reads back through the application" {
	loaded
	restart 1
	[ "$(readable)" -lt $N ] || fail "the restart lost nothing: the test proves nothing"
	run -0 heal
	[[ $output == *"$(srv 1): restarted (pid "*" s: rebuilding"* ]] || fail "$output"
	[[ $output == *"$(srv 1): healed in "*" 0 failed"* ]] || fail "$output"
	[ "$(readable)" = $N ]
	# the next pass finds nothing to do
	run -0 heal
	[ -z "$output" ] || fail "$output"
	# what the state holds is the restarted process
	grep -q "^$(mstat 1 pid) .* $(srv 1)\$" "$D/state"
}

@test "--heal: a server still down is reported (exit 2), never rebuilt half-way, and refilled once it is back" {
	loaded
	stop_server 1
	cp "$D/state" "$D/before"
	run -2 heal
	[[ $output == *"$(srv 1): down: "* ]] || fail "$output"
	[[ $output != *rebuilding* ]] || fail "$output"
	# its entry is kept: the restart is still seen when it answers
	diff <(grep -v '^#' "$D/before") <(grep -v '^#' "$D/state")
	start_server_at 1
	run -0 heal
	[[ $output == *"$(srv 1): healed in "* ]] || fail "$output"
	[ "$(readable)" = $N ]
}

@test "--heal: two restarts in a row are each rebuilt" {
	loaded
	restart 2
	run -0 heal
	[[ $output == *"$(srv 2): healed in "* ]] || fail "$output"
	restart 2
	[ "$(readable)" -lt $N ]
	run -0 heal
	[[ $output == *"$(srv 2): restarted "*"healed in "* ]] || fail "$output"
	[ "$(readable)" = $N ]
}

@test "--heal: with no state yet, an empty server among full ones is rebuilt; an empty cluster is not" {
	start_servers 3
	run -0 heal
	[ -z "$output" ] || fail "$output"
	py "$SERVERS" --replicas 1 load k $N
	rm "$D/state"
	restart 0
	run -0 heal
	[[ $output == *"$(srv 0): empty while other servers hold items, and no state of it yet: rebuilding"* ]] ||
		fail "$output"
	[ "$(readable)" = $N ]
}

@test "--heal: a warm restart (memcached -e) is recognised and only topped up" {
	start_servers 3
	stop_server 1
	start_server_at 1 -e "$D/warm"
	py "$SERVERS" --replicas 1 load k $N
	run -0 heal
	# memcached saves its memory on SIGUSR1 and exits; started again on the file, it has its items
	kill -USR1 "${PIDS[1]}"
	wait_until -t 10 eval '! kill -0 '"${PIDS[1]}"
	wait "${PIDS[1]}" || true
	# memcached takes its memory back only when started in a later second than it stopped
	local stopped
	stopped=$(date +%s)
	wait_until -t 5 eval '[ "$(date +%s)" -gt '"$stopped"' ]'
	start_server_at 1 -e "$D/warm"
	[ "$(mstat 1 curr_items)" -gt 0 ] || fail "memcached did not keep its items over the warm restart: $(cat "$D/memcached.1.log")"
	run -0 heal
	[[ $output == *"$(srv 1): restarted (pid "*"holding "*" items, a warm restart: topping up"* ]] || fail "$output"
	[[ $output == *"healed in "*": 0 copied, "* ]] || fail "$output"
	[ "$(readable)" = $N ]
}

@test "--heal --watch: a restart is healed within seconds; SIGTERM ends the watch cleanly (exit 0)" {
	loaded
	# SIGTERM ends the watch once the answers in flight are read, within -t (3 s by default)
	timeout -k $((10 * SLOW)) $((120 * SLOW)) "$MCR_BIN/mcrcopy" -s "$SERVERS" -r 1 --heal --state="$D/state" --watch=1 \
		--prometheus="$D/heal.prom" --prometheus-label=cluster=c1 2>"$D/log" &
	local pid=$! t0
	restart 1
	t0=$(now_ms)
	wait_until -t 30 grep -q "$(srv 1): healed in " "$D/log" || fail "$(cat "$D/log")"
	echo "# restart to healed: $(($(now_ms) - t0)) ms" >&3
	sed "s/^/# /" "$D/log" >&3
	[ "$(readable)" = $N ]
	# the tool itself, not timeout(1), whose SIGCONT after the SIGTERM can hang an exiting
	# process under LeakSanitizer (see package.bats)
	kill -TERM "$(pgrep -P "$pid")"
	local st=0
	wait "$pid" || st=$?
	[ "$st" = 0 ] || fail "exit $st: $(cat "$D/log")"
	[ "$(grep -c 'restarted (pid' "$D/log")" = 1 ] || fail "$(cat "$D/log")"
	# the metrics of the last pass: one restart of server 1, its keys refilled, how long it took
	local f=$D/heal.prom copied
	copied=$(sed -n 's/.*healed in [0-9.]* s: \([0-9]*\) copied.*/\1/p' "$D/log")
	grep -qx "mcr_heal_restarts_total{cluster=\"c1\",server=\"$(srv 1)\"} 1" "$f" || fail "$(cat "$f")"
	grep -qx "mcr_heal_restarts_total{cluster=\"c1\",server=\"$(srv 0)\"} 0" "$f"
	grep -qx "mcr_heal_keys_refilled_total{cluster=\"c1\",server=\"$(srv 1)\"} $copied" "$f"
	grep -qEx "mcr_heal_last_heal_seconds\{cluster=\"c1\",server=\"$(srv 1)\"\} [0-9]+\.[0-9]+" "$f"
	grep -qx "mcr_heal_last_heal_seconds{cluster=\"c1\",server=\"$(srv 2)\"} -1.000" "$f"
	grep -qx "mcr_heal_restart_pending{cluster=\"c1\",server=\"$(srv 1)\"} 0" "$f"
	grep -qx "mcr_heal_server_up{cluster=\"c1\",server=\"$(srv 1)\"} 1" "$f"
	grep -qx 'mcr_heal_pass_exit_status{cluster="c1"} 0' "$f"
	grep -qEx 'mcr_heal_last_pass_timestamp_seconds\{cluster="c1"\} [0-9]+' "$f"
	[ "$(ls "$D" | grep -c 'heal.prom')" = 1 ] || fail "left behind: $(ls "$D")"
	if command -v promtool >/dev/null; then
		run -0 promtool check metrics <"$f"
	fi
}

@test "--heal --prometheus: a server down shows in the metrics of the pass; a bad path stops before any pass" {
	loaded
	stop_server 2
	run -2 heal --prometheus="$D/h.prom"
	grep -qx "mcr_heal_server_up{server=\"$(srv 2)\"} 0" "$D/h.prom" || fail "$(cat "$D/h.prom")"
	grep -qx 'mcr_heal_pass_exit_status 2' "$D/h.prom"
	run -2 --separate-stderr heal --prometheus="$D/nodir/h.prom"
	[[ $stderr == *"--prometheus: $D/nodir/h.prom: "* ]] || fail "$stderr"
	run -2 --separate-stderr "$MCR_BIN/mcrcopy" -s "$SERVERS" -r 1 --rebuild="$(srv 1)" --prometheus="$D/h.prom"
	[[ $stderr == *"are for --heal"* ]] || fail "$stderr"
	run -2 --separate-stderr heal --prometheus-label=cluster=x
	[[ $stderr == *"give it too"* ]] || fail "$stderr"
}

@test "--heal: bad state files and option combinations are refused with exit 2, before any pass" {
	start_servers 3
	printf 'not a state line\n' >"$D/state"
	run -2 heal
	[[ $output == *"--state: "*"line 1 is not \"PID START SERVER\""* ]] || fail "$output"
	run -2 "$MCR_BIN/mcrcopy" -s "$SERVERS" -r 1 --heal
	[[ $output == *"--heal needs --state=FILE"* ]] || fail "$output"
	run -2 "$MCR_BIN/mcrcopy" -s "$SERVERS" -r 1 --heal --state="$D/s" --all
	run -2 "$MCR_BIN/mcrcopy" -s "$SERVERS" -r 1 --heal --state="$D/s" --to="$SERVERS"
	run -2 "$MCR_BIN/mcrcopy" -s "$SERVERS" -r 1 --rebuild="$(srv 1)" --watch=5
	run -2 "$MCR_BIN/mcrcopy" -s "$SERVERS" -r 1 --heal --state="$D/s" --watch=0
	run -2 "$MCR_BIN/mcrcopy" -s "$SERVERS" --heal --state="$D/s"
	run -2 "$MCR_BIN/mcrcopy" -s "$SERVERS" -r 1 --heal --state="$D/nodir/s"
	[ "$(mstat 0 cmd_get)" = 0 ] && [ "$(mstat 0 cmd_set)" = 0 ]
}
