// Marks (a stack of offsets) and snapshots (offsets as values), and what they refuse.
#include <gtest/gtest.h>

#include <lake/lake.hpp>

namespace {

TEST(Marks, NestAndRewindInLifoOrder) {
    lake::Lake lake(4096);
    auto base = lake.alloc<10>();
    ASSERT_TRUE(lake.mark());  // 10
    auto a = lake.alloc<20>();
    a.leak();
    ASSERT_TRUE(lake.mark());  // 30
    auto b = lake.alloc<30>();
    b.leak();
    ASSERT_TRUE(lake.mark());  // 60
    auto c = lake.alloc<40>();
    c.leak();
    EXPECT_EQ(lake.mark_depth(), 3u);
    EXPECT_TRUE(lake.reset_to_mark());
    EXPECT_EQ(lake.used(), 60u);
    EXPECT_TRUE(lake.reset_to_mark());
    EXPECT_EQ(lake.used(), 30u);
    EXPECT_TRUE(lake.reset_to_mark());
    EXPECT_EQ(lake.used(), 10u);
    EXPECT_FALSE(lake.reset_to_mark());  // empty stack: refused
    EXPECT_EQ(lake.used(), 10u);
    EXPECT_TRUE(base.is_valid());
}

TEST(Marks, MoveMarkUpdatesTheTopMark) {
    lake::Lake lake(4096);
    EXPECT_FALSE(lake.move_mark());  // no mark yet
    ASSERT_TRUE(lake.mark());
    auto keep = lake.alloc<100>();
    keep.leak();
    EXPECT_TRUE(lake.move_mark());
    auto temp = lake.alloc<50>();
    temp.leak();
    lake.reset_to_mark();
    EXPECT_EQ(lake.used(), 100u);
    EXPECT_TRUE(keep.is_valid());
    EXPECT_FALSE(temp.is_valid());
}

TEST(Marks, TheStackIsBoundedAndSaysSoWhenFull) {
    lake::Lake lake(4096);
    for (std::size_t i = 0; i < lake::Lake::kMaxMarks; ++i) ASSERT_TRUE(lake.mark());
    EXPECT_FALSE(lake.mark());
    EXPECT_EQ(lake.mark_depth(), lake::Lake::kMaxMarks);
}

TEST(Marks, ResetDropsAllMarks) {
    lake::Lake lake(4096);
    ASSERT_TRUE(lake.mark());
    ASSERT_TRUE(lake.mark());
    lake.reset();
    EXPECT_EQ(lake.mark_depth(), 0u);
    EXPECT_FALSE(lake.reset_to_mark());
}

TEST(Marks, AMarkAboveTheOffsetOnlyPops) {
    lake::Lake lake(4096);
    const auto start = lake.snapshot();
    auto a = lake.alloc<100>();
    a.leak();
    ASSERT_TRUE(lake.mark());  // 100
    ASSERT_TRUE(lake.rewind(start));
    EXPECT_TRUE(lake.reset_to_mark());  // does not move the offset up to 100
    EXPECT_EQ(lake.used(), 0u);
}

TEST(Snapshots, RewindRestoresTheOffset) {
    lake::Lake lake(4096);
    auto a = lake.alloc<10>();
    const auto s = lake.snapshot();
    EXPECT_EQ(s.offset(), 10u);
    auto b = lake.alloc<100>();
    b.leak();
    EXPECT_TRUE(lake.rewind(s));
    EXPECT_EQ(lake.used(), 10u);
    EXPECT_TRUE(lake.rewind(s));  // rewinding to where we are is fine
}

TEST(Snapshots, FromAnEarlierGenerationAreRefused) {
    lake::Lake lake(4096);
    auto a = lake.alloc<10>();
    a.leak();
    const auto s = lake.snapshot();
    lake.reset();
    auto b = lake.alloc<100>();
    b.leak();
    EXPECT_FALSE(lake.rewind(s));
    EXPECT_EQ(lake.used(), 100u);
}

TEST(Snapshots, PastTheCurrentOffsetAreRefused) {
    lake::Lake lake(4096);
    const auto start = lake.snapshot();
    auto a = lake.alloc<10>();
    a.leak();
    const auto later = lake.snapshot();
    ASSERT_TRUE(lake.rewind(start));
    EXPECT_FALSE(lake.rewind(later));  // would resurrect freed bytes
    EXPECT_EQ(lake.used(), 0u);
}

TEST(Snapshots, FromAnotherArenaAreRefused) {
    lake::Lake one(4096);
    lake::Lake two(4096);
    const auto s = one.snapshot();
    auto a = two.alloc<10>();
    a.leak();
    EXPECT_FALSE(two.rewind(s));
    EXPECT_EQ(two.used(), 10u);
}

TEST(Snapshots, ADefaultSnapshotIsRefused) {
    lake::Lake lake(4096);
    EXPECT_FALSE(lake.rewind(lake::Snapshot{}));
}

TEST(Reset, ClearWipesEveryByteEverHandedOut) {
    lake::Lake lake(4096);
    {
        auto d = lake.alloc_dyn(300);
        std::fill(d.begin(), d.end(), std::byte{0xEE});
        d.leak();
    }
    lake.clear();
    EXPECT_EQ(lake.used(), 0u);
    EXPECT_EQ(lake.stats().generation, 1u);
    auto again = lake.alloc_dyn(300);
    for (std::byte b : again) ASSERT_EQ(b, std::byte{0});
}

}  // namespace
