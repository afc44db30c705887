// LakeView: sub-arenas carved from a lake or from other views, and zeroing.
#include <gtest/gtest.h>

#include <lake/lake.hpp>

namespace {

TEST(View, HasItsOwnOffsetAndLeavesTheParentAlone) {
    lake::Lake lake(4096);
    lake::LakeView view = lake.split(1000);
    ASSERT_TRUE(view);
    EXPECT_EQ(view.capacity(), 1000u);
    EXPECT_EQ(lake.used(), 1000u);
    auto d = view.alloc<100>();
    ASSERT_TRUE(d);
    EXPECT_TRUE(lake.owns(d.data()));
    EXPECT_EQ(view.used(), 100u);
    EXPECT_EQ(lake.used(), 1000u);
    view.reset();
    EXPECT_EQ(lake.used(), 1000u);
    EXPECT_FALSE(d.is_valid());
}

TEST(View, FailsCleanlyWhenTheParentIsFull) {
    lake::Lake lake(100);
    lake::LakeView view = lake.split(101);
    EXPECT_FALSE(view);
    EXPECT_EQ(view.capacity(), 0u);
    EXPECT_FALSE(view.alloc<1>());
    EXPECT_EQ(lake.used(), 0u);
}

TEST(View, AFailedSplitIsSafeToUseInEveryWay) {
    lake::Lake lake(64);
    lake::LakeView empty = lake.split(1000);
    ASSERT_FALSE(empty);
    empty.set_zeroing(true);
    EXPECT_FALSE(empty.mark() && empty.alloc_dyn(1));
    empty.reset_to_mark();
    empty.reset();
    empty.clear();
    EXPECT_FALSE(empty.rewind(lake.snapshot()));
    { auto sb = empty.sandbox(); }
    EXPECT_EQ(empty.used(), 0u);
    EXPECT_FALSE(empty.is_valid());
}

TEST(View, IsBoundedByItsOwnCapacity) {
    lake::Lake lake(4096);
    lake::LakeView view = lake.split(64);
    auto all = view.alloc_dyn(64);
    EXPECT_TRUE(all);
    EXPECT_FALSE(view.alloc<1>());
    EXPECT_EQ(lake.remaining(), 4096u - 64u);
}

TEST(View, ADeadViewStillReportsItsRemainingSpace) {
    lake::Lake lake(4096);
    lake::Snapshot before = lake.snapshot();
    lake::LakeView view = lake.split(256);
    auto kept = view.alloc<100>();
    ASSERT_TRUE(kept);
    ASSERT_TRUE(lake.rewind(before));  // the view's bytes go back: it dies
    EXPECT_FALSE(view.is_valid());
    EXPECT_FALSE(view.alloc<1>());
    EXPECT_EQ(view.remaining(), 156u);
    EXPECT_EQ(view.capacity() - view.used(), view.remaining());
}

TEST(View, ViewsInsideViewsRecursively) {
    lake::Lake lake(1 << 16);
    lake::LakeView outer = lake.split(8192);
    lake::LakeView middle = outer.split(4096);
    lake::LakeView inner = middle.split(1024);
    ASSERT_TRUE(inner);
    auto d = inner.alloc<512>();
    ASSERT_TRUE(d);
    EXPECT_TRUE(outer.owns(d.data()));
    EXPECT_TRUE(middle.owns(d.data()));
    ASSERT_TRUE(inner.mark());
    auto t = inner.alloc<100>();
    t.leak();
    inner.reset_to_mark();
    EXPECT_EQ(inner.used(), 512u);
    EXPECT_EQ(middle.used(), 1024u);
    EXPECT_EQ(outer.used(), 4096u);
    EXPECT_EQ(lake.used(), 8192u);
}

TEST(View, EachViewHasItsOwnMarksAndGeneration) {
    lake::Lake lake(4096);
    lake::LakeView a = lake.split(1024);
    lake::LakeView b = lake.split(1024);
    ASSERT_TRUE(a.mark());
    EXPECT_EQ(b.mark_depth(), 0u);
    EXPECT_EQ(lake.mark_depth(), 0u);
    auto in_b = b.alloc<10>();
    a.reset();
    EXPECT_TRUE(in_b.is_valid());
    EXPECT_EQ(a.stats().generation, 1u);
    EXPECT_EQ(b.stats().generation, 0u);
}

TEST(View, BecomesInvalidWhenTheParentRewindsBelowIt) {
    lake::Lake lake(4096);
    ASSERT_TRUE(lake.mark());
    lake::LakeView view = lake.split(100);
    EXPECT_TRUE(view.is_valid());
    lake.reset_to_mark();
    EXPECT_FALSE(view.is_valid());
}

TEST(View, GivesItsBytesBackToTheParentWhenMostRecent) {
    lake::Lake lake(4096);
    {
        lake::LakeView view = lake.split(1000);
        EXPECT_EQ(lake.used(), 1000u);
    }
    EXPECT_EQ(lake.used(), 0u);
}

TEST(View, SplitIsAligned) {
    lake::Lake lake(4096);
    auto pad = lake.alloc<1>();
    lake::LakeView view = lake.split(128, 64);
    ASSERT_TRUE(view);
    auto d = view.alloc<1>();
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(d.data()) % 64, 0u);
}

TEST(Zeroing, WipesOnResetAndEveryKindOfRewind) {
    lake::Lake lake(4096);
    lake::LakeView view = lake.split(1024);
    view.set_zeroing(true);
    EXPECT_TRUE(view.zeroing());
    auto fill = [&](std::size_t n) {
        auto d = view.alloc_dyn(n);
        std::fill(d.begin(), d.end(), std::byte{0x5A});
        d.leak();
    };
    auto all_zero = [&](std::size_t n) {
        auto d = view.alloc_dyn(n);
        for (std::byte b : d)
            if (b != std::byte{0}) return false;
        return true;
    };
    fill(200);
    view.reset();
    EXPECT_TRUE(all_zero(200));
    view.reset();

    ASSERT_TRUE(view.mark());
    fill(200);
    view.reset_to_mark();
    EXPECT_TRUE(all_zero(200));
    view.reset();

    const auto s = view.snapshot();
    fill(200);
    ASSERT_TRUE(view.rewind(s));
    EXPECT_TRUE(all_zero(200));
    view.reset();

    {
        auto sb = view.sandbox();
        fill(200);
    }
    EXPECT_TRUE(all_zero(200));
    view.reset();

    {
        auto d = view.alloc_dyn(200);
        std::fill(d.begin(), d.end(), std::byte{0x5A});
    }  // given back as the most recent allocation
    EXPECT_TRUE(all_zero(200));
}

TEST(Zeroing, IsOffByDefaultSoRewindIsJustAnOffsetMove) {
    lake::Lake lake(4096);
    EXPECT_FALSE(lake.zeroing());
    std::byte* p = nullptr;
    {
        ASSERT_TRUE(lake.mark());
        auto d = lake.alloc_dyn(16);
        std::fill(d.begin(), d.end(), std::byte{0x5A});
        p = d.data();
        d.leak();
        lake.reset_to_mark();
    }
    auto again = lake.alloc_dyn(16);
    EXPECT_EQ(again.data(), p);
    EXPECT_EQ(again[0], std::byte{0x5A});  // nothing wiped it
}

}  // namespace
