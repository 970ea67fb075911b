#!/bin/sh
# SPDX-License-Identifier: ISC
# A benchmark, not a test: how fast mcrverify reads a replicated data set and mcrcopy copies,
# rebuilds, dumps and restores it, and how much memory they need, against the raw limits of
# libmemcached: its pipelined multi-get (reads) and its pipelined sets (writes).
#
#   sh bench/run.sh [BINDIR]        BINDIR holds mcrset, mcrverify and mcrcopy (default: build)
#
# It starts its own 6 memcached servers, a source and a destination cluster of 3 (loopback,
# ports they pick, a temp dir; all stopped and removed on exit, whatever happens), loads
# BENCH_KEYS keys (default 200000) with one replica into the source through `mcrset --batch`
# (BENCH_SERVERS=64 BENCH_REPLICAS=2: clusters of 64 servers, 3 copies of each key),
# then runs each measured command BENCH_RUNS times (default 3) and prints a markdown table:
# median keys/s, ratio to the raw limit, and the highest peak RSS. Measured:
#   mcrverify -k KEYFILE   every copy of every key of the key file
#   mcrverify --all        every key every server lists (lru_crawler metadump)
#   rawsock get (bench/rawsock.c) the ceiling: binary gets of every copy on sockets alone, no
#                          library, a reply read as far as its header, nothing kept
#   rawget (bench/rawget.c) pipelined libmemcached multi-gets of every copy, nothing else
#   memccat per key        one process per key, over a sample of BENCH_SAMPLE keys (default 2000)
#   mcrcopy --all --to=DEST            every key to the destination (-r 1 there too), flushed first
#   mcrcopy --rebuild=SERVER           one source server emptied (flush_all), then refilled;
#                                      keys/s over the keys it wrote (its summary's `N copied`);
#                                      --confirm-delay=0: its 1 s wait is not work
#   mcrcopy --all --to=- >FILE         a dump of every key
#   mcrcopy --from=- --to=DEST <FILE   its restore into the flushed destination
#   rawset (bench/rawset.c) pipelined libmemcached sets of every copy to the flushed destination,
#                          each acknowledged (BUFFER_REQUESTS, replies read per batch), nothing
#                          else; also its NOREPLY variant (no reply per item), for comparison
#   rawsock set            the write ceiling: binary sets of every copy on sockets alone, each
#                          acknowledged
#   memccp per key         one process per key writing one copy, over the same sample
#   mcrverify --all, a server flushed   the check that finds a server's worth of drift (exit 1)
#   mcrverify --all --repair            the same drift repaired; both with --recheck-delay=0
#                                       (and --confirm-delay=0): the delays are waits, not work
# BENCH_VALUE_MAX (default 1000, 17..1000) bounds the values (16 to that many bytes): a large
# BENCH_KEYS fits the machine with small values. Each server gets -m BENCH_SERVER_MB, by default
# what its share of the copies needs with a margin, at least 1024.
# Each mcrverify and mcrcopy mode first runs once unmeasured, with its summary: mcrverify must
# exit 0 having found every key ok, mcrcopy must have copied every key (--rebuild: some) with
# none failed. After the measured runs the destination (copy, restore) or the source (rebuild)
# must pass `mcrverify --all` with every key ok. Every run is bounded by BENCH_TIMEOUT seconds
# (default max(60, keys / 5000)); a command that fails or stalls is reported loudly, not
# repeated, and its row says FAILED.
# Needs memcached, memccat, memccp, memcflush (libmemcached-tools), cc, pkg-config,
# libmemcached-dev and GNU time (`time` is installed when missing and run as root). Exit 0 when
# the benchmark ran, 1 when a measured command failed or the data set was not consistent, 2 when
# something is missing.

bindir=${1:-build}
prog=bench
KEYS=${BENCH_KEYS:-200000}
RUNS=${BENCH_RUNS:-3}
SAMPLE=${BENCH_SAMPLE:-2000}
LIMIT=${BENCH_TIMEOUT:-} # seconds any one run may take; default max(60, keys / 5000)
NSERVERS=${BENCH_SERVERS:-3}  # per cluster (source, destination)
REPLICAS=${BENCH_REPLICAS:-1}
VMAX=${BENCH_VALUE_MAX:-1000}
export BENCH_VALUE_MAX="$VMAX" # bench/raw.h writes the same values
SERVER_MB=${BENCH_SERVER_MB:-}
TARGET_ALL=0.85  # mcrverify --all, to mcrverify -k
TARGET_REPAIR=0.5 # mcrverify --all --repair, to the check of the same drift
TARGET_COPY=0.8  # mcrcopy copy and rebuild to the sockets' write ceiling, the dump to their read ceiling
TARGET_RSS=64

die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 2
}

fail() {
	printf '%s: FAILED: %s\n' "$prog" "$*" >&2
	exit 1
}

for v in KEYS:$KEYS RUNS:$RUNS SAMPLE:$SAMPLE TIMEOUT:${LIMIT:-1} SERVERS:$NSERVERS REPLICAS:$((REPLICAS + 1)) \
	VALUE_MAX:$VMAX SERVER_MB:${SERVER_MB:-1}; do
	case ${v#*:} in
	'' | *[!0-9]* | 0*) die "BENCH_${v%%:*}: \"${v#*:}\" is not a positive whole number" ;;
	esac
done
[ "$NSERVERS" -le 128 ] || die "BENCH_SERVERS: at most 128 (each cluster; twice as many servers run)"
[ "$REPLICAS" -lt "$NSERVERS" ] || die "BENCH_REPLICAS: fewer than BENCH_SERVERS ($NSERVERS)"
if [ "$VMAX" -lt 17 ] || [ "$VMAX" -gt 1000 ]; then die "BENCH_VALUE_MAX: from 17 to 1000"; fi
# a server's share of the copies: the mean value, the key, memcached's item header and slab
# rounding (about 100 bytes), and half as much again for the slab classes' slack
[ -n "$SERVER_MB" ] || SERVER_MB=$(awk -v k="$KEYS" -v c=$((REPLICAS + 1)) -v n="$NSERVERS" -v v="$VMAX" \
	'BEGIN { m = int(k * c / n * ((16 + v) / 2 + 100) * 1.5 / 1048576) + 1; print (m > 1024 ? m : 1024) }')
[ -n "$LIMIT" ] || LIMIT=$((KEYS / 5000 > 60 ? KEYS / 5000 : 60))
[ "$SAMPLE" -le "$KEYS" ] || SAMPLE=$KEYS

for t in mcrset mcrverify mcrcopy; do
	[ -x "$bindir/$t" ] || die "$bindir/$t not found: run make first (or give the tools' directory)"
done
for c in memcached memccat memccp memcflush memcstat cc pkg-config awk timeout date; do
	command -v "$c" >/dev/null 2>&1 || die "$c is needed (sh scripts/deps.sh installs it)"
done
if ! [ -x /usr/bin/time ]; then
	[ "$(id -u)" -eq 0 ] || die "GNU time (/usr/bin/time) is needed: apt-get install time"
	echo "$prog: installing GNU time (for peak RSS)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time >/dev/null; } ||
		die "cannot install GNU time"
fi
bindir=$(cd "$bindir" && pwd) || exit 2
here=$(cd "$(dirname "$0")" && pwd) || exit 2
unset LIBMEMCACHED MEMCACHED_SERVERS MEMCACHED_PASSWORD

PIDS=
tmp=

# Stop every server we started (bounded), remove the temp dir, keep the exit status.
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	for pid in $PIDS; do
		kill "$pid" 2>/dev/null
	done
	for pid in $PIDS; do
		n=0
		while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 100 ]; do
			sleep 0.05
			n=$((n + 1))
		done
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[ -n "$tmp" ] && rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcr-bench.XXXXXX") || die "cannot create a temp dir"

# start_server I: memcached picks a free port itself and writes it to a file; bounded wait.
start_server() {
	pf="$tmp/port.$1" log="$tmp/memcached.$1.log" n=0
	MEMCACHED_PORT_FILENAME=$pf memcached -U 0 -l 127.0.0.1 -p -1 -u root -m "$SERVER_MB" \
		</dev/null >"$log" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	until [ -s "$pf" ] && grep -q 'TCP INET' "$pf"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$log" >&2
			die "memcached $1 died at start"
		fi
		n=$((n + 1))
		[ "$n" -lt 100 ] || die "memcached $1 did not start within 5 s"
		sleep 0.05
	done
	SERVERS="$SERVERS${SERVERS:+,}127.0.0.1:$(sed -n 's/^TCP INET: //p' "$pf" | head -n 1)"
}

# Floating-point arithmetic and formatting.
calc() {
	awk "BEGIN { printf \"$1\", $2 }"
}

now_ns() {
	date +%s%N
}

# run_once TAG KEYS CMD ARGS...: one bounded run (stdin from $tmp/stdin, output in $tmp/out
# and $tmp/err) that must exit $OK_STATUS (default 0); sets SECS, RATE (KEYS / wall time) and
# RSS (peak, KiB), or WHY and returns 1.
run_once() {
	tag=$1 nk=$2
	shift 2
	t0=$(now_ns)
	timeout "$LIMIT" /usr/bin/time -f %M -o "$tmp/rss" "$@" <"$tmp/stdin" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	t1=$(now_ns)
	SECS=$(calc '%.3f' "($t1 - $t0) / 1e9")
	if [ "$rc" -ne "${OK_STATUS:-0}" ]; then
		if [ "$rc" -eq 124 ]; then
			WHY="killed after $LIMIT s"
		else
			WHY="exit $rc after $SECS s"
		fi
		printf '%s: FAILED: %s: %s\n' "$prog" "$tag" "$WHY" >&2
		sed 's/^/    stdout: /' "$tmp/out" | head -n 5 >&2
		grep -v '^Command \(exited with non-zero status\|terminated by signal\)' "$tmp/err" |
			sed 's/^/    stderr: /' | head -n 5 >&2
		return 1
	fi
	RSS=$(tail -n 1 "$tmp/rss")
	RATE=$(calc '%.0f' "$nk / (($t1 - $t0) / 1e9)")
	return 0
}

# measure TAG KEYS CMD ARGS...: $RUNS runs, each must exit 0 (a failed run ends the series:
# repeating a stall only costs time); sets MEDIAN (keys/s) and PEAK (MiB), or FAILED. The
# command in $BEFORE, if any, runs before each run, untimed (it empties the destination).
measure() {
	tag=$1 nk=$2
	i=1 rates='' peak=0 FAILED=''
	while [ "$i" -le "$RUNS" ]; do
		if ! before || ! run_once "$@"; then
			FAILED=$WHY
			return 1
		fi
		printf '  %-20s run %d: %7.3f s  %9s keys/s  %6.1f MiB\n' "$tag" "$i" "$SECS" "$RATE" \
			"$(calc '%.1f' "$RSS / 1024")"
		rates="$rates $RATE"
		[ "$RSS" -gt "$peak" ] && peak=$RSS
		i=$((i + 1))
	done
	# shellcheck disable=SC2034,SC2086 # read by row(); one rate per word
	MEDIAN=$(printf '%s\n' $rates | sort -n | sed -n "$(((RUNS + 1) / 2))p")
	# shellcheck disable=SC2034 # read by row()
	PEAK=$(calc '%.1f' "$peak / 1024")
}

# before: the untimed preparation of a run ($BEFORE), if any; sets WHY and returns 1 on failure.
BEFORE=
before() {
	[ -z "$BEFORE" ] && return 0
	$BEFORE && return 0
	printf '%s: FAILED: %s\n' "$prog" "$WHY" >&2
	return 1
}

# flush_all LIST: every server of the list empties itself (memcflush sends flush_all to each).
# shellcheck disable=SC2317 # these are reached through $BEFORE
flush_all() {
	memcflush --servers="$1" >"$tmp/flush" 2>&1 && return 0
	WHY="flush_all to $1 failed: $(head -n 1 "$tmp/flush")"
	return 1
}
# shellcheck disable=SC2317
flush_dest() { flush_all "$DEST"; }
# shellcheck disable=SC2317
flush_rebuilt() { flush_all "$REBUILT"; }

# verify TAG ARGS...: a warm-up run of mcrverify, not measured, with its summary: it must exit 0
# and have checked each key exactly once, all ok. Sets FAILED otherwise.
verify() {
	vtag=$1
	shift
	FAILED=
	echo "$prog: $vtag: a warm-up run with its summary (not measured)"
	if ! run_once "$vtag (check)" "$KEYS" "$bindir/mcrverify" -s "$SERVERS" -r "$REPLICAS" "$@" --no-progress; then
		FAILED=$WHY
		return 1
	fi
	sed "s/^/$prog: $vtag: /" "$tmp/out"
	if ! grep -q "^checked $KEYS keys in .*: ok $KEYS, missing 0, differ 0, unreachable 0, misplaced 0\$" "$tmp/out"
	then
		FAILED="did not check each of the $KEYS keys once, all ok"
		printf '%s: FAILED: %s: %s\n' "$prog" "$vtag" "$FAILED" >&2
		return 1
	fi
}

# consistent TAG LIST: after the measured runs, mcrverify --all of the cluster LIST, with its
# summary: it must exit 0 having checked each of the keys once, all ok. Sets FAILED otherwise.
consistent() {
	echo "$prog: $1: the result: mcrverify -s $2 --all (not measured)"
	if ! run_once "$1 (result)" "$KEYS" "$bindir/mcrverify" -s "$2" -r "$REPLICAS" --all --no-progress; then
		FAILED="the result check: $WHY"
		return 1
	fi
	sed "s/^/$prog: $1: /" "$tmp/out"
	if ! grep -q "^checked $KEYS keys in .*: ok $KEYS, missing 0, differ 0, unreachable 0, misplaced 0\$" "$tmp/out"
	then
		FAILED="the result is not each of the $KEYS keys, all ok"
		printf '%s: FAILED: %s: %s\n' "$prog" "$1" "$FAILED" >&2
		return 1
	fi
}

# copy_check TAG PATTERN ARGS...: a warm-up run of mcrcopy ARGS (after $BEFORE), not measured,
# with its summary (stderr when the dump owns stdout): it must exit 0 and its summary match
# the extended regular expression PATTERN. Sets COPIED (the summary's N copied), or FAILED.
copy_check() {
	ctag=$1 pat=$2
	shift 2
	FAILED='' COPIED=''
	echo "$prog: $ctag: a warm-up run with its summary (not measured)"
	if ! before || ! run_once "$ctag (check)" "$KEYS" "$bindir/mcrcopy" "$@" --no-progress; then
		FAILED=$WHY
		return 1
	fi
	summary=$(grep -E '^[0-9]+ copied, [0-9]+ already present, [0-9]+ expired, [0-9]+ failed in ' "$tmp/err" |
		tail -n 1)
	[ -n "$summary" ] || summary=$(tail -n 1 "$tmp/out")
	printf '%s: %s: %s\n' "$prog" "$ctag" "$summary"
	if ! printf '%s\n' "$summary" | grep -Eq "$pat"; then
		FAILED="summary not as expected ($pat)"
		printf '%s: FAILED: %s: %s\n' "$prog" "$ctag" "$FAILED" >&2
		return 1
	fi
	COPIED=${summary%% *}
}

# row NAME: the results of the last measurement, kept under NAME_RATE, NAME_RSS.
row() {
	if [ -n "$FAILED" ]; then
		eval "${1}_RATE=\"FAILED (\$FAILED)\" ${1}_RSS=-"
		STATUS=1
	else
		eval "${1}_RATE=\$MEDIAN ${1}_RSS=\$PEAK"
	fi
}

printf '%s: %s keys, %s replica, %s servers, %s runs each, %s CPUs, memcached %s, libmemcached %s\n' \
	"$prog" "$KEYS" "$REPLICAS" "$NSERVERS" "$RUNS" "$(nproc 2>/dev/null || echo '?')" \
	"$(memcached -V | awk '{ print $2 }')" "$(pkg-config --modversion libmemcached)"

# the raw limits
for raw in rawget rawset rawsock; do
	# shellcheck disable=SC2046 # pkg-config's flags are words
	cc -O2 $(pkg-config --cflags libmemcached) -o "$tmp/$raw" "$here/$raw.c" \
		$(pkg-config --libs libmemcached) || die "cannot compile bench/$raw.c"
done

# the source cluster (loaded below), then the destination cluster (mcrcopy --to, rawset, memccp)
SERVERS=
i=0
while [ $i -lt $((NSERVERS * 2)) ]; do
	[ "$i" -eq "$NSERVERS" ] && SOURCE=$SERVERS SERVERS=
	start_server $i
	i=$((i + 1))
done
DEST=$SERVERS SERVERS=$SOURCE
REBUILT=${SERVERS#*,}
REBUILT=${REBUILT%%,*} # the source server mcrcopy --rebuild refills: the second
echo "$prog: source servers $SERVERS, destination servers $DEST"
[ -r /proc/loadavg ] && printf '%s: load average at the start: %s\n' "$prog" "$(cut -d' ' -f1-3 /proc/loadavg)"

# The data set: keys bench:0000001..., values of 16 to BENCH_VALUE_MAX bytes, sizes and contents from a
# Park-Miller generator with a fixed seed (exact in any awk's doubles), so every run loads
# the same bytes.
awk -v n="$KEYS" -v keys="$tmp/keys" -v vmax="$VMAX" 'BEGIN {
	x = 20240601
	base = ""
	for (i = 0; i < 2000; i++)
		base = base sprintf("%c", 33 + (i * 7 + int(i / 94)) % 94)
	for (i = 1; i <= n; i++) {
		x = (x * 16807) % 2147483647
		len = 16 + x % (vmax - 15)
		x = (x * 16807) % 2147483647
		k = sprintf("bench:%07d", i)
		printf "set %s 0 0 %d\r\n%s\r\n", k, len, substr(base, 1 + x % 1000, len)
		print k > keys
		bytes += len
	}
	printf "%d\n", bytes > "/dev/stderr"
}' >"$tmp/data" 2>"$tmp/bytes" || die "cannot generate the data set"
BYTES=$(cat "$tmp/bytes")
printf '%s: data set: %s keys, %s value bytes (%.1f MiB, mean %s B), %s copies each, load file %.1f MiB\n' \
	"$prog" "$KEYS" "$BYTES" "$(calc '%.1f' "$BYTES / 1048576")" "$(calc '%.0f' "$BYTES / $KEYS")" \
	$((REPLICAS + 1)) "$(calc '%.1f' "$(wc -c <"$tmp/data") / 1048576")"

: >"$tmp/stdin"
t0=$(now_ns)
timeout "$LIMIT" /usr/bin/time -f %M -o "$tmp/rss" "$bindir/mcrset" -s "$SERVERS" -r "$REPLICAS" \
	--batch "$tmp/data" <"$tmp/stdin" >"$tmp/out" 2>"$tmp/err"
rc=$?
t1=$(now_ns)
if [ "$rc" -ne 0 ]; then
	head -n 20 "$tmp/err" >&2
	fail "mcrset --batch exited $rc"
fi
printf '%s: loaded with mcrset --batch in %.3f s (%s keys/s, peak RSS %.1f MiB)\n' "$prog" \
	"$(calc '%.3f' "($t1 - $t0) / 1e9")" "$(calc '%.0f' "$KEYS / (($t1 - $t0) / 1e9)")" \
	"$(calc '%.1f' "$(tail -n 1 "$tmp/rss") / 1024")"

# every copy stored, nothing evicted: otherwise the numbers below would measure misses
memcstat --servers="$SERVERS" >"$tmp/stats" 2>&1 || fail "memcstat failed: $(head -n 1 "$tmp/stats")"
items=$(awk '$1 == "curr_items:" { s += $2 } END { print s + 0 }' "$tmp/stats")
evicted=$(awk '$1 == "evictions:" { s += $2 } END { print s + 0 }' "$tmp/stats")
if [ "$items" -ne $((KEYS * (REPLICAS + 1))) ] || [ "$evicted" -ne 0 ]; then
	fail "the servers hold $items items ($evicted evicted), expected $((KEYS * (REPLICAS + 1)))"
fi

head -n "$SAMPLE" "$tmp/keys" >"$tmp/sample"
# memccp takes a file name as the key: the sample's values, each in a file named by its key
mkdir "$tmp/cp" || die "cannot create $tmp/cp"
head -n $((SAMPLE * 2)) "$tmp/data" | awk -v dir="$tmp/cp" '{ sub(/\r$/, "") }
	NR % 2 == 1 { f = dir "/" $2; next }
	{ printf "%s", $0 > f; close(f) }' || die "cannot write the memccp sample files"
rm -f "$tmp/data"
# shellcheck disable=SC2016 # $1 and $k belong to the inner shell
memccat_loop='while IFS= read -r k; do
	memccat --servers="$1" "$k" >/dev/null || { echo "memccat $k failed" >&2; exit 1; }
done'
# shellcheck disable=SC2016 # $1, $2 and $k belong to the inner shell
memccp_loop='cd "$2" || exit 1
while IFS= read -r k; do
	memccp --servers="$1" "$k" || { echo "memccp $k failed" >&2; exit 1; }
done'

# The listing modes (--all, which mcrcopy's copy, dump and rebuild use too) go last: if one
# stalls the servers, nothing measured before it is disturbed; the rebuild, which empties a
# source server, goes last of all.
STATUS=0
LISTFAILED=
echo "$prog: measuring ($RUNS runs each, at most $LIMIT s per run)"
verify "mcrverify -k" -k "$tmp/keys" &&
	measure "mcrverify -k" "$KEYS" "$bindir/mcrverify" -s "$SERVERS" -r "$REPLICAS" -k "$tmp/keys" \
		--no-progress -q
row K
measure "rawget (raw limit)" "$KEYS" "$tmp/rawget" "$SERVERS" "$REPLICAS" "$tmp/keys" 500 &&
	{ grep -q "^$KEYS keys fully read" "$tmp/out" || FAILED="read $(cut -d' ' -f1 "$tmp/out") keys fully"; }
row R
measure "rawsock get" "$KEYS" "$tmp/rawsock" get "$SERVERS" "$REPLICAS" "$tmp/keys" 1000 &&
	{ grep -q "^$((KEYS * (REPLICAS + 1)))\$" "$tmp/out" || FAILED="found $(head -n 1 "$tmp/out") copies"; }
row S
cp "$tmp/sample" "$tmp/stdin"
measure "memccat per key" "$SAMPLE" sh -c "$memccat_loop" sh "$SERVERS"
row M
: >"$tmp/stdin"

# rawset_result MODE: the last rawset run wrote every key with the load file's bytes, and
# every copy reads back (rawget on the destination); two values compared with the source.
rawset_result() {
	[ -z "$FAILED" ] || return 1
	grep -q "^$KEYS keys fully written (.*), $KEYS keys in the file, $BYTES value bytes" "$tmp/out" || {
		FAILED="$(cut -d' ' -f1 "$tmp/out") keys fully written: $(head -n 1 "$tmp/out")"
		return 1
	}
	[ "$1" = noreply ] && ! "$tmp/rawget" "$DEST" "$REPLICAS" "$tmp/keys" 500 >"$tmp/check" 2>&1 && {
		FAILED="not every copy reads back: $(head -n 1 "$tmp/check")"
		return 1
	}
	for k in "$(head -n 1 "$tmp/keys")" "$(tail -n 1 "$tmp/keys")"; do
		if ! memccat --servers="$SERVERS" "$k" >"$tmp/want" 2>&1 ||
			! memccat --servers="$DEST" "$k" >"$tmp/got" 2>&1 || ! cmp -s "$tmp/want" "$tmp/got"; then
			FAILED="$k differs from the source"
			return 1
		fi
	done
}
# memcached takes fresh memory for the first load and reuses flushed items' memory after it:
# one unmeasured load first, so that no measured writer pays for the first allocation
BEFORE=flush_dest
echo "$prog: rawset: a warm-up run, filling the destination once (not measured)"
before && run_once "rawset (warm-up)" "$KEYS" "$tmp/rawset" "$DEST" "$REPLICAS" "$tmp/keys" 500 ack &&
	printf '%s: rawset: %s s: %s\n' "$prog" "$SECS" "$(head -n 1 "$tmp/out")"
measure "rawset (raw limit)" "$KEYS" "$tmp/rawset" "$DEST" "$REPLICAS" "$tmp/keys" 500 ack
rawset_result ack
st=$STATUS
row W
# not a failure of the benchmark: the NOREPLY variant below becomes the limit (see the table)
[ -z "$FAILED" ] || {
	STATUS=$st
	printf '%s: note: acknowledged pipelined sets failed; the raw write limit is the NOREPLY variant\n' "$prog" >&2
}
measure "rawset noreply" "$KEYS" "$tmp/rawset" "$DEST" "$REPLICAS" "$tmp/keys" 500 noreply
rawset_result noreply
row N
measure "rawsock set" "$KEYS" "$tmp/rawsock" set "$DEST" "$REPLICAS" "$tmp/keys" 1000 &&
	{ grep -q "^$((KEYS * (REPLICAS + 1)))\$" "$tmp/out" || FAILED="stored $(head -n 1 "$tmp/out") copies"; }
row T
BEFORE=
cp "$tmp/sample" "$tmp/stdin"
measure "memccp per key" "$SAMPLE" sh -c "$memccp_loop" sh "$DEST" "$tmp/cp" &&
	for k in "$(head -n 1 "$tmp/sample")" "$(tail -n 1 "$tmp/sample")"; do
		# memccat adds a newline to the value
		if ! memccat --servers="$DEST" "$k" >"$tmp/got" 2>&1 ||
			! printf '\n' | cat "$tmp/cp/$k" - | cmp -s - "$tmp/got"; then
			FAILED="$k reads back different"
			break
		fi
	done
row P
: >"$tmp/stdin"

verify "mcrverify --all" --all &&
	measure "mcrverify --all" "$KEYS" "$bindir/mcrverify" -s "$SERVERS" -r "$REPLICAS" --all --no-progress -q
row A
[ -n "$FAILED" ] && LISTFAILED=1

all_copied="^$KEYS copied, 0 already present, 0 expired, 0 failed in "
BEFORE=flush_dest
copy_check "mcrcopy --all --to" "$all_copied" -s "$SERVERS" -r "$REPLICAS" --all --to="$DEST" \
	--to-replicas="$REPLICAS" &&
	measure "mcrcopy --all --to" "$KEYS" "$bindir/mcrcopy" -s "$SERVERS" -r "$REPLICAS" --all \
		--to="$DEST" --to-replicas="$REPLICAS" --no-progress -q &&
	consistent "mcrcopy --all --to" "$DEST"
row C
[ -n "$FAILED" ] && LISTFAILED=1
BEFORE=
copy_check "mcrcopy dump" "$all_copied" -s "$SERVERS" -r "$REPLICAS" --all --to=- &&
	measure "mcrcopy dump" "$KEYS" "$bindir/mcrcopy" -s "$SERVERS" -r "$REPLICAS" --all --to=- \
		--no-progress -q &&
	mv "$tmp/out" "$tmp/dump"
row D
[ -n "$FAILED" ] && LISTFAILED=1
DUMPSIZE=$( [ -f "$tmp/dump" ] && calc '%.1f' "$(wc -c <"$tmp/dump") / 1048576" || echo '?')
if [ -f "$tmp/dump" ]; then
	mv "$tmp/dump" "$tmp/stdin"
	BEFORE=flush_dest
	copy_check "mcrcopy restore" "$all_copied" --from=- --to="$DEST" --to-replicas="$REPLICAS" &&
		measure "mcrcopy restore" "$KEYS" "$bindir/mcrcopy" --from=- --to="$DEST" \
			--to-replicas="$REPLICAS" --no-progress -q &&
		consistent "mcrcopy restore" "$DEST"
	BEFORE=
	: >"$tmp/stdin"
else
	FAILED="no dump to restore"
fi
row L

BEFORE=flush_rebuilt
copy_check "mcrcopy --rebuild" "^[1-9][0-9]* copied, 0 already present, 0 expired, 0 failed in " \
	-s "$SERVERS" -r "$REPLICAS" --rebuild="$REBUILT" &&
	measure "mcrcopy --rebuild" "$COPIED" "$bindir/mcrcopy" -s "$SERVERS" -r "$REPLICAS" \
		--rebuild="$REBUILT" --confirm-delay=0 --no-progress -q &&
	consistent "mcrcopy --rebuild" "$SERVERS"
BEFORE=
REBUILT_KEYS=${COPIED:-?}
row B
[ -n "$FAILED" ] && LISTFAILED=1

# A server's worth of drift: the same server emptied before each run, then checked (exit 1:
# its copies missing), then repaired; the cluster must be whole again after the repairs.
BEFORE=flush_rebuilt
OK_STATUS=1 measure "mcrverify, drift" "$KEYS" "$bindir/mcrverify" -s "$SERVERS" -r "$REPLICAS" --all \
	--recheck-delay=0 --no-progress -q
row F
[ -n "$FAILED" ] && LISTFAILED=1
measure "mcrverify --repair" "$KEYS" "$bindir/mcrverify" -s "$SERVERS" -r "$REPLICAS" --all --repair \
	--recheck-delay=0 --confirm-delay=0 --no-progress -q &&
	consistent "mcrverify --repair" "$SERVERS"
row X
[ -n "$FAILED" ] && LISTFAILED=1
BEFORE=

if [ -n "$LISTFAILED" ] && [ "$(memcached -V | awk '{ split($2, v, "."); print (v[1] * 1000 + v[2]) * 1000 + v[3] }')" -lt 1006019 ]
then
	printf '%s: note: memcached before 1.6.19 holds an item lock while "lru_crawler metadump hash"\n' "$prog" >&2
	printf '%s: waits for its reader (fixed upstream in 1.6.19): a reader that pauses stalls that server\n' "$prog" >&2
fi

# the destination held every load in turn, emptied by flush_all: nothing live may have been evicted
memcstat --servers="$DEST" >"$tmp/stats" 2>&1 || fail "memcstat failed: $(head -n 1 "$tmp/stats")"
evicted=$(awk '$1 == "evictions:" { s += $2 } END { print s + 0 }' "$tmp/stats")
[ "$evicted" -eq 0 ] || printf '%s: note: the destination evicted %s items\n' "$prog" "$evicted" >&2

# The raw write limit: rawset with every copy acknowledged; should that fail, its NOREPLY
# variant, which gets no per-item acknowledgement (the table says so).
WLABEL='raw write limit: rawset (libmemcached pipelined sets of every copy, each acknowledged: BUFFER_REQUESTS, replies read per batch)'
NLABEL='rawset NOREPLY (pipelined quiet sets, no reply per item; not the limit)'
case $W_RATE in
*[!0-9]* | '')
	WLABEL="raw write limit: rawset NOREPLY (pipelined quiet sets, NO per-item acknowledgement; the acknowledged variant $W_RATE)"
	NLABEL=
	eval 'W_RATE=$N_RATE W_RSS=$N_RSS'
	;;
esac

ratio() { # RATE RAW
	case $1$2 in
	*[!0-9]*) echo - ;;
	*) calc '%.2f' "$1 / $2" ;;
	esac
}
verdict() { # RATE RAW RSS TARGET: the ratio unrounded
	case $1$2$3 in
	*[!0-9.]* | '') echo 'not measured' ;;
	*)
		r=$(awk "BEGIN { print ($1 / $2 >= $4) ? \"met\" : \"MISSED\" }")
		m=$(awk "BEGIN { print ($3 < $TARGET_RSS) ? \"met\" : \"MISSED\" }")
		printf 'ratio %s >= %s %s, peak RSS < %s MiB %s' "$(ratio "$1" "$2")" "$4" "$r" "$TARGET_RSS" "$m"
		;;
	esac
}

# other work on the machine skews every number: say how busy it was
[ -r /proc/loadavg ] && printf '%s: load average at the end: %s\n' "$prog" "$(cut -d' ' -f1-3 /proc/loadavg)"

printf '\nData set: %s keys x %s copies on %s servers, values 16-%s B (%.1f MiB of values), %s CPUs.\n' \
	"$KEYS" $((REPLICAS + 1)) "$NSERVERS" "$VMAX" "$(calc '%.1f' "$BYTES / 1048576")" "$(nproc 2>/dev/null || echo '?')"
printf 'mcrcopy writes to a second cluster of %s servers with --to-replicas=%s, emptied (flush_all) before each run.\n' \
	"$NSERVERS" "$REPLICAS"
printf 'keys/s = keys / wall time of the whole process (start-up, key file or key listing included);\n'
printf 'ratios: to the ceiling measured on sockets alone (rawsock: reads for reads, writes for\n'
printf 'writes) and to libmemcached (rawget, rawset), in the same run.\n\n'
row_out() { # LABEL RATE RSS SOCKET_CEILING LIBMEMCACHED
	printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$(ratio "$2" "$4")" "$(ratio "$2" "$5")" "$3"
}
printf '| what | keys/s (median of %s) | to sockets | to libmemcached | peak RSS MiB |\n' "$RUNS"
printf '|---|---:|---:|---:|---:|\n'
row_out 'mcrverify -k KEYFILE (every copy read)' "$K_RATE" "$K_RSS" "$S_RATE" "$R_RATE"
row_out 'mcrverify --all (every key every server lists)' "$A_RATE" "$A_RSS" "$S_RATE" "$R_RATE"
row_out 'ceiling: rawsock get (binary gets of every copy, sockets alone)' "$S_RATE" "$S_RSS" "$S_RATE" "$R_RATE"
row_out 'rawget (libmemcached mget of every copy)' "$R_RATE" "$R_RSS" "$S_RATE" "$R_RATE"
row_out "memccat, one process per key (sample: first $SAMPLE keys, one copy each)" "$M_RATE" "$M_RSS" "$S_RATE" "$R_RATE"
row_out "mcrverify --all --recheck-delay=0, the rebuilt server emptied again (the check that finds the drift; exit 1)" "$F_RATE" "$F_RSS" "$S_RATE" "$R_RATE"
row_out "mcrverify --all --repair, the same drift (keys/s over all $KEYS keys)" "$X_RATE" "$X_RSS" "$S_RATE" "$R_RATE"
row_out "mcrcopy --all --to=DEST (every key, $((REPLICAS + 1)) copies each written)" "$C_RATE" "$C_RSS" "$T_RATE" "$W_RATE"
row_out "mcrcopy --rebuild=SERVER --confirm-delay=0 (keys/s over the $REBUILT_KEYS keys written there, of $KEYS listed)" "$B_RATE" "$B_RSS" "$T_RATE" "$W_RATE"
row_out "mcrcopy --all --to=- >FILE (dump, $DUMPSIZE MiB; ratios to the read ceilings)" "$D_RATE" "$D_RSS" "$S_RATE" "$R_RATE"
row_out "mcrcopy --from=- --to=DEST <FILE (restore, $((REPLICAS + 1)) copies each written)" "$L_RATE" "$L_RSS" "$T_RATE" "$W_RATE"
row_out 'ceiling: rawsock set (binary sets of every copy, each acknowledged, sockets alone)' "$T_RATE" "$T_RSS" "$T_RATE" "$W_RATE"
row_out "$WLABEL" "$W_RATE" "$W_RSS" "$T_RATE" "$W_RATE"
[ -z "$NLABEL" ] || row_out "$NLABEL" "$N_RATE" "$N_RSS" "$T_RATE" "$W_RATE"
row_out "memccp, one process per key (sample: first $SAMPLE keys, one copy each)" "$P_RATE" "$P_RSS" "$T_RATE" "$W_RATE"
printf '\nmcrverify --all:    %s (to mcrverify -k)\n' "$(verdict "$A_RATE" "$K_RATE" "$A_RSS" "$TARGET_ALL")"
printf 'mcrcopy --all --to: %s\n' "$(verdict "$C_RATE" "$T_RATE" "$C_RSS" "$TARGET_COPY")"
printf 'mcrcopy --rebuild:  %s\n' "$(verdict "$B_RATE" "$T_RATE" "$B_RSS" "$TARGET_COPY")"
printf 'mcrcopy dump:       %s\n' "$(verdict "$D_RATE" "$S_RATE" "$D_RSS" "$TARGET_COPY")"
printf 'mcrverify --repair: %s (to the check of the same drift); %s to a clean --all\n' \
	"$(verdict "$X_RATE" "$F_RATE" "$X_RSS" "$TARGET_REPAIR")" "$(ratio "$X_RATE" "$A_RATE")"
printf 'mcrverify -k:       peak RSS %s MiB; mcrcopy restore: %s\n' "$K_RSS" "$(verdict "$L_RATE" "$T_RATE" "$L_RSS" 0)"
[ "$STATUS" -eq 0 ] || printf '\n%s: FAILED: a measured command did not run cleanly (see above)\n' "$prog" >&2
exit "$STATUS"
