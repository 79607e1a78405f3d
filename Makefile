# SPDX-License-Identifier: Apache-2.0
# msb build. `make` builds everything into build/; `make check` installs deps, builds and runs every test.

CC       ?= gcc
BUILD    ?= build
PREFIX   ?= /usr/local
PKGS     := sqlite3 jansson libcurl libssl libcrypto libarchive
SECCOMP_LIBS := $(shell pkg-config --libs libseccomp 2>/dev/null)
WARN     := $(if $(findstring clang,$(CC)),-Wno-unknown-warning-option) -Wall -Wextra -Wshadow -Wformat=2 -Wundef -Wpointer-arith -Wcast-align -Wwrite-strings \
            -Wmissing-prototypes -Wstrict-prototypes -Wvla -Wno-unused-parameter -Wno-format-truncation \
            -Werror=implicit-function-declaration -Werror=return-type -Werror=incompatible-pointer-types \
            -Werror=format-security -Werror=int-conversion -Werror
OPT      ?= -O2 -g
SAN      ?=
CFLAGS   := $(OPT) $(SAN) -std=gnu11 -fPIC -D_GNU_SOURCE -fvisibility=hidden -Iinclude -Isrc/lib -I$(BUILD)/gen $(WARN) $(EXTRA_CFLAGS)
LDFLAGS  := $(SAN) $(EXTRA_LDFLAGS)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# the msb binary is static (Debian's -dev packages ship the archives): every command, and every
# supervisor, is a short-lived exec, and the dynamic loader was a measurable share of start-up.
# msb uses no NSS (it reads /etc/passwd itself), so static glibc loses nothing.
MSB_LIBS ?= -static -lsqlite3 -ljansson -lm -lpthread

LIB_SRC  := $(sort $(wildcard src/lib/*.c src/lib/ns/*.c src/lib/net/*.c src/lib/image/*.c src/supervisor/*.c))
# msb is static; image pull/load/save (libcurl, libarchive) live in msb-image, the same CLI
# linked dynamically, which msb execs for those commands (src/cli/image_io_exec.c)
CLI_ALL  := $(sort $(wildcard src/cli/*.c))
CLI_SRC  := $(filter-out src/cli/cmd_image_io.c,$(CLI_ALL))
CLI_IMG_SRC := $(filter-out src/cli/image_io_exec.c,$(CLI_ALL))
AGENT_SRC:= $(sort $(wildcard src/agent/*.c))
# agentd links only the pure, libc-only pieces it shares with the host side
AGENT_SHARED := src/lib/proto.c src/lib/util.c
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
CLI_IMG_OBJ := $(CLI_IMG_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

all: $(BUILD)/msb $(BUILD)/msb-image $(BUILD)/agentd $(BUILD)/libmsb.a $(BUILD)/libmsb.so

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

# the default seccomp filter, compiled to BPF once at build time (tools/gen_seccomp.c)
$(BUILD)/gen/seccomp_bpf.h: tools/gen_seccomp.c tools/seccomp_rules.c tools/seccomp_rules.h src/lib/util.h
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	@$(CC) -std=gnu11 -D_GNU_SOURCE -O1 -Iinclude -Isrc/lib -Itools $(WARN) -o $(BUILD)/gen/gen_seccomp tools/gen_seccomp.c tools/seccomp_rules.c $(SECCOMP_LIBS)
	@$(BUILD)/gen/gen_seccomp > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/src/lib/ns/seccomp.o: $(BUILD)/gen/seccomp_bpf.h

$(BUILD)/libmsb.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libmsb.so: $(LIB_OBJ) src/lib/libmsb.map
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -shared -Wl,--version-script=src/lib/libmsb.map -o $@ $(LIB_OBJ) $(PKG_LIBS) $(LDFLAGS)

$(BUILD)/msb: $(CLI_OBJ) $(BUILD)/libmsb.a
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libmsb.a $(MSB_LIBS) $(LDFLAGS) >$@.log 2>&1; s=$$?; \
		grep -v -e "statically linked applications requires" -e "in function .unixDlOpen" $@.log; \
		rm -f $@.log; exit $$s

$(BUILD)/msb-image: $(CLI_IMG_OBJ) $(BUILD)/libmsb.a
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $(CLI_IMG_OBJ) $(BUILD)/libmsb.a $(PKG_LIBS) $(LDFLAGS)

# agentd: static, no dependency beyond libc, never sanitized (it is PID 1 in the sandbox)
AGENT_CFLAGS := -std=gnu11 -O2 -g -D_GNU_SOURCE -Iinclude -Isrc/lib $(WARN)
$(BUILD)/agentd: $(AGENT_SRC) $(AGENT_SHARED) $(wildcard src/lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(AGENT_CFLAGS) -static -o $@ $(AGENT_SRC) $(AGENT_SHARED)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libmsb.a tests/unit/tap.h
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libmsb.a $(PKG_LIBS) $(LDFLAGS)

# the registry client against a real docker-registry on 127.0.0.1 (tests/registry/test_client.sh)
$(BUILD)/tests/regget: tests/registry/regget.c $(BUILD)/libmsb.a
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(BUILD)/libmsb.a $(PKG_LIBS) $(LDFLAGS)

registry-test: $(BUILD)/tests/regget
	@tests/registry/test_client.sh $(BUILD)/tests/regget

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "# $$t"; $$t; done

deps:
	@scripts/deps.sh

# ASan + UBSan build of the library, CLI and unit tests (agentd stays static and uninstrumented)
asan:
	$(MAKE) BUILD=build-asan CC=clang OPT="-O1 -g -fno-omit-frame-pointer" SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" MSB_LIBS="$(PKG_LIBS)" unit

fuzz:
	@scripts/fuzz.sh build

integration: all
	@scripts/integration.sh

check: deps
	$(MAKE) all
	@scripts/check-exports.sh $(BUILD)/libmsb.so
	$(MAKE) unit
	$(MAKE) asan
	$(MAKE) registry-test
	@if [ -x scripts/fuzz.sh ]; then scripts/fuzz.sh smoke; fi
	@scripts/integration.sh

quickstart: deps
	$(MAKE) all
	@scripts/quickstart.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/msb $(DESTDIR)$(PREFIX)/include
	install -m 0755 $(BUILD)/msb $(DESTDIR)$(PREFIX)/bin/msb
	install -m 0755 $(BUILD)/agentd $(BUILD)/msb-image $(DESTDIR)$(PREFIX)/lib/msb/
	install -m 0644 $(BUILD)/libmsb.a $(BUILD)/libmsb.so $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 include/msb.h $(DESTDIR)$(PREFIX)/include/msb.h

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(AGENT_SRC) include/*.h src/lib/*.h

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all unit registry-test deps asan fuzz integration check quickstart install format clean
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(CLI_IMG_OBJ:.o=.d)
