# reproof: build, test, demo, bench, fuzz, lint.
# `make demo` and `make test` work from a clean clone on Debian: they install
# what is missing (apt-get as root; otherwise they print the command to run).

SHELL := /bin/bash
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BIN := bin/reproof
FUZZTIME ?= 30s
# Debian packages the tests drive for real.
BENCH_PACKAGES := time openssl hyperfine reprotest disorderfs faketime
# docker.io, runc, containerd and docker-registry run the rebuild tests (the
# tests start their own daemons); the fixture base images are built from
# .deb files that apt-get downloads (busybox-static, tcc, libc6, ...).
TEST_PACKAGES := tar gzip xz-utils zstd bzip2 zip unzip cpio binutils git attr acl libarchive-tools libcap2-bin e2fsprogs python3 dpkg tzdata gcc patch xxd diffoscope chromium gnupg gpgv nginx \
	docker.io runc containerd docker-registry busybox-static podman buildah \
	reprotest disorderfs faketime groff-base zsh fish

.PHONY: all build deps test test-all vet demo bench fuzz lint clean release release-check man completion

all: build

build:
	$(GO) build -o $(BIN) ./cmd/reproof

deps:
	@bash scripts/deps.sh $(TEST_PACKAGES)

vet:
	$(GO) vet ./...

# Unit and end-to-end tests: the end-to-end tests (cmd/reproof/e2e_test.go)
# build the binary and run it against archives made by the real tools.
test: deps vet
	$(GO) test -race -count=1 ./...

# The same with every `reproof check` fixture and every published-image
# variant verified end to end (make test runs a subset of each).
test-all: deps vet
	REPROOF_TEST_CHECK_ALL=1 REPROOF_TEST_ALL=1 $(GO) test -race -count=1 ./...

demo: deps build
	@bash examples/demo.sh $(BIN)

bench: deps
	@bash scripts/deps.sh $(BENCH_PACKAGES)
	bash bench/normalize.sh
	bash bench/diff.sh
	bash bench/sums.sh
	bash bench/rebuild.sh
	bash bench/image.sh
	bash bench/check.sh
	$(GO) test -run='^$$' -bench=. -benchmem ./...

# Runs every fuzz target for FUZZTIME each (e.g. make fuzz FUZZTIME=10m).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list='^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz: $$pkg $$target ($(FUZZTIME))"; \
	    $(GO) test -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=10x $$pkg; \
	  done; \
	done

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: vet
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) run $(STATICCHECK) ./...
	GO=$(GO) bash scripts/errcheck.sh

# reproof's own release, built by reproof: a `reproof rebuild` of this
# repository with release.toml, in a build image pinned by digest with the
# network off (internal/dist/cmd/reproof-release). The tag must exist.
# Writes dist/: reproof-VERSION-linux-{amd64,arm64}.tar.gz, the container
# image reproof-VERSION-oci.tar, SHA256SUMS, SHA512SUMS and
# reproof-VERSION.intoto.jsonl; the build log goes to bin/release/VERSION.
# REBUILD_FLAGS go to reproof rebuild (e.g. --signing-key cosign.key).
RELEASE_TOOL := $(GO) run ./internal/dist/cmd/reproof-release

release: build
	@if [ -z "$(VERSION)" ]; then echo "usage: make release VERSION=vX.Y.Z (tag the commit first: git tag -s vX.Y.Z)"; exit 2; fi
	$(RELEASE_TOOL) release --version $(VERSION) --reproof $(BIN) --out dist -- $(REBUILD_FLAGS)

# CI: build the current commit's release, then `reproof verify` rebuilds it
# in another checkout under another path and compares: it must be
# reproducible, bit for bit (exit 0).
release-check: deps build
	$(RELEASE_TOOL) check --reproof $(BIN)

# The man page and the shell completions, from the same text as --help.
man: build
	@mkdir -p bin/man/man1
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct) $(BIN) man > bin/man/man1/reproof.1

completion: build
	@mkdir -p bin/completions
	$(BIN) completion bash > bin/completions/reproof.bash
	$(BIN) completion zsh > bin/completions/_reproof
	$(BIN) completion fish > bin/completions/reproof.fish

clean:
	rm -rf bin
