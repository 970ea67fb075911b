# mcr version and install paths
VERSION = 0.1.0

PREFIX    = /usr/local
MANPREFIX = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  = $(PREFIX)/share/zsh/site-functions

PKG_CONFIG = pkg-config
CC      = cc
CFLAGS  = -std=c11 -O2 -g -Wall -Wextra -pedantic -Wmissing-prototypes -Wshadow
CPPFLAGS = -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DVERSION=\"$(VERSION)\"
DEPCFLAGS = `$(PKG_CONFIG) --cflags libmemcached jansson`
DEPLIBS   = `$(PKG_CONFIG) --libs libmemcached jansson` -lhashkit
