# SPDX-License-Identifier: ISC
# Shared by mcrset.bats, mcrget.bats, mcrdel.bats, badinput.bats and output.bats (after
# `load helper`, which bounds every tool run): placement computed by hand, and per-server
# inspection.
#
#   copy_idx KEY N R               index of the server that holds copy R of KEY among N servers
#                                  (modula distribution, default one-at-a-time hash: libmemcached's defaults)
#   assert_copy I KEY VALUE [FL]   server I alone holds KEY=VALUE (ASCII `get`, flags FL, default 0)
#   assert_no_copy I KEY           server I alone does not hold KEY
#   assert_servers_empty           nothing was ever stored on any running server
#   assert_json_lines              every line of $output is one valid JSON object
#   server_down I, stop_all        stop server I / every server, quickly; teardown calls stop_all

# libhashkit's one-at-a-time hash (MEMCACHED_HASH_DEFAULT) over the bytes of $1
oaat() {
	local LC_ALL=C
	local s=$1 v=0 i c
	for ((i = 0; i < ${#s}; i++)); do
		printf -v c '%d' "'${s:i:1}"
		((c < 128)) || c=$((c | 0xFFFFFF00)) # libhashkit reads the key as (signed) char
		v=$(((v + c) & 0xFFFFFFFF))
		v=$(((v + (v << 10)) & 0xFFFFFFFF))
		v=$((v ^ (v >> 6)))
	done
	v=$(((v + (v << 3)) & 0xFFFFFFFF))
	v=$((v ^ (v >> 11)))
	v=$(((v + (v << 15)) & 0xFFFFFFFF))
	echo "$v"
}

copy_idx() { echo $((($(oaat "$1") % $2 + $3) % $2)); }

assert_copy() {
	local i=$1 key=$2 val=$3 fl=${4:-0}
	run mc "$i" get "$key"
	assert_output "VALUE $key $fl ${#val}"$'\n'"$val"$'\n'"END"
}

assert_no_copy() {
	run mc "$1" get "$2"
	assert_output "END"
}

assert_servers_empty() {
	local i
	for i in "${!PIDS[@]}"; do
		[ -n "${PIDS[$i]}" ] || continue
		run mc "$i" stats
		assert_line "STAT curr_items 0"
		assert_line "STAT total_items 0"
	done
}

assert_json_lines() {
	local line
	[ -n "$output" ] || fail "no JSON output"
	while IFS= read -r line; do
		jq -e 'type == "object"' <<<"$line" >/dev/null || fail "not a JSON object: $line"
	done <<<"$output"
}

# store KEY=VALUE [flags] on server I alone (ASCII set), bypassing the tools
mcset() {
	local out
	out=$(mc "$1" "set $2 ${4:-0} 0 ${#3}"$'\r\n'"$3")
	[ "$out" = STORED ] || fail "mcset $*: $out"
}

T=$'\t' # for tsv patterns

# stop server I at once (SIGKILL: memcached takes up to a second to act on SIGTERM); helper.bash's
# stop_server then reaps it, and its non-zero return (its last `kill -9` finds the process gone)
# must not fail the test under bats' errexit
server_down() {
	local pid=${PIDS[$1]:-}
	if [ -n "$pid" ]; then
		{ kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true # reaped here: no "Killed" notice
	fi
	stop_server "$1" || true
}

stop_all() {
	local i
	for i in "${!PIDS[@]}"; do server_down "$i"; done
}

teardown() { stop_all; }
