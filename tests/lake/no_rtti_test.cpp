// The library builds and works with -fno-rtti (games, embedded and servers often turn it off):
// compiled with that flag by tests/meson.build. A plain program, so nothing else needs RTTI.
#include <cstdio>
#include <memory_resource>
#include <vector>

#include <lake/lake.hpp>

#if defined(__GXX_RTTI) || defined(__cpp_rtti)
#error "this test must be compiled with -fno-rtti"
#endif

int main() {
    lake::Lake lake(1 << 16);
    lake::MemoryResource resource(lake);
    std::pmr::vector<int> v(&resource);
    for (int i = 0; i < 100; ++i) v.push_back(i);
    lake::MemoryResource same(lake);
    const bool ok = v.size() == 100 && v[99] == 99 && resource.is_equal(resource) &&
                    !resource.is_equal(*std::pmr::new_delete_resource()) && lake.used() > 0;
    (void)same;
    std::puts(ok ? "no-rtti: ok" : "no-rtti: FAILED");
    return ok ? 0 : 1;
}
