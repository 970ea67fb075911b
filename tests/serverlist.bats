#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Changing the server list (mcr(7), CHANGING THE SERVER LIST): growing 3 -> 5, shrinking
# 5 -> 3 and replacing a server, each in the documented order. A real application client
# (pylibmc, tests/app.py) writes the keys on the old list; after every step a client on the old
# list and a client on the new list both read every key, until the switch; after the last step
# the new list reads every key and mcrverify finds it consistent, with no stray copy left.

bats_require_minimum_version 1.5.0
load helper

N=2000

setup() {
	app_setup
}

mcrverify() { timeout -k 2 $((120 * SLOW)) "$MCR_BIN/mcrverify" "$@"; }
mcrcopy() { timeout -k 2 $((120 * SLOW)) "$MCR_BIN/mcrcopy" "$@"; }
# reads LIST: how many of the N keys a client on LIST reads back
reads() { py "$1" --replicas 1 read k $N | wc -l; }
both_read() {
	local o n
	o=$(reads "$OLD") n=$(reads "$NEW")
	[ "$o" = $N ] && [ "$n" = $N ] || fail "$1: the old list's client reads $o of $N keys, the new list's $n"
}
list() {
	local s out=
	for s; do out+=${out:+,}$(srv "$s"); done
	echo "$out"
}

@test "growing 3 -> 5: copy, switch, then repair and remove the old copies; both lists read every key until the switch" {
	start_servers 5
	OLD=$(list 0 1 2) NEW=$(list 0 1 2 3 4)
	py "$OLD" --replicas 1 load k $N
	# 2: every key copied to its new copy set, add only
	run -0 mcrcopy -s "$OLD" -r 1 --all --to="$NEW" --to-replicas=1
	assert_output --regexp "^[0-9]+ copied, [0-9]+ already present, 0 expired, 0 failed in "
	both_read "after the copy"
	# the wrong order, shown on a dry run: removing strays now would take copies old clients read
	run -1 mcrverify -s "$NEW" -r 1 --all --remove-strays --misplaced-limit=100 -n
	assert_line --regexp '; would repair [1-9][0-9]*, would skip 0$'
	# without the limit, the guard stops a writing run: the old copies look like wrong settings
	run -2 --separate-stderr mcrverify -s "$NEW" -r 1 --all --repair --remove-strays
	[[ $stderr == *"stopped before writing anything"* ]] || fail "$stderr"
	both_read "after the guarded run"
	# 3: the clients switch. 4: fill and remove the old copies
	run -0 mcrverify -s "$NEW" -r 1 --all --repair --remove-strays --misplaced-limit=100
	[ "$(reads "$NEW")" = $N ]
	run -0 mcrverify -s "$NEW" -r 1 --all
	assert_output --regexp "^checked $N keys in [0-9.]+ s: ok $N, missing 0, differ 0, unreachable 0, misplaced 0\$"
}

@test "shrinking 5 -> 3: copy, switch, then remove the old copies; both lists read every key until the switch" {
	start_servers 5
	OLD=$(list 0 1 2 3 4) NEW=$(list 0 1 2)
	py "$OLD" --replicas 1 load k $N
	run -0 mcrcopy -s "$OLD" -r 1 --all --to="$NEW" --to-replicas=1
	both_read "after the copy"
	run -0 mcrverify -s "$NEW" -r 1 --all --repair --remove-strays --misplaced-limit=100
	[ "$(reads "$NEW")" = $N ]
	# the servers that left are retired
	stop_server 3
	stop_server 4
	[ "$(reads "$NEW")" = $N ]
	run -0 mcrverify -s "$NEW" -r 1 --all
	assert_output --regexp "^checked $N keys in [0-9.]+ s: ok $N, missing 0, differ 0, unreachable 0, misplaced 0\$"
}

@test "replacing a server in its position: rebuild the new one, switch, rebuild again, retire the old one" {
	start_servers 4
	OLD=$(list 0 1 2) NEW=$(list 0 3 2)
	py "$OLD" --replicas 1 load k $N
	run -0 mcrcopy -s "$NEW" -r 1 --rebuild="$(srv 3)"
	both_read "after the rebuild"
	# a key written by a client still on the old list, during the switch
	py "$OLD" --replicas 1 set late v-late
	run -0 mcrcopy -s "$NEW" -r 1 --rebuild="$(srv 3)"
	stop_server 1
	[ "$(reads "$NEW")" = $N ]
	[ "$(py "$NEW" --replicas 1 get late)" = v-late ]
	run -0 mcrverify -s "$NEW" -r 1 --all
	assert_output --regexp "^checked $((N + 1)) keys in [0-9.]+ s: ok $((N + 1)), missing 0, "
}
