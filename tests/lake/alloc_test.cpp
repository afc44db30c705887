// Allocation at its edges: exact fit, one byte past, alignment, typed placement, process().
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <lake/lake.hpp>

namespace {

bool aligned(const void* p, std::size_t a) { return reinterpret_cast<std::uintptr_t>(p) % a == 0; }

TEST(Lake, BufferIsPageAligned) {
    lake::Lake lake(100);
    auto d = lake.alloc<1>();
    ASSERT_TRUE(d);
    EXPECT_TRUE(aligned(d.data(), 4096));
    EXPECT_EQ(lake.capacity(), 100u);
}

TEST(Alloc, ExactlyFullSucceedsAndOneBytePastFails) {
    lake::Lake lake(1024);
    auto a = lake.alloc_dyn(1000);
    auto b = lake.alloc<24>();
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    EXPECT_EQ(lake.remaining(), 0u);
    auto c = lake.alloc<1>();
    EXPECT_FALSE(c);
    EXPECT_EQ(c.data(), nullptr);
    EXPECT_EQ(lake.stats().overflows, 1u);
    EXPECT_EQ(lake.used(), 1024u);  // a failed allocation moves nothing
}

TEST(Alloc, OneBytePastInASingleRequestFails) {
    lake::Lake lake(1024);
    EXPECT_FALSE(lake.alloc_dyn(1025));
    EXPECT_TRUE(lake.alloc_dyn(1024));
}

TEST(Alloc, HugeSizeDoesNotWrapAround) {
    lake::Lake lake(1024);
    auto first = lake.alloc<3>();
    EXPECT_FALSE(lake.alloc_dyn(SIZE_MAX));
    EXPECT_FALSE(lake.alloc_dyn(SIZE_MAX - 2, 8));
    EXPECT_FALSE(lake.alloc_slice<std::uint64_t>(SIZE_MAX / 4));
    EXPECT_EQ(lake.used(), 3u);
    EXPECT_EQ(lake.stats().overflows, 3u);
}

TEST(Alloc, EveryPowerOfTwoAlignmentUpTo4096) {
    lake::Lake lake(1 << 20);
    for (std::size_t a = 1; a <= 4096; a *= 2) {
        auto pad = lake.alloc<1>();  // knock the offset off alignment
        auto d = lake.alloc_dyn(3, a);
        ASSERT_TRUE(d) << a;
        EXPECT_TRUE(aligned(d.data(), a)) << a;
        pad.leak();
        d.leak();
    }
}

TEST(Alloc, NonPowerOfTwoAlignmentIsRefused) {
    lake::Lake lake(1024);
    EXPECT_FALSE(lake.alloc_dyn(8, 3));
    EXPECT_FALSE(lake.alloc_dyn(8, 0));
    EXPECT_EQ(lake.allocate(8, 12), nullptr);
    EXPECT_EQ(lake.used(), 0u);
}

TEST(Alloc, AlignmentPaddingCountsTowardsCapacity) {
    lake::Lake lake(64);
    auto a = lake.alloc<1>();
    EXPECT_FALSE(lake.alloc_dyn(48, 32));  // 31 bytes of padding + 48 > 63
    auto fits = lake.alloc_dyn(32, 32);    // 31 + 32 = 63 fits exactly
    EXPECT_TRUE(fits);
    EXPECT_EQ(lake.remaining(), 0u);
}

struct alignas(256) OverAligned {
    int value;
    explicit OverAligned(int v) : value(v) {}
};

TEST(AllocStruct, ConstructsInPlaceWithItsAlignment) {
    lake::Lake lake(4096);
    auto pad = lake.alloc<3>();
    auto* p = lake.alloc_struct<OverAligned>(42);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(aligned(p, 256));
    EXPECT_EQ(p->value, 42);
    struct Pair {
        std::uint64_t a;
        char b;
    };
    auto* q = lake.alloc_struct<Pair>(Pair{7, 'x'});
    ASSERT_NE(q, nullptr);
    EXPECT_TRUE(aligned(q, alignof(Pair)));
    EXPECT_EQ(q->a, 7u);
}

TEST(AllocStruct, ReturnsNullWhenFull) {
    lake::Lake lake(16);
    EXPECT_NE(lake.alloc_struct<std::uint64_t>(1u), nullptr);
    EXPECT_NE(lake.alloc_struct<std::uint64_t>(2u), nullptr);
    EXPECT_EQ(lake.alloc_struct<std::uint64_t>(3u), nullptr);
}

TEST(AllocSlice, IsAlignedSizedAndFailsCleanly) {
    lake::Lake lake(256);
    auto pad = lake.alloc<1>();
    auto s = lake.alloc_slice<double>(10);
    ASSERT_TRUE(s);
    EXPECT_EQ(s.size(), 10u);
    EXPECT_TRUE(aligned(s.data(), alignof(double)));
    std::span<double> std_span = s;
    std_span[9] = 1.5;
    EXPECT_EQ(s[9], 1.5);
    auto zero = lake.alloc_slice<int>(0);
    EXPECT_TRUE(zero);  // success, zero elements
    EXPECT_TRUE(zero.empty());
    EXPECT_FALSE(lake.alloc_slice<double>(100));
}

TEST(Process, KeepsWhatTheWriterWroteInPlace) {
    lake::Lake lake(1024);
    std::byte* seen = nullptr;
    auto d = lake.process([&](std::span<std::byte> free) {
        seen = free.data();
        EXPECT_EQ(free.size(), 1024u);
        return std::snprintf(reinterpret_cast<char*>(free.data()), free.size(), "id=%d", 7);
    });
    ASSERT_TRUE(d);
    EXPECT_EQ(d.data(), seen);  // zero-copy: the droplet is the writer's bytes
    EXPECT_EQ(d.as_chars(), "id=7");
    EXPECT_EQ(lake.used(), 4u);
}

TEST(Process, AWriterThatDidNotFitKeepsNothing) {
    lake::Lake lake(8);
    auto d = lake.process([](std::span<std::byte> free) {
        return std::snprintf(reinterpret_cast<char*>(free.data()), free.size(), "%s",
                             "much longer than eight bytes");
    });
    EXPECT_FALSE(d);
    EXPECT_EQ(lake.used(), 0u);
    EXPECT_EQ(lake.stats().overflows, 1u);
}

TEST(Process, WritingExactlyTheFreeSpaceFits) {
    lake::Lake lake(16);
    auto a = lake.alloc<6>();
    auto d = lake.process([](std::span<std::byte> free) {
        std::memset(free.data(), 'z', free.size());
        return free.size();
    });
    ASSERT_TRUE(d);
    EXPECT_EQ(d.size(), 10u);
    EXPECT_EQ(lake.remaining(), 0u);
}

// remaining() reads the limit, which is null while a writer holds the free space and once a
// view is dead: it must still say capacity - used then.
TEST(Process, RemainingIsTheFreeSpaceWhileAWriterHoldsIt) {
    lake::Lake lake(64);
    auto a = lake.alloc<10>();
    std::size_t inside = 0;
    auto d = lake.process([&](std::span<std::byte> free) {
        inside = lake.remaining();
        EXPECT_FALSE(lake.alloc<1>());  // the writer holds the space
        return free.size() - 4;
    });
    ASSERT_TRUE(d);
    EXPECT_EQ(inside, 54u);
    EXPECT_EQ(lake.remaining(), 4u);
}

TEST(Stats, CountsAllocationsOverflowsAndHighWater) {
    lake::Lake lake(100);
    {
        auto a = lake.alloc<60>();
        auto b = lake.alloc<60>();
        EXPECT_FALSE(b);
        a.leak();
    }
    lake.reset();
    auto c = lake.alloc<10>();
    const lake::Stats s = lake.stats();
    EXPECT_EQ(s.used, 10u);
    EXPECT_EQ(s.remaining, 90u);
    EXPECT_EQ(s.capacity, 100u);
    EXPECT_EQ(s.high_water, 60u);
    EXPECT_EQ(s.generation, 1u);
    EXPECT_EQ(s.allocations, lake::kCountAllocations ? 2u : 0u);  // counted in debug builds
    EXPECT_EQ(s.overflows, 1u);
}

TEST(Lake, HugePagesAndPrefaultOptionsStillGiveAWorkingLake) {
    lake::Lake lake(4 << 20, lake::LakeOptions{.huge_pages = true, .prefault = true});
    auto d = lake.alloc_dyn(4 << 20);
    ASSERT_TRUE(d);
    d[0] = std::byte{1};
    d[d.size() - 1] = std::byte{2};
    EXPECT_EQ(lake.remaining(), 0u);
}

TEST(Lake, ZeroCapacityRefusesEverythingButEmptyRequests) {
    lake::Lake lake(0);
    EXPECT_FALSE(lake.alloc<1>());
    auto empty = lake.alloc_dyn(0);
    EXPECT_TRUE(empty);
    EXPECT_EQ(empty.size(), 0u);
}

}  // namespace
