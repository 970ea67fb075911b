# mcr version and install paths
# SPDX-License-Identifier: ISC
# VERSION is the one place the version is written: the tools get it through -DVERSION;
# debian/changelog and NEWS must name it too (make dist checks).
VERSION = 0.1.0

PREFIX    = /usr/local
MANPREFIX = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  = $(PREFIX)/share/zsh/site-functions
SYSTEMDUNITDIR = $(PREFIX)/lib/systemd/system

PKG_CONFIG = pkg-config
CC      = cc
# what the code needs, kept apart from CPPFLAGS, CFLAGS and LDFLAGS so that a builder's own
# flags (a packager's dpkg-buildflags, a sanitizer build) replace those and keep these
MCR_CPPFLAGS = -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DVERSION=\"$(VERSION)\"
MCR_CFLAGS   = -std=c11 -Wall -Wextra -pedantic -Wmissing-prototypes -Wshadow
CPPFLAGS =
CFLAGS   = -O2 -g
LDFLAGS  =
DEPCFLAGS = `$(PKG_CONFIG) --cflags libmemcached jansson`
DEPLIBS   = `$(PKG_CONFIG) --libs libmemcached jansson` -lhashkit
