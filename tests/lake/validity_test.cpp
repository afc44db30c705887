// The validity matrix: which events kill a droplet, including reuse of its space.
#include <gtest/gtest.h>

#include <lake/lake.hpp>

namespace {

TEST(Droplet, IsValidAfterAllocation) {
    lake::Lake lake(1024);
    auto d = lake.alloc<16>();
    EXPECT_TRUE(d.is_valid());
}

TEST(Droplet, IsInvalidAfterReset) {
    lake::Lake lake(1024);
    auto d = lake.alloc<16>();
    auto empty = lake.alloc_dyn(0);
    lake.reset();
    EXPECT_FALSE(d.is_valid());
    EXPECT_FALSE(empty.is_valid());
}

TEST(Droplet, IsInvalidAfterResetEvenWhenTheSpaceIsReused) {
    lake::Lake lake(1024);
    auto d = lake.alloc<16>();
    lake.reset();
    auto e = lake.alloc<16>();
    EXPECT_EQ(d.data(), e.data());
    EXPECT_FALSE(d.is_valid());
    EXPECT_TRUE(e.is_valid());
}

TEST(Droplet, IsInvalidAfterResetToMarkBelowItsEnd) {
    lake::Lake lake(1024);
    ASSERT_TRUE(lake.mark());
    auto d = lake.alloc<16>();
    lake.reset_to_mark();
    EXPECT_FALSE(d.is_valid());
}

TEST(Droplet, IsInvalidAfterResetToMarkEvenWhenTheSpaceIsHandedOutAgain) {
    lake::Lake lake(1024);
    ASSERT_TRUE(lake.mark());
    auto d = lake.alloc<16>();
    lake.reset_to_mark();
    auto e = lake.alloc<32>();  // covers d's bytes and more: the seed would call d valid
    EXPECT_EQ(d.data(), e.data());
    EXPECT_GE(lake.used(), 16u);
    EXPECT_FALSE(d.is_valid());
    EXPECT_TRUE(e.is_valid());
}

TEST(Droplet, StaysValidWhenTheRewindStopsAtItsEnd) {
    lake::Lake lake(1024);
    auto below = lake.alloc<16>();
    ASSERT_TRUE(lake.mark());
    auto above = lake.alloc<16>();
    lake.reset_to_mark();
    EXPECT_TRUE(below.is_valid());
    EXPECT_FALSE(above.is_valid());
}

TEST(Droplet, IsInvalidAfterSnapshotRewindBelowItsEnd) {
    lake::Lake lake(1024);
    auto keep = lake.alloc<8>();
    const auto snap = lake.snapshot();
    auto d = lake.alloc<8>();
    ASSERT_TRUE(lake.rewind(snap));
    auto reuse = lake.alloc<8>();
    EXPECT_EQ(reuse.data(), d.data());
    EXPECT_FALSE(d.is_valid());
    EXPECT_TRUE(keep.is_valid());
    EXPECT_TRUE(reuse.is_valid());
}

TEST(Droplet, IsInvalidAfterSandboxRollbackEvenWhenReused) {
    lake::Lake lake(1024);
    lake::DropletDyn d;
    {
        auto sb = lake.sandbox();
        d = lake.alloc_dyn(24);
        d.leak();
    }
    auto reuse = lake.alloc_dyn(24);
    EXPECT_EQ(reuse.data(), d.data());
    EXPECT_FALSE(d.is_valid());
}

TEST(Droplet, ARewindIntoTheMiddleOfItKillsIt) {
    lake::Lake lake(1024);
    const auto at0 = lake.snapshot();
    auto a = lake.alloc<8>();
    a.leak();
    const auto at8 = lake.snapshot();
    ASSERT_TRUE(lake.rewind(at0));
    auto d = lake.alloc<16>();  // [0, 16): at8 now points into its middle
    auto below = lake.alloc_dyn(0, 1);
    ASSERT_TRUE(lake.rewind(at8));
    EXPECT_FALSE(d.is_valid());
    EXPECT_FALSE(below.is_valid());
    EXPECT_EQ(lake.used(), 8u);
}

TEST(Droplet, ZeroSizedDropletAtTheRewindTargetSurvives) {
    lake::Lake lake(64);
    auto a = lake.alloc<8>();
    a.leak();
    auto empty = lake.alloc_dyn(0);  // at offset 8
    const auto s = lake.snapshot();
    auto b = lake.alloc<8>();
    b.leak();
    ASSERT_TRUE(lake.rewind(s));
    EXPECT_TRUE(empty.is_valid());
    EXPECT_FALSE(b.is_valid());
}

TEST(Droplet, ManyNestedLevelsStayExact) {
    lake::Lake lake(1 << 16);
    // Build a staircase of rewinds at increasing levels, each followed by reuse.
    std::vector<lake::DropletDyn> kept;
    for (int level = 0; level < 10; ++level) {
        auto d = lake.alloc_dyn(8);
        d.leak();
        kept.push_back(std::move(d));
        const auto s = lake.snapshot();
        auto temp = lake.alloc_dyn(100);
        temp.leak();
        ASSERT_TRUE(lake.rewind(s));
        EXPECT_FALSE(temp.is_valid());
    }
    for (auto& d : kept) EXPECT_TRUE(d.is_valid());
}

TEST(Droplet, BeyondTheTrackedLevelsErrsTowardsInvalidNeverValid) {
    lake::Lake lake(1 << 16);
    std::vector<lake::DropletDyn> dead;
    for (std::size_t level = 0; level < 3 * lake::Lake::kRewindLevels; ++level) {
        auto keep = lake.alloc_dyn(8);
        keep.leak();
        const auto s = lake.snapshot();
        auto temp = lake.alloc_dyn(16);
        temp.leak();
        ASSERT_TRUE(lake.rewind(s));
        dead.push_back(std::move(temp));
    }
    for (auto& d : dead) EXPECT_FALSE(d.is_valid());
}

TEST(Droplet, MostRecentGivesItsSpaceBackWhenDestroyed) {
    lake::Lake lake(1024);
    {
        auto a = lake.alloc<100>();
        {
            auto b = lake.alloc<50>();
            EXPECT_EQ(lake.used(), 150u);
        }
        EXPECT_EQ(lake.used(), 100u);
    }
    EXPECT_EQ(lake.used(), 0u);
}

TEST(Droplet, NotMostRecentKeepsItsSpaceUntilRewind) {
    lake::Lake lake(1024);
    auto b = lake.alloc<50>();
    {
        auto a = lake.alloc<100>();
        a.leak();
    }
    { auto gone = std::move(b); }
    EXPECT_EQ(lake.used(), 150u);
}

TEST(Droplet, LeakGivesUpTheGiveBack) {
    lake::Lake lake(1024);
    std::span<std::byte> bytes;
    {
        auto a = lake.alloc<100>();
        bytes = a.leak();
    }
    EXPECT_EQ(bytes.size(), 100u);
    EXPECT_EQ(lake.used(), 100u);
}

TEST(Droplet, ADeadDropletDoesNotGiveBackSomeoneElsesSpace) {
    lake::Lake lake(1024);
    ASSERT_TRUE(lake.mark());
    auto d = lake.alloc<16>();
    lake.reset_to_mark();
    auto e = lake.alloc<16>();
    e.leak();
    { auto gone = std::move(d); }  // same end as e, but dead: must not rewind e away
    EXPECT_EQ(lake.used(), 16u);
    EXPECT_TRUE(e.is_valid());
}

TEST(Droplet, MoveTransfersOwnership) {
    lake::Lake lake(1024);
    auto a = lake.alloc<32>();
    auto* p = a.data();
    auto b = std::move(a);
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): the moved-from droplet is empty
    EXPECT_EQ(b.data(), p);
    EXPECT_TRUE(b.is_valid());
}

TEST(Droplet, ShrinkToGivesTheTailBackWhenMostRecent) {
    lake::Lake lake(1024);
    auto d = lake.alloc_dyn(512);
    ASSERT_TRUE(d.shrink_to(100));
    EXPECT_EQ(d.size(), 100u);
    EXPECT_EQ(lake.used(), 100u);
    EXPECT_TRUE(d.is_valid());
    EXPECT_FALSE(d.shrink_to(101));
}

TEST(Droplet, TypedViewsCheckSizeAndAlignment) {
    lake::Lake lake(1024);
    struct Header {
        std::uint32_t magic;
        std::uint32_t length;
    };
    auto d = lake.alloc_dyn(16, alignof(Header));
    ASSERT_NE(d.as<Header>(), nullptr);
    d.as<Header>()->magic = 0xC0FFEE;
    EXPECT_EQ(d.as_slice<Header>().size(), 2u);
    EXPECT_EQ(d.as_slice<Header>()[0].magic, 0xC0FFEEu);
    auto small = lake.alloc_dyn(4, alignof(Header));
    EXPECT_EQ(small.as<Header>(), nullptr);  // too small
    EXPECT_FALSE(small.as_slice<Header>());  // not a multiple
    auto odd = lake.alloc_dyn(17, 8);
    auto misaligned = lake.alloc_dyn(8, 1);  // right after 17 bytes: offset odd
    EXPECT_EQ(misaligned.as<std::uint64_t>(), nullptr);
    EXPECT_FALSE(misaligned.as_slice<std::uint32_t>());
    EXPECT_TRUE(misaligned.as_slice<char>());
}

TEST(Droplet, ConvertsToStandardSpans) {
    lake::Lake lake(1024);
    auto d = lake.alloc<8>();
    std::span<std::byte> s = d;
    std::span<std::byte, 8> fixed = d.span();
    EXPECT_EQ(s.size(), 8u);
    EXPECT_EQ(fixed.data(), d.data());
    std::fill(d.begin(), d.end(), std::byte{7});
    EXPECT_EQ(d[7], std::byte{7});
}

}  // namespace
