# SPDX-License-Identifier: ISC
# Shared by every bats file: real memcached servers on free loopback ports, stopped in teardown;
# bounded tool runs; time bounds scaled for slow machines; bounded polls.
#
#   start_servers N [memcached args...]   start N servers; sets SERVERS (comma list) and PORTS[0..N-1]
#   start_server_at I [memcached args...] (re)start server I on its old port (after stop_server)
#   stop_server I                         stop server I (SIGKILL, reaped)
#   pause_server I / resume_server I      SIGSTOP / SIGCONT (a hung server)
#   mc I CMD...                           send an ASCII command line to server I, print the reply
#   mstat I NAME                          a `stats` field of server I
#   ttl_of I KEY                          KEY's remaining TTL on server I (-1: none; empty: not there)
#   same_ttl I J KEY                      KEY's copy on server J expires with the one on server I
#   stop_servers                          called by the default teardown
#
# Time (MCR_SLOW): how many times slower than a plain build on an idle machine a run may be, a
# whole number (default 1; make check runs its sanitizer pass with 3, make valgrind with 10).
# Every time bound of the suite is scaled by it, and nothing else is: no test waits for time to
# pass where it can wait for a condition.
#
#   slow N                     N times MCR_SLOW
#   now_ms                     wall clock in milliseconds
#   within MS T0               fail unless less than `slow MS` ms have passed since T0 (now_ms)
#   wait_until [-t S] CMD...   run CMD every 50 ms until it succeeds; after `slow S` seconds
#                              (default 10) say what was awaited and return 1
#   bounded CMD...             CMD, killed after `slow 30` s (a hang fails a test, never blocks)
#   mcrset ... lmrepl ARGS...  each tool (and tests/lmrepl.c) from MCR_BIN, bounded
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

MCR_BIN=${MCR_BIN:-$BATS_TEST_DIRNAME/../build}
# MCR_TESTBIN: where the test helper lmrepl is when it is not beside the tools (installed tools,
# MCR_BIN=/usr/bin); the tests then reach both through links in one directory
if [ -n "${MCR_TESTBIN:-}" ] && [ "$MCR_TESTBIN" != "$MCR_BIN" ]; then
	mkdir -p "$BATS_RUN_TMPDIR/bin"
	for _t in "$MCR_BIN"/mcr* "$MCR_TESTBIN/lmrepl"; do
		[ ! -e "$_t" ] || [ -e "$BATS_RUN_TMPDIR/bin/${_t##*/}" ] || ln -s "$_t" "$BATS_RUN_TMPDIR/bin/"
	done
	MCR_BIN=$BATS_RUN_TMPDIR/bin
	unset _t
fi
PATH=$MCR_BIN:$PATH
MCR_SLOW=${MCR_SLOW:-1}
[[ $MCR_SLOW =~ ^[1-9][0-9]*$ ]] || {
	echo "MCR_SLOW=$MCR_SLOW: not a whole number of at least 1 (how many times slower this run may be)" >&2
	return 1
}
export MCR_BIN MCR_SLOW PATH
unset MEMCACHED_SERVERS LIBMEMCACHED MEMCACHED_PASSWORD

slow() { echo $(($1 * MCR_SLOW)); }

# The files whose data a real application client writes: app_setup sets D (the test's temp
# dir) and SLOW (MCR_SLOW) and fails the test without pylibmc; py runs tests/app.py, bounded.
app_setup() {
	D=$BATS_TEST_TMPDIR
	SLOW=$MCR_SLOW
	/usr/bin/python3 -c 'import pylibmc' 2>/dev/null || fail "pylibmc is needed: apt-get install python3-pylibmc"
}
py() { timeout -k 2 "$(slow 120)" /usr/bin/python3 "$BATS_TEST_DIRNAME/app.py" "$@"; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

within() {
	local d=$(($(now_ms) - $2)) max
	max=$(slow "$1")
	[ "$d" -lt "$max" ] || fail "took $d ms, not under $max ms (MCR_SLOW=$MCR_SLOW)"
}

wait_until() {
	local secs=10 end
	if [ "$1" = -t ]; then
		secs=$2
		shift 2
	fi
	end=$(($(now_ms) + $(slow "$secs") * 1000))
	until "$@" >/dev/null 2>&1; do
		if [ "$(now_ms)" -ge "$end" ]; then
			echo "wait_until: still not true after $(slow "$secs") s: $*" >&2
			return 1
		fi
		sleep 0.05
	done
}

bounded() { timeout -k 2 "$(slow 30)" "$@"; }

for _t in mcrset mcrget mcrdel mcrverify mcrcopy mcrstat lmrepl; do
	eval "$_t() { bounded \"\$MCR_BIN/$_t\" \"\$@\"; }"
	export -f "${_t?}"
done
unset _t
export -f bounded slow

PORTS=()
PIDS=()
SERVERS=

# memcached picks its own free port (-p -1) and writes it to a file: no port races. A server
# that dies while starting fails the test with its log.
start_server_at() {
	local i=$1
	shift
	local port=${PORTS[$i]:--1} pf="$BATS_TEST_TMPDIR/port.$i" end
	rm -f "$pf"
	MEMCACHED_PORT_FILENAME=$pf memcached -U 0 -l 127.0.0.1 -p "$port" -u root "$@" \
		</dev/null >"$BATS_TEST_TMPDIR/memcached.$i.log" 2>&1 3>&- &
	PIDS[$i]=$!
	end=$(($(now_ms) + $(slow 5) * 1000))
	until [ -s "$pf" ] && grep -q 'TCP INET' "$pf"; do
		kill -0 "${PIDS[$i]}" 2>/dev/null || { cat "$BATS_TEST_TMPDIR/memcached.$i.log" >&2; return 1; }
		[ "$(now_ms)" -lt "$end" ] || { echo "memcached $i did not start within $(slow 5) s" >&2; return 1; }
		sleep 0.05
	done
	PORTS[$i]=$(sed -n 's/^TCP INET: //p' "$pf" | head -n 1)
}

start_servers() {
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do start_server_at "$i" "$@" || return 1; done
	SERVERS=
	for ((i = 0; i < n; i++)); do SERVERS+="${SERVERS:+,}127.0.0.1:${PORTS[$i]}"; done
	export SERVERS
}

# SIGKILL: memcached acts on SIGTERM only at its next clock tick (up to a second); nothing
# a test checks lives in a server's memory after the test.
stop_server() {
	local pid=${PIDS[$1]:-}
	[ -n "$pid" ] || return 0
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	PIDS[$1]=
}

pause_server() { kill -STOP "${PIDS[$1]}"; }
resume_server() { kill -CONT "${PIDS[$1]}"; }

stop_servers() {
	local i
	for i in "${!PIDS[@]}"; do stop_server "$i"; done
}

# server I as host:port
srv() { echo "127.0.0.1:${PORTS[$1]}"; }

# One ASCII command to server I; prints the reply up to END/STORED/... (bounded in time).
mc() {
	local i=$1
	shift
	printf '%s\r\nquit\r\n' "$*" |
		timeout "$(slow 5)" bash -c "exec 9<>/dev/tcp/127.0.0.1/${PORTS[$i]}; cat >&9; cat <&9" | tr -d '\r'
}

mstat() { mc "$1" stats | sed -n "s/^STAT $2 //p"; }

ttl_of() { mc "$1" "mg $2 t" | sed -n 's/^HD t//p'; }

# A copy written with another copy's TTL (a repair, a copy, a rebuild) expires when that one does,
# and not never, within 3 s: each server's clock counts whole seconds from its own start, and a
# tool converts through its own. J is read before and after I, and a TTL only counts down, so
# how long ago either copy was written (how slow the machine is) does not matter.
same_ttl() {
	local before src after
	before=$(ttl_of "$2" "$3") src=$(ttl_of "$1" "$3") after=$(ttl_of "$2" "$3")
	[ -n "$before" ] && [ -n "$src" ] && [ -n "$after" ] && [ "$src" -ge 0 ] && [ "$after" -ge 0 ] &&
		[ $((after - 3)) -le "$src" ] && [ "$src" -le $((before + 3)) ] ||
		fail "$3: a TTL of $before then $after s on server $2, $src s on server $1 (its source)"
}

teardown() { stop_servers; }
