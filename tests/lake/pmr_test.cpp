// Standard containers living in the arena through std::pmr and lake::Allocator.
#include <gtest/gtest.h>

#include <lake/lake.hpp>
#include <memory_resource>
#include <string>
#include <vector>

namespace {

TEST(Pmr, VectorAndStringLiveInTheArena) {
    lake::Lake lake(1 << 16);
    lake::MemoryResource resource(lake);
    std::pmr::vector<int> v(&resource);
    for (int i = 0; i < 1000; ++i) v.push_back(i);
    EXPECT_TRUE(lake.owns(v.data()));
    std::pmr::string s("a string long enough to leave the small-string buffer", &resource);
    EXPECT_TRUE(lake.owns(s.data()));
    EXPECT_EQ(v[999], 999);
}

TEST(Pmr, FullArenaThrowsBadAllocAsTheStandardRequires) {
    lake::Lake lake(256);
    lake::MemoryResource resource(lake);
    std::pmr::vector<char> v(&resource);
    EXPECT_THROW(v.resize(1024), std::bad_alloc);
    EXPECT_EQ(lake.stats().overflows, 1u);
}

TEST(Pmr, DeallocatingTheLastBlockGivesItBack) {
    lake::Lake lake(4096);
    lake::MemoryResource resource(lake);
    {
        std::pmr::vector<int> v(100, 0, &resource);
        EXPECT_EQ(lake.used(), 400u);
    }
    EXPECT_EQ(lake.used(), 0u);
}

TEST(Pmr, ResourcesAreEqualOnlyOverTheSameArena) {
    lake::Lake one(4096);
    lake::Lake two(4096);
    lake::MemoryResource a(one);
    lake::MemoryResource a2(one);
    lake::MemoryResource b(two);
    EXPECT_TRUE(a.is_equal(a2));
    EXPECT_FALSE(a.is_equal(b));
    EXPECT_FALSE(a.is_equal(*std::pmr::new_delete_resource()));
}

TEST(Pmr, WorksOverAView) {
    lake::Lake lake(1 << 16);
    lake::LakeView view = lake.split(8192);
    lake::MemoryResource resource(view);
    std::pmr::vector<double> v(&resource);
    v.assign(100, 1.0);
    EXPECT_TRUE(view.owns(v.data()));
}

TEST(Allocator, StdVectorWithALakeAllocator) {
    lake::Lake lake(1 << 16);
    std::vector<long, lake::Allocator<long>> v{lake::Allocator<long>(lake)};
    for (long i = 0; i < 500; ++i) v.push_back(i);
    EXPECT_TRUE(lake.owns(v.data()));
    EXPECT_EQ(v.back(), 499);
    lake::Allocator<char> other(v.get_allocator());
    EXPECT_TRUE(other == v.get_allocator());
}

TEST(Allocator, FullArenaThrowsBadAlloc) {
    lake::Lake lake(64);
    std::vector<long, lake::Allocator<long>> v{lake::Allocator<long>(lake)};
    EXPECT_THROW(v.reserve(100), std::bad_alloc);
}

}  // namespace
