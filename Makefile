# mcr: replica-aware tools for libmemcached clusters
# SPDX-License-Identifier: ISC
.POSIX:
include config.mk

# O is the build directory: `make O=build/asan CFLAGS=...` gives a second build beside the first
O = build

TOOLS = mcrset mcrget mcrdel mcrverify mcrcopy mcrstat
LIB   = util enc opts cluster conn frame text engine listing fan keys input out prom
MAN1  = man/mcrset.1 man/mcrget.1 man/mcrdel.1 man/mcrverify.1 man/mcrcopy.1 man/mcrstat.1
MAN7  = man/mcr.7
HDR   = src/mcr.h
UNITS = mcrverify@.service mcrverify@.timer mcr-heal@.service

BINS   = $(TOOLS:%=$(O)/%)
LIBOBJ = $(LIB:%=$(O)/%.o)
TESTBIN = $(O)/lmrepl

SANFLAGS = -std=c11 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Wall -Wextra -pedantic -Wmissing-prototypes -Wshadow

all: $(BINS)

$(O)/.dir:
	mkdir -p $(O)
	touch $@

$(O)/%.o: src/%.c $(HDR) $(O)/.dir
	$(CC) $(MCR_CPPFLAGS) $(CPPFLAGS) $(MCR_CFLAGS) $(CFLAGS) $(DEPCFLAGS) -c -o $@ src/$*.c

$(O)/libmcr.a: $(LIBOBJ)
	rm -f $@
	ar rcs $@ $(LIBOBJ)

$(BINS): $(O)/libmcr.a
$(O)/mcrset: $(O)/mcrset.o
$(O)/mcrget: $(O)/mcrget.o
$(O)/mcrdel: $(O)/mcrdel.o
$(O)/mcrverify: $(O)/mcrverify.o
$(O)/mcrcopy: $(O)/mcrcopy.o
$(O)/mcrstat: $(O)/mcrstat.o
$(BINS):
	$(CC) $(CFLAGS) -o $@ $@.o $(O)/libmcr.a $(LDFLAGS) $(DEPLIBS)

# test helper: writes and reads through libmemcached's own replication, to cross-check placement
$(TESTBIN): tests/lmrepl.c $(O)/.dir
	$(CC) $(MCR_CPPFLAGS) $(CPPFLAGS) $(MCR_CFLAGS) $(CFLAGS) $(DEPCFLAGS) -o $@ tests/lmrepl.c $(LDFLAGS) $(DEPLIBS)

# Debian packages that are missing: deps to build and run the demo, deps-package to build the
# Debian package, deps-dev for everything else
deps:
	sh scripts/deps.sh build

deps-package:
	sh scripts/deps.sh build package

deps-dev:
	sh scripts/deps.sh build dev

# the whole suite: -Werror build, bats, then the same suite under ASan+UBSan
check: deps-dev
	$(MAKE) O=build/werror CFLAGS='$(CFLAGS) -Werror' all build/werror/lmrepl
	MCR_BIN=$$PWD/build/werror bats tests
	$(MAKE) O=build/asan CFLAGS='$(SANFLAGS)' LDFLAGS='-fsanitize=address,undefined' all build/asan/lmrepl
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		MCR_BIN=$$PWD/build/asan MCR_SLOW=3 bats tests
	$(MAKE) fuzz-replay

# the whole suite once with every tool under valgrind memcheck: an error or a leak makes the
# tool exit 99, which no test expects (slow: several minutes)
valgrind: deps-dev all $(TESTBIN)
	mkdir -p $(O)/valgrind
	for t in $(TOOLS); do printf '#!/bin/sh\nexec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect %s "$$@"\n' \
		"$$PWD/$(O)/$$t" >$(O)/valgrind/$$t && chmod +x $(O)/valgrind/$$t; done
	cp $(TESTBIN) $(O)/valgrind/
	MCR_BIN=$$PWD/$(O)/valgrind MCR_SLOW=10 bats tests

test: all $(TESTBIN)
	MCR_BIN=$$PWD/$(O) bats tests

demo: deps all
	sh scripts/demo.sh $(O)

# libFuzzer harnesses for every parser of the common module (clang); `make fuzz` runs each
# for FUZZ_SECONDS on a scratch copy of its corpus, `make fuzz-replay` (part of check) runs
# every corpus input once
FUZZERS = servers config keys items numbers frames replies
FUZZ_SECONDS = 60
FUZZFLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
build/fuzz/fuzz-%: fuzz/%.c $(LIB:%=src/%.c) $(HDR)
	$(MAKE) O=build/fuzz CC=clang CFLAGS='-std=c11 $(FUZZFLAGS) -fsanitize=fuzzer-no-link' build/fuzz/libmcr.a
	clang $(MCR_CPPFLAGS) $(CPPFLAGS) -std=c11 $(FUZZFLAGS) -fsanitize=fuzzer $(DEPCFLAGS) -o $@ \
		fuzz/$*.c build/fuzz/libmcr.a $(DEPLIBS)

fuzz-build:
	for f in $(FUZZERS); do $(MAKE) build/fuzz/fuzz-$$f || exit 1; done

fuzz: fuzz-build
	for f in $(FUZZERS); do mkdir -p build/fuzz/work-$$f && \
		build/fuzz/fuzz-$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		build/fuzz/work-$$f fuzz/corpus/$$f || exit 1; done

fuzz-replay: fuzz-build
	for f in $(FUZZERS); do build/fuzz/fuzz-$$f fuzz/corpus/$$f/* || exit 1; done

# a benchmark, not a test: starts its own servers, prints a table of keys/s and peak RSS
bench: deps-dev all
	sh bench/run.sh $(O); s=$$?; sh bench/heal.sh $(O) && exit $$s

# static analysis: clean means no output
lint: deps-dev
	mandoc -Tlint -W warning $(MAN1) $(MAN7)
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,performance,portability \
		--inline-suppr --library=scripts/mcr.cfg -D__GNUC__ src/
	clang-tidy --quiet src/*.c -- $(MCR_CPPFLAGS) $(CPPFLAGS) -std=c11 $(DEPCFLAGS) 2>/dev/null
	sh scripts/spdx-check.sh

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANPREFIX)/man1 $(DESTDIR)$(MANPREFIX)/man7 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(SYSTEMDUNITDIR)
	cp -f $(BINS) $(DESTDIR)$(PREFIX)/bin
	cd $(DESTDIR)$(PREFIX)/bin && chmod 755 $(TOOLS)
	cp -f $(MAN1) $(DESTDIR)$(MANPREFIX)/man1
	cp -f $(MAN7) $(DESTDIR)$(MANPREFIX)/man7
	for t in $(TOOLS); do cp -f completions/mcr.bash $(DESTDIR)$(BASHCOMPDIR)/$$t; done
	cp -f completions/_mcr $(DESTDIR)$(ZSHCOMPDIR)/_mcr
	for u in $(UNITS); do sed 's|/usr/bin/mcr|$(PREFIX)/bin/mcr|' systemd/$$u \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; done
	cd $(DESTDIR)$(MANPREFIX) && chmod 644 $(MAN1:man/%=man1/%) $(MAN7:man/%=man7/%)
	cd $(DESTDIR)$(BASHCOMPDIR) && chmod 644 $(TOOLS)
	chmod 644 $(DESTDIR)$(ZSHCOMPDIR)/_mcr
	cd $(DESTDIR)$(SYSTEMDUNITDIR) && chmod 644 $(UNITS)

uninstall:
	for t in $(TOOLS); do rm -f $(DESTDIR)$(PREFIX)/bin/$$t $(DESTDIR)$(MANPREFIX)/man1/$$t.1 \
		$(DESTDIR)$(BASHCOMPDIR)/$$t; done
	rm -f $(DESTDIR)$(MANPREFIX)/man7/mcr.7 $(DESTDIR)$(ZSHCOMPDIR)/_mcr
	for u in $(UNITS); do rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/$$u; done

# the release tarball: the files git tracks at HEAD (commit first), checked to name VERSION
# in debian/changelog and NEWS; distcheck builds and checks it on its own in a temp dir
dist:
	sh scripts/dist.sh $(VERSION)

distcheck: dist
	sh scripts/dist.sh -c $(VERSION)

# the Debian package mcr_VERSION_ARCH.deb, built from a copy of the tree in build/deb (where the
# .changes and .buildinfo stay) and checked with lintian; deb-check installs it, runs the suite
# against it and removes it (as root)
deb: deps-package
	sh scripts/deb.sh $(VERSION)

deb-check: deps-dev
	sh scripts/deb.sh $(VERSION) check

clean:
	rm -rf build mcr-*.tar.gz mcr_*.deb

.PHONY: all deps deps-dev deps-package check test valgrind demo bench fuzz fuzz-build fuzz-replay lint install uninstall dist distcheck deb deb-check clean
