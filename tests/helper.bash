# Shared by every bats file: real memcached servers on free loopback ports, stopped in teardown.
#
#   start_servers N [memcached args...]   start N servers; sets SERVERS (comma list) and PORTS[0..N-1]
#   start_server_at I [memcached args...] (re)start server I on its old port (after stop_server)
#   stop_server I                         stop server I (SIGTERM, bounded wait)
#   pause_server I / resume_server I      SIGSTOP / SIGCONT (a hung server)
#   mc I CMD...                           send an ASCII command line to server I, print the reply
#   stop_servers                          called by the default teardown
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

MCR_BIN=${MCR_BIN:-$BATS_TEST_DIRNAME/../build}
PATH=$MCR_BIN:$PATH
export MCR_BIN PATH
unset MEMCACHED_SERVERS LIBMEMCACHED MEMCACHED_PASSWORD

PORTS=()
PIDS=()
SERVERS=

# memcached picks its own free port (-p -1) and writes it to a file: no port races.
start_server_at() {
	local i=$1; shift
	local port=${PORTS[$i]:--1} pf="$BATS_TEST_TMPDIR/port.$i" n=0
	rm -f "$pf"
	MEMCACHED_PORT_FILENAME=$pf memcached -U 0 -l 127.0.0.1 -p "$port" -u root "$@" \
		</dev/null >"$BATS_TEST_TMPDIR/memcached.$i.log" 2>&1 3>&- &
	PIDS[$i]=$!
	until [ -s "$pf" ] && grep -q 'TCP INET' "$pf"; do
		kill -0 "${PIDS[$i]}" 2>/dev/null || { cat "$BATS_TEST_TMPDIR/memcached.$i.log" >&2; return 1; }
		n=$((n + 1)); [ $n -lt 100 ] || { echo "memcached $i did not start" >&2; return 1; }
		sleep 0.05
	done
	PORTS[$i]=$(sed -n 's/^TCP INET: //p' "$pf" | head -n 1)
}

start_servers() {
	local n=$1 i; shift
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

# One ASCII command to server I; prints the reply up to END/STORED/... (bounded by timeout).
mc() {
	local i=$1; shift
	printf '%s\r\nquit\r\n' "$*" | timeout 5 bash -c "exec 9<>/dev/tcp/127.0.0.1/${PORTS[$i]}; cat >&9; cat <&9" | tr -d '\r'
}

teardown() { stop_servers; }
