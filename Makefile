# sessiond — build, test, run, install, bench.
#
#   make            build everything (-Wall -Wextra -Werror)
#   make run        build, then run sessiond in the foreground on test:///default
#   make check      build and run every test (unit, behaviour, sanitizers, model, fuzz corpus, e2e)
#   make bench      benchmarks (figures, not pass/fail)
#   make install    PREFIX=/usr/local DESTDIR= (SYSTEMDSYSTEMUNITDIR,
#                   SYSTEMDUSERUNITDIR, BASHCOMPDIR: where units and completion go)
#   make deb        Debian packages (debian/), into DEB_OUT (default ../sessiond-deb)
#
# "make run" and "make check" first make sure the Debian packages they need
# are installed (scripts/deps.sh): as root they apt-get install what is
# missing, otherwise they print the exact command and stop.

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
SBINDIR  ?= $(PREFIX)/sbin
LIBDIR   ?= $(PREFIX)/lib
INCDIR   ?= $(PREFIX)/include
MANDIR   ?= $(PREFIX)/share/man
PCDIR    ?= $(LIBDIR)/pkgconfig
LIBEXECDIR ?= $(PREFIX)/libexec/sessiond
# Where systemd and bash-completion look (their pkg-config files say; the
# fallbacks are for a box without them).  make install puts the units and
# the completion there and enables nothing.
SYSTEMDSYSTEMUNITDIR ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),$(PREFIX)/lib/systemd/system)
SYSTEMDUSERUNITDIR   ?= $(or $(shell pkg-config --variable=systemduserunitdir systemd 2>/dev/null),$(PREFIX)/lib/systemd/user)
BASHCOMPDIR          ?= $(or $(shell pkg-config --variable=completionsdir bash-completion 2>/dev/null),$(PREFIX)/share/bash-completion/completions)
# The daemon reads /etc/sessiond/sessiond.conf whatever PREFIX is.
SYSCONFDIR ?= /etc

VERSION  := 0.1.0
# The client library's ABI version: its soname is libsessiond-client.so.0
# (bump LIB_ABI when the ABI breaks) and its file libsessiond-client.so.0.X.Y,
# X.Y from VERSION.
LIB_ABI      := 0
LIB_SONAME   := libsessiond-client.so.$(LIB_ABI)
LIB_REALNAME := $(LIB_SONAME).$(word 2,$(subst ., ,$(VERSION))).$(word 3,$(subst ., ,$(VERSION)))
BUILD    ?= build
CC       ?= cc
OPT      ?= -O2 -g
SAN      ?=
SANFLAGS := $(if $(SAN),-fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all,)

PKGS     := libevent libevent_pthreads libvirt jansson uuid libxml-2.0 inih libsystemd
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))

CFLAGS_ALL = -std=c11 -D_GNU_SOURCE -DSESSIOND_VERSION='"$(VERSION)"' \
	-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-fPIC $(OPT) $(SANFLAGS) $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(SANFLAGS) -pthread $(LDFLAGS)

# One folder, one library layer (README.md, "Layout"); the daemon's core
# library holds all but main.c.
COMMON_SRC   := $(wildcard common/*.c)
SETTINGS_SRC := $(wildcard settings/*.c)
LEASE_SRC    := $(wildcard lease/*.c)
IDLE_SRC     := $(wildcard idle/*.c)
VIRT_SRC     := $(wildcard virt/*.c)
SESSION_SRC  := $(wildcard session/*.c)
METRICS_SRC  := $(wildcard metrics/*.c)
DAEMON_SRC   := $(filter-out daemon/main.c,$(wildcard daemon/*.c))
RPC_SRC      := rpc/jsonrpc.c rpc/server.c rpc/call.c rpc/methods.c rpc/plain.c
CLIENT_SRC   := rpc/client.c rpc/jsonrpc.c common/jsonplain.c common/jsontext.c common/timeutil.c \
	common/utf8.c
CTL_SRC      := $(wildcard ctl/*.c) $(SETTINGS_SRC) common/cause.c common/log.c common/xalloc.c \
	common/utf8.c

TESTSUP_SRC := $(wildcard tests/fault/*.c tests/harness/*.c)
TESTSUP_OBJ := $(TESTSUP_SRC:%.c=$(BUILD)/obj/%.o)

LIB_SRC    := $(COMMON_SRC) $(SETTINGS_SRC) $(LEASE_SRC) $(IDLE_SRC) $(VIRT_SRC) \
	$(SESSION_SRC) $(DAEMON_SRC) $(RPC_SRC) $(METRICS_SRC)
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLIENT_OBJ := $(CLIENT_SRC:%.c=$(BUILD)/obj/%.o)
CTL_OBJ    := $(CTL_SRC:%.c=$(BUILD)/obj/%.o)

UNIT_TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*.c))
TEST_TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(wildcard tests/tools/*.c))
BENCH_PROGS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))

PROGS := $(BUILD)/sessiond $(BUILD)/sessionctl
LIBS  := $(BUILD)/libsessiond-client.a $(BUILD)/libsessiond-client.so $(BUILD)/sessiond-client.pc
UNITS := $(BUILD)/systemd/sessiond.service $(BUILD)/systemd/sessiond-user.service


.PHONY: all run check check-all check-unit check-behave check-man check-asan check-tsan \
	check-model check-fuzz check-e2e check-valgrind check-stress check-deb soak bench install \
	deb clean deps-build deps-run deps-check tests fuzz install-tests install-config FORCE

all: $(PROGS) $(LIBS) $(UNITS)

# Keep object files make considers intermediate (tools, benches).
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILD)/libsessiond-core.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/sessiond: $(BUILD)/obj/daemon/main.o $(BUILD)/libsessiond-core.a
	$(CC) -o $@ $^ $(LDFLAGS_ALL) $(PKG_LIBS) -lm

$(BUILD)/libsessiond-client.a: $(CLIENT_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libsessiond-client.so: $(CLIENT_OBJ)
	$(CC) -shared -Wl,-soname,$(LIB_SONAME) -o $@ $^ $(LDFLAGS_ALL) \
		$(shell pkg-config --libs jansson) -lm

# The .pc and the services name installed paths.  Rebuilt every time
# (PREFIX may differ from the last build's); "make install" writes its own
# copies straight into DESTDIR, so two installs with different PREFIXes
# at once (the behaviour scripts) never read each other's.
SUBST_PC   = sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	     -e 's|@INCDIR@|$(INCDIR)|' -e 's|@VERSION@|$(VERSION)|'
SUBST_UNIT = sed -e 's|@SBINDIR@|$(SBINDIR)|g'
$(BUILD)/sessiond-client.pc: rpc/sessiond-client.pc.in FORCE
	@mkdir -p $(dir $@)
	$(SUBST_PC) $< > $@
$(BUILD)/systemd/%.service: contrib/systemd/%.service.in FORCE
	@mkdir -p $(dir $@)
	$(SUBST_UNIT) $< > $@

$(BUILD)/sessionctl: $(CTL_OBJ) $(BUILD)/libsessiond-client.a
	$(CC) -o $@ $^ $(LDFLAGS_ALL) $(shell pkg-config --libs jansson) -lm

# Test support (fault seam, in-process harness): test programs only.
$(BUILD)/libsessiond-testsupport.a: $(TESTSUP_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Unit tests link the core library, the client library (test_client) and
# cmocka.  The core library comes first: it holds the objects the two share.
$(BUILD)/tests/test_%: $(BUILD)/obj/tests/test_%.o $(BUILD)/libsessiond-testsupport.a $(BUILD)/libsessiond-core.a $(BUILD)/libsessiond-client.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDFLAGS_ALL) $(PKG_LIBS) $(shell pkg-config --libs cmocka) -lm

$(BUILD)/tests/tools/%: $(BUILD)/obj/tests/tools/%.o $(BUILD)/libsessiond-testsupport.a $(BUILD)/libsessiond-core.a $(BUILD)/libsessiond-client.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDFLAGS_ALL) $(PKG_LIBS) -lm

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/libsessiond-core.a $(BUILD)/libsessiond-client.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDFLAGS_ALL) $(PKG_LIBS) -lm

tests: all $(UNIT_TESTS) $(TEST_TOOLS)

# Benchmarks print figures; goals are in bench/README.md, not asserted.
bench: deps-check
	@$(MAKE) --no-print-directory OPT="-O2 -g" all $(BENCH_PROGS) $(TEST_TOOLS)
	@sh bench/run.sh "$(BUILD)"

deps-build:
	@sh scripts/deps.sh build
deps-run:
	@sh scripts/deps.sh run
deps-check:
	@sh scripts/deps.sh check

# The demo: the daemon on libvirt's embedded test driver, socket in the tree.
run: deps-run
	@$(MAKE) --no-print-directory all
	@mkdir -p run/state
	@echo "sessiond: socket $(CURDIR)/run/sessiond.sock"
	@echo "sessiond: in another terminal: export SESSIOND_SOCKET=$(CURDIR)/run/sessiond.sock; $(CURDIR)/$(BUILD)/sessionctl create demo --grace 30s"
	exec $(BUILD)/sessiond --foreground --uri test:///default \
		--socket $(CURDIR)/run/sessiond.sock --state-dir $(CURDIR)/run/state

check: deps-check
	@$(MAKE) --no-print-directory check-all

# Everything "make check" runs, in order; each target also works alone.
# Every suite's counts are recorded in $(CHECK_DIR) (tests/check-suite.sh:
# a runner prints "SUITE: N passed, N failed, N skipped"); check-all runs
# them all, even after a failure, then prints one summary of every
# suite's counts and every skip with its reason, and fails if any suite
# failed or did not run (tests/check-summary.sh).
CHECKS := check-unit check-man check-model check-behave check-stress check-asan check-tsan \
	check-valgrind check-fuzz check-e2e check-deb
SUITES := unit man model behave stress stress-hosts asan-unit asan-behave tsan-unit tsan-stress \
	tsan-stress-hosts valgrind fuzz e2e deb
CHECK_DIR := $(BUILD)/check
RUN_SUITE = sh tests/check-suite.sh $(CHECK_DIR)
# The builds inside (build, build-asan, build-tsan) use every CPU.
CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
check-all:
	@rm -rf $(CHECK_DIR)
	@CHECK_STARTED=$$(date +%s); export CHECK_STARTED; \
		for t in $(CHECKS); do $(MAKE) --no-print-directory -j$(CHECK_JOBS) $$t || \
		echo "make check: $$t failed"; done; \
		sh tests/check-summary.sh $(CHECK_DIR) $(SUITES)

check-unit: tests
	@$(RUN_SUITE) unit sh tests/run-unit.sh "$(BUILD)"

check-man:
	@$(RUN_SUITE) man sh -c 'p=0 f=0; for m in man/*.[0-9]; do \
		if mandoc -Tlint -W warning "$$m"; then p=$$((p + 1)); else f=$$((f + 1)); fi; done; \
		echo "man: $$p passed, $$f failed, 0 skipped (mandoc -Tlint -W warning)"; [ $$f = 0 ]'

check-behave: tests
	@$(RUN_SUITE) behave sh tests/behave/run.sh "$(BUILD)"

# The in-process race stress (tests/tools/race_stress.c): STRESS_OPS
# randomized operations with injected faults (100,000: about 50 s).
# Every kind of fault must have happened by the end: runs much shorter
# than 30,000 operations may fail for want of chaos.
# Then a run over three in-process hosts that are taken away and brought
# back (--host-kill).  "make soak" runs both for 1,000,000 operations.
STRESS_OPS ?= 100000
STRESS_HOST_OPS ?= 50000
check-stress: tests
	@$(RUN_SUITE) stress $(BUILD)/tests/tools/race_stress --ops $(STRESS_OPS) --checkpoint 20000
	@$(RUN_SUITE) stress-hosts $(BUILD)/tests/tools/race_stress --ops $(STRESS_HOST_OPS) \
		--checkpoint 25000 --hosts 3 --sessions 6 --host-kill

# The long runs, not part of make check: a million operations each (about
# 10 minutes together here).
soak: deps-check
	@$(MAKE) --no-print-directory check-stress STRESS_OPS=1000000 STRESS_HOST_OPS=1000000 \
		CHECK_DIR=$(BUILD)/soak

# spin over the Promela model of the disposition protocol (tests/model).
check-model:
	@$(RUN_SUITE) model sh tests/model/check.sh

# ThreadSanitizer over the unit tests and shorter stress runs.  The
# several-hosts run needs VMs found gone on a host's return, which comes
# with time (host kills are timed): 20,000 operations (11 s under TSan)
# sometimes saw none, so it runs 50,000.
TSAN_ENV = TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp"
check-tsan:
	@$(MAKE) --no-print-directory BUILD=build-tsan SAN=thread OPT="-O1 -g" tests
	@$(TSAN_ENV) SUITE=tsan-unit $(RUN_SUITE) tsan-unit sh tests/run-unit.sh build-tsan; r=$$?; \
		$(TSAN_ENV) $(RUN_SUITE) tsan-stress build-tsan/tests/tools/race_stress --ops 30000 \
		--checkpoint 10000; s=$$?; \
		$(TSAN_ENV) $(RUN_SUITE) tsan-stress-hosts build-tsan/tests/tools/race_stress --ops 50000 \
		--checkpoint 10000 --hosts 3 --sessions 6 --host-kill && [ $$r = 0 ] && [ $$s = 0 ]

# The daemon under valgrind memcheck while the behaviour scripts run.
check-valgrind: tests
	@$(RUN_SUITE) valgrind sh tests/valgrind-check.sh "$(BUILD)"

# AddressSanitizer + UBSan over the unit and behaviour tests.
check-asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=address,undefined OPT="-O1 -g" tests
	@ASAN_OPTIONS=detect_leaks=1 SUITE=asan-unit $(RUN_SUITE) asan-unit sh tests/run-unit.sh build-asan; \
		r=$$?; ASAN_OPTIONS=detect_leaks=1 SUITE=asan-behave $(RUN_SUITE) asan-behave \
		sh tests/behave/run.sh build-asan && [ $$r = 0 ]

# The libFuzzer harness (tests/fuzz): clang, fuzzer+ASan+UBSan, its own
# objects in build-fuzz.  check-fuzz replays the seed corpus (regression
# inputs included); "make fuzz FUZZ_SECONDS=600" fuzzes for that long.
FUZZ_SECONDS ?= 60
check-fuzz:
	@sh tests/fuzz/build.sh build-fuzz
	@$(RUN_SUITE) fuzz sh -c 'sh tests/fuzz/run.sh corpus build-fuzz >build-fuzz/corpus.log 2>&1; \
		rc=$$?; grep -v "^PASS" build-fuzz/corpus.log; \
		echo "fuzz: $$(grep -c "^PASS" build-fuzz/corpus.log) passed, $$(grep -c "^FAIL" build-fuzz/corpus.log) failed, 0 skipped (seed corpus)"; \
		exit $$rc'
fuzz:
	@sh scripts/deps.sh fuzz
	@sh tests/fuzz/build.sh build-fuzz
	@sh tests/fuzz/run.sh fuzz $(FUZZ_SECONDS) build-fuzz

# End-to-end on real QEMU through a system libvirtd (tests/e2e).  As root
# every scenario must run and pass (run.sh installs QEMU and the rest with
# scripts/deps.sh e2e; a skip is a failure).  Not root: a SKIP line per
# scenario, counted in the summary; only then is exit 77 accepted.  The
# system libvirtd is shared: run it as flock /tmp/sessiond-qemu.lock make check-e2e.
check-e2e: tests
	@$(RUN_SUITE) e2e sh -c 'sh tests/e2e/run.sh "$(BUILD)"; rc=$$?; \
		[ $$rc = 77 ] && [ "$$(id -u)" = 0 ] && { echo "e2e: a skip as root is a failure"; rc=1; }; \
		exit $$rc'

# The Debian packages (tests/deb): built, linted, installed, used and
# purged in clean chroots of this machine's release; needs root, else one
# SKIP line.  The chroots are cached in /var/cache/sessiond-deb.
check-deb:
	@$(RUN_SUITE) deb sh -c 'sh tests/deb/run.sh; rc=$$?; \
		[ $$rc = 77 ] && [ "$$(id -u)" = 0 ] && { echo "deb: a skip as root is a failure"; rc=1; }; \
		exit $$rc'

FORCE:

clean:
	rm -rf build build-* run

install: all install-config
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(INCDIR) $(DESTDIR)$(PCDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BUILD)/sessiond $(DESTDIR)$(SBINDIR)/sessiond
	install -m 0755 $(BUILD)/sessionctl $(DESTDIR)$(BINDIR)/sessionctl
	install -m 0644 $(BUILD)/libsessiond-client.a $(DESTDIR)$(LIBDIR)/
	install -m 0755 $(BUILD)/libsessiond-client.so $(DESTDIR)$(LIBDIR)/$(LIB_REALNAME)
	ln -sf $(LIB_REALNAME) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_REALNAME) $(DESTDIR)$(LIBDIR)/libsessiond-client.so
	install -m 0644 rpc/sessiond-client.h rpc/sessiond-protocol.h $(DESTDIR)$(INCDIR)/
	$(SUBST_PC) rpc/sessiond-client.pc.in > $(DESTDIR)$(PCDIR)/sessiond-client.pc
	chmod 0644 $(DESTDIR)$(PCDIR)/sessiond-client.pc
	install -m 0644 man/sessionctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/sessiond.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/sessiond.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/libsessiond-client.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 0644 man/sessiond-protocol.7 $(DESTDIR)$(MANDIR)/man7/
	install -d $(DESTDIR)$(SYSTEMDSYSTEMUNITDIR) $(DESTDIR)$(SYSTEMDUSERUNITDIR) \
		$(DESTDIR)$(BASHCOMPDIR)
	$(SUBST_UNIT) contrib/systemd/sessiond.service.in > $(DESTDIR)$(SYSTEMDSYSTEMUNITDIR)/sessiond.service
	$(SUBST_UNIT) contrib/systemd/sessiond-user.service.in > $(DESTDIR)$(SYSTEMDUSERUNITDIR)/sessiond.service
	chmod 0644 $(DESTDIR)$(SYSTEMDSYSTEMUNITDIR)/sessiond.service $(DESTDIR)$(SYSTEMDUSERUNITDIR)/sessiond.service
	install -m 0644 contrib/systemd/sessiond.socket $(DESTDIR)$(SYSTEMDSYSTEMUNITDIR)/
	install -m 0644 contrib/systemd/sessiond-user.socket \
		$(DESTDIR)$(SYSTEMDUSERUNITDIR)/sessiond.socket
	install -m 0644 contrib/bash-completion/sessionctl $(DESTDIR)$(BASHCOMPDIR)/sessionctl

# The default configuration: never overwrites one that is there.
install-config:
	@f='$(DESTDIR)$(SYSCONFDIR)/sessiond/sessiond.conf'; \
	if [ -e "$$f" ]; then echo "install: keeping $$f"; \
	else install -d "$${f%/*}" && install -m 0644 contrib/sessiond.conf "$$f" && echo "install contrib/sessiond.conf -> $$f"; fi

# Debian packages (debian/, README.md "Installing from Debian packages"),
# built from the tracked files in a temporary directory, into DEB_OUT.
DEB_OUT ?= $(abspath $(CURDIR)/..)/sessiond-deb
deb:
	@sh scripts/deps.sh deb
	@sh scripts/build-deb.sh "$(DEB_OUT)"

# sessiond-stress: the outside chaos tool, usable against any running daemon.
install-tests: tests
	install -d $(DESTDIR)$(LIBEXECDIR)
	install -m 0755 $(BUILD)/tests/tools/sessiond-stress $(DESTDIR)$(LIBEXECDIR)/sessiond-stress
