# meterd: run the server, build the binary, run every test.
GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
LDFLAGS = -s -w -X main.Version=$(VERSION) -X main.Commit=$(COMMIT)

.PHONY: run build test vet fuzz bench image dist

run:
	$(GO) run ./cmd/meterd serve

build:
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o bin/meterd ./cmd/meterd

# The container image (Containerfile): the static linux binary of this
# machine's architecture, the host's CA bundle and distribution/passwd staged in
# build/image. podman when installed (--format docker keeps HEALTHCHECK,
# which the OCI format drops), else docker.
IMAGE ?= meterd:$(VERSION)
IMAGE_BUILD_FLAGS ?=
CONTAINER_ENGINE ?= $(shell command -v podman >/dev/null 2>&1 && echo podman || echo docker)
image:
	rm -rf build/image && mkdir -p build/image/data && chmod 700 build/image/data
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o build/image/meterd ./cmd/meterd
	cp /etc/ssl/certs/ca-certificates.crt distribution/passwd distribution/group build/image/
	cp Containerfile build/image/Containerfile
	$(CONTAINER_ENGINE) build $(if $(filter podman,$(notdir $(CONTAINER_ENGINE))),--format docker) $(IMAGE_BUILD_FLAGS) \
		--build-arg VERSION=$(VERSION) --build-arg REVISION=$(COMMIT) -t $(IMAGE) -f build/image/Containerfile build/image

# Release archives: meterd for every platform (CGO_ENABLED=0, the version
# stamped), each packed with README.md and LICENSE (tar.gz, zip for
# windows), and SHA256SUMS, in $(DIST).
DIST ?= dist
PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
dist:
	@case "$(VERSION)" in v[0-9]*) ;; *) echo "make dist VERSION=v1.2.3 (got $(VERSION))"; exit 2;; esac
	rm -rf $(DIST) && mkdir -p $(DIST)
	set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; name=meterd_$(VERSION)_$${os}_$${arch}; ext=; \
		if [ $$os = windows ]; then ext=.exe; fi; \
		echo "== $$name"; mkdir -p $(DIST)/$$name; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(DIST)/$$name/meterd$$ext ./cmd/meterd; \
		cp README.md LICENSE $(DIST)/$$name/; \
		if [ $$os = windows ]; then (cd $(DIST) && python3 -m zipfile -c $$name.zip $$name); \
		else tar -C $(DIST) -czf $(DIST)/$$name.tar.gz $$name; fi; \
		rm -rf $(DIST)/$$name; \
	done
	cd $(DIST) && sha256sum meterd_* > SHA256SUMS

vet:
	$(GO) vet -tags distribution ./...
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)

# Every test: unit, store contract (SQLite and PostgreSQL), end-to-end with the AWS clients.
test: vet
	$(GO) test -count=1 -timeout 20m -tags distribution ./...

# Each fuzz target for a fixed number of executions (CI runs this too). A count, not a
# duration: a duration-bound run can fail with "context deadline exceeded" when it ends
# (a race in Go's fuzz coordinator, go.dev/issue/75804, fixed only in Go 1.27).
FUZZTIME ?= 200000x
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeBatchMeterUsage$$' -fuzztime $(FUZZTIME) ./awsjson
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeMeterUsage$$' -fuzztime $(FUZZTIME) ./awsjson
	$(GO) test -run '^$$' -fuzz '^FuzzHandler$$' -fuzztime $(FUZZTIME) ./awsjson
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeMatchesGeneric$$' -fuzztime $(FUZZTIME) ./awsjson
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeGetEntitlements$$' -fuzztime $(FUZZTIME) ./awsjson
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeGetEntitlements$$' -fuzztime $(FUZZTIME) ./rpcv2
	$(GO) test -run '^$$' -fuzz '^FuzzSQSOperations$$' -fuzztime $(FUZZTIME) ./events
	$(GO) test -run '^$$' -fuzz '^FuzzCatalogAPI$$' -fuzztime $(FUZZTIME) ./catalogapi
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeAgreement$$' -fuzztime $(FUZZTIME) ./awsjson
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeAgreement$$' -fuzztime $(FUZZTIME) ./rpcv2
	$(GO) test -run '^$$' -fuzz '^FuzzHandler$$' -fuzztime $(FUZZTIME) ./rpcv2
	$(GO) test -run '^$$' -fuzz '^FuzzParseAuthorization$$' -fuzztime $(FUZZTIME) ./sigv4
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./catalog
	$(GO) test -run '^$$' -fuzz '^FuzzCell$$' -fuzztime $(FUZZTIME) ./internal/csvsafe
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeEvents$$' -fuzztime $(FUZZTIME) ./relay/wire
	$(GO) test -run '^$$' -fuzz '^FuzzParseDuration$$' -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz '^FuzzBuyerForms$$' -fuzztime $(FUZZTIME) ./console
	$(GO) test -run '^$$' -fuzz '^FuzzConsoleForms$$' -fuzztime $(FUZZTIME) ./console

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
