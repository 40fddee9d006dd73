# Visage: `make run` sets everything up and starts Visage on the embedded
# defaults; `make test` runs the whole suite. Both are safe to repeat:
# every install step is cached under git-ignored folders.

GO         ?= go
MODELS_DIR ?= models
STATICCHECK_VERSION ?= v0.8.2
# Pebble, Let's Encrypt's test CA: the ACME tests issue real certificates
# from it (internal/tlsserve).
PEBBLE_VERSION ?= v2.10.3
BIN        := bin/visage
export PATH := $(CURDIR)/.cache/bin:$(PATH)

.PHONY: all build system models run test unit lint bench eval clean

all: build

# Debian packages and pinned data (TurboJPEG for the cgo build, ffmpeg,
# tesseract, chromium; apt-get only if missing): scripts/setup-system.sh.
system:
	bash scripts/setup-system.sh

build: system
	$(GO) build -o $(BIN) ./cmd/visage

models: build
	./$(BIN) models install --models-dir $(MODELS_DIR)

# Starts the server on the embedded defaults: SQLite and encrypted files
# under ./data, master key created in ./data/master.key on first start.
run: models
	@echo "Create an API key in another shell: ./$(BIN) admin integration create --name demo"
	./$(BIN) serve --models-dir $(MODELS_DIR)

test: models lint .cache/bin/pebble unit

unit:
	$(GO) test -count=1 ./...

lint: .cache/bin/staticcheck
	@out=$$(gofmt -l cmd internal); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	staticcheck ./...

.cache/bin/staticcheck:
	GOBIN=$(CURDIR)/.cache/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

.cache/bin/pebble:
	GOBIN=$(CURDIR)/.cache/bin $(GO) install github.com/letsencrypt/pebble/v2/cmd/pebble@$(PEBBLE_VERSION)

bench: models
	$(GO) test -run '^$$' -bench . -benchmem ./internal/face/ ./internal/search/ ./internal/imageio/ ./internal/video/ ./internal/document/

eval: models
	./$(BIN) eval --identities ../shared/fixtures/faces/deepface
	./$(BIN) eval ../shared/fixtures/faces/deepface/pairs.txt
	./$(BIN) eval --identities ../shared/fixtures/faces/bbt
	./$(BIN) eval --identities ../shared/fixtures/faces/glint-dev
	./$(BIN) eval --liveness ../shared/fixtures/liveness

clean:
	rm -rf bin data
