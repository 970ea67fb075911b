#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Output safety (issue 5): keys and values with control bytes, terminal escape sequences, NULs,
# bytes 0x80-0xff and invalid UTF-8 are escaped wherever they are shown: per-copy reports,
# `mcrget --all` and `--where`, -v traces on stderr, warnings, mcrverify and mcrcopy reports, TSV
# (HACKING.md "Key display": %HH for keys; backslash escapes for values and messages). Text and
# TSV output is printable ASCII plus newline (and tab, TSV's separator); JSON is one valid object
# per line, valid UTF-8, with no raw control byte, and gives back every key's exact bytes ("key"
# or "key_base64"). Only the value that single-key mcrget prints is raw: its bytes exactly. A
# server's own words (the reason for too-large, or anything a hostile server sends) are escaped
# too. Outputs go to files, never through shell variables, so that no byte is lost on the way.

bats_require_minimum_version 1.5.0
load helper
load mcrlib

# keys a terminal must never see raw (none holds a NUL: argv cannot; see the -k test for that)
NASTY=(
	$'\e[31mred'             # CSI: colour
	$'\e]0;title\a'          # OSC: window title, BEL
	$'a\rb\bc'               # carriage return, backspace
	$'\x80\xff\xc3('         # bytes 0x80-0xff, invalid UTF-8
	$'q"uo\te\\'             # quote, tab, backslash (JSON's own escapes)
	$'new\nline'             # newline
	$'\xc2\x9b31m'           # U+009B, the one-byte CSI, as valid UTF-8
	$'del\x7f'               # DEL
	'sp ace%25'              # space and percent: key display's own escapes
	$'cl\xc3\xa9'            # valid UTF-8 beyond ASCII
)

FAKEPIDS=()
setup() {
	D=$BATS_TEST_TMPDIR
	# a value with every kind of byte: escapes, CR, BS, NUL, 0x80-0xff, invalid UTF-8, newline, tab
	printf '\033[31mRED\033[0m\033]0;t\a\r\b\000\200\377\303(\n\t\\end%%' >"$D/val"
}

teardown() {
	local p
	for p in "${FAKEPIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	stop_all
}

# out NAME CMD...: CMD's stdout to $D/NAME.out, stderr to $D/NAME.err; RC = its exit status
out() {
	local name=$1
	shift
	RC=0
	"$@" >"$D/$name.out" 2>"$D/$name.err" || RC=$?
}

# show FILE: its first bytes, made visible
show() { head -c 600 "$1" | od -An -c | head -n 12; }

# clean FILE [tab]: FILE holds printable ASCII and newlines only (and tabs with `tab`)
clean() {
	local set='\040-\176\n' n
	[ "${2:-}" = tab ] && set+='\t'
	n=$(LC_ALL=C tr -d "$set" <"$1" | wc -c)
	[ "$n" -eq 0 ] || fail "$(basename "$1"): $n raw control or non-ASCII bytes:"$'\n'"$(show "$1")"
}

# json_clean FILE: every line one JSON object, valid UTF-8, no raw control byte but newlines
json_clean() {
	local f=$1 n
	[ -s "$f" ] || fail "$(basename "$f"): no output"
	n=$(LC_ALL=C tr -d '\n\040-\377' <"$f" | wc -c)
	[ "$n" -eq 0 ] || fail "$(basename "$f"): $n raw control bytes in JSON:"$'\n'"$(show "$f")"
	iconv -f UTF-8 -t UTF-8 "$f" >/dev/null 2>&1 || fail "$(basename "$f"): not valid UTF-8:"$'\n'"$(show "$f")"
	if ! jq -e -s 'all(type == "object")' "$f" >/dev/null 2>&1 ||
		[ "$(jq -c . "$f" | wc -l)" -ne "$(wc -l <"$f")" ]; then
		fail "$(basename "$f"): not one JSON object per line: $(head -c 600 "$f")"
	fi
}

# json_keys FILE: the exact bytes of each record's key ("key" or "key_base64"), base64, one a line
json_keys() {
	jq -r 'if has("key") then (.key | @base64) elif has("key_base64") then .key_base64 else empty end' "$1"
}

b64() { printf '%s' "$1" | base64 -w0; }

# the keys' base64, sorted, one a line (to compare with json_keys ... | sort -u)
b64_sorted() {
	local k
	for k in "$@"; do b64 "$k"; echo; done | sort -u
}

# pct KEY: KEY as HACKING.md "Key display" lists it (bytes <= 0x20, 0x7f, >= 0x80 and % as %HH)
pct() {
	local h v o=
	for h in $(printf '%s' "$1" | od -An -tx1 -v); do
		v=$((16#$h))
		if ((v <= 32 || v == 37 || v >= 127)); then
			o+=%${h^^}
		else
			# shellcheck disable=SC2059
			o+=$(printf "\\x$h")
		fi
	done
	printf '%s' "$o"
}

# pct_sorted KEY...: pct of each, sorted, one a line
pct_sorted() {
	local k
	for k in "$@"; do pct "$k"; echo; done | sort
}

# A fake memcached (perl, no module beyond perl-base): binary protocol with every answer
# an error whose text is full of escape sequences (GET too, unless MODE is `get-ok`: then a
# GET finds the value "fake"); ASCII: stats, mg (EN), and a metadump that sends a garbage
# line with escapes. Starts on a free port: FAKE=127.0.0.1:PORT.
start_fake() {
	local mode=$1 pf=$D/fake.$1.port
	cat >"$D/fakemc.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::INET;
my ($portfile, $mode) = @ARGV;
my $msg = "\e]0;pwned\a\e[31mEVIL\e[0m\r\n\b\x00\x80\xff\x7f\x9b2J!";
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 64, ReuseAddr => 1)
	or die "listen: $!";
open(my $fh, '>', "$portfile.tmp") or die;
print $fh $srv->sockport, "\n";
close $fh;
rename("$portfile.tmp", $portfile) or die;
$SIG{CHLD} = 'IGNORE';
while (1) {
	my $c = $srv->accept or next;
	my $pid = fork;
	if (!defined $pid || $pid) { close $c; next; }
	close $srv;
	binmode $c;
	serve($c);
	exit 0;
}
sub rd {
	my ($c, $n) = @_;
	my $buf = '';
	while (length($buf) < $n) {
		my $r = sysread($c, $buf, $n - length($buf), length($buf));
		return undef unless $r;
	}
	return $buf;
}
sub line {
	my ($c, $first) = @_;
	my $l = $first;
	while ($l !~ /\n\z/) { my $ch = rd($c, 1); return undef unless defined $ch; $l .= $ch; }
	$l =~ s/\r?\n\z//;
	return $l;
}
sub serve {
	my $c = shift;
	my $first = rd($c, 1);
	return unless defined $first;
	if (ord($first) == 0x80) {
		my $h = rd($c, 23);
		return unless defined $h;
		$h = $first . $h;
		while (1) {
			my ($magic, $op, $klen, $elen, $dt, $vb, $blen, $opaque, $cas) = unpack('CCnCCnNNQ>', $h);
			my $body = $blen ? rd($c, $blen) : '';
			return unless defined $body;
			my ($status, $ext, $val) = (0x0084, '', $msg);
			if ($op == 0x00 && $mode eq 'get-ok') { ($status, $ext, $val) = (0, pack('N', 0), 'fake'); }
			elsif ($op == 0x00) { $status = 0x0082; }
			elsif ($op == 0x01 || $op == 0x02 || $op == 0x03) { $status = 0x0003; }
			elsif ($op == 0x0a) { ($status, $val) = (0, ''); }
			syswrite($c, pack('CCnCCnNNQ>', 0x81, $op, 0, length($ext), 0, $status,
				length($ext) + length($val), $opaque, $status ? 0 : 1) . $ext . $val);
			$h = rd($c, 24);
			return unless defined $h;
		}
	}
	my $l = line($c, $first);
	while (defined $l) {
		if ($l eq 'stats') { syswrite($c, "STAT pid $$\r\nSTAT time " . time() . "\r\nEND\r\n"); }
		elsif ($l =~ /^lru_crawler metadump/) {
			syswrite($c, "key=%ZZ\e[31mbad\e]0;t\a exp=-1 la=1 cas=1 fetch=no cls=1 size=9\r\nEND\r\n");
		}
		elsif ($l =~ /^mg /) { syswrite($c, "EN\r\n"); }
		elsif ($l eq 'quit') { return; }
		else { syswrite($c, "ERROR\r\n"); }
		my $ch = rd($c, 1);
		return unless defined $ch;
		$l = line($c, $ch);
	}
}
PERL
	perl "$D/fakemc.pl" "$pf" "$mode" </dev/null >"$D/fake.$mode.log" 2>&1 3>&- &
	FAKEPIDS+=($!)
	wait_until -t 5 test -s "$pf" || fail "the fake server did not start: $(cat "$D/fake.$mode.log")"
	FAKE=127.0.0.1:$(<"$pf")
}

# ---------------------------------------------------------------------------------------------
# per-copy reports: mcrset, mcrdel

@test "mcrset and mcrdel reports (-v text, tsv, json) and warnings show every key escaped" {
	start_servers 2
	local k
	for k in "${NASTY[@]}"; do
		mcrset -s "$SERVERS" -v "$k" <"$D/val" >>"$D/set.txt" 2>>"$D/set.err"
		mcrset -s "$SERVERS" --format=tsv "$k" <"$D/val" >>"$D/set.tsv" 2>>"$D/set.err"
		mcrset -s "$SERVERS" --format=json "$k" <"$D/val" >>"$D/set.json" 2>>"$D/set.err"
	done
	clean "$D/set.txt"
	clean "$D/set.tsv" tab
	json_clean "$D/set.json"
	[ ! -s "$D/set.err" ] || fail "mcrset stderr: $(show "$D/set.err")"
	# text: KEY SERVER ROLE RESULT, the key percent-encoded, one line per copy
	diff <(awk '{ print $1, $3, $4 }' "$D/set.txt") \
		<(for k in "${NASTY[@]}"; do echo "$(pct "$k") primary stored"; echo "$(pct "$k") replica1 stored"; done)
	diff <(awk -F'\t' '{ print NF, $1, $3, $4 }' "$D/set.tsv") \
		<(for k in "${NASTY[@]}"; do echo "5 $(pct "$k") primary stored"; echo "5 $(pct "$k") replica1 stored"; done)
	diff <(json_keys "$D/set.json" | sort -u) <(b64_sorted "${NASTY[@]}")

	# a failed copy without -v: the stderr warning
	server_down 1
	out setdown mcrset -s "$SERVERS" -t 500 "${NASTY[0]}" x
	clean "$D/setdown.err"
	grep -qF "mcrset: $(pct "${NASTY[0]}"): " "$D/setdown.err" || fail "no warning: $(show "$D/setdown.err")"
	start_server_at 1

	for k in "${NASTY[@]}"; do
		mcrdel -s "$SERVERS" -v "$k" >>"$D/del.txt" 2>>"$D/del.err" || true
		mcrdel -s "$SERVERS" --format=tsv "$k" >>"$D/del.tsv" 2>>"$D/del.err" || true
		mcrdel -s "$SERVERS" --format=json "$k" >>"$D/del.json" 2>>"$D/del.err" || true
		# not found anywhere, without -v: the message on stderr
		mcrdel -s "$SERVERS" "$k" 2>>"$D/delnf.err" || true
	done
	clean "$D/del.txt"
	clean "$D/del.tsv" tab
	clean "$D/del.err"
	clean "$D/delnf.err"
	json_clean "$D/del.json"
	grep -qxF "mcrdel: $(pct "${NASTY[1]}"): not found" "$D/delnf.err" || fail "$(show "$D/delnf.err")"
	[ "$(awk '{ print $1 }' "$D/del.txt" | sort -u)" = "$(pct_sorted "${NASTY[@]}" | sort -u)" ]
	diff <(json_keys "$D/del.json" | sort -u) <(b64_sorted "${NASTY[@]}")
}

# ---------------------------------------------------------------------------------------------
# mcrget

@test "mcrget --where and --all (text, tsv, json): keys escaped, json gives back the key's bytes" {
	start_servers 3
	local k f keys
	for k in "${NASTY[@]}"; do mcrset -s "$SERVERS" "$k" <"$D/val"; done
	# a copy different (SAME no) and a key on its primary alone (not-found rows)
	lmrepl -s "$SERVERS" -r 0 set "${NASTY[0]}" other
	lmrepl -s "$SERVERS" -r 0 set $'miss\e[1m' v
	keys=("${NASTY[@]}" $'miss\e[1m')
	for f in text tsv json; do
		out "where.$f" mcrget -s "$SERVERS" --where --format="$f" "${keys[@]}"
		[ "$RC" = 0 ] || fail "--where --format=$f: exit $RC: $(show "$D/where.$f.err")"
		out "all.$f" mcrget -s "$SERVERS" --all --format="$f" "${keys[@]}"
		[ "$RC" = 1 ] || fail "--all --format=$f: exit $RC: $(show "$D/all.$f.err")"
		clean "$D/where.$f.err"
		clean "$D/all.$f.err"
	done
	clean "$D/where.text.out"
	clean "$D/where.tsv.out" tab
	clean "$D/all.text.out"
	clean "$D/all.tsv.out" tab
	json_clean "$D/where.json.out"
	json_clean "$D/all.json.out"
	diff <(awk '{ print $1, $3 }' "$D/where.text.out") \
		<(for k in "${keys[@]}"; do echo "$(pct "$k") primary"; echo "$(pct "$k") replica1"; done)
	diff <(awk -F'\t' '{ print NF, $1 }' "$D/where.tsv.out") \
		<(for k in "${keys[@]}"; do echo "3 $(pct "$k")"; echo "3 $(pct "$k")"; done)
	diff <(awk '{ print $1, $3 }' "$D/all.text.out") \
		<(for k in "${keys[@]}"; do echo "$(pct "$k") primary"; echo "$(pct "$k") replica1"; done)
	[ "$(awk -F'\t' '{ print NF }' "$D/all.tsv.out" | sort -u)" = 10 ]
	diff <(json_keys "$D/where.json.out") <(for k in "${keys[@]}"; do b64 "$k"; echo; b64 "$k"; echo; done)
	diff <(json_keys "$D/all.json.out") <(for k in "${keys[@]}"; do b64 "$k"; echo; b64 "$k"; echo; done)
	grep -qF "$(pct "${NASTY[0]}") " "$D/all.text.out"
	jq -e -s 'any(.[]; .same == "no")' "$D/all.json.out" >/dev/null
	jq -e -s 'any(.[]; .status == "not-found")' "$D/all.json.out" >/dev/null
}

@test "mcrget -v and -vv traces, not-found and outage messages on stderr are escaped" {
	start_servers 2
	local k
	for k in "${NASTY[@]:0:4}"; do mcrset -s "$SERVERS" "$k" <"$D/val"; done
	out v mcrget -s "$SERVERS" -v "${NASTY[@]:0:4}" $'gone\e[2J'
	[ "$RC" = 1 ] || fail "exit $RC"
	clean "$D/v.err"
	grep -qF "mcrget: $(pct "${NASTY[1]}"): " "$D/v.err" || fail "no trace for the key: $(show "$D/v.err")"
	grep -qxF "mcrget: gone%1B[2J: not found" "$D/v.err" || fail "$(show "$D/v.err")"
	out vv mcrget -s "$SERVERS" -vv "${NASTY[@]}"
	clean "$D/vv.err"
	# every copy down: what each copy did, on stderr
	stop_all
	out down mcrget -s "$SERVERS" -t 300 -vv "${NASTY[@]:0:4}"
	[ "$RC" = 2 ] || fail "exit $RC"
	clean "$D/down.err"
	grep -qF "mcrget: $(pct "${NASTY[3]}"): cannot read from " "$D/down.err" || fail "$(show "$D/down.err")"
}

@test "single-key mcrget prints the value's raw bytes exactly; tsv escapes them, json gives them back" {
	start_servers 2
	local k f
	for k in "${NASTY[@]}"; do
		mcrset -s "$SERVERS" "$k" <"$D/val"
		mcrget -s "$SERVERS" "$k" >"$D/got"
		cmp "$D/val" "$D/got" || fail "$(pct "$k"): not the bytes stored: $(show "$D/got")"
		mcrget -s "$SERVERS" -o "$D/got.o" "$k"
		cmp "$D/val" "$D/got.o"
		mcrget -s "$SERVERS" --format=tsv "$k" >"$D/got.tsv"
		clean "$D/got.tsv" tab
		[ "$(awk -F'\t' '{ print NF }' "$D/got.tsv")" = 5 ]
		[ "$(cut -f1 "$D/got.tsv")" = "$(pct "$k")" ]
		# \\ \t \n \r \xHH read back with printf %b are the bytes again
		f=$(cut -f5 "$D/got.tsv")
		printf '%b' "$f" | cmp "$D/val" - || fail "tsv value does not read back: $f"
		mcrget -s "$SERVERS" --format=json "$k" >"$D/got.json"
		json_clean "$D/got.json"
		jq -r .value_base64 "$D/got.json" | base64 -d | cmp "$D/val" -
		[ "$(json_keys "$D/got.json")" = "$(b64 "$k")" ]
	done
	# a value that is valid UTF-8 with escapes in it: "value" holds it, JSON-escaped
	printf '\033[31m\033]0;t\a\r\b\177\302\233x' >"$D/val8"
	mcrset -s "$SERVERS" --file="$D/val8" "${NASTY[0]}"
	mcrget -s "$SERVERS" --format=json "${NASTY[0]}" >"$D/got8.json"
	json_clean "$D/got8.json"
	jq -j .value "$D/got8.json" | cmp "$D/val8" -
	mcrget -s "$SERVERS" "${NASTY[0]}" | cmp "$D/val8" -
}

# ---------------------------------------------------------------------------------------------
# mcrverify

@test "mcrverify reports (text, -v, tsv, json, --repair) for keys from operands, -k and --all are escaped" {
	start_servers 3
	local k f
	for k in "${NASTY[@]}"; do
		mcrset -s "$SERVERS" "$k" <"$D/val"
		# drift, through libmemcached itself: a primary-only write (differ), a key on its
		# primary alone (missing), a third copy outside the copy set (a stray, with --all)
		lmrepl -s "$SERVERS" -r 0 set "$k" other
		lmrepl -s "$SERVERS" -r 0 set "m$k" v
		lmrepl -s "$SERVERS" -r 2 set "s$k" v
	done
	local all=() o
	for k in "${NASTY[@]}"; do all+=("$k" "m$k" "s$k"); done
	for f in text tsv json; do
		out "op.$f" mcrverify -s "$SERVERS" --recheck-delay=0 --format="$f" "${all[@]}"
		[ "$RC" = 1 ] || fail "--format=$f: exit $RC: $(show "$D/op.$f.err")"
		out "v.$f" mcrverify -s "$SERVERS" --recheck-delay=0 -v --format="$f" "${all[@]}"
		out "a.$f" mcrverify -s "$SERVERS" --recheck-delay=0 -a --format="$f"
		[ "$RC" = 1 ] || fail "-a --format=$f: exit $RC: $(show "$D/a.$f.err")"
		for o in op v a; do clean "$D/$o.$f.err"; done
	done
	for o in op v a; do
		clean "$D/$o.text.out"
		clean "$D/$o.tsv.out" tab
		json_clean "$D/$o.json.out"
		# records 5 columns, the summary 16, with -v each server's line 8
		[ "$(awk -F'\t' '{ print NF }' "$D/$o.tsv.out" | sort -nu | tr '\n' ' ')" = "5 $([ $o = v ] && echo '8 ')16 " ] ||
			fail "$o.tsv: not 5 columns per record: $(show "$D/$o.tsv.out")"
	done
	# the problem keys, percent-encoded: each NASTY differs, each m... is missing
	for k in "${NASTY[@]}"; do
		grep -qF "$(pct "$k") differ " "$D/op.text.out" || fail "no differ record for $(pct "$k")"
		grep -qF "$(pct "m$k") missing " "$D/op.text.out" || fail "no missing record for $(pct "m$k")"
		grep -qF "$(pct "s$k") stray " "$D/a.text.out" || fail "no stray record for $(pct "s$k")"
		grep -qF "$(pct "s$k") ok " "$D/v.text.out" || fail "no ok record for $(pct "s$k")"
	done
	diff <(json_keys "$D/v.json.out" | sort -u) <(b64_sorted "${all[@]}")
	diff <(json_keys "$D/a.json.out" | sort -u) <(for k in "${NASTY[@]}"; do b64 "$k"; echo; b64 "m$k"; echo; b64 "s$k"; echo; done | sort -u)

	# -k: percent-encoded keys, a NUL among them (argv cannot carry one), and a raw escape
	for k in "${all[@]}"; do pct "$k"; echo; done >"$D/keys"
	printf '%%00nul%%1B[31m\n%%E2%%80%%AEevil\nraw\033[2Jline\n' >>"$D/keys"
	for f in text tsv json; do
		out "k.$f" mcrverify -s "$SERVERS" --recheck-delay=0 -v --format="$f" -k "$D/keys"
		[ "$RC" = 1 ] || fail "-k --format=$f: exit $RC: $(show "$D/k.$f.err")"
		clean "$D/k.$f.err"
	done
	clean "$D/k.text.out"
	clean "$D/k.tsv.out" tab
	json_clean "$D/k.json.out"
	grep -qF '%00nul%1B[31m ok ' "$D/k.text.out" || fail "$(show "$D/k.text.out")"
	grep -qF 'raw%1B[2Jline ok ' "$D/k.text.out" || fail "$(show "$D/k.text.out")"
	json_keys "$D/k.json.out" | grep -qxF "$(printf '\000nul\033[31m' | base64 -w0)" || fail "the NUL key is not given back"
	json_keys "$D/k.json.out" | grep -qxF "$(printf '\342\200\256evil' | base64 -w0)"

	# --repair and --repair -n: the outcome records too
	for f in text tsv json; do
		out "n.$f" mcrverify -s "$SERVERS" --recheck-delay=0 -r 1 --repair=majority -n --format="$f" "${all[@]}"
		out "r.$f" mcrverify -s "$SERVERS" --recheck-delay=0 -a -r 1 --repair=majority --remove-strays \
			--misplaced-limit=100 --format="$f"
		[ "$RC" = 0 ] || fail "repair --format=$f: exit $RC: $(show "$D/r.$f.out")"
		clean "$D/n.$f.err"
		clean "$D/r.$f.err"
		# put the drift back for the next format
		for k in "${NASTY[@]}"; do
			lmrepl -s "$SERVERS" -r 0 set "$k" other
			lmrepl -s "$SERVERS" -r 2 set "s$k" v
		done
	done
	clean "$D/n.text.out"
	clean "$D/r.text.out"
	clean "$D/n.tsv.out" tab
	clean "$D/r.tsv.out" tab
	json_clean "$D/n.json.out"
	json_clean "$D/r.json.out"
	grep -qF "$(pct "${NASTY[0]}") differ " "$D/r.text.out"
	grep -q ' repaired$' "$D/r.text.out"
	grep -q ' would-repair$' "$D/n.text.out"
}

# ---------------------------------------------------------------------------------------------
# mcrcopy

@test "mcrcopy -v records, warnings and --failed (text, tsv, json, and beside a dump) are escaped" {
	start_servers 4
	local SRC DST k f gone=$'gone\e[5m'
	SRC=$(srv 0),$(srv 1)
	DST=$(srv 2),$(srv 3)
	for k in "${NASTY[@]}"; do mcrset -s "$SRC" "$k" <"$D/val"; done
	for f in text tsv json; do
		out "c.$f" mcrcopy -s "$SRC" --to="$DST" --to-replicas=1 --overwrite -v --format="$f" "${NASTY[@]}" "$gone"
		[ "$RC" = 1 ] || fail "--format=$f: exit $RC: $(show "$D/c.$f.err")"
		out "a.$f" mcrcopy -s "$SRC" --to="$DST" --to-replicas=1 -a -v --format="$f"
		[ "$RC" = 0 ] || fail "-a --format=$f: exit $RC: $(show "$D/a.$f.err")"
		clean "$D/c.$f.err"
		clean "$D/a.$f.err"
	done
	clean "$D/c.text.out"
	clean "$D/a.text.out"
	clean "$D/c.tsv.out" tab
	clean "$D/a.tsv.out" tab
	json_clean "$D/c.json.out"
	json_clean "$D/a.json.out"
	for k in "${NASTY[@]}"; do
		grep -qxF "$(pct "$k") copied" "$D/c.text.out" || fail "no record for $(pct "$k"): $(show "$D/c.text.out")"
		grep -qxF "$(pct "$k") present" "$D/a.text.out" || fail "no record for $(pct "$k"): $(show "$D/a.text.out")"
	done
	grep -qF "$(pct "$gone") failed: " "$D/c.text.out"
	diff <(json_keys "$D/a.json.out" | sort -u) <(b64_sorted "${NASTY[@]}")
	json_keys "$D/c.json.out" | grep -qxF "$(b64 "$gone")"

	# a dump owns stdout: keys it cannot carry are warned about (or -v records) on stderr,
	# listed in --failed; the dump itself is data, not checked here
	out dump mcrcopy -s "$SRC" --to=- --failed="$D/failed" "${NASTY[@]}"
	[ "$RC" = 1 ] || fail "dump: exit $RC: $(show "$D/dump.err")"
	clean "$D/dump.err"
	clean "$D/failed"
	grep -qF "mcrcopy: $(pct "${NASTY[0]}"): not copied: " "$D/dump.err" || fail "$(show "$D/dump.err")"
	grep -qxF "$(pct "${NASTY[5]}")" "$D/failed"
	for f in text tsv json; do
		out "dv.$f" mcrcopy -s "$SRC" --to=- -v --format="$f" "${NASTY[@]}"
	done
	clean "$D/dv.text.err"
	clean "$D/dv.tsv.err" tab
	json_clean "$D/dv.json.err"
	grep -qF "$(pct "${NASTY[1]}") failed: " "$D/dv.text.err"
}

# ---------------------------------------------------------------------------------------------
# a server's words

@test "a server's message is shown escaped: memcached's reason for too-large" {
	start_servers 1 -I 1k -o slab_chunk_max=512
	local k=${NASTY[0]} f
	head -c 2000 /dev/zero | tr '\0' '\033' >"$D/big"
	out big mcrset -s "$SERVERS" -r 0 --file="$D/big" "$k"
	[ "$RC" = 1 ] || fail "exit $RC"
	clean "$D/big.err"
	grep -qxF "mcrset: $(pct "$k"): $(srv 0) (primary): too-large: Too large." "$D/big.err" ||
		fail "$(show "$D/big.err")"
	for f in text tsv json; do out "big.$f" mcrset -s "$SERVERS" -r 0 -v --format="$f" --file="$D/big" "$k"; done
	clean "$D/big.text.out"
	clean "$D/big.tsv.out" tab
	json_clean "$D/big.json.out"
	grep -qxF "$(pct "$k") $(srv 0) primary too-large: Too large." "$D/big.text.out"
	jq -e '.result == "too-large" and .message == "Too large."' "$D/big.json.out" >/dev/null
}

@test "a hostile server's messages and listings never reach the terminal raw, in any tool" {
	start_servers 1
	start_fake err
	local bad=$FAKE k f
	start_fake get-ok
	local ok=$FAKE
	# a key whose primary is the real server when the fake one is the second
	for k in "${NASTY[@]}"; do [ "$(copy_idx "$k" 2 0)" = 0 ] && break; done
	[ "$(copy_idx "$k" 2 0)" = 0 ] || fail "no key has its primary on the first of two servers"
	mcrset -s "$(srv 0)" -r 0 "$k" x
	for f in text tsv json; do
		out "set.$f" mcrset -s "$bad" -r 0 -v --format="$f" "$k" x
		out "del.$f" mcrdel -s "$bad" -r 0 -v --format="$f" "$k"
		out "all.$f" mcrget -s "$bad" -r 0 --all --format="$f" "$k"
		out "cp.$f" mcrcopy -s "$(srv 0)" -r 0 --to="$bad" --to-replicas=0 -v --format="$f" "$k"
	done
	out set mcrset -s "$bad" -r 0 "$k" x
	out del mcrdel -s "$bad" -r 0 "$k"
	out get mcrget -s "$bad" -r 0 -vv "$k"
	[ "$RC" = 2 ] || fail "mcrget: exit $RC"
	out cp mcrcopy -s "$(srv 0)" -r 0 --to="$bad" --to-replicas=0 "$k"
	[ "$RC" = 1 ] || fail "mcrcopy: exit $RC"
	# mcrverify: a repair that the server refuses, with its words; a listing with garbage
	for f in text tsv json; do
		out "vr.$f" mcrverify -s "$(srv 0),$ok" --recheck-delay=0 -r 1 --repair=primary --format="$f" "$k"
		out "va.$f" mcrverify -s "$bad" -r 0 -a --format="$f"
		[ "$RC" = 2 ] || fail "mcrverify -a against garbage: exit $RC"
		out "ca.$f" mcrcopy -s "$bad" -r 0 -a --to="$(srv 0)" --to-replicas=0 -v --format="$f"
	done
	for f in set del get cp vr.text vr.tsv vr.json va.text va.tsv va.json ca.text ca.tsv ca.json \
		set.text set.tsv set.json del.text del.tsv del.json all.text all.tsv all.json cp.text cp.tsv cp.json; do
		clean "$D/$f.err"
	done
	for f in set del all cp vr va ca; do
		clean "$D/$f.text.out"
		clean "$D/$f.tsv.out" tab
		[ ! -s "$D/$f.json.out" ] || json_clean "$D/$f.json.out"
	done
	# the words are there, made harmless
	grep -qF 'EVIL' "$D/set.text.out" || fail "the server's message is not shown: $(show "$D/set.text.out")"
	grep -qF 'EVIL' "$D/set.err"
	grep -qF 'EVIL' "$D/del.err"
	grep -qF 'EVIL' "$D/get.err"
	grep -qF 'EVIL' "$D/all.text.out"
	grep -qF 'EVIL' "$D/cp.err"
	grep -qF 'EVIL' "$D/vr.text.out" || fail "the refused repair does not say why: $(show "$D/vr.text.out")"
	jq -e -s 'any(.[]; .repair == "failed" and (.message | contains("EVIL")))' "$D/vr.json.out" >/dev/null
	grep -q 'cannot list keys' "$D/va.text.err" || fail "$(show "$D/va.text.err")"
}

# ---------------------------------------------------------------------------------------------
# usage errors

# Messages about bad input quote what was given, so a user sees which argument is wrong: a key
# (percent-encoded, as listed everywhere), a --servers entry and a --shard value are already
# shown escaped; the same goes for every other option's value and every file name, since a
# script may pass any of them on from elsewhere, and the message lands on a terminal.
@test "usage errors never echo a key, a file name or an option's value raw" {
	start_servers 1
	local e=$'\e]0;pwned\a\e[31m' long bad=() a tool args
	long=$(printf 'k%.0s' {1..250})$e
	printf 'good\n%%ZZ\n' >"$D/badkeys"
	# each case: TOOL ARGS..., the fields separated by \x1f (-s SERVERS is added to most)
	local cases=(
		"mcrget"$'\x1f'"$long"
		"mcrset"$'\x1f'"$long"$'\x1f'"v"
		"mcrdel"$'\x1f'"$long"
		"mcrverify"$'\x1f'"$long"
		"mcrcopy"$'\x1f'"--to=$SERVERS"$'\x1f'"$long"
		"mcrverify"$'\x1f'"-k"$'\x1f'"$D/no$e"
		"mcrverify"$'\x1f'"-k"$'\x1f'"$D/badkeys"
		"mcrverify"$'\x1f'"--shard=1$e"$'\x1f'"k"
		"mcrverify"$'\x1f'"--repair=$e"$'\x1f'"k"
		"mcrverify"$'\x1f'"--prometheus=$D/nodir$e/x"$'\x1f'"k"
		"mcrcopy"$'\x1f'"--from=$e"$'\x1f'"--to=$SERVERS"
		"mcrcopy"$'\x1f'"--rebuild=$e:1"
		"mcrcopy"$'\x1f'"--to=$SERVERS"$'\x1f'"--failed=$D/nodir$e/f"$'\x1f'"k"
		"mcrget"$'\x1f'"--servers=h$e:1"$'\x1f'"k"
		"mcrget"$'\x1f'"--config=--SERVER=$e"$'\x1f'"k"
		"mcrget"$'\x1f'"--timeout=$e"$'\x1f'"k"
		"mcrget"$'\x1f'"--replicas=$e"$'\x1f'"k"
		"mcrget"$'\x1f'"--format=$e"$'\x1f'"k"
		"mcrget"$'\x1f'"--distribution=$e"$'\x1f'"k"
		"mcrget"$'\x1f'"--hash=$e"$'\x1f'"k"
		"mcrget"$'\x1f'"--behavior=$e=1"$'\x1f'"k"
		"mcrget"$'\x1f'"--config-file=$D/no$e"$'\x1f'"k"
		"mcrget"$'\x1f'"--copy=$e"$'\x1f'"k"
		"mcrget"$'\x1f'"--server=$e:1"$'\x1f'"k"
		"mcrget"$'\x1f'"--output=$D/nodir$e/o"$'\x1f'"k"
		"mcrset"$'\x1f'"--expire=$e"$'\x1f'"k"$'\x1f'"v"
		"mcrset"$'\x1f'"--min-copies=$e"$'\x1f'"k"$'\x1f'"v"
		"mcrset"$'\x1f'"--file=$D/no$e"$'\x1f'"k"
		"mcrset"$'\x1f'"--batch"$'\x1f'"$D/no$e"
		"mcrget"$'\x1f'"--no-such-option$e"$'\x1f'"k"
	)
	for a in "${cases[@]}"; do
		IFS=$'\x1f' read -r -d '' -a args < <(printf '%s\0' "$a")
		tool=${args[0]}
		RC=0
		case "${args[*]}" in
		*--servers=* | *--config=*) ;;
		*) args+=(-s "$SERVERS") ;;
		esac
		bounded "$MCR_BIN/$tool" "${args[@]:1}" </dev/null >"$D/u.out" 2>"$D/u.err" || RC=$?
		if [ "$RC" != 2 ] || ! [ -s "$D/u.err" ] ||
			[ "$(LC_ALL=C tr -d '\040-\176\n' <"$D/u.err" | wc -c)" -ne 0 ]; then
			bad+=("$tool $(pct "${args[*]:1}") -> exit $RC, stderr: $(head -c 200 "$D/u.err" | od -An -c | tr -s ' \n' ' ')")
		fi
	done
	[ ${#bad[@]} -eq 0 ] || fail "$(printf '%s\n' "${bad[@]}")"
}
