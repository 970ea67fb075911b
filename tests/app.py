#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""A real application client for the tests: pylibmc (Python's libmemcached binding), set up
as an application using libmemcached's replication would be.

usage: app.py SERVERS [--replicas N] [--distribution modula|consistent] [--ketama] CMD ARGS...

  load PREFIX N [TTL]     store PREFIX0 .. PREFIX<N-1>, each value "v-" + its key
  read PREFIX N           print the keys of PREFIX0 .. PREFIX<N-1> that read back "v-" + key
  loadbig PREFIX N BYTES  store PREFIX0 .. PREFIX<N-1>, each value BYTES long, made of its key
  readbig PREFIX N BYTES  print the keys of PREFIX0 .. PREFIX<N-1> that read back whole
  get KEY                 print the value (exit 1 when not found)
  set KEY VALUE [TTL]     store
  delete KEY              delete (exit 1 when not found)
  touch KEY TTL           a new time to live (libmemcached sends it to the primary alone)
  churn PREFIX N SECONDS  for SECONDS, set or delete keys of PREFIX0 .. PREFIX<N-1> at
                          random; then print each key's last state: KEY<TAB>VALUE or
                          KEY<TAB>- (deleted)

Exit status: 0 done, 1 not found, 2 trouble.
"""
import random
import sys
import time

import pylibmc


def client(servers, replicas, distribution, ketama):
    behaviors = {"num_replicas": replicas}
    if distribution:
        behaviors["distribution"] = distribution
    if ketama:
        behaviors["ketama"] = True
    return pylibmc.Client(servers.split(","), binary=True, behaviors=behaviors)


def main(argv):
    args = argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    servers = args.pop(0)
    replicas, distribution, ketama = 0, None, False
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--replicas":
            replicas = int(args.pop(0))
        elif opt == "--distribution":
            distribution = args.pop(0)
        elif opt == "--ketama":
            ketama = True
        else:
            print("app.py: unknown option " + opt, file=sys.stderr)
            return 2
    mc = client(servers, replicas, distribution, ketama)
    cmd = args.pop(0)
    if cmd == "load":
        prefix, n = args[0], int(args[1])
        ttl = int(args[2]) if len(args) > 2 else 0
        for i in range(n):
            k = prefix + str(i)
            mc.set(k, "v-" + k, time=ttl)
        mc.disconnect_all()  # libmemcached's buffered replica writes go out now
        return 0
    if cmd == "read":
        prefix, n = args[0], int(args[1])
        for i in range(n):
            k = prefix + str(i)
            if mc.get(k) == "v-" + k:
                print(prefix + str(i))
        return 0
    if cmd in ("loadbig", "readbig"):
        prefix, n, size = args[0], int(args[1]), int(args[2])
        for i in range(n):
            k = prefix + str(i)
            v = ((k + ":") * (size // (len(k) + 1) + 1))[:size]
            if cmd == "loadbig":
                mc.set(k, v)
            elif mc.get(k) == v:
                print(k)
        mc.disconnect_all()
        return 0
    if cmd == "get":
        v = mc.get(args[0])
        if v is None:
            return 1
        sys.stdout.write(v if isinstance(v, str) else v.decode())
        return 0
    if cmd == "set":
        ttl = int(args[2]) if len(args) > 2 else 0
        ok = mc.set(args[0], args[1], time=ttl)
        mc.disconnect_all()
        return 0 if ok else 1
    if cmd == "delete":
        ok = mc.delete(args[0])
        mc.disconnect_all()
        return 0 if ok else 1
    if cmd == "touch":
        ok = mc.touch(args[0], int(args[1]))
        mc.disconnect_all()
        return 0 if ok else 1
    if cmd == "churn":
        prefix, n, seconds = args[0], int(args[1]), float(args[2])
        last = {}
        end = time.monotonic() + seconds
        rnd = random.Random(1)
        j = 0
        while time.monotonic() < end:
            j += 1
            k = prefix + str(rnd.randrange(n))
            if rnd.random() < 0.3:
                mc.delete(k)
                last[k] = None
            else:
                v = "%s-%d" % (k, j)
                mc.set(k, v)
                last[k] = v
        mc.disconnect_all()
        for k in sorted(last):
            print("%s\t%s" % (k, last[k] if last[k] is not None else "-"))
        return 0
    print("app.py: unknown command " + cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
