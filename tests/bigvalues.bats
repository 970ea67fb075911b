#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Values of about 1 MiB (memcached -I 2m): every tool's memory is bounded by the bytes of a
# batch (--batch-bytes, 16 MiB by default), not by its key count: each stays under 64 MiB peak
# RSS where holding a batch of 500 keys would take a gigabyte. The data is written by a real
# application client (pylibmc, tests/app.py) and read back through it after every writing run.

bats_require_minimum_version 1.5.0
load helper

setup() {
	app_setup
	[ -x /usr/bin/time ] || fail "GNU time is needed: apt-get install time"
	# peak RSS means nothing under the sanitizers (shadow memory, a quarantine of freed blocks)
	SANITIZED=
	if nm "$MCR_BIN/mcrverify" 2>/dev/null | grep -q __asan_init; then SANITIZED=1; fi
}

N=60         # keys
SIZE=1000000 # bytes each; 2 copies: 120 MB in all, where 64 MiB is the bound


# peak OUT TOOL ARGS...: the tool, bounded, stdin from $D/in (default /dev/null), stdout to
# OUT; its exit status in RC, its peak RSS in KiB in RSS
peak() {
	local out=$1 tool=$2
	shift 2
	RC=0
	/usr/bin/time -f %M -o "$D/rss" timeout -k 2 $((120 * SLOW)) "$MCR_BIN/$tool" "$@" \
		<"${IN:-/dev/null}" >"$out" 2>"$D/err" || RC=$?
	RSS=$(tail -n 1 "$D/rss")
	echo "# $tool $*: exit $RC, peak RSS $((RSS / 1024)) MiB" >&3
}

bounded_rss() {
	[ -n "$SANITIZED" ] || [ "$RSS" -lt 65536 ] || fail "peak RSS $((RSS / 1024)) MiB, not under 64 MiB"
}

@test "1 MiB values: every tool under 64 MiB peak RSS; the application reads every value back" {
	start_servers 3 -m 256 -I 2m
	local src=$SERVERS s
	for s in 3 4 5; do start_server_at "$s" -m 256 -I 2m; done
	local dst="$(srv 3),$(srv 4),$(srv 5)"
	py "$src" --replicas 1 loadbig big: $N $SIZE
	[ "$(py "$src" --replicas 1 readbig big: $N $SIZE | wc -l)" = $N ]
	seq -f 'big:%g' 0 $((N - 1)) >"$D/keys"

	peak "$D/out" mcrverify -s "$src" -r 1 -k "$D/keys"
	[ "$RC" = 0 ] || fail "$(cat "$D/out" "$D/err")"
	bounded_rss
	peak "$D/out" mcrverify -s "$src" -r 1 --all
	[ "$RC" = 0 ] || fail "$(cat "$D/out" "$D/err")"
	grep -q "^checked $N keys .*: ok $N, " "$D/out" || fail "$(cat "$D/out")"
	bounded_rss

	peak "$D/out" mcrcopy -s "$src" -r 1 --all --to="$dst" --to-replicas=1
	[ "$RC" = 0 ] || fail "$(cat "$D/out" "$D/err")"
	bounded_rss
	[ "$(py "$dst" --replicas 1 readbig big: $N $SIZE | wc -l)" = $N ]

	peak "$D/dump" mcrcopy -s "$src" -r 1 --all --to=-
	[ "$RC" = 0 ] || fail "$(cat "$D/err")"
	bounded_rss
	for s in 3 4 5; do mc "$s" flush_all >/dev/null; done
	IN=$D/dump peak "$D/out" mcrcopy --from=- --to="$dst" --to-replicas=1
	[ "$RC" = 0 ] || fail "$(cat "$D/out" "$D/err")"
	bounded_rss
	[ "$(py "$dst" --replicas 1 readbig big: $N $SIZE | wc -l)" = $N ]

	# mcrset --batch, from a file and from a pipe (copied to a temporary file to be checked
	# whole before anything is sent, then stored a chunk at a time)
	for s in 3 4 5; do mc "$s" flush_all >/dev/null; done
	peak "$D/out" mcrset -s "$dst" -r 1 --batch "$D/dump"
	[ "$RC" = 0 ] || fail "$(head -c 300 "$D/err")"
	bounded_rss
	[ "$(py "$dst" --replicas 1 readbig big: $N $SIZE | wc -l)" = $N ]
	for s in 3 4 5; do mc "$s" flush_all >/dev/null; done
	IN=$D/dump peak "$D/out" mcrset -s "$dst" -r 1 --batch
	[ "$RC" = 0 ] || fail "$(head -c 300 "$D/err")"
	bounded_rss
	[ "$(py "$dst" --replicas 1 readbig big: $N $SIZE | wc -l)" = $N ]

	# a server of the source restarted empty, rebuilt
	stop_server 1
	start_server_at 1 -m 256 -I 2m
	peak "$D/out" mcrcopy -s "$src" -r 1 --rebuild="$(srv 1)"
	[ "$RC" = 0 ] || fail "$(cat "$D/out" "$D/err")"
	bounded_rss
	[ "$(py "$src" --replicas 1 readbig big: $N $SIZE | wc -l)" = $N ]
	run -0 timeout $((60 * SLOW)) "$MCR_BIN/mcrverify" -s "$src" -r 1 --all
}

@test "--batch-bytes: a batch of one key when the budget is smaller than a value; bad sizes refused" {
	start_servers 3 -m 256 -I 2m
	py "$SERVERS" --replicas 1 loadbig big: 8 $SIZE
	seq -f 'big:%g' 0 7 >"$D/keys"
	# the 8 keys (16 MB of copies) fit the default budget, one batch; with 64K each key is a
	# batch of its own, and one key's copies are what memory holds
	peak "$D/out" mcrverify -s "$SERVERS" -r 1 -k "$D/keys"
	[ "$RC" = 0 ] || fail "$(cat "$D/out" "$D/err")"
	local whole=$RSS
	peak "$D/out" mcrverify -s "$SERVERS" -r 1 -k "$D/keys" --batch-bytes=64K
	[ "$RC" = 0 ] || fail "$(cat "$D/out" "$D/err")"
	[ -n "$SANITIZED" ] || [ $((whole - RSS)) -gt 4096 ] ||
		fail "peak RSS $((RSS / 1024)) MiB with --batch-bytes=64K, $((whole / 1024)) MiB without"
	for bad in 1 64 12X 2G -1 '' K; do
		run -2 --separate-stderr "$MCR_BIN/mcrverify" -s "$SERVERS" -k "$D/keys" --batch-bytes="$bad"
		[[ $stderr == "mcrverify: --batch-bytes: "* ]] || fail "--batch-bytes=$bad: $stderr"
		[ "${#stderr_lines[@]}" = 1 ] || fail "$stderr"
	done
	run -0 timeout $((60 * SLOW)) "$MCR_BIN/mcrcopy" -s "$SERVERS" -r 1 -k "$D/keys" --to=- --batch-bytes=1G
}
