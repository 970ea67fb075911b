#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# mcrstat: every server's answer side by side, a server down or restarted after --since, the
# shares of placement and of what the servers hold, the formats, bad input.

bats_require_minimum_version 1.5.0
load helper

setup() { D=$BATS_TEST_TMPDIR; }
mcrstat() { timeout -k 2 30 "$MCR_BIN/mcrstat" "$@"; }

@test "every server up: one record each, exit 0; a server down: its record says why, exit 1" {
	start_servers 3
	timeout 30 "$MCR_BIN/mcrset" -s "$SERVERS" -q k v
	run -0 --separate-stderr mcrstat -s "$SERVERS"
	assert_line --index 0 'SERVER STATUS VERSION UPTIME STARTED ITEMS BYTES LIMIT EVICTIONS SHARE HOLDS'
	assert_line --index 1 --regexp "^$(srv 0) up [0-9.]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+ 67108864 0 0\.[0-9]{3} [01]\.[0-9]{3}\$"
	[ "${#lines[@]}" = 4 ]
	[ -z "$stderr" ]
	stop_server 1
	run -1 --separate-stderr mcrstat -s "$SERVERS" -t 500 --format=json
	jq -e --arg s "$(srv 1)" 'select(.server == $s) | .status == "down" and .items == null and
		(.message | startswith("cannot connect: "))' <<<"${lines[1]}"
	[ "$stderr" = "mcrstat: $(srv 1): down: cannot connect: Connection refused" ]
	run -1 --separate-stderr mcrstat -s "$SERVERS" -t 500 --format=tsv
	assert_line --index 1 --regexp "^$(srv 1)${T:=$'\t'}down(${T}-){7}${T}0\.[0-9]{3}${T}-${T}cannot connect: "
}

@test "--since: a server started after the time is restarted, exit 1; the shares add up" {
	start_servers 3
	local t
	t=$(date +%s)
	stop_server 2
	sleep 3 # memcached counts its uptime from two seconds before it started
	start_server_at 2
	run -1 --separate-stderr mcrstat -s "$SERVERS" --since="$t" --format=json
	jq -e --arg s "$(srv 2)" 'select(.server == $s) | .status == "restarted"' <<<"${lines[2]}"
	[ "$stderr" = "mcrstat: $(srv 2): restarted $(jq .uptime <<<"${lines[2]}") s ago, after --since" ] || fail "$stderr"
	run -0 mcrstat -s "$SERVERS" --format=json
	# placement's shares of the copies add up to 1; with one replica on three servers, a third each
	jq -s -e 'map(.share) | add > 0.99 and add < 1.01' <<<"$output"
	jq -s -e 'all(.[]; .share > 0.3 and .share < 0.37)' <<<"$output"
}

@test "holds: a server flushed holds nothing of its share" {
	start_servers 3
	"$MCR_BIN/lmrepl" -s "$SERVERS" setmany h 300
	run -0 mcrstat -s "$SERVERS" --format=json
	jq -s -e 'all(.[]; .holds > 0.25 and .holds < 0.42)' <<<"$output"
	mc 0 flush_all >/dev/null
	run -0 mcrstat -s "$SERVERS" --format=json
	jq -s -e --arg s "$(srv 0)" '(.[] | select(.server == $s) | .holds == 0 and .items == 0) and
		([.[] | select(.server != $s) | .holds] | add > 0.99)' <<<"$output"
}

@test "bad input: one line, exit 2, nothing asked" {
	start_servers 1
	run -2 --separate-stderr mcrstat -s "$SERVERS" extra
	[ "$stderr" = "mcrstat: mcrstat takes no operands (try --help)" ]
	run -2 --separate-stderr mcrstat -s "$SERVERS" --since=yesterday
	[[ $stderr == 'mcrstat: --since: "yesterday" is not a unix time nor a duration (30m, 2h, 1d)' ]]
	run -2 --separate-stderr mcrstat -s "$SERVERS" --sample=0
	[[ $stderr == "mcrstat: --sample: 0 is out of range"* ]]
	[ "$(mc 0 stats | sed -n 's/^STAT cmd_get //p')" = 0 ]
	[ "$(mc 0 stats | sed -n 's/^STAT total_connections //p')" -le 3 ]
}
