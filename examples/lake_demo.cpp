// A short tour of the lake library; `meson compile -C build && ./build/examples/lake-demo`.
#include <cstdio>
#include <cstring>
#include <lake/lake.hpp>
#include <memory_resource>
#include <vector>

int main() {
    lake::Lake lake(1 << 20);

    auto greeting = lake.process([](std::span<std::byte> free) {
        return std::snprintf(reinterpret_cast<char*>(free.data()), free.size(), "hello from %s",
                             "the lake");
    });
    std::printf("%.*s (%zu bytes used)\n", static_cast<int>(greeting.size()),
                greeting.as_chars().data(), lake.used());

    if (!lake.mark()) return 1;
    auto scratch = lake.alloc_dyn(4096);
    std::memset(scratch.data(), 0xAB, scratch.size());
    lake.reset_to_mark();
    std::printf("scratch valid after reset_to_mark: %s\n", scratch.is_valid() ? "yes" : "no");

    lake::LakeView view = lake.split(64 * 1024);
    lake::MemoryResource resource(view);
    std::pmr::vector<int> numbers(&resource);
    for (int i = 0; i < 100; ++i) numbers.push_back(i * i);
    std::printf("a pmr vector of %zu ints lives in a view: %zu of %zu bytes used\n", numbers.size(),
                view.used(), view.capacity());

    const auto s = lake.stats();
    std::printf("lake: used %zu, high water %zu, %llu allocations, %llu overflows\n", s.used,
                s.high_water, static_cast<unsigned long long>(s.allocations),
                static_cast<unsigned long long>(s.overflows));
    return 0;
}
