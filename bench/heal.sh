#!/bin/sh
# SPDX-License-Identifier: ISC
# A benchmark, not a test: how soon mcrcopy --heal --watch=1 refills a server that was killed
# and restarted empty, against the speed of mcrcopy --rebuild of the same server.
#
#   sh bench/heal.sh [BINDIR]       BINDIR holds mcrcopy (default: build)
#
# It starts 3 memcached servers (loopback, ports they pick, a temp dir; all stopped and removed
# on exit, whatever happens), has a real application client (pylibmc, tests/app.py, one
# replica) write BENCH_HEAL_KEYS keys (default 300000), and starts mcrcopy --heal --watch=1.
# Then, BENCH_RUNS times (default 3): server 1 is killed (SIGKILL) and started again, empty, on
# its port; the clock runs from its restart to the heal's "restarted" line (seen) and to its
# "healed" line; the application then reads every key back through its own reads (which stop
# at the primary) and all must be there. Last, the server is killed and started again empty
# and refilled with mcrcopy --rebuild, BENCH_RUNS times, for the speed to compare with. Prints
# the medians.
# Exit 0 when it ran, 1 when a heal did not happen in time or a key was not readable after it,
# 2 when something is missing.

bindir=${1:-build}
prog=bench-heal
KEYS=${BENCH_HEAL_KEYS:-300000}
RUNS=${BENCH_RUNS:-3}
LIMIT=120 # seconds for a heal to finish

die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 2
}
fail() {
	printf '%s: FAILED: %s\n' "$prog" "$*" >&2
	exit 1
}

for v in KEYS:$KEYS RUNS:$RUNS; do
	case ${v#*:} in
	'' | *[!0-9]* | 0*) die "BENCH_${v%%:*}: \"${v#*:}\" is not a positive whole number" ;;
	esac
done
[ -x "$bindir/mcrcopy" ] || die "$bindir/mcrcopy not found: run make first (or give the tools' directory)"
for c in memcached awk date timeout; do
	command -v "$c" >/dev/null 2>&1 || die "$c is needed (sh scripts/deps.sh installs it)"
done
/usr/bin/python3 -c 'import pylibmc' 2>/dev/null || die "pylibmc is needed: apt-get install python3-pylibmc"
bindir=$(cd "$bindir" && pwd) || exit 2
here=$(cd "$(dirname "$0")" && pwd) || exit 2
app="$here/../tests/app.py"
unset LIBMEMCACHED MEMCACHED_SERVERS MEMCACHED_PASSWORD

tmp=
HEAL=
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	[ -n "$HEAL" ] && kill "$HEAL" 2>/dev/null
	for f in "$tmp"/pid.*; do
		[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	[ -n "$HEAL" ] && wait "$HEAL" 2>/dev/null
	[ -n "$tmp" ] && rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcr-bench-heal.XXXXXX") || die "cannot create a temp dir"

now_ns() { date +%s%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# start_server I [PORT]: memcached on a port it picks (or PORT), bounded wait
start_server() {
	pf="$tmp/port.$1" n=0
	rm -f "$pf"
	MEMCACHED_PORT_FILENAME=$pf memcached -U 0 -l 127.0.0.1 -p "${2:--1}" -u root -m 1024 \
		</dev/null >"$tmp/memcached.$1.log" 2>&1 &
	echo $! >"$tmp/pid.$1"
	until [ -s "$pf" ] && grep -q 'TCP INET' "$pf"; do
		kill -0 "$(cat "$tmp/pid.$1")" 2>/dev/null || die "memcached $1 died at start: $(cat "$tmp/memcached.$1.log")"
		n=$((n + 1))
		[ "$n" -lt 200 ] || die "memcached $1 did not start within 10 s"
		sleep 0.05
	done
	sed -n 's/^TCP INET: //p' "$pf" | head -n 1
}
# wait_for PATTERN FILE SECONDS: until a line of FILE matches; 1 on timeout
wait_for() {
	n=0
	until grep -q "$1" "$2" 2>/dev/null; do
		n=$((n + 1))
		[ "$n" -lt $(($3 * 100)) ] || return 1
		sleep 0.01
	done
}

# wait_lines PATTERN COUNT: until the heal's log has COUNT lines matching; 1 after LIMIT s
wait_lines() {
	n=0
	until [ "$(grep -c "$1" "$tmp/heal.log")" -ge "$2" ]; do
		n=$((n + 1))
		[ "$n" -lt $((LIMIT * 100)) ] || return 1
		sleep 0.01
	done
}

p0=$(start_server 0) p1=$(start_server 1) p2=$(start_server 2)
# server 1 killed (SIGKILL) and started again, empty, on its port
restart_server1() {
	kill -9 "$(cat "$tmp/pid.1")"
	while kill -0 "$(cat "$tmp/pid.1")" 2>/dev/null; do sleep 0.01; done
	start_server 1 "$p1" >/dev/null
}
SERVERS=127.0.0.1:$p0,127.0.0.1:$p1,127.0.0.1:$p2
echo "$prog: $KEYS keys written by pylibmc (1 replica) to $SERVERS"
t0=$(now_ns)
timeout 600 /usr/bin/python3 "$app" "$SERVERS" --replicas 1 load k "$KEYS" || die "the application could not load the keys"
echo "$prog: loaded in $(calc '%.1f' "($(now_ns) - $t0) / 1e9") s"

"$bindir/mcrcopy" -s "$SERVERS" -r 1 --heal --state="$tmp/state" --watch=1 2>"$tmp/heal.log" &
HEAL=$!
wait_for . "$tmp/state" 60 || fail "the heal's first pass did not finish: $(cat "$tmp/heal.log")"
sleep 1.5 # the first pass recorded every server; the next passes find nothing

seen='' healed='' rate=''
i=1
while [ "$i" -le "$RUNS" ]; do
	before=$(grep -c 'healed in' "$tmp/heal.log")
	restart_server1
	t0=$(now_ns)
	wait_lines 'restarted (pid' "$i" || fail "run $i: the restart was not seen in $LIMIT s: $(cat "$tmp/heal.log")"
	ts=$(now_ns)
	wait_lines 'healed in' $((before + 1)) || fail "run $i: no heal in $LIMIT s: $(cat "$tmp/heal.log")"
	th=$(now_ns)
	line=$(grep 'healed in' "$tmp/heal.log" | tail -n 1)
	copied=$(echo "$line" | sed -n 's/.*: \([0-9]*\) copied.*/\1/p')
	hsecs=$(echo "$line" | sed -n 's/.*healed in \([0-9.]*\) s.*/\1/p')
	case $line in *", 0 failed"*) ;; *) fail "run $i: $line" ;; esac
	t2=$(now_ns)
	got=$(timeout 600 /usr/bin/python3 "$app" "$SERVERS" --replicas 1 read k "$KEYS" | wc -l)
	t3=$(now_ns)
	[ "$got" = "$KEYS" ] || fail "run $i: the application reads $got of $KEYS keys after the heal"
	s=$(calc '%.3f' "($ts - $t0) / 1e9") h=$(calc '%.3f' "($th - $t0) / 1e9")
	r=$(calc '%.0f' "$copied / $hsecs")
	printf '  run %d: restart seen after %6.3f s, healed after %6.3f s (%s keys refilled in %s s: %s keys/s); the application reads all %s keys (read in %.1f s)\n' \
		"$i" "$s" "$h" "$copied" "$hsecs" "$r" "$KEYS" "$(calc '%.1f' "($t3 - $t2) / 1e9")"
	seen="$seen $s" healed="$healed $h" rate="$rate $r"
	i=$((i + 1))
done
kill "$HEAL"
wait "$HEAL" 2>/dev/null
HEAL=

# the same server refilled by --rebuild, for the speed: killed and started again empty, as for
# the heal (a flush_all would keep the memory of its slabs, and a refill of a server that
# must first get its memory from the kernel would be compared with one that need not)
rb=''
i=1
while [ "$i" -le "$RUNS" ]; do
	restart_server1
	out=$(timeout "$LIMIT" "$bindir/mcrcopy" -s "$SERVERS" -r 1 --rebuild="127.0.0.1:$p1" 2>&1) ||
		fail "--rebuild: $out"
	copied=$(echo "$out" | sed -n 's/^\([0-9]*\) copied.* in \([0-9.]*\) s.*/\1/p')
	secs=$(echo "$out" | sed -n 's/^\([0-9]*\) copied.* in \([0-9.]*\) s.*/\2/p')
	r=$(calc '%.0f' "$copied / $secs")
	printf '  --rebuild run %d: %s keys in %s s: %s keys/s\n' "$i" "$copied" "$secs" "$r"
	rb="$rb $r"
	i=$((i + 1))
done

ms=$(echo "$seen" | median) mh=$(echo "$healed" | median) mr=$(echo "$rate" | median) mb=$(echo "$rb" | median)
echo
echo "| $KEYS keys, 3 servers, 1 replica, --watch=1 (medians of $RUNS) | |"
echo "|---|---|"
echo "| restart to restart seen | $ms s |"
echo "| restart to healed: every key readable by the application again | $mh s |"
echo "| heal refill speed | $mr keys/s |"
echo "| --rebuild speed, same server | $mb keys/s |"
echo "| heal / --rebuild | $(calc '%.2f' "$mr / $mb") |"
