#!/bin/sh
# SPDX-License-Identifier: ISC
# A guided, narrated walk through client-side replication with mcr, on a throwaway
# 3-server memcached cluster (loopback, free ports, temp dir; everything is stopped and
# removed on exit, whatever happens).
#
#   sh scripts/demo.sh [BINDIR]     BINDIR holds mcrset, mcrget, mcrdel, mcrverify, mcrcopy
#                                   (default: build)
#
# Plain POSIX sh; needs memcached, bash (only to speak raw memcached protocol to one server)
# and coreutils' timeout. Exit 0 when the story went as told, 1 when a step did not behave
# as the story needs (the step and its output are shown), 2 when something is missing.

bindir=${1:-build}
prog=demo

die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 2
}

for t in mcrset mcrget mcrdel mcrverify mcrcopy; do
	[ -x "$bindir/$t" ] || die "$bindir/$t not found: run make first (or give the tools' directory)"
done
for c in memcached bash timeout; do
	command -v "$c" >/dev/null 2>&1 || die "$c is needed (sh scripts/deps.sh installs it)"
done
bindir=$(cd "$bindir" && pwd) || exit 2
PATH=$bindir:$PATH
export PATH
unset LIBMEMCACHED MEMCACHED_SERVERS MEMCACHED_PASSWORD

NSERVERS=3
PIDS=
tmp=

# Stop every server we started (bounded), remove the temp dir, keep the exit status.
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	for pid in $PIDS; do
		kill -CONT "$pid" 2>/dev/null
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

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcr-demo.XXXXXX") || die "cannot create a temp dir"

# Looks: bold commands and headings, dim explanations, only on a terminal and without NO_COLOR.
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	B=$(printf '\033[1m') D=$(printf '\033[2m') R=$(printf '\033[0m')
else
	B='' D='' R=''
fi

section() {
	printf '\n%s== %s ==%s\n' "$B" "$*" "$R"
}

# Narration: a paragraph wrapped to the terminal-friendly width of 80.
say() {
	printf '\n'
	printf '%s\n' "$*" | fold -s -w 80
}

# Shell-quote the arguments so the printed command can be pasted back.
quote() {
	q=
	for a in "$@"; do
		case $a in
		'' | *[!A-Za-z0-9_./:,=@%+-]*)
			a="'$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'" ;;
		esac
		q="$q${q:+ }$a"
	done
	printf '%s' "$q"
}

fail() {
	printf '\n%s: this step did not go as the story needs: %s\n' "$prog" "$*" >&2
	exit 1
}

# run EXPECTED-EXIT 'what it shows' CMD ARGS...
# Prints the explanation and the command, runs it (bounded, no stdin), shows stdout
# indented, stderr as "2> ...", and the exit status; a different exit status ends the demo.
run() {
	want=$1 why=$2
	shift 2
	printf '\n%s# %s%s\n' "$D" "$why" "$R"
	printf '%s$ %s%s\n' "$B" "$(quote "$@")" "$R"
	timeout --foreground 10 "$@" <"/dev/null" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	awk '{ sub(/\r$/, ""); print "    " $0 }' "$tmp/out"
	awk '{ print "  2> " $0 }' "$tmp/err"
	printf '  [exit %d]\n' "$rc"
	[ "$rc" -eq 124 ] && fail "$1 timed out after 10 s"
	[ "$rc" -eq "$want" ] || fail "$1 exited $rc, expected $want"
}

# The last command's stdout must match the extended regular expression.
expect_out() {
	grep -Eq -- "$1" "$tmp/out" || fail "expected output matching /$1/ from the last command"
}

# mc HOST:PORT LINE...: raw memcached text protocol to ONE server, as any other client could.
# shellcheck disable=SC2016 # $0 and $1 are bash's
mc() {
	hp=$1
	shift
	printf '\n%s# %s%s\n' "$D" "$MC_WHY" "$R"
	printf '%s$ mc %s%s' "$B" "$hp" "$R"
	for l in "$@"; do printf ' %s%s%s' "$B" "$(quote "$l")" "$R"; done
	printf '\n'
	{
		for l in "$@"; do printf '%s\r\n' "$l"; done
		printf 'quit\r\n'
	} | timeout --foreground 5 bash -c 'exec 9<>"/dev/tcp/$0/$1" && cat >&9 && cat <&9' "${hp%:*}" "${hp##*:}" \
		2>"$tmp/err" | tr -d '\r' >"$tmp/out"
	awk '{ print "    " $0 }' "$tmp/out"
	awk '{ print "  2> " $0 }' "$tmp/err"
}

# start_server I [PORT]: memcached picks a free port itself (-p -1) and writes it to a file;
# the wait is bounded and a server that died says why.
start_server() {
	i=$1 port=${2:--1} pf="$tmp/port.$1" log="$tmp/memcached.$1.log" n=0
	rm -f "$pf"
	MEMCACHED_PORT_FILENAME=$pf memcached -U 0 -l 127.0.0.1 -p "$port" -u root \
		</dev/null >"$log" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	eval "PID$i=\$pid"
	until [ -s "$pf" ] && grep -q 'TCP INET' "$pf"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$log" >&2
			return 1
		fi
		n=$((n + 1))
		[ "$n" -lt 100 ] || { echo "$prog: memcached $i did not start within 5 s" >&2; return 1; }
		sleep 0.05
	done
	eval "SRV$i=127.0.0.1:$(sed -n 's/^TCP INET: //p' "$pf" | head -n 1)"
}

# stop_server I: SIGTERM, bounded wait, then SIGKILL.
stop_server() {
	eval "pid=\${PID$1:-}"
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	n=0
	while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 100 ]; do
		sleep 0.05
		n=$((n + 1))
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	eval "PID$1="
}

# copy_of KEY ROLE [REPLICAS]: the server holding that copy, as mcrget --where says (no reads).
copy_of() {
	timeout --foreground 10 mcrget -r "${3:-1}" --where --format=tsv -- "$1" </dev/null 2>/dev/null |
		awk -F '\t' -v role="$2" '$3 == role { print $2; exit }'
}

# index_of HOST:PORT: which of our servers that is (matched on the port).
index_of() {
	i=0 s=
	while [ $i -lt $NSERVERS ]; do
		eval "s=\$SRV$i"
		[ "${s##*:}" = "${1##*:}" ] && { echo $i; return 0; }
		i=$((i + 1))
	done
	return 1
}

###############################################################################
printf '%smcr demo: client-side replication you can see%s\n' "$B" "$R"
say "libmemcached can keep each key on several servers (NUMBER_OF_REPLICAS): copy r \
of a key lives on server (hash(key) + r) mod n. It writes the replicas blindly and \
reads only the first copy it can connect to. The mcr tools use the same placement, \
so they work on the same keys your application writes, but they act on every copy \
and tell you what happened to each: mcrset, mcrget and mcrdel write, read and delete; \
mcrverify finds copies that drifted apart and repairs them; mcrcopy refills a server, \
copies a cluster or dumps it."
say "Exit status everywhere: 0 yes, 1 no (missing, different, fewer copies than asked), 2 trouble."

###############################################################################
section "1. A throwaway cluster of $NSERVERS memcached servers"
say "Three servers on free loopback ports, in $tmp. They are stopped when this demo ends."
printf '\n%s$ MEMCACHED_PORT_FILENAME=%s/port.N memcached -U 0 -l 127.0.0.1 -p -1 -u root &%s    %s# 3 times%s\n' \
	"$B" "$tmp" "$R" "$D" "$R"
i=0
while [ $i -lt $NSERVERS ]; do
	start_server $i || fail "memcached $i did not start"
	i=$((i + 1))
done
SERVERS="$SRV0,$SRV1,$SRV2"
printf '    server 0  %s\n    server 1  %s\n    server 2  %s\n' "$SRV0" "$SRV1" "$SRV2"
say "Every tool takes the list with -s/--servers or from \$MEMCACHED_SERVERS. Every client \
of a cluster must use the same list in the same order (and the same hash, distribution \
and replica count), or the keys are looked for elsewhere."
printf '\n%s$ export MEMCACHED_SERVERS=%s%s\n' "$B" "$SERVERS" "$R"
MEMCACHED_SERVERS=$SERVERS
export MEMCACHED_SERVERS

###############################################################################
section "2. Write keys with one replica"
say "-r 1: one copy beyond the primary, two in all. -v prints one line per copy: \
KEY SERVER ROLE RESULT."
run 0 "mail:alice goes to its primary and to replica1, the next server in the list" \
	mcrset -r 1 -v mail:alice alice@example.org
expect_out 'primary +stored'
expect_out 'replica1 +stored'
run 0 "two more keys; different keys have different primaries" \
	mcrset -r 1 -v mail:bob bob@example.org
run 0 "without -v a successful write prints nothing at all" \
	mcrset -r 1 mail:carol carol@example.org

###############################################################################
section "3. Where the copies are, and what they hold"
run 0 "--where computes the placement without reading anything: KEY SERVER ROLE" \
	mcrget -r 1 --where mail:alice mail:bob mail:carol
run 0 "--all reads every copy: KEY SERVER ROLE STATUS FLAGS SIZE CAS SAME (SAME: as the primary)" \
	mcrget -r 1 --all mail:alice mail:bob mail:carol
run 0 "for scripts: --format=tsv or json (one object per line) instead of text" \
	mcrget -r 1 --all --format=json mail:alice
run 0 "a plain read prints the values, one per line, in argument order" \
	mcrget -r 1 mail:alice mail:bob mail:carol

###############################################################################
section "4. What libmemcached does not show you: copies that drift apart"
p1=$(copy_of mail:alice primary)
p2=$(copy_of mail:bob primary)
if [ -z "$p1" ] || [ -z "$p2" ]; then
	fail "mcrget --where --format=tsv named no primary"
fi
say "libmemcached replicates set only: append, prepend, incr/decr, touch and cas reach the \
primary alone, and a client configured without replicas deletes only the primary copy. \
mc below sends one raw memcached command to ONE server, as any other client would."
MC_WHY="another client deletes mail:alice, but only on its primary, $p1"
mc "$p1" "delete mail:alice"
expect_out '^DELETED'
run 1 "--all shows the drift: the primary has lost mail:alice, replica1 still has it (exit 1)" \
	mcrget -r 1 --all mail:alice
expect_out 'not-found'
run 0 "mcrget falls through the miss to the replica; libmemcached's get would stop at the primary and say NOT FOUND" \
	mcrget -r 1 mail:alice
expect_out '^alice@example\.org$'
extra=,bob@work.example
MC_WHY="an append as libmemcached's memcached_append sends it: to the primary of mail:bob ($p2) only"
mc "$p2" "append mail:bob 0 0 ${#extra}" "$extra"
expect_out '^STORED'
run 1 "the copies now differ: SIZE and SAME show it (exit 1)" \
	mcrget -r 1 --all mail:bob
expect_out '[[:space:]]no$'
say "Repair: write the values again; mcrset sets every copy."
run 0 "mail:alice back on both copies" mcrset -r 1 -v mail:alice alice@example.org
run 0 "mail:bob as its primary now has it, on both copies" mcrset -r 1 -v mail:bob "bob@example.org$extra"
run 0 "every copy present and identical to its primary: exit 0" \
	mcrget -r 1 --all mail:alice mail:bob mail:carol

###############################################################################
section "5. Find drift and repair it: mcrverify"
say "Looking at keys one by one does not scale, and rewriting a value needs knowing it. \
mcrverify reads every copy of the keys you name, or with --all of every key the servers \
list (lru_crawler metadump), and reports each key whose copies disagree: missing (a copy \
absent) or differ (a copy with another value or flags)."
run 0 "a counter, written with its replica like the other keys" \
	mcrset -r 1 -v counter:hits 41
p4=$(copy_of counter:hits primary)
[ -n "$p4" ] || fail "mcrget --where --format=tsv named no primary"
# The key that loses a copy: one whose primary is not counter:hits' primary, so that each
# repair reads its TTL from a different server (mcr 0.1.0 sends a stray NUL after each
# `mg KEY b t`, so a second TTL read from the same server in one run fails).
k5='' r5=''
for k in mail:alice mail:bob mail:carol; do
	if [ "$(copy_of "$k" primary)" != "$p4" ]; then
		k5=$k r5=$(copy_of "$k" replica1)
		break
	fi
done
if [ -z "$k5" ] || [ -z "$r5" ]; then
	fail "mcrget --where --format=tsv named no copy"
fi
MC_WHY="an incr as libmemcached's memcached_increment sends it: to the primary of counter:hits ($p4) only"
mc "$p4" "incr counter:hits 1"
expect_out '^42$'
MC_WHY="$k5's copy on its replica1 ($r5) disappears: evicted, or deleted by a client with another server list"
mc "$r5" "delete $k5"
expect_out '^DELETED'
run 1 "mcrverify KEY...: a line per bad key, KEY CLASS SERVER(ROLE)=STATE..., then a summary (exit 1)" \
	mcrverify -r 1 mail:alice mail:bob mail:carol counter:hits
expect_out '^counter:hits differ '
expect_out "^$k5 missing "
expect_out '^checked 4 keys .*ok 2, missing 1, differ 1,'
run 1 "--all finds them without being told the keys; a key that looks bad is read again 200 ms later, so a write in flight is not reported" \
	mcrverify -r 1 --all
expect_out '^checked 4 keys .*ok 2, missing 1, differ 1, unreachable 0, misplaced 0'
run 1 "--repair -n: what a repair would do, writing nothing (exit 1: the drift is still there)" \
	mcrverify -r 1 --all --repair -n
expect_out 'would-repair'
expect_out 'would repair 2, would skip 0'
run 0 "--repair makes every copy equal to the primary; it never overwrites an application's write: CAS-guarded set (add where a copy is absent), a copy changed since it was read is skipped" \
	mcrverify -r 1 --all --repair
expect_out 'repaired 2, skipped 0, failed 0'
run 0 "checked again: every key consistent, exit 0" \
	mcrverify -r 1 --all
expect_out 'ok 4, missing 0, differ 0, unreachable 0, misplaced 0'

###############################################################################
section "6. Lose a server"
p3=$(copy_of mail:carol primary)
d=$(index_of "$p3") || fail "mail:carol's primary $p3 is none of our servers"
say "Server $d ($p3), the primary of mail:carol, dies (SIGTERM)."
printf '\n%s$ kill %s%s    %s# memcached on %s%s\n' "$B" "$(eval "echo \$PID$d")" "$R" "$D" "$p3" "$R"
stop_server "$d"
run 1 "--all: the primary is unreachable, replica1 still holds mail:carol (exit 1)" \
	mcrget -r 1 --all mail:carol
expect_out 'unreachable'
run 0 "the read still succeeds: the primary refuses the connection, the replica answers" \
	mcrget -r 1 mail:carol
expect_out '^carol@example\.org$'
run 2 "with no copy reachable (here: only the dead server, no replica) it is trouble, exit 2, never a miss" \
	mcrget -r 0 -s "$p3" mail:carol
say "Writes: by default mcrset wants every copy stored (-w all). With -r 2 each key has three \
copies, one of them on the dead server. session:42 is a session: one hour to live (-e 3600)."
run 1 "default -w all: two copies stored, one unreachable, so exit 1" \
	mcrset -r 2 -e 3600 -v session:42 token-abc
expect_out 'unreachable'
run 0 "-w majority: 2 of 3 copies is enough, exit 0 (the report is the same)" \
	mcrset -r 2 -w majority -e 3600 -v session:42 token-abc
sp=$(copy_of session:42 primary 2)
if [ "$sp" = "$p3" ]; then
	say "session:42's primary is the dead server: libmemcached's memcached_set would have \
failed outright and written no copy at all, replicas included. mcr writes every copy it can reach."
fi
run 1 "mcrdel deletes every copy and names those it could not reach (exit 1): a server that was only cut off would come back with the old value" \
	mcrdel -r 1 -v mail:alice mail:bob mail:carol counter:hits
expect_out 'deleted'
expect_out 'unreachable'
run 1 "the keys are gone from every reachable copy: not found, exit 1" \
	mcrget -r 1 mail:alice mail:bob mail:carol counter:hits

say "The server comes back on its old port, empty: memcached keeps nothing on disk."
eval "port=\${SRV$d##*:}"
printf '\n%s$ memcached -U 0 -l 127.0.0.1 -p %s -u root &%s\n' "$B" "$port" "$R"
if start_server "$d" "$port"; then
	run 1 "mcrverify --all (-r 2, as session:42 was written) finds the hole: the restarted server has no copy" \
		mcrverify -r 2 --all
	expect_out "^session:42 missing .*$p3\\([a-z0-9]+\\)=absent"
	if [ "$sp" = "$p3" ]; then
		say "mcrverify --repair trusts the primary by default, and here the primary is the \
empty server, so it would skip session:42 (--repair=missing would fill it, key by key)."
	fi
	say "mcrcopy --rebuild=HOST:PORT is made for a server that lost everything: it refills \
that one server with every key whose copy set includes it, read from the other copies \
(primary first), with its flags and remaining TTL. It writes with add: a key the \
application has written there since is left alone."
	run 0 "refill the restarted server; the summary counts keys" \
		mcrcopy -r 2 --rebuild="$p3"
	expect_out '^1 copied, 0 already present, 0 expired, 0 failed'
	MC_WHY="the rebuilt copy kept its TTL: mg with t (seconds left) and f (flags), on that server alone"
	mc "$p3" "mg session:42 t f v"
	expect_out '^VA 9 t3[0-9]{3} f0'
	run 0 "every copy present and identical again: exit 0" \
		mcrverify -r 2 --all
	expect_out 'ok 1, missing 0, differ 0, unreachable 0, misplaced 0'
	run 0 "--to=- dumps every key in memcached's text protocol (set KEY FLAGS EXPTIME BYTES, then the data, lines ending in \\r\\n; expiry as an absolute unix time), for mcrcopy --from=- --to=SERVERS to restore; the summary goes to stderr" \
		mcrcopy -r 2 --all --to=-
	expect_out '^set session:42 0 [0-9]{10} 9'
else
	say "(could not restart memcached on port $port; skipping this part)"
fi

###############################################################################
section "7. Done"
say "Stopping the servers and removing $tmp."
say "More: man -l man/mcr.7 (placement, configuration, exit status), and man/mcrset.1, \
man/mcrget.1, man/mcrdel.1, man/mcrverify.1, man/mcrcopy.1."
exit 0
