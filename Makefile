# vx86 set-up and entry points for a fresh Debian 12 machine:
#   make run   - install what is missing, build, run the bundled demo guest
#   make test  - install what is missing, build, run every test (ctest)
APT_PACKAGES := cmake ninja-build g++ clang libclang-rt-14-dev python3 binutils \
                libzydis-dev libgtest-dev libbenchmark-dev libcli11-dev libfmt-dev \
                nasm qemu-system-x86 bochs bochsbios vgabios
BUILD ?= build
SAN_BUILD ?= build-sanitize
JOBS ?= $(shell nproc)
DEMO_ARGS := -machine q35 -cpu qemu64 -m 128 -display none -serial stdio \
             -device isa-debug-exit,iobase=0xf4,iosize=0x4 -no-reboot -accel tcg

.PHONY: all deps build run test test-sanitize fuzz bench clean

all: build

deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "vx86: installing missing packages:" $$missing; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing </dev/null; \
	fi

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

# The demo ends by writing 0x10 to isa-debug-exit, which QEMU and vx86 turn into status 33.
run: build
	./$(BUILD)/vx86 $(DEMO_ARGS) -kernel $(BUILD)/guests/demo/hello.elf; st=$$?; \
	if [ $$st -ne 33 ]; then echo "vx86: demo guest exited with status $$st (expected 33)"; exit 1; fi

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

# Every test but the QEMU oracle and the slow ones (label slow) again under AddressSanitizer and UndefinedBehaviorSanitizer.
test-sanitize: deps
	cmake -S . -B $(SAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVX86_SANITIZE=ON
	cmake --build $(SAN_BUILD) -j $(JOBS)
	cd $(SAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 900 -LE 'qemu-oracle|slow'

# libFuzzer targets (clang), each run for FUZZ_SECONDS.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DVX86_FUZZ=ON -DVX86_FUZZ_SECONDS=$(FUZZ_SECONDS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	cd $(FUZZ_BUILD) && ctest --output-on-failure -L fuzz

bench: build
	bash bench/compare.sh --vx86 $(BUILD)/vx86
	bash bench/smi_compare.sh --vx86 $(BUILD)/vx86
	bash bench/svm_compare.sh --vx86 $(BUILD)/vx86

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD)
