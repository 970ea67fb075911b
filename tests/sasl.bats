#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# SASL end to end: a real memcached started with -S and a sasldb made by saslpasswd2.
load helper

setup() {
	command -v saslpasswd2 >/dev/null || skip "saslpasswd2 (sasl2-bin) is not installed"
	local d=$BATS_TEST_TMPDIR
	echo 'secret-pw' | saslpasswd2 -a memcached -c -p -f "$d/sasldb" alice
	printf 'mech_list: plain\nsasldb_path: %s\n' "$d/sasldb" >"$d/memcached.conf"
	export SASL_CONF_PATH=$d
	start_servers 2 -S
	unset SASL_CONF_PATH
	printf 'secret-pw\n' >"$d/pw"
}

@test "every tool works with the right credentials, password from the environment or a file" {
	MEMCACHED_PASSWORD=secret-pw run -0 mcrset -s "$SERVERS" -u alice -v k1 hello
	assert_line --partial "primary stored"
	assert_line --partial "replica1 stored"
	run -0 mcrget -s "$SERVERS" -u alice --password-file="$BATS_TEST_TMPDIR/pw" k1
	assert_output hello
	MEMCACHED_PASSWORD=secret-pw run -0 mcrget -s "$SERVERS" -u alice --all k1
	# no ASCII protocol under SASL: the TTL column is unknown, not an error
	assert_line --index 0 --regexp " primary found 0 5 [0-9]+ - -$"
	MEMCACHED_PASSWORD=secret-pw run -0 mcrverify -s "$SERVERS" -u alice k1
	MEMCACHED_PASSWORD=secret-pw run -0 mcrdel -s "$SERVERS" -u alice k1
	MEMCACHED_PASSWORD=secret-pw run -1 mcrget -s "$SERVERS" -u alice k1
}

@test "a wrong password: 'authentication failed', never a miss, exit 2 for reads, 1 for writes" {
	MEMCACHED_PASSWORD=wrong run -2 --separate-stderr mcrget -s "$SERVERS" -u alice k1
	[[ $stderr == *"authentication failed"* ]]
	[[ $stderr != *"not found"* ]]
	MEMCACHED_PASSWORD=wrong run -1 --separate-stderr mcrset -s "$SERVERS" -u alice k1 v
	[[ $stderr == *"authentication failed"* ]]
}

@test "no credentials against a SASL server: says authentication is required" {
	run -2 --separate-stderr mcrget -s "$SERVERS" k1
	[[ $stderr == *"authentication required"* ]]
}

@test "credentials against a server without SASL: says the server does not use SASL" {
	stop_servers
	start_servers 1
	MEMCACHED_PASSWORD=secret-pw run -2 --separate-stderr mcrget -s "$SERVERS" -u alice k1
	[[ $stderr == *"does not use SASL"* ]]
}

@test "the password is never in argv, in any output or in -vv traces" {
	MEMCACHED_PASSWORD=secret-pw run -0 mcrset -s "$SERVERS" -u alice -vv --format=json k1 v
	[[ $output != *secret-pw* ]]
	MEMCACHED_PASSWORD=wrong-pw-xyz run mcrget -s "$SERVERS" -u alice -vv --all k1
	[[ $output != *wrong-pw-xyz* ]]
	run -2 mcrget -s "$SERVERS" -u alice --password=secret-pw k1
	[[ $output != *secret-pw* ]]
}

@test "-u without a password: exit 2, nothing sent" {
	run -2 --separate-stderr mcrget -s "$SERVERS" -u alice k1
	[[ $stderr == *"MEMCACHED_PASSWORD"* ]]
}
