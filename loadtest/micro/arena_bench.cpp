// loadtest/micro/arena_bench.cpp — identical workloads against every allocator.
//
// One iteration is one round, then a reset (or free of everything). items_per_second counts
// allocations, so ns per allocation = 1e9 / items_per_second. loadtest/micro/compare runs this
// with repetitions and prints the table. Built once with every arena and the glibc heap, and
// once per alternative malloc (LAKE_MICRO_HEAP names it; those binaries run the heap only).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "contenders.hpp"
#if LAKE_MICRO_ARENAS
#include "peer_arenas.hpp"
#endif

#ifndef LAKE_MICRO_HEAP
#define LAKE_MICRO_HEAP "glibc malloc"
#endif

const char* micro::Heap::name() { return LAKE_MICRO_HEAP; }

namespace {

using micro::kCapacity;

// Every contender lives on the heap, created once per process. On the stack, where its
// fields happen to sit relative to its buffer decided a 10% swing (4K aliasing between the
// bump pointer and the memset stores); one placement rule for all keeps the comparison fair.
template <class C>
C& contender() {
    static C* c = new C();
    return *c;
}

// Writes the first byte and keeps the compiler from proving the block unused.
inline void touch(void* p) {
    static_cast<char*>(p)[0] = 1;
    benchmark::DoNotOptimize(p);
    benchmark::ClobberMemory();
}

// seed: the seed crate's own benchmark, 1000 blocks of 128,000 bytes, first and last byte
// touched. No contender zeroes (the seed's lake skipped the zeroing its peers did).
template <class C>
void seed(benchmark::State& state) {
    C& c = contender<C>();
    for (auto _ : state) {
        for (int i = 0; i < 1000; ++i) {
            auto* p = static_cast<char*>(c.alloc(128000, 8));
            p[0] = 1;
            p[127999] = 1;
            benchmark::DoNotOptimize(p);
        }
        c.reset();
    }
    state.SetItemsProcessed(state.iterations() * 1000);
}

// small: 10,000 allocations cycling through 16…512 bytes, first byte written.
template <class C>
void small(benchmark::State& state) {
    static constexpr std::size_t kSizes[] = {16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512};
    C& c = contender<C>();
    for (auto _ : state) {
        for (int i = 0; i < 10000; ++i) {
            auto* p = static_cast<char*>(c.alloc(kSizes[i % 11], 8));
            p[0] = 1;
            benchmark::DoNotOptimize(p);
        }
        c.reset();
    }
    state.SetItemsProcessed(state.iterations() * 10000);
}

// request: what an HTTP request costs an allocator — 32 small pieces (header spans, strings)
// plus a 1 KiB and a 4 KiB buffer, every byte written.
template <class C>
void request(benchmark::State& state) {
    C& c = contender<C>();
    for (auto _ : state) {
        for (int i = 0; i < 32; ++i) {
            const std::size_t n = 16 + (i * 37) % 113;
            void* p = c.alloc(n, 8);
            std::memset(p, 'h', n);
            benchmark::DoNotOptimize(p);
        }
        void* in = c.alloc(1024, 16);
        std::memset(in, 'i', 1024);
        void* out = c.alloc(4096, 16);
        std::memset(out, 'o', 4096);
        benchmark::DoNotOptimize(in);
        benchmark::DoNotOptimize(out);
        c.reset();
    }
    state.SetItemsProcessed(state.iterations() * 34);
}

// nested: mark / allocate / rewind three levels deep (heaps free LIFO; arenas without nested
// rewind simply keep allocating until the round's reset).
template <class C>
void nested(benchmark::State& state) {
    C& c = contender<C>();
    for (auto _ : state) {
        for (int round = 0; round < 100; ++round) {
            c.mark();
            touch(c.alloc(64, 8));
            c.mark();
            touch(c.alloc(128, 8));
            c.mark();
            touch(c.alloc(256, 8));
            c.release_to_mark();
            c.release_to_mark();
            c.release_to_mark();
        }
        c.reset();
    }
    state.SetItemsProcessed(state.iterations() * 300);
}

// nested, with lake's sandboxes instead of marks.
[[maybe_unused]] void nested_sandbox(benchmark::State& state) {
    lake::Lake lake(kCapacity);
    for (auto _ : state) {
        for (int round = 0; round < 100; ++round) {
            auto s1 = lake.sandbox();
            touch(lake.allocate(64, 8));
            {
                auto s2 = lake.sandbox();
                touch(lake.allocate(128, 8));
                {
                    auto s3 = lake.sandbox();
                    touch(lake.allocate(256, 8));
                }
            }
        }
        lake.reset();
    }
    state.SetItemsProcessed(state.iterations() * 300);
}

// process: format a ~200-byte response head into the arena (lake: in place with process())
// versus snprintf into a std::string (the usual way without an arena).
constexpr const char* kFormat =
    "HTTP/1.1 200 OK\r\nServer: lake\r\nDate: %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: %d\r\nX-Request-Id: %08x\r\n\r\n";
constexpr const char* kDate = "Fri, 27 Nov 2026 01:30:00 GMT";

[[maybe_unused]] void process_lake(benchmark::State& state) {
    lake::Lake lake(kCapacity);
    unsigned id = 0;
    for (auto _ : state) {
        for (int i = 0; i < 100; ++i) {
            lake::DropletDyn d = lake.process([&](std::span<std::byte> free) {
                return std::snprintf(reinterpret_cast<char*>(free.data()), free.size(), kFormat,
                                     kDate, 13, ++id);
            });
            benchmark::DoNotOptimize(d.leak().data());
        }
        lake.reset();
    }
    state.SetItemsProcessed(state.iterations() * 100);
}

void process_string(benchmark::State& state) {
    unsigned id = 0;
    for (auto _ : state) {
        for (int i = 0; i < 100; ++i) {
            std::string s(256, '\0');
            const int n = std::snprintf(s.data(), s.size(), kFormat, kDate, 13, ++id);
            s.resize(static_cast<std::size_t>(n));
            benchmark::DoNotOptimize(s.data());
        }
    }
    state.SetItemsProcessed(state.iterations() * 100);
}

template <class C>
void register_all() {
    const std::string n = C::name();
    benchmark::RegisterBenchmark(("seed/" + n).c_str(), seed<C>);
    benchmark::RegisterBenchmark(("small/" + n).c_str(), small<C>);
    benchmark::RegisterBenchmark(("request/" + n).c_str(), request<C>);
    benchmark::RegisterBenchmark(("nested/" + n).c_str(), nested<C>);
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
#if LAKE_MICRO_ARENAS
    register_all<micro::RawBump>();
    register_all<micro::LakeRaw>();
    register_all<micro::LakeViewRaw>();
    register_all<micro::LakeDroplet>();
    register_all<micro::PmrMonotonic>();
    register_all<micro::FoonathanStack>();
    register_all<micro::ProtobufArena>();
    benchmark::RegisterBenchmark("nested-sandbox/lake", nested_sandbox);
    benchmark::RegisterBenchmark("process/lake", process_lake);
#endif
    register_all<micro::Heap>();
    benchmark::RegisterBenchmark(
        ("process/" + std::string(LAKE_MICRO_HEAP) + " std::string").c_str(), process_string);
    benchmark::AddCustomContext("zeroing", "none: no contender zeroes on allocate or reset");
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
