# Entry points for people and CI. CMake does the building; this file does set-up and ordering.
#   make run    install missing packages (as root), build, serve on 127.0.0.1:2024
#   make test   install missing packages, build, check generated files, run every test
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
SANITIZE ?=
CMAKE_FLAGS := -DLGSERVE_SANITIZE=$(SANITIZE)
ifeq ($(CI),true)
CMAKE_FLAGS += -DLGSERVE_WERROR=ON
endif

.PHONY: all deps deps-test build run test regen check-generated sdk-deps bench clean

all: build

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/lgserve $(ARGS)

sdk-deps:
	@cd tests/conformance/sdk && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; }

test: deps-test build sdk-deps
	@scripts/check-generated.sh
	@cd $(BUILD) && ctest --output-on-failure --timeout 600 -j $(JOBS)

regen:
	@scripts/regen.sh

digest:
	@if [ -e ../shared/reference/langgraph-openapi.json ]; then lua5.4 codegen/digest.lua ../shared/reference/langgraph-openapi.json spec/reference/agent-server-0.12.0.yaml 0.12.0; else echo "digest: ../shared/reference/langgraph-openapi.json not found, digest left as committed"; fi

check-generated:
	@scripts/check-generated.sh

bench:
	@scripts/deps.sh bench
	@bench/run.sh

clean:
	rm -rf $(BUILD)
