#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# mcrdel: every copy deleted, exit status for absent keys and unreachable copies, per-copy reports
# (HACKING.md "mcrdel").

bats_require_minimum_version 1.5.0
load helper
load mcrlib

@test "deletes every copy (3 servers, -r 2), quietly" {
	start_servers 3
	mcrset -s "$SERVERS" -r 2 dk v </dev/null
	assert_copy 0 dk v
	run -0 --separate-stderr mcrdel -s "$SERVERS" -r 2 dk
	assert_output ''
	[ -z "$stderr" ]
	assert_no_copy 0 dk
	assert_no_copy 1 dk
	assert_no_copy 2 dk
}

@test "deletes both copies with 2 servers; mcrget then misses" {
	start_servers 2
	mcrset -s "$SERVERS" dk v </dev/null
	run -0 mcrdel -s "$SERVERS" dk
	assert_no_copy 0 dk
	assert_no_copy 1 dk
	run -1 mcrget -s "$SERVERS" dk
}

@test "key absent everywhere: exit 1" {
	start_servers 2
	run -1 --separate-stderr mcrdel -s "$SERVERS" nokey
	assert_output ''
	[[ $stderr == *nokey* ]] || fail "stderr does not name the key: $stderr"
}

@test "key on one copy only: exit 0, gone" {
	start_servers 2
	local p r
	p=$(copy_idx one 2 0) r=$(copy_idx one 2 1)
	mcset "$r" one v
	run -0 --separate-stderr mcrdel -s "$SERVERS" one
	assert_output ''
	assert_no_copy "$r" one
	mcset "$p" one v
	run -0 mcrdel -s "$SERVERS" one
	assert_no_copy "$p" one
}

@test "a copy's server stopped: exit 1, the other copies deleted, stderr names the server" {
	start_servers 3
	local p r1 r2
	p=$(copy_idx sk 3 0) r1=$(copy_idx sk 3 1) r2=$(copy_idx sk 3 2)
	mcrset -s "$SERVERS" -r 2 sk v </dev/null
	server_down "$r1"
	run -1 --separate-stderr mcrdel -s "$SERVERS" -r 2 -t 500 sk
	assert_output ''
	[[ $stderr == *"$(srv "$r1")"* ]] || fail "stderr does not name the server: $stderr"
	assert_no_copy "$p" sk
	assert_no_copy "$r2" sk

	# the primary's server stopped: the replicas are still deleted
	local q
	q=$(copy_idx sk2 3 0)
	start_server_at "$r1"
	mcrset -s "$SERVERS" -r 2 sk2 v </dev/null
	server_down "$q"
	run -1 mcrdel -s "$SERVERS" -r 2 -t 500 sk2
	assert_no_copy "$(copy_idx sk2 3 1)" sk2
	assert_no_copy "$(copy_idx sk2 3 2)" sk2
}

@test "every copy's server stopped: exit 1 (copies not deleted), a line per copy" {
	start_servers 2
	server_down 0
	server_down 1
	run -1 --separate-stderr mcrdel -s "$SERVERS" -t 500 k
	assert_output ''
	[ "${#stderr_lines[@]}" -eq 2 ]
	[[ $stderr != *"not found"* ]] || fail "an outage reported as a miss: $stderr"
}

@test "-v: per-copy text report" {
	start_servers 2
	local p r
	p=$(copy_idx vk 2 0) r=$(copy_idx vk 2 1)
	mcset "$p" vk v
	run -0 --separate-stderr mcrdel -s "$SERVERS" -v vk
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 0 --regexp "^vk $(srv "$p") primary deleted(: .*)?$"
	assert_line --index 1 --regexp "^vk $(srv "$r") replica1 not-found(: .*)?$"
}

@test "--format=tsv and --format=json per-copy reports, unreachable copy" {
	start_servers 3
	local p r1 r2
	p=$(copy_idx fk 3 0) r1=$(copy_idx fk 3 1) r2=$(copy_idx fk 3 2)
	mcrset -s "$SERVERS" -r 2 fk v </dev/null
	run -0 --separate-stderr mcrdel -s "$SERVERS" -r 2 --format=tsv fk
	[ "${#lines[@]}" -eq 3 ]
	assert_line --index 0 --regexp "^fk${T}$(srv "$p")${T}primary${T}deleted${T}[^${T}]*$"
	assert_line --index 1 --regexp "^fk${T}$(srv "$r1")${T}replica1${T}deleted${T}[^${T}]*$"
	assert_line --index 2 --regexp "^fk${T}$(srv "$r2")${T}replica2${T}deleted${T}[^${T}]*$"

	mcrset -s "$SERVERS" -r 2 fk v </dev/null
	server_down "$r2"
	run -1 --separate-stderr mcrdel -s "$SERVERS" -r 2 -t 500 --format=json fk
	assert_json_lines
	jq -se --arg p "$(srv "$p")" --arg r1 "$(srv "$r1")" --arg r2 "$(srv "$r2")" '
		length == 3 and all(.[]; .key == "fk") and
		.[0].server == $p and .[0].role == "primary" and .[0].result == "deleted" and
		.[1].server == $r1 and .[1].role == "replica1" and .[1].result == "deleted" and
		.[2].server == $r2 and .[2].role == "replica2" and .[2].result == "unreachable"' \
		<<<"$output"
}

@test "several keys: all deleted -> 0; one absent everywhere -> 1, the others still deleted" {
	start_servers 2
	mcrset -s "$SERVERS" a v </dev/null
	mcrset -s "$SERVERS" b v </dev/null
	run -0 mcrdel -s "$SERVERS" a b
	assert_no_copy 0 a
	assert_no_copy 1 b
	mcrset -s "$SERVERS" a v </dev/null
	mcrset -s "$SERVERS" b v </dev/null
	run -1 mcrdel -s "$SERVERS" a missing b
	assert_no_copy 0 a
	assert_no_copy 1 a
	assert_no_copy 0 b
	assert_no_copy 1 b
}

@test "--namespace: deletes prefix+key, not the bare key" {
	start_servers 2
	mcset 0 ns:k v
	mcset 1 ns:k v
	mcset 0 k bare
	mcset 1 k bare
	run -0 mcrdel -s "$SERVERS" --namespace=ns: k
	assert_no_copy 0 ns:k
	assert_no_copy 1 ns:k
	assert_copy 0 k bare
	assert_copy 1 k bare
}

@test "a paused copy with --timeout=300: exit 1 within 2 s (times MCR_SLOW), that copy unreachable" {
	start_servers 2
	local p r t0
	p=$(copy_idx pk 2 0) r=$(copy_idx pk 2 1)
	mcrset -s "$SERVERS" pk v </dev/null
	pause_server "$r"
	t0=$(now_ms)
	run -1 --separate-stderr mcrdel -s "$SERVERS" -t 300 --format=tsv pk
	within 2000 "$t0"
	resume_server "$r"
	assert_line --index 0 --regexp "^pk${T}$(srv "$p")${T}primary${T}deleted${T}"
	assert_line --index 1 --regexp "^pk${T}$(srv "$r")${T}replica1${T}unreachable${T}"
	assert_no_copy "$p" pk
}

@test "-f: a key already gone is success; a copy left behind is still exit 1" {
	start_servers 3
	run -0 --separate-stderr mcrdel -f -s "$SERVERS" -r 2 nokey
	[ -z "$stderr" ] || fail "-f printed: $stderr"
	mcrset -s "$SERVERS" -r 2 dk v </dev/null
	run -0 mcrdel -f -s "$SERVERS" -r 2 dk nokey
	assert_no_copy 0 dk
	mcrset -s "$SERVERS" -r 2 dk v </dev/null
	stop_server 1
	run -1 --separate-stderr mcrdel -f -s "$SERVERS" -r 2 dk nokey
	[[ $stderr == *"$(srv 1)"* ]] || fail "stderr does not name the stopped server: $stderr"
}

@test "-n: every copy reported, nothing deleted: an application reads back all it wrote" {
	start_servers 3
	local app=(/usr/bin/python3 "$BATS_TEST_DIRNAME/app.py" "$SERVERS" --replicas 2)
	timeout 60 "${app[@]}" load dn 50
	mcrset -s "$SERVERS" -r 2 -f 0 only1 v </dev/null
	mc 1 delete only1 >/dev/null
	run -0 mcrdel -n -s "$SERVERS" -r 2 dn0 dn49
	[ "${#lines[@]}" -eq 6 ] || fail "not a record per copy: $output"
	[[ $output =~ ^dn0\ [^\ ]+\ primary\ found ]] || fail "$output"
	run -0 mcrdel -n --format=tsv -s "$SERVERS" -r 2 only1
	[ "$(cut -f 4 <<<"$output" | sort | tr '\n' ' ')" = "found found not-found " ] || fail "$output"
	run -1 mcrdel -n -s "$SERVERS" -r 2 nokey
	run -0 mcrdel -n -f -s "$SERVERS" -r 2 nokey
	run -0 timeout 60 "${app[@]}" read dn 50
	[ "${#lines[@]}" -eq 50 ] || fail "the application reads back ${#lines[@]} of 50 keys"
	assert_copy 0 only1 v
}

