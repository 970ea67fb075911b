#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Placement parity with libmemcached's own replication: keys are written by lmrepl
# (libmemcached's memcached_set with NUMBER_OF_REPLICAS, binary protocol), each server
# is then asked what it holds (one `lru_crawler metadump all` per server), and the
# servers holding each key must be exactly those `mcrget --where` names, in the order
# libmemcached uses (primary = memcached_generate_hash, copy r on (primary + r) mod n).

# shellcheck disable=SC2154 # stderr and stderr_lines are set by `run --separate-stderr`
bats_require_minimum_version 1.5.0
load helper

NKEYS=200

setup() {
	[ -x "$MCR_BIN/lmrepl" ] || fail "no $MCR_BIN/lmrepl: run make $MCR_BIN/lmrepl (tests/lmrepl.c)"
	T=$BATS_TEST_TMPDIR
	CASES=0
	FAILED=
	: >"$T/legend"
}

lm() { lmrepl "$@"; }
mcr() {
	local t=$1
	shift
	bounded "$MCR_BIN/$t" "$@"
}

# the hashes this libmemcached build accepts (hsieh, murmur and the 64-bit FNVs are optional)
hashes() { lm hashes; }

# the server list in the order of PORTS, or of the indexes given, with optional weights
#   list [I[:W]...]
list() {
	local s='' e i w
	[ $# -gt 0 ] || set -- "${!PORTS[@]}"
	for e in "$@"; do
		i=${e%%:*} w=
		[ "$i" = "$e" ] || w=":${e#*:}"
		s+="${s:+,}127.0.0.1:${PORTS[$i]}$w"
	done
	echo "$s"
}

# place_case DESC NAMESPACE REPLICAS LMREPL-ARGS... -- MCR-ARGS...
# Writes NKEYS keys through libmemcached (lmrepl setmany), asks mcr where they are
# (mcrget --where), and compares mcr's answer with libmemcached's own (lmrepl copies:
# memcached_generate_hash for the primary, the list order for the replicas). NAMESPACE
# and REPLICAS say what to expect (the arguments must set them); check_servers then
# compares the copy counts and the servers' contents with every case's --where answer.
place_case() {
	local desc=$1 ns=$2 r=$3 id=$((CASES += 1)) i n=${#PORTS[@]}
	local prefix="c${id}k" f="$T/case.$id"
	local -a keys=() lmargs=() mcrargs=()
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		lmargs+=("$1")
		shift
	done
	shift
	mcrargs=("$@")
	mapfile -t keys < <(seq -f "$prefix%.0f" 0 $((NKEYS - 1)))
	if ! lm "${lmargs[@]}" setmany "$prefix" "$NKEYS" 2>"$f.lmerr"; then
		FAILED+="case $id ($desc): lmrepl setmany failed: $(head -c 300 "$f.lmerr")"$'\n'
		return 0
	fi
	i=0
	mcr mcrget "${mcrargs[@]}" --where --format=tsv "${keys[@]}" >"$f.where" 2>"$f.err" || i=$?
	if [ $i -ne 0 ]; then
		FAILED+="case $id ($desc): mcrget --where exited $i: $(head -c 300 "$f.err")"$'\n'
		return 0
	fi
	# check_servers compares the servers' contents for the cases listed here only
	printf '%s\t%s\t%s\t%s\n' "$prefix" "$ns" $((r + 1 < n ? r + 1 : n)) "$desc" >>"$T/legend"
	lm "${lmargs[@]}" copies "${keys[@]}" >"$f.lm"
	cmp -s "$f.lm" "$f.where" && return 0
	FAILED+="case $id ($desc): mcrget --where differs from libmemcached:"$'\n'
	FAILED+=$(awk -F'\t' '
		FILENAME == ARGV[1] { lm[$1] = lm[$1] " " $2; next }
		{ if (!($1 in mcr)) order[++n] = $1; mcr[$1] = mcr[$1] " " $2 }
		END {
			for (i = 1; i <= n; i++) if (lm[order[i]] != mcr[order[i]] && bad++ < 3)
				print "  " order[i] ": libmemcached" lm[order[i]] ", mcr" mcr[order[i]]
			for (k in lm) if (!(k in mcr)) bad++
			print "  (" bad + 0 " of " length(lm) " keys differ, servers listed primary first)"
		}' "$f.lm" "$f.where")$'\n'
}

# `lru_crawler metadump all` on server I, up to its END (the server keeps the connection
# open after a metadump, so the helper's `mc` would wait for its timeout; sed -u reads
# no further than the END line).
metadump() {
	# shellcheck disable=SC2016 # $1 is the inner shell's
	timeout "$(slow 10)" bash -c 'exec 9<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "lru_crawler metadump all\r\n" >&9
		sed -u -e "s/\r\$//" -e "/^END\$/q" -e "/^BUSY/q" -e "/ERROR/q" <&9' \
		metadump "${PORTS[$1]}"
}

# Each server's own account of what it holds, as `stored-key<TAB>host:port` lines.
held() {
	local i out n
	for i in "${!PORTS[@]}"; do
		for ((n = 0; n < $(slow 50); n++)); do
			out=$(metadump "$i")
			case $out in BUSY*) sleep 0.1 ;; *) break ;; esac
		done
		case $out in END | *$'\n'END) ;; *)
			echo "metadump on server $i: $(tail -n 1 <<<"$out")" >&2
			return 1
			;;
		esac
		awk -v srv="127.0.0.1:${PORTS[$i]}" '
			BEGIN { for (c = 0; c < 256; c++) hex[sprintf("%02X", c)] = sprintf("%c", c) }
			/^key=/ {
				k = substr($1, 5); d = ""
				while ((p = index(k, "%")) > 0) {
					d = d substr(k, 1, p - 1) hex[toupper(substr(k, p + 1, 2))]; k = substr(k, p + 3)
				}
				print d k "\t" srv
			}' <<<"$out"
	done
}

# Checks that every case's --where listed each key with min(replicas + 1, n) copies, and
# that the servers hold exactly the copies --where names, no more, no fewer.
check_servers() {
	local bad
	held >"$T/held.raw" || fail "could not read the servers' contents"
	# the copies of the cases that got an answer from mcr (see place_case)
	awk -F'\t' 'FILENAME == ARGV[1] { known[$1] = 1; next }
		{ p = $1; sub(/^.*[^0-9]c/, "c", p); sub(/[0-9]+$/, "", p); if (p in known) print }' \
		"$T/legend" "$T/held.raw" | sort >"$T/held"
	: >"$T/expected"
	if [ -s "$T/legend" ]; then
		local -a wheres
		mapfile -t wheres < <(cut -f1 "$T/legend" | sed "s|^c\([0-9]*\)k\$|$T/case.\1.where|")
		bad=$(awk -F'\t' -v nkeys="$NKEYS" -v expected="$T/expected" '
			FILENAME ~ /legend$/ { ns[$1] = $2; want[$1] = $3; desc[$1] = $4; next }
			{
				p = $1; sub(/[0-9]+$/, "", p)
				print ns[p] $1 "\t" $2 > expected
				if (!(($1) in copies)) keys[p]++
				copies[$1]++
			}
			END {
				for (k in copies) { p = k; sub(/[0-9]+$/, "", p); if (copies[k] != want[p]) wrong[p]++ }
				for (p in want) {
					if (keys[p] != nkeys) print desc[p] ": --where listed " keys[p] + 0 " keys, not " nkeys
					if (wrong[p]) print desc[p] ": " wrong[p] " keys without exactly " want[p] " copies in --where"
				}
			}' "$T/legend" "${wheres[@]}")
		[ -z "$bad" ] || FAILED+="$bad"$'\n'
	fi
	sort "$T/expected" >"$T/expected.sorted"
	if ! cmp -s "$T/expected.sorted" "$T/held"; then
		FAILED+="the servers do not hold the copies mcrget --where names:"$'\n'
		FAILED+=$(awk -F'\t' '
			FILENAME == ARGV[1] { desc[$1] = $4; next }
			FILENAME == ARGV[2] { want[$1] = want[$1] " " $2; next }
			{ have[$1] = have[$1] " " $2 }
			END {
				for (k in want) if (want[k] != have[k]) { bad++; if (shown++ < 10) show(k) }
				for (k in have) if (!(k in want)) { bad++; if (shown++ < 10) show(k) }
				print "  (" bad " stored keys differ)"
			}
			function show(k, p) {
				p = k; sub(/^.*[^0-9]c/, "c", p); sub(/[0-9]+$/, "", p)
				print "  " k " [" desc[p] "]: on" (have[k] == "" ? " no server" : have[k]) \
					"; --where says" (want[k] == "" ? " nothing" : want[k])
			}' "$T/legend" "$T/expected.sorted" "$T/held")$'\n'
	fi
	[ -z "$FAILED" ] || fail "$FAILED"
}

# every hash with replicas 1 and 2, each with and without a namespace (alternating: the
# namespace changes the stored key, not the placement), for one distribution
#   every_hash DISTRIBUTION [SERVER-LIST]
every_hash() {
	local d=$1 servers=${2:-$(list)} h r ns k=0
	for h in $(hashes); do
		k=$((1 - k))
		for r in 1 2; do
			ns=
			[ $(((r + k) % 2)) -eq 1 ] || ns="app:v1/"
			place_case "$d hash=$h r=$r ns=${ns:-none} servers=$servers" "$ns" "$r" \
				-s "$servers" -d "$d" -H "$h" -r "$r" ${ns:+-n "$ns"} -- \
				--servers="$servers" --distribution="$d" --hash="$h" -r "$r" ${ns:+--namespace="$ns"}
		done
	done
}

@test "modula: mcr places copies where libmemcached writes them (every hash, replicas 1 and 2, namespace)" {
	start_servers 5
	every_hash modula
	check_servers
}

@test "consistent: mcr places copies where libmemcached writes them (every hash, replicas 1 and 2, namespace)" {
	start_servers 5
	every_hash consistent
	check_servers
}

@test "ketama: mcr places copies where libmemcached writes them (every hash, replicas 1 and 2, namespace)" {
	start_servers 5
	every_hash ketama
	check_servers
}

@test "ketama-weighted: mcr places copies where libmemcached writes them (every hash, weights, namespace)" {
	start_servers 5
	every_hash ketama-weighted
	every_hash ketama-weighted "$(list 0:1 1:2 2:3 3:1 4:5)"
	check_servers
}

@test "ketama-spy: mcr places copies where libmemcached writes them (every hash, replicas 1 and 2, namespace)" {
	start_servers 5
	every_hash ketama-spy
	check_servers
}

@test "--ketama-compatible is libmemcached's KETAMA_WEIGHTED behaviour, with and without weights" {
	start_servers 5
	local s w r
	s=$(list)
	w=$(list 0:3 1:1 2:1 3:2 4:1)
	for r in 1 2; do
		place_case "ketama-compatible r=$r" "" "$r" -s "$s" -k -r "$r" -- \
			--servers="$s" --ketama-compatible -r "$r"
		place_case "ketama-compatible weights r=$r" "" "$r" -s "$w" -k -r "$r" -- \
			--servers="$w" --ketama-compatible -r "$r"
		place_case "ketama-compatible namespace r=$r" "ns_" "$r" -s "$s" -k -r "$r" -n ns_ -- \
			--servers="$s" --ketama-compatible -r "$r" --namespace=ns_
	done
	# mcr.7: --ketama-compatible overrides --hash (KETAMA_WEIGHTED sets md5) ...
	place_case "ketama-compatible hash=crc" "" 1 -s "$w" -k -- --servers="$w" --ketama-compatible --hash=crc
	# ... and a program that sets another hash after KETAMA_WEIGHTED is --distribution=ketama-weighted --hash
	place_case "KETAMA_WEIGHTED then HASH=crc" "" 1 -s "$w" -k -H crc -- \
		--servers="$w" --distribution=ketama-weighted --hash=crc
	check_servers
}

@test "mcr.7's example: memcached(config), then KETAMA_WEIGHTED, replicas and namespace, is mirrored as documented" {
	start_servers 5
	local s cfg="" i
	s=$(list)
	for i in "${!PORTS[@]}"; do cfg+="--SERVER=127.0.0.1:${PORTS[$i]} "; done
	cfg+="--BINARY-PROTOCOL"
	place_case "mcr.7 example" "app:" 2 -c "$cfg" -k -r 2 -n app: -- \
		--servers="$s" --ketama-compatible --replicas=2 --namespace=app:
	check_servers
}

@test "weights: ignored by modula, turn consistent and ketama into weighted ketama as in libmemcached" {
	start_servers 5
	local w d r
	w=$(list 0:1 1:4 2:1 3:2 4:1)
	for d in modula consistent ketama ketama-spy; do
		for r in 1 2; do
			place_case "$d weights r=$r" "" "$r" -s "$w" -d "$d" -r "$r" -- \
				--servers="$w" --distribution="$d" -r "$r"
		done
	done
	place_case "consistent weights hash=crc" "" 1 -s "$w" -d consistent -H crc -- \
		--servers="$w" --distribution=consistent --hash=crc
	# mcr.7: a program that chose the distribution after adding weighted servers ignores the
	# weights; it is mirrored by the list without them (lmrepl -L adds the servers first)
	for d in consistent ketama; do
		place_case "$d chosen after weighted servers" "" 1 -L -s "$w" -d "$d" -- \
			--servers="$(list)" --distribution="$d"
	done
	check_servers
}

@test "--sort-hosts with a shuffled server list places copies as libmemcached SORT_HOSTS does" {
	start_servers 5
	local s sw d r sorted
	s=$(list 3 0 4 1 2)
	sw=$(list 3:2 0 4:3 1 2)
	for d in modula consistent ketama ketama-weighted ketama-spy; do
		for r in 1 2; do
			place_case "$d sort-hosts r=$r" "" "$r" -s "$s" -d "$d" -S -r "$r" -- \
				--servers="$s" --distribution="$d" --sort-hosts -r "$r"
			place_case "$d shuffled unsorted r=$r" "" "$r" -s "$s" -d "$d" -r "$r" -- \
				--servers="$s" --distribution="$d" -r "$r"
		done
	done
	place_case "ketama sort-hosts weights" "" 2 -s "$sw" -d ketama -S -r 2 -- \
		--servers="$sw" --distribution=ketama --sort-hosts -r 2
	check_servers
	# with --sort-hosts the order of the list does not matter; without it, it does
	run -0 mcr mcrget --servers="$(list)" --distribution=ketama --sort-hosts --where --format=tsv k1 k2 k3 k4 k5
	sorted=$output
	run -0 mcr mcrget --servers="$s" --distribution=ketama --sort-hosts --where --format=tsv k1 k2 k3 k4 k5
	assert_output "$sorted"
	run -0 mcr mcrget --servers="$s" --where --format=tsv k1 k2 k3 k4 k5 k6 k7 k8
	sorted=$output
	run -0 mcr mcrget --servers="$(list)" --where --format=tsv k1 k2 k3 k4 k5 k6 k7 k8
	[ "$output" != "$sorted" ] || fail "the order of the server list made no difference to modula placement"
}

@test "--namespace with --behavior=HASH_WITH_PREFIX_KEY=1 hashes the prefixed key as libmemcached does" {
	start_servers 5
	local s d
	s=$(list)
	for d in modula consistent ketama; do
		place_case "$d namespace hash_with_prefix_key" "pfx:" 1 -s "$s" -d "$d" -n pfx: -P -- \
			--servers="$s" --distribution="$d" --namespace=pfx: --behavior=HASH_WITH_PREFIX_KEY=1
		place_case "$d namespace hash_with_prefix_key r=2" "other-" 2 -s "$s" -d "$d" -n other- -P -r 2 -- \
			--servers="$s" --distribution="$d" --namespace=other- --behavior=hash_with_prefix_key=1 -r 2
	done
	check_servers
}

@test "--hash: every hash this libmemcached has is accepted, the others are refused with exit 2" {
	local h have
	have=" $(hashes | tr '\n' ' ')"
	for h in default md5 crc fnv1_64 fnv1a_64 fnv1_32 fnv1a_32 hsieh murmur jenkins murmur3; do
		if [[ $have == *" $h "* ]]; then
			run -0 mcr mcrget --servers=127.0.0.1:1,127.0.0.1:2 --hash="$h" --where k
		else
			run -2 --separate-stderr mcr mcrget --servers=127.0.0.1:1,127.0.0.1:2 --hash="$h" --where k
			assert_output ""
			[ "${#stderr_lines[@]}" -eq 1 ] || fail "--hash=$h: not one line on stderr: $stderr"
		fi
	done
	for h in default md5 crc fnv1_32 fnv1a_32 jenkins; do
		[[ $have == *" $h "* ]] || fail "lmrepl hashes lacks $h, which every build has: $have"
	done
}

@test "copies = min(replicas + 1, n): replicas = n - 1 puts a copy on every server" {
	start_servers 4
	local s
	s=$(list)
	place_case "modula r=3 of 4" "" 3 -s "$s" -r 3 -- --servers="$s" -r 3
	place_case "ketama r=3 of 4" "" 3 -s "$s" -d ketama -r 3 -- --servers="$s" --distribution=ketama -r 3
	check_servers
	run -0 mcr mcrget --servers="$s" -r 3 --where --format=tsv onekey
	assert_equal "${#lines[@]}" 4
	assert_equal "$(cut -f2 <<<"$output" | sort -u | wc -l)" 4
	assert_equal "$(cut -f3 <<<"$output" | tr '\n' ' ')" "primary replica1 replica2 replica3 "
}

@test "replicas >= n: libmemcached wraps around onto the primary, mcr refuses with exit 2" {
	start_servers 3
	local s r t i
	s=$(list)
	for r in 3 4 7; do
		# libmemcached itself accepts it and still writes one copy per server
		run -0 lm -s "$s" -r "$r" setmany "wrap${r}k" 20
		for t in mcrget mcrset mcrdel; do
			case $t in
			mcrget) run -2 --separate-stderr mcr mcrget --servers="$s" -r "$r" --where k ;;
			mcrset) run -2 --separate-stderr mcr mcrset --servers="$s" -r "$r" k v ;;
			mcrdel) run -2 --separate-stderr mcr mcrdel --servers="$s" -r "$r" k ;;
			esac
			assert_output ""
			[[ $stderr == *"$r replicas need at least $((r + 1)) servers"* ]] ||
				fail "$t -r $r: unexpected message: $stderr"
			[ "${#stderr_lines[@]}" -eq 1 ] || fail "$t -r $r: more than one line on stderr: $stderr"
		done
	done
	# the refused mcrset wrote nothing
	for i in 0 1 2; do
		run mc "$i" get k
		assert_output END
	done
	# the wrapped writes: every key once on every server
	held >"$T/held.raw"
	run awk -F'\t' '$1 ~ /^wrap/ { c[$1]++ } END { for (k in c) { n++; if (c[k] != 3) bad++ } print n + 0, bad + 0 }' "$T/held.raw"
	assert_output "60 0"
	# the same limit when the count comes from a configuration string
	run -2 --separate-stderr mcr mcrget --config="--SERVER=127.0.0.1:${PORTS[0]} --SERVER=127.0.0.1:${PORTS[1]} --NUMBER-OF-REPLICAS=3" --where k
	[[ $stderr == *"3 replicas need at least 4 servers"* ]] || fail "config: unexpected message: $stderr"
}

@test "mcrget reads what libmemcached wrote" {
	start_servers 5
	local s d ns v
	s=$(list)
	for d in modula consistent ketama ketama-weighted ketama-spy; do
		for ns in "" "n1:"; do
			v="value of $d ${ns:-plain}"
			run -0 lm -s "$s" -d "$d" -H crc -r 2 ${ns:+-n "$ns"} set "lk-$d" "$v"
			run -0 mcr mcrget --servers="$s" --distribution="$d" --hash=crc -r 2 ${ns:+--namespace="$ns"} "lk-$d"
			assert_output "$v"
			# every copy is where mcr looks for it, and identical
			run -0 mcr mcrget --servers="$s" --distribution="$d" --hash=crc -r 2 ${ns:+--namespace="$ns"} \
				--all --format=tsv "lk-$d"
			assert_equal "${#lines[@]}" 3
			refute_line --partial $'\tnot-found\t'
		done
	done
}

@test "libmemcached reads what mcrset wrote, from the primary, and from replica1 when the primary is down" {
	start_servers 5
	local s d ns p i
	s=$(list)
	for d in modula consistent ketama ketama-weighted ketama-spy; do
		for ns in "" "n2:"; do
			run -0 mcr mcrset --servers="$s" --distribution="$d" --hash=md5 ${ns:+--namespace="$ns"} "mk-$d" "from mcr $d"
			run -0 lm -s "$s" -d "$d" -H md5 ${ns:+-n "$ns"} get "mk-$d"
			assert_output "from mcr $d"
		done
	done
	# libmemcached reads the primary alone unless it cannot connect to it: then replica1
	run -0 mcr mcrset --servers="$s" --distribution=ketama failover copy
	run -0 mcr mcrget --servers="$s" --distribution=ketama --where --format=tsv failover
	p=$(awk -F'\t' '$3 == "primary" { print $2 }' <<<"$output")
	for i in "${!PORTS[@]}"; do
		if [ "127.0.0.1:${PORTS[$i]}" = "$p" ]; then stop_server "$i"; fi
	done
	run -0 lm -s "$s" -d ketama get failover
	assert_output copy
}

@test "an increment reaches libmemcached's primary alone: mcrget --all sees the replicas differ" {
	start_servers 3
	local s
	s=$(list)
	run -0 lm -s "$s" -r 2 set counter 10
	run -0 lm -s "$s" -r 2 incr counter 5
	assert_output 15
	run -0 mcr mcrget --servers="$s" -r 2 counter
	assert_output 15
	run -1 mcr mcrget --servers="$s" -r 2 --all --format=tsv counter
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 --regexp $'^counter\t[^\t]+\tprimary\tfound\t'
	assert_line --index 1 --regexp $'^counter\t[^\t]+\treplica1\tfound\t0\t2\t[0-9]+\t-1\tno\t-$'
	assert_line --index 2 --regexp $'^counter\t[^\t]+\treplica2\tfound\t0\t2\t[0-9]+\t-1\tno\t-$'
}

@test "--config: a configuration string places copies as the equivalent options, and as libmemcached does" {
	start_servers 5
	local s scfg="" i n cfg from_config
	local -a kk=(k0 k1 k2 k3 k4 k5 k6 k7 k8 k9 alpha beta gamma delta epsilon x/y/z 12345)
	local -a cfgs opts nss reps
	s=$(list)
	for i in "${!PORTS[@]}"; do scfg+="--SERVER=127.0.0.1:${PORTS[$i]} "; done
	cfgs=("--NUMBER-OF-REPLICAS=1 --DISTRIBUTION=consistent"
		"--NUMBER-OF-REPLICAS=2 --DISTRIBUTION=modula"
		"--HASH=md5 --NUMBER-OF-REPLICAS=1 --DISTRIBUTION=consistent"
		"--HASH=crc --NUMBER-OF-REPLICAS=2 --DISTRIBUTION=modula --NAMESPACE=cfgns"
		"--NUMBER-OF-REPLICAS=1 --SORT-HOSTS --DISTRIBUTION=consistent")
	opts=("-r 1 --distribution=consistent"
		"-r 2 --distribution=modula"
		"--hash=md5 -r 1 --distribution=consistent"
		"--hash=crc -r 2 --distribution=modula --namespace=cfgns"
		"-r 1 --sort-hosts --distribution=consistent")
	nss=("" "" "" "cfgns" "")
	reps=(1 2 1 2 1)
	for ((n = 0; n < ${#cfgs[@]}; n++)); do
		cfg="${cfgs[n]}"
		# hashes before the servers: a hash set after them does not rebuild the continuum
		[[ $cfg == --HASH* ]] && cfg="${cfg%% *} $scfg${cfg#* }" || cfg="$scfg$cfg"
		run -0 mcr mcrget --config="$cfg" --where --format=tsv "${kk[@]}"
		from_config=$output
		# shellcheck disable=SC2086 # the option string is split on purpose
		run -0 mcr mcrget --servers="$s" ${opts[n]} --where --format=tsv "${kk[@]}"
		[ "$output" = "$from_config" ] ||
			fail "--config='$cfg' and '${opts[n]}' differ:"$'\n'"$(diff <(echo "$from_config") <(echo "$output"))"
		# libmemcached, given the same string, writes there
		place_case "config: $cfg" "${nss[n]}" "${reps[n]}" -c "$cfg" -- --config="$cfg"
	done
	# a configuration with command-line overrides applied on top, as an application would
	cfg="$scfg--NUMBER-OF-REPLICAS=1 --DISTRIBUTION=consistent"
	place_case "config + --hash=crc -r 2" "" 2 -c "$cfg" -H crc -r 2 -- --config="$cfg" --hash=crc -r 2
	place_case "config + --distribution=ketama-spy" "" 1 -c "$cfg" -d ketama-spy -- \
		--config="$cfg" --distribution=ketama-spy
	# the order in a configuration string matters to libmemcached: mcr must follow it
	cfg="$scfg--NUMBER-OF-REPLICAS=1 --DISTRIBUTION=consistent --HASH=md5"
	place_case "config hash after servers" "" 1 -c "$cfg" -- --config="$cfg"
	# weights (host:port/?weight): used when the distribution comes first, dropped after
	cfg="--SERVER=127.0.0.1:${PORTS[0]}/?4 ${scfg#* }--NUMBER-OF-REPLICAS=1"
	place_case "config weights, distribution first" "" 1 -c "--DISTRIBUTION=consistent $cfg" -- \
		--config="--DISTRIBUTION=consistent $cfg"
	place_case "config weights, distribution after" "" 1 -c "$cfg --DISTRIBUTION=consistent" -- \
		--config="$cfg --DISTRIBUTION=consistent"
	check_servers
}

@test "--config-file reads a libmemcached configuration file as --CONFIGURE-FILE does" {
	start_servers 4
	local f=$T/one-line.conf g=$T/lines.conf
	# one line, ended by a newline
	printf -- '--SERVER=127.0.0.1:%s --SERVER=127.0.0.1:%s --SERVER=127.0.0.1:%s --SERVER=127.0.0.1:%s --NUMBER-OF-REPLICAS=1 --DISTRIBUTION=consistent\n' \
		"${PORTS[@]}" >"$f"
	place_case "config file, one line" "" 1 -c "--CONFIGURE-FILE=\"$f\"" -- --config-file="$f"
	# libmemcached reads its configuration files line by line: one option per line,
	# comments and blank lines (options.cc, _parse_file_options)
	{
		echo "# the cache cluster"
		printf -- '--SERVER=127.0.0.1:%s\n' "${PORTS[@]}"
		echo
		echo "--NUMBER-OF-REPLICAS=2"
		echo "--DISTRIBUTION=consistent"
	} >"$g"
	place_case "config file, one option per line" "" 2 -c "--CONFIGURE-FILE=\"$g\"" -- --config-file="$g"
	check_servers
}
