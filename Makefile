# make build: the dnslb binary of this machine; make test: the README's test
# command; make dist: release archives, .deb and .rpm packages and
# SHA256SUMS for linux/amd64 and linux/arm64 in dist/ (see tools/dist).
GO ?= go
ARCH ?= amd64,arm64

.PHONY: build test dist clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o dnslb ./cmd/dnslb

test:
	$(GO) test -race ./...

dist:
	rm -rf dist
	$(GO) run ./tools/dist -out dist -arch $(ARCH)

clean:
	rm -rf dist dnslb
