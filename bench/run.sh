#!/bin/sh
# A benchmark, not a test: how fast mcrverify reads a replicated data set, and how much
# memory it needs, against the raw limit of libmemcached's pipelined multi-get.
#
#   sh bench/run.sh [BINDIR]        BINDIR holds mcrset and mcrverify (default: build)
#
# It starts its own 3 memcached servers (loopback, ports they pick, a temp dir; all stopped
# and removed on exit, whatever happens), loads BENCH_KEYS keys (default 200000) with one
# replica through `mcrset --batch`, then runs each measured command BENCH_RUNS times
# (default 3) and prints a markdown table: median keys/s, ratio to the raw limit, and the
# highest peak RSS. Measured:
#   mcrverify -k KEYFILE   every copy of every key of the key file
#   mcrverify --all        every key every server lists (lru_crawler metadump)
#   rawget (bench/rawget.c) pipelined libmemcached multi-gets of every copy, nothing else
#   memccat per key        one process per key, over a sample of BENCH_SAMPLE keys (default 2000)
# Each mcrverify mode first runs once unmeasured, with its summary: it must exit 0 having found
# every key ok. Every run is bounded by BENCH_TIMEOUT seconds (default max(60, keys / 5000));
# a command that fails or stalls is reported loudly, not repeated, and its row says FAILED.
# Needs memcached, memccat (libmemcached-tools), cc, pkg-config, libmemcached-dev and GNU time
# (`time` is installed when missing and run as root). Exit 0 when the benchmark ran, 1 when a
# measured command failed or the data set was not consistent, 2 when something is missing.

bindir=${1:-build}
prog=bench
KEYS=${BENCH_KEYS:-200000}
RUNS=${BENCH_RUNS:-3}
SAMPLE=${BENCH_SAMPLE:-2000}
LIMIT=${BENCH_TIMEOUT:-} # seconds any one run may take; default max(60, keys / 5000)
NSERVERS=3
REPLICAS=1
TARGET_RATIO=0.5
TARGET_RSS=64

die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 2
}

fail() {
	printf '%s: FAILED: %s\n' "$prog" "$*" >&2
	exit 1
}

for v in KEYS:$KEYS RUNS:$RUNS SAMPLE:$SAMPLE TIMEOUT:${LIMIT:-1}; do
	case ${v#*:} in
	'' | *[!0-9]* | 0*) die "BENCH_${v%%:*}: \"${v#*:}\" is not a positive whole number" ;;
	esac
done
[ -n "$LIMIT" ] || LIMIT=$((KEYS / 5000 > 60 ? KEYS / 5000 : 60))
[ "$SAMPLE" -le "$KEYS" ] || SAMPLE=$KEYS

for t in mcrset mcrverify; do
	[ -x "$bindir/$t" ] || die "$bindir/$t not found: run make first (or give the tools' directory)"
done
for c in memcached memccat memcstat cc pkg-config awk timeout date; do
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
	MEMCACHED_PORT_FILENAME=$pf memcached -U 0 -l 127.0.0.1 -p -1 -u root -m 1024 \
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
# and $tmp/err); sets SECS, RATE (KEYS / wall time) and RSS (peak, KiB), or WHY and returns 1.
run_once() {
	tag=$1 nk=$2
	shift 2
	t0=$(now_ns)
	timeout "$LIMIT" /usr/bin/time -f %M -o "$tmp/rss" "$@" <"$tmp/stdin" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	t1=$(now_ns)
	SECS=$(calc '%.3f' "($t1 - $t0) / 1e9")
	if [ "$rc" -ne 0 ]; then
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
# repeating a stall only costs time); sets MEDIAN (keys/s) and PEAK (MiB), or FAILED.
measure() {
	tag=$1 nk=$2
	i=1 rates='' peak=0 FAILED=''
	while [ "$i" -le "$RUNS" ]; do
		if ! run_once "$@"; then
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

# the raw limit
# shellcheck disable=SC2046 # pkg-config's flags are words
cc -O2 $(pkg-config --cflags libmemcached) -o "$tmp/rawget" "$here/rawget.c" \
	$(pkg-config --libs libmemcached) || die "cannot compile bench/rawget.c"

SERVERS=
i=0
while [ $i -lt $NSERVERS ]; do
	start_server $i
	i=$((i + 1))
done
echo "$prog: servers $SERVERS"

# The data set: keys bench:0000001..., values of 16 to 1000 bytes, sizes and contents from a
# Park-Miller generator with a fixed seed (exact in any awk's doubles), so every run loads
# the same bytes.
awk -v n="$KEYS" -v keys="$tmp/keys" 'BEGIN {
	x = 20240601
	base = ""
	for (i = 0; i < 2000; i++)
		base = base sprintf("%c", 33 + (i * 7 + int(i / 94)) % 94)
	for (i = 1; i <= n; i++) {
		x = (x * 16807) % 2147483647
		len = 16 + x % 985
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
rm -f "$tmp/data"

head -n "$SAMPLE" "$tmp/keys" >"$tmp/sample"
# shellcheck disable=SC2016 # $1 and $k belong to the inner shell
memccat_loop='while IFS= read -r k; do
	memccat --servers="$1" "$k" >/dev/null || { echo "memccat $k failed" >&2; exit 1; }
done'

# --all goes last: if it stalls the servers, nothing measured after it is disturbed.
STATUS=0
echo "$prog: measuring ($RUNS runs each, at most $LIMIT s per run)"
verify "mcrverify -k" -k "$tmp/keys" &&
	measure "mcrverify -k" "$KEYS" "$bindir/mcrverify" -s "$SERVERS" -r "$REPLICAS" -k "$tmp/keys" \
		--no-progress -q
row K
measure "rawget (raw limit)" "$KEYS" "$tmp/rawget" "$SERVERS" "$REPLICAS" "$tmp/keys" 500 &&
	{ grep -q "^$KEYS keys fully read" "$tmp/out" || FAILED="read $(cut -d' ' -f1 "$tmp/out") keys fully"; }
row R
cp "$tmp/sample" "$tmp/stdin"
measure "memccat per key" "$SAMPLE" sh -c "$memccat_loop" sh "$SERVERS"
row M
: >"$tmp/stdin"
verify "mcrverify --all" --all &&
	measure "mcrverify --all" "$KEYS" "$bindir/mcrverify" -s "$SERVERS" -r "$REPLICAS" --all --no-progress -q
row A
if [ -n "$FAILED" ] && [ "$(memcached -V | awk '{ split($2, v, "."); print (v[1] * 1000 + v[2]) * 1000 + v[3] }')" -lt 1006019 ]
then
	printf '%s: note: memcached before 1.6.19 holds an item lock while "lru_crawler metadump hash"\n' "$prog" >&2
	printf '%s: waits for its reader (fixed upstream in 1.6.19): a reader that pauses stalls that server\n' "$prog" >&2
fi

ratio() { # RATE RAW
	case $1$2 in
	*[!0-9]*) echo - ;;
	*) calc '%.2f' "$1 / $2" ;;
	esac
}
verdict() { # RATIO RSS
	case $1$2 in
	*[!0-9.]* | '') echo 'not measured' ;;
	*)
		r=$(awk "BEGIN { print ($1 >= $TARGET_RATIO) ? \"met\" : \"MISSED\" }")
		m=$(awk "BEGIN { print ($2 < $TARGET_RSS) ? \"met\" : \"MISSED\" }")
		printf 'ratio >= %s %s, peak RSS < %s MiB %s' "$TARGET_RATIO" "$r" "$TARGET_RSS" "$m"
		;;
	esac
}
KR=$(ratio "$K_RATE" "$R_RATE")
AR=$(ratio "$A_RATE" "$R_RATE")

printf '\nData set: %s keys x %s copies on %s servers, values 16-1000 B (%.1f MiB of values), %s CPUs.\n' \
	"$KEYS" $((REPLICAS + 1)) "$NSERVERS" "$(calc '%.1f' "$BYTES / 1048576")" "$(nproc 2>/dev/null || echo '?')"
printf 'keys/s = keys / wall time of the whole process (start-up, key file or key listing included).\n\n'
printf '| what | keys/s (median of %s) | ratio to raw | peak RSS MiB |\n' "$RUNS"
printf '|---|---:|---:|---:|\n'
printf '| mcrverify -k KEYFILE | %s | %s | %s |\n' "$K_RATE" "$KR" "$K_RSS"
printf '| mcrverify --all | %s | %s | %s |\n' "$A_RATE" "$AR" "$A_RSS"
printf '| raw limit: rawget (libmemcached mget of every copy) | %s | 1.00 | %s |\n' "$R_RATE" "$R_RSS"
printf '| memccat, one process per key (sample: first %s keys, one copy each) | %s | %s | %s |\n' "$SAMPLE" \
	"$M_RATE" "$(ratio "$M_RATE" "$R_RATE")" "$M_RSS"
printf '\nmcrverify -k:    %s\n' "$(verdict "$KR" "$K_RSS")"
printf 'mcrverify --all: %s\n' "$(verdict "$AR" "$A_RSS")"
[ "$STATUS" -eq 0 ] || printf '\n%s: FAILED: a measured command did not run cleanly (see above)\n' "$prog" >&2
exit "$STATUS"
