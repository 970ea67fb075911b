#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# TTL drift: libmemcached replicates neither touch nor gat, so after an application's touch the
# primary's copy and its replicas expire at different times. mcrverify --compare-ttl[=SLACK]
# reports such keys as differ (the copies marked ttl-differs), and --repair gives the replicas
# the primary's expiry, CAS-guarded, value and flags untouched. The touches are made by real
# application clients (PHP's memcached extension, pylibmc) through libmemcached's replication.

bats_require_minimum_version 1.5.0
load helper

setup() {
	app_setup
	php -r 'exit(class_exists("Memcached") ? 0 : 1);' 2>/dev/null || fail "PHP's memcached extension is needed: apt-get install php-cli php-memcached"
	start_servers 3
	PHPAPP=(timeout -k 2 $((60 * SLOW)) php "$BATS_TEST_DIRNAME/app.php" "$SERVERS" --replicas 2)
	PYAPP=(timeout -k 2 $((60 * SLOW)) /usr/bin/python3 "$BATS_TEST_DIRNAME/app.py" "$SERVERS" --replicas 2)
}

mcrverify() { timeout -k 2 $((60 * SLOW)) "$MCR_BIN/mcrverify" "$@"; }
mcrget() { timeout -k 2 $((60 * SLOW)) "$MCR_BIN/mcrget" "$@"; }
mstat() { mc "$1" stats | sed -n "s/^STAT $2 //p"; }
writes() { echo $(($(mstat 0 cmd_set) + $(mstat 1 cmd_set) + $(mstat 2 cmd_set) + $(mstat 0 cmd_touch) + $(mstat 1 cmd_touch) + $(mstat 2 cmd_touch))); }
# the TTLs of KEY's copies, primary first, one line
ttls() { mcrget -s "$SERVERS" -r 2 --all --format=tsv "$1" | cut -f 8 | tr '\n' ' '; }

@test "--compare-ttl: a touch lengthened (PHP) or shortened (pylibmc) on the primary alone is a differ; the copies say ttl-differs" {
	"${PHPAPP[@]}" set long v1 99
	"${PHPAPP[@]}" touch long 5000
	"${PYAPP[@]}" set short v2 3600
	"${PYAPP[@]}" touch short 30
	"${PHPAPP[@]}" set same v3 100
	"${PHPAPP[@]}" set never v4
	# without --compare-ttl the values agree: ok, as before
	run -0 mcrverify -s "$SERVERS" -r 2 long short same never
	run -1 mcrverify -s "$SERVERS" -r 2 --compare-ttl long short same never
	assert_line --regexp '^long differ [^ ]+\(primary\)=found [^ ]+\(replica1\)=ttl-differs [^ ]+\(replica2\)=ttl-differs$'
	assert_line --regexp '^short differ [^ ]+\(primary\)=found [^ ]+\(replica1\)=ttl-differs [^ ]+\(replica2\)=ttl-differs$'
	assert_line --regexp '^checked 4 keys in [0-9.]+ s: ok 2, missing 0, differ 2, unreachable 0, misplaced 0$'
	run -1 mcrverify -s "$SERVERS" -r 2 --compare-ttl --format=json long
	jq -e 'select(.class) | .class == "differ" and ([.copies[].state] == ["found", "ttl-differs", "ttl-differs"])' \
		<<<"${lines[0]}" >/dev/null || fail "$output"
	# the slack: 4901 s apart is within --compare-ttl=5000
	run -0 mcrverify -s "$SERVERS" -r 2 --compare-ttl=5000 long
	# a copy that never expires against one that does
	mc 1 touch never 50 >/dev/null
	mc 2 touch never 50 >/dev/null
	run -1 mcrverify -s "$SERVERS" -r 2 --compare-ttl never
	assert_line --index 0 --partial 'ttl-differs'
}

@test "--compare-ttl --repair: the replicas get the primary's expiry, values and flags untouched; a dry run writes nothing" {
	local w
	"${PHPAPP[@]}" set long v1 99
	"${PHPAPP[@]}" touch long 5000
	"${PYAPP[@]}" set short v2 3600
	"${PYAPP[@]}" touch short 30
	"${PYAPP[@]}" load k 50 600
	w=$(writes)
	run -1 mcrverify -s "$SERVERS" -r 2 --compare-ttl --repair -n long short
	assert_line --regexp '^checked 2 keys .*; would repair 2, would skip 0$'
	[ "$(writes)" = "$w" ] || fail "a dry run wrote"
	# the default policy (fill absent copies) repairs expiries too: no value is replaced
	run -0 mcrverify -s "$SERVERS" -r 2 --compare-ttl --repair long short
	assert_line --regexp '^checked 2 keys .*; repaired 2, skipped 0, failed 0$'
	[[ $(ttls long) =~ ^(4[89][0-9][0-9]|5000)\ (4[89][0-9][0-9]|5000)\ (4[89][0-9][0-9]|5000)\ $ ]] || fail "long: $(ttls long)"
	# a life the application shortened is never lengthened
	[[ $(ttls short) =~ ^([12][0-9]|30)\ ([12][0-9]|30)\ ([12][0-9]|30)\ $ ]] || fail "short: $(ttls short)"
	run -0 mcrverify -s "$SERVERS" -r 2 --compare-ttl long short
	[ "$("${PHPAPP[@]}" get long)" = v1 ]
	[ "$("${PYAPP[@]}" get short)" = v2 ]
	[ "$("${PYAPP[@]}" read k 50 | wc -l)" = 50 ]
	# every key agrees now, expiries included
	run mcrverify -s "$SERVERS" -r 2 --all --compare-ttl
	[ "$status" = 0 ] || fail "exit $status: $output"
}

@test "--compare-ttl: bad slack values, and a slack given with a space, are refused before anything is read" {
	run -2 --separate-stderr mcrverify -s "$SERVERS" -r 2 --compare-ttl=abc k
	[[ $stderr == *--compare-ttl* ]] || fail "$stderr"
	run -2 --separate-stderr mcrverify -s "$SERVERS" -r 2 --compare-ttl 5 k
	[[ $stderr == *"give the value with '=' (--compare-ttl=5)"* ]] || fail "$stderr"
	run -2 --separate-stderr mcrverify -s "$SERVERS" -r 2 --compare-ttl=-1 k
	[ "$(mstat 0 cmd_get)" = 0 ] && [ "$(mstat 1 cmd_get)" = 0 ] && [ "$(mstat 2 cmd_get)" = 0 ]
}
