// loadtest/micro/alloc_loop.cpp — a fixed allocation loop for `valgrind --tool=callgrind`,
// which counts instructions: repeatable, whatever else the machine is doing.
//
//   alloc-loop <lake|raw> <count>
//
// compare runs it with count N and 0 and reports (Ir(N) - Ir(0)) / N, the instructions one
// allocation costs. Built twice: with the debug checks compiled out (release, what users run)
// and with LAKE_DEBUG=1, to show what the checks would cost.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <lake/lake.hpp>

namespace {

constexpr std::size_t kCapacity = std::size_t{64} << 20;
constexpr std::size_t kSizes[] = {16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512};

template <class T>
inline void keep(T* p) {
    asm volatile("" : : "r"(p) : "memory");
}

struct Raw {
    char* base = static_cast<char*>(std::aligned_alloc(4096, kCapacity));
    std::size_t off = 0;
    __attribute__((noinline)) void* alloc(std::size_t n) {
        const std::size_t at = (off + 7) & ~std::size_t{7};
        if (at + n > kCapacity) return nullptr;
        off = at + n;
        return base + at;
    }
    void reset() { off = 0; }
};

struct Lake {
    lake::Lake lake{kCapacity};
    __attribute__((noinline)) void* alloc(std::size_t n) { return lake.allocate(n, 8); }
    void reset() { lake.reset(); }
};

template <class A>
void loop(long count) {
    A a;
    for (long i = 0; i < count; ++i) {
        keep(a.alloc(kSizes[i % 11]));
        if (i % 10000 == 9999) a.reset();
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: alloc-loop <lake|raw> <count>\n");
        return 2;
    }
    const long count = std::atol(argv[2]);
    if (std::strcmp(argv[1], "lake") == 0)
        loop<Lake>(count);
    else
        loop<Raw>(count);
    return 0;
}
