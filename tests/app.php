<?php
/* SPDX-License-Identifier: ISC */
/* A real application client for the tests: PHP's memcached extension (libmemcached), set up
 * as an application using libmemcached's replication would be.
 *
 * usage: php app.php SERVERS [--replicas N] [--ketama] [--namespace PREFIX] CMD ARGS...
 *
 *   load PREFIX N [TTL]   store PREFIX0 .. PREFIX<N-1>, each value "v-" + its key
 *   read PREFIX N         print the keys of PREFIX0 .. PREFIX<N-1> that read back "v-" + key
 *   get KEY               print the value (exit 1 when not found)
 *   set KEY VALUE [TTL]   store
 *   delete KEY            delete (exit 1 when not found)
 *   touch KEY TTL         a new time to live (libmemcached sends it to the primary alone)
 *
 * Exit status: 0 done, 1 not found, 2 trouble.
 */
$args = array_slice($argv, 1);
if (count($args) < 2) {
	fwrite(STDERR, "usage: php app.php SERVERS [options] CMD ARGS...\n");
	exit(2);
}
$servers = array_shift($args);
$m = new Memcached();
$m->setOption(Memcached::OPT_BINARY_PROTOCOL, true);
$replicas = 0;
while ($args && substr($args[0], 0, 2) === '--') {
	$opt = array_shift($args);
	if ($opt === '--replicas') {
		$replicas = (int)array_shift($args);
	} elseif ($opt === '--ketama') {
		$m->setOption(Memcached::OPT_LIBKETAMA_COMPATIBLE, true);
	} elseif ($opt === '--namespace') {
		$m->setOption(Memcached::OPT_PREFIX_KEY, array_shift($args));
	} else {
		fwrite(STDERR, "app.php: unknown option $opt\n");
		exit(2);
	}
}
$m->setOption(Memcached::OPT_NUMBER_OF_REPLICAS, $replicas);
foreach (explode(',', $servers) as $s) {
	$i = strrpos($s, ':');
	$m->addServer(substr($s, 0, $i), (int)substr($s, $i + 1));
}
$cmd = array_shift($args);
switch ($cmd) {
case 'load':
	$ttl = isset($args[2]) ? (int)$args[2] : 0;
	for ($i = 0; $i < (int)$args[1]; $i++) {
		$k = $args[0] . $i;
		if (!$m->set($k, "v-$k", $ttl)) {
			fwrite(STDERR, "app.php: set $k: " . $m->getResultMessage() . "\n");
			exit(2);
		}
	}
	break;
case 'read':
	for ($i = 0; $i < (int)$args[1]; $i++) {
		$k = $args[0] . $i;
		if ($m->get($k) === "v-$k")
			echo "$k\n";
	}
	break;
case 'get':
	$v = $m->get($args[0]);
	if ($v === false)
		exit(1);
	echo $v;
	break;
case 'set':
	exit($m->set($args[0], $args[1], isset($args[2]) ? (int)$args[2] : 0) ? 0 : 1);
case 'delete':
	exit($m->delete($args[0]) ? 0 : 1);
case 'touch':
	exit($m->touch($args[0], (int)$args[1]) ? 0 : 1);
default:
	fwrite(STDERR, "app.php: unknown command $cmd\n");
	exit(2);
}
$m->quit();
exit(0);
