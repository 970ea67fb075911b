#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Nothing lost under wrong settings, repairs that never go backwards, honest answers. The data
# is written by a real application client (pylibmc, or PHP's memcached extension: tests/app.py,
# tests/app.php) and read back through it after every run: whatever settings the operator got
# wrong, nothing the application could read before is lost or changed.

bats_require_minimum_version 1.5.0
load helper

setup() {
	app_setup
	php -r 'exit(class_exists("Memcached") ? 0 : 1);' 2>/dev/null || fail "PHP's memcached extension is needed: apt-get install php-cli php-memcached"
}

# every run is bounded: a hang fails the test, never blocks the suite
phpapp() { timeout -k 2 $((120 * SLOW)) php -d display_errors=stderr "$BATS_TEST_DIRNAME/app.php" "$@"; }
mcrverify() { timeout -k 2 $((120 * SLOW)) "$MCR_BIN/mcrverify" "$@"; }
mcrcopy() { timeout -k 2 $((120 * SLOW)) "$MCR_BIN/mcrcopy" "$@"; }
mcrset() { timeout -k 2 $((60 * SLOW)) "$MCR_BIN/mcrset" "$@"; }
mcrget() { timeout -k 2 $((60 * SLOW)) "$MCR_BIN/mcrget" "$@"; }

# the value of statistic NAME on server I
mstat() { mc "$1" stats | sed -n "s/^STAT $2 //p"; }

# the index of the server that holds copy R of KEY among N copies (libmemcached's own placement)
copy_of() {
	local s i
	s=$("$MCR_BIN/lmrepl" -s "$SERVERS" -r "$3" copies "$1" | sed -n "$(($2 + 1))p" | cut -f2)
	for i in "${!PORTS[@]}"; do
		if [ "$(srv "$i")" = "$s" ]; then
			echo "$i"
			return 0
		fi
	done
	return 1
}

# every write any server took: sets (add, replace, cas and touch count as sets or touches) and deletes
writes() {
	local i n=0
	for i in "${!PIDS[@]}"; do
		[ -n "${PIDS[$i]}" ] || continue
		n=$((n + $(mstat "$i" cmd_set) + $(mstat "$i" cmd_touch) + $(mstat "$i" delete_hits) + $(mstat "$i" delete_misses)))
	done
	echo "$n"
}

# every key of PREFIX0 .. PREFIX<N-1> reads back through the application client (CLIENT: py
# or phpapp, with its options)
app_reads_all() {
	local prefix=$1 n=$2 got
	shift 2
	got=$("$@" read "$prefix" "$n" | wc -l)
	[ "$got" -eq "$n" ] || fail "the application reads $got of $n keys $prefix*"
}

@test "forgetting -r: a repair is refused; with the wrong count the placement guard writes nothing" {
	start_servers 4
	py "$SERVERS" --replicas 2 load k 3000
	local w
	w=$(writes)
	# no replica count: refused before anything is read
	run -2 --separate-stderr mcrverify -s "$SERVERS" --all --repair
	[[ $stderr == "mcrverify: --repair writes copies where the replica count puts them: give it with -r N "* ]] ||
		fail "$stderr"
	# the tools' old default, one replica: every third copy looks stray; nothing is written
	run -2 --separate-stderr mcrverify -s "$SERVERS" -r 1 --all --repair --remove-strays
	[[ $stderr == *"stopped before writing anything: 3000 of the 9000 copies listed (33%, more than --misplaced-limit=5) are outside their key's copy set: "*"replica count -r"* ]] ||
		fail "$stderr"
	assert_line --regexp '; stopped before writing$'
	[ "$(writes)" = "$w" ] || fail "the guard let writes through"
	run -2 --separate-stderr mcrcopy -s "$SERVERS" -r 1 --rebuild="$(srv 2)"
	[[ $stderr == *"stopped before writing: "* ]] || fail "$stderr"
	[ "$(writes)" = "$w" ] || fail "--rebuild wrote past the guard"
	app_reads_all k 3000 py "$SERVERS" --replicas 2
	# the application's own count: clean
	run -0 --separate-stderr mcrverify -s "$SERVERS" -r 2 --all --repair --remove-strays
	assert_output --regexp '^checked 3000 keys in [0-9.]+ s: ok 3000, missing 0, differ 0, unreachable 0, misplaced 0; repaired 0, skipped 0, failed 0$'
	app_reads_all k 3000 py "$SERVERS" --replicas 2
}

@test "the wrong distribution or server order: the placement guard stops every writing run" {
	start_servers 5
	local rev w
	py "$SERVERS" --replicas 1 --ketama load c 20000
	w=$(writes)
	# modula instead of the application's ketama
	run -2 --separate-stderr mcrverify -s "$SERVERS" -r 1 --all --repair --remove-strays
	[[ $stderr == *"stopped before writing anything: "*"are outside their key's copy set"* ]] || fail "$stderr"
	run -2 --separate-stderr mcrcopy -s "$SERVERS" -r 1 --all --to="$(srv 0)"
	[[ $stderr == *"stopped before writing: "* ]] || fail "$stderr"
	# the right placement, the servers in another order
	rev=$(tr ',' '\n' <<<"$SERVERS" | tac | paste -sd,)
	run -2 --separate-stderr mcrverify -s "$rev" -r 1 --behavior=KETAMA=1 --all --repair --remove-strays
	[[ $stderr == *"stopped before writing anything: "* ]] || fail "$stderr"
	[ "$(writes)" = "$w" ] || fail "a guarded run wrote"
	app_reads_all c 20000 py "$SERVERS" --replicas 1 --ketama
	# the application's settings: every key where it belongs
	run -0 --separate-stderr mcrverify -s "$SERVERS" -r 1 --behavior=KETAMA=1 --all --repair
	assert_output --regexp '^checked 20000 keys in [0-9.]+ s: ok 20000, missing 0, differ 0, unreachable 0, misplaced 0;'
}

@test "a key held only outside its copy set is copied into the set, never deleted; its stray goes only once the set holds it" {
	start_servers 3
	local o
	phpapp "$SERVERS" --replicas 1 load p 60
	# lone: a key whose only copy is on the server outside its copy set
	o=$(copy_of lone 2 2)
	[ "$(mc "$o" $'set lone 0 0 6\r\nv-lone')" = STORED ]
	run -1 --separate-stderr mcrverify -s "$SERVERS" -r 1 --all
	assert_line --regexp '^lone misplaced [^ ]+\(primary\)=absent [^ ]+\(replica1\)=absent [^ ]+\(outside\)=stray$'
	assert_line --regexp 'ok 60, missing 0, differ 0, unreachable 0, misplaced 1$'
	# --repair fills the set from it (the application can read it now), and keeps the stray
	run -1 --separate-stderr mcrverify -s "$SERVERS" -r 1 --all --repair --misplaced-limit=100
	assert_line --regexp '^lone misplaced .*=stray repaired$'
	[ "$(mc "$o" get lone | head -n 1)" = "VALUE lone 0 6" ] || fail "the only copy was deleted"
	run -0 phpapp "$SERVERS" --replicas 1 get lone
	assert_output v-lone
	# --remove-strays: now that the set holds it, the stray copy goes
	run -0 --separate-stderr mcrverify -s "$SERVERS" -r 1 --all --remove-strays --misplaced-limit=100
	assert_line --regexp '^lone stray .*=stray repaired$'
	[ "$(mc "$o" get lone)" = END ] || fail "the stray copy is still there"
	run -0 phpapp "$SERVERS" --replicas 1 get lone
	assert_output v-lone
	app_reads_all p 60 phpapp "$SERVERS" --replicas 1
	run -0 mcrverify -s "$SERVERS" -r 1 --all
}

@test "never backwards: a write mcrset made to the replicas while the primary was down is not undone by a default --repair" {
	start_servers 3
	local p
	phpapp "$SERVERS" --replicas 2 set cfg:mode old
	p=$(copy_of cfg:mode 0 2)
	# the primary misses the write (down), and comes back with the old value (a warm restart)
	stop_server "$p"
	run -0 --separate-stderr mcrset -s "$SERVERS" -r 2 -t $((300 * SLOW)) -w majority cfg:mode new
	start_server_at "$p"
	[ "$(mc "$p" $'set cfg:mode 0 0 3\r\nold')" = STORED ]
	# the default repair fills absent copies only: the differing primary is reported, not used
	run -1 --separate-stderr mcrverify -s "$SERVERS" -r 2 --repair --format=json cfg:mode
	jq -e -s '.[0].class == "differ" and .[0].repair == "skipped" and
		(.[0].message | startswith("copies differ: --repair fills absent copies only"))' <<<"$output"
	run -0 mcrget -s "$SERVERS" -r 2 --copy=1 cfg:mode
	assert_output new
	run -0 mcrget -s "$SERVERS" -r 2 --copy=2 cfg:mode
	assert_output new
	# a dry run of primary says what it would undo; majority keeps the write
	run -1 --separate-stderr mcrverify -s "$SERVERS" -r 2 --repair=primary -n cfg:mode
	assert_line --regexp '^cfg:mode differ .* would-repair$'
	run -0 --separate-stderr mcrverify -s "$SERVERS" -r 2 --repair=majority cfg:mode
	run -0 phpapp "$SERVERS" --replicas 2 get cfg:mode
	assert_output new
}

@test "honest reads: a key whose other copies cannot answer is not reported missing" {
	start_servers 2
	local p r
	phpapp "$SERVERS" --replicas 1 set solo v
	p=$(copy_of solo 0 1)
	r=$((1 - p))
	[ "$(mc "$r" delete solo)" = DELETED ]
	pause_server "$p"
	run -2 --separate-stderr mcrget -s "$SERVERS" -t $((300 * SLOW)) solo
	[ -z "$output" ]
	[[ $stderr == *"solo: cannot read from $(srv "$p"): no answer within $((300 * SLOW)) ms"* ]] || fail "$stderr"
	[[ $stderr == *"solo: not found on 1 copy, and 1 could not be read: not known to be missing"* ]] || fail "$stderr"
	run -2 --separate-stderr mcrget -s "$SERVERS" -t $((300 * SLOW)) --format=json solo
	jq -e '.status == "unreachable"' <<<"$output"
	resume_server "$p"
	run -0 mcrget -s "$SERVERS" solo
	assert_output v
}

@test "--output: a file is replaced only by a value found; a miss or an error leaves it" {
	start_servers 2
	mcrset -s "$SERVERS" here value
	D=$D/out
	mkdir "$D"
	echo precious >"$D/out.txt"
	run -1 --separate-stderr mcrget -s "$SERVERS" -o "$D/out.txt" nosuchkey
	[ "$(cat "$D/out.txt")" = precious ] || fail "a miss truncated the file"
	run -0 mcrget -s "$SERVERS" -o "$D/out.txt" here
	[ "$(cat "$D/out.txt")" = value ]
	# a directory that cannot be written: refused before anything is read
	run -2 --separate-stderr mcrget -s "$SERVERS" -o "$D/no/such/dir/f" here
	[[ $stderr == "mcrget: --output: $D/no/such/dir/f: No such file or directory" ]] || fail "$stderr"
	[ "$(ls "$D")" = out.txt ] || fail "left behind: $(ls "$D")"
}

@test "TTL reads of long keys: a plain key up to 250 bytes is read as it is; one that needs base64 past 186 bytes fails alone" {
	start_servers 2
	start_server_at 2
	local long sp186 sp200 t
	long=$(printf 'L%.0s' {1..250})
	sp186="s $(printf 'x%.0s' {1..184})"
	sp200="s $(printf 'x%.0s' {1..198})"
	py "$SERVERS" --replicas 1 set "$long" v-long 1000
	mcrset -s "$SERVERS" -r 1 -e 1000 "$sp186" v186
	mcrset -s "$SERVERS" -r 1 -e 1000 "$sp200" v200
	py "$SERVERS" --replicas 1 load n 50 1000
	printf '%s\n' "$long" "s%20$(printf 'x%.0s' {1..184})" "s%20$(printf 'x%.0s' {1..198})" n{0..49} >"$D/keys"
	run -1 --separate-stderr mcrcopy -s "$SERVERS" -r 1 -k "$D/keys" --to="$(srv 2)" --failed="$D/failed"
	assert_output --regexp '^52 copied, 0 already present, 0 expired, 1 failed in '
	[ "$stderr" = "mcrcopy: s%20$(printf 'x%.0s' {1..198}): not copied: cannot read the remaining time to live" ] ||
		fail "$stderr"
	[ "$(cat "$D/failed")" = "s%20$(printf 'x%.0s' {1..198})" ]
	# the copies carry their source's time to live, not forever
	t=$(mc 2 "mg $long t" | sed -n 's/^HD t//p')
	[ -n "$t" ] && [ "$t" -gt 900 ] && [ "$t" -le 1000 ] || fail "TTL '$t'"
	t=$(mc 2 "mg $(printf 's %s' "$(printf 'x%.0s' {1..184})" | base64 -w0) b t" | sed -n 's/^HD t//p')
	[ -n "$t" ] && [ "$t" -gt 900 ] && [ "$t" -le 1000 ] || fail "TTL '$t' of the 186-byte key"
	app_reads_all n 50 py "$(srv 2)"
	# a repair the same: the long plain key repaired with its TTL, the one past base64 fails alone
	local k
	for k in "$long" "$sp200"; do
		timeout 10 "$MCR_BIN/mcrdel" -q -s "$(srv "$(copy_of "$k" 1 1)")" "$k" # its replica copy alone
	done
	run -1 --separate-stderr mcrverify -s "$SERVERS" -r 1 --repair --format=json "$long" "$sp200"
	jq -s -e --arg l "$long" --arg s "$sp200" '[.[] | select(.key)] | map({(.key): [.repair, .message]}) | add |
		.[$l][0] == "repaired" and .[$s] == ["failed", "cannot read the remaining time to live of the source copy"]' <<<"$output"
	run -0 py "$SERVERS" --replicas 1 get "$long"
	assert_output v-long
}

@test "mcrcopy --all: a key rewritten after its listing is copied with the TTL of the value copied, not the listing's" {
	start_servers 1
	start_server_at 1
	local last t
	py "$(srv 0)" load t 400 100
	# the key the run reaches last: the listing is read in its own order
	last=$(printf 'lru_crawler metadump hash\r\nquit\r\n' |
		timeout 5 bash -c "exec 9<>/dev/tcp/127.0.0.1/${PORTS[0]}; cat >&9; cat <&9" |
		sed -n 's/^key=\([^ ]*\) .*/\1/p' | tail -n 1)
	[ -n "$last" ]
	timeout -k 2 $((60 * SLOW)) "$MCR_BIN/mcrcopy" -s "$(srv 0)" --all --to="$(srv 1)" --rate=200 --batch=10 \
		>"$D/out" 2>&1 3>&- &
	BGPID=$!
	# once the run is under way (copies arrive), the application rewrites the last key
	local k
	for ((k = 0; k < 200 * SLOW; k++)); do [ "$(mc 1 stats | sed -n 's/^STAT cmd_set //p')" -gt 10 ] && break; sleep 0.02; done
	py "$(srv 0)" set "$last" rewritten 5000
	wait "$BGPID" || fail "mcrcopy: $(cat "$D/out")"
	[ "$(mc 1 get "$last" | sed -n 2p)" = rewritten ] || fail "the last key was copied before it was rewritten: $(cat "$D/out")"
	t=$(mc 1 "mg $last t" | sed -n 's/^HD t//p')
	[ -n "$t" ] && [ "$t" -gt 4000 ] || fail "the new value went with the old TTL: $t"
}

@test "a key held only outside its copy set, on the first two servers of the list: one misplaced key and one stray" {
	start_servers 4
	local k i
	# a key whose copy set is servers 2 and 3: its outside copies go on 0 and 1
	for i in $(seq 0 200); do
		k=user:$i
		[ "$(copy_of "$k" 0 1)" = 2 ] && break
	done
	[ "$(copy_of "$k" 0 1)" = 2 ]
	mcrset -s "$(srv 0)" "$k" v
	mcrset -s "$(srv 1)" "$k" v
	run -1 --separate-stderr mcrverify -s "$SERVERS" -r 1 --all --format=json
	[ "$(jq -c 'select(.summary) | [.checked, .misplaced, .strays]' <<<"${lines[-1]}")" = '[1,1,1]' ] || fail "$output"
	[ "$(jq -r 'select(.key) | .class' <<<"$output" | sort | tr '\n' ' ')" = "misplaced stray " ] || fail "$output"
}
