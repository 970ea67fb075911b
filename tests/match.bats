#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# --match=GLOB: mcrverify and mcrcopy work on the keys whose name matches, applied before any
# read; the keys left out are counted once each in the summary. The data is written by a real
# application client (pylibmc, tests/app.py) and read back through it after every writing run.

bats_require_minimum_version 1.5.0
load helper

setup() {
	app_setup
}

mcrverify() { timeout -k 2 $((120 * SLOW)) "$MCR_BIN/mcrverify" "$@"; }
mcrcopy() { timeout -k 2 $((120 * SLOW)) "$MCR_BIN/mcrcopy" "$@"; }
mstat() { mc "$1" stats | sed -n "s/^STAT $2 //p"; }
gets() { echo $(($(mstat 0 cmd_get) + $(mstat 1 cmd_get) + $(mstat 2 cmd_get))); }

@test "mcrverify --all --match: only matching keys are read and checked; the others are counted once" {
	start_servers 3
	py "$SERVERS" --replicas 1 load session: 120
	py "$SERVERS" --replicas 1 load cache: 80
	local g0
	g0=$(gets)
	run -0 mcrverify -s "$SERVERS" -r 1 --all --match='session:*'
	assert_output --regexp '^checked 120 keys in [0-9.]+ s: ok 120, missing 0, differ 0, unreachable 0, misplaced 0; 80 not matching$'
	[ $(($(gets) - g0)) -ge 240 ] || fail "$(($(gets) - g0)) keys read for 120 keys of 2 copies"
	# a key left out is never read (cmd_get counts keys, even in a multi-get)
	g0=$(gets)
	run -0 mcrverify -s "$SERVERS" -r 1 --all --match='nothing*'
	assert_output --regexp '^checked 0 keys in .*; 200 not matching$'
	[ "$(gets)" = "$g0" ] || fail "$(($(gets) - g0)) keys read, none matching"
	# a bracket and a ? as fnmatch(3) reads them; tsv and json carry the count last
	run -0 mcrverify -s "$SERVERS" -r 1 --all --match='cache:[0-4]?' --format=json
	[ "$(jq -c 'select(.summary) | [.checked, .unmatched]' <<<"$output")" = "[40,160]" ] || fail "$output"
	run -0 mcrverify -s "$SERVERS" -r 1 --all --match='nothing*' --format=tsv
	[[ ${lines[-1]} =~ ^summary$'\t'0$'\t'.*$'\t'200$ ]] || fail "$output"
	# without --match, no count and no field
	run -0 mcrverify -s "$SERVERS" -r 1 --all --format=json
	[ "$(jq -c 'select(.summary) | has("unmatched")' <<<"$output")" = false ]
	# a key file is filtered too
	printf 'session:1\ncache:1\n' >"$D/keys"
	run -0 mcrverify -s "$SERVERS" -r 1 -k "$D/keys" --match='cache:*'
	assert_output --regexp '^checked 1 key in .*; 1 not matching$'
}

@test "mcrverify --repair --match: only matching keys are repaired; the application reads back all it wrote" {
	start_servers 3
	py "$SERVERS" --replicas 1 load session: 100
	py "$SERVERS" --replicas 1 load cache: 100
	mc 1 flush_all >/dev/null
	py "$SERVERS" --replicas 1 read cache: 100 >"$D/cache.before"
	run -0 mcrverify -s "$SERVERS" -r 1 --all --repair --confirm-delay=0 --match='session:*'
	assert_line --regexp '^checked 100 keys in .*; repaired [1-9][0-9]*, skipped 0, failed 0; [0-9]+ not matching$'
	run -0 mcrverify -s "$SERVERS" -r 1 --all --match='session:*'
	run -1 mcrverify -s "$SERVERS" -r 1 --all --match='cache:*'
	[ "$(py "$SERVERS" --replicas 1 read session: 100 | wc -l)" = 100 ]
	# the cache keys were left as they were: those whose primary was flushed still miss
	py "$SERVERS" --replicas 1 read cache: 100 | diff "$D/cache.before" -
	[ "$(wc -l <"$D/cache.before")" -lt 100 ]
}

@test "mcrcopy --all --match: only matching keys reach the destination; the source is untouched" {
	start_servers 3
	for s in 3 4; do start_server_at "$s"; done
	local dst="$(srv 3),$(srv 4)"
	py "$SERVERS" --replicas 1 load session: 100
	py "$SERVERS" --replicas 1 load cache: 60
	run -0 mcrcopy -s "$SERVERS" -r 1 --all --match='session:*' --to="$dst" --to-replicas=1
	assert_output --regexp '^100 copied, 0 already present, 0 expired, 0 failed in [0-9.]+ s; 60 not matching$'
	[ "$(py "$dst" --replicas 1 read session: 100 | wc -l)" = 100 ]
	[ "$(py "$dst" --replicas 1 read cache: 60 | wc -l)" = 0 ]
	[ "$(py "$SERVERS" --replicas 1 read session: 100 | wc -l)" = 100 ]
	[ "$(py "$SERVERS" --replicas 1 read cache: 60 | wc -l)" = 60 ]
	# a dump of the matching keys only
	run -0 --separate-stderr mcrcopy -s "$SERVERS" -r 1 --all --match='cache:1*' --to=-
	[ "$(grep -c '^set cache:1' <<<"$output")" = 11 ] || fail "$output"
	[ "$(grep -c '^set ' <<<"$output")" = 11 ]
	[[ $stderr == *"; 149 not matching" ]] || fail "$stderr"
}

@test "--match: an empty pattern, and with --heal or --from, is refused before anything is sent" {
	start_servers 2
	run -2 --separate-stderr mcrverify -s "$SERVERS" --all --match=
	[[ $stderr == *"--match: empty pattern"* ]] || fail "$stderr"
	run -2 --separate-stderr mcrcopy -s "$SERVERS" -r 1 --heal --state="$D/state" --match='a*'
	[[ $stderr == *"--match"* ]] || fail "$stderr"
	run -2 --separate-stderr mcrcopy --from=- --to="$SERVERS" --to-replicas=1 --match='a*' </dev/null
	[[ $stderr == *"--match"* ]] || fail "$stderr"
	[ "$(mstat 0 curr_items)" = 0 ] && [ "$(mstat 1 curr_items)" = 0 ]
}
