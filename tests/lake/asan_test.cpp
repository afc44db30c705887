// Under AddressSanitizer, bytes above the offset are poisoned: a use after rewind is reported.
#include <gtest/gtest.h>

#include <lake/lake.hpp>

namespace {

volatile std::byte sink;

TEST(AsanDeathTest, UseAfterRewindIsReported) {
    if (!lake::kAsanPoisoning) GTEST_SKIP() << "built without AddressSanitizer";
    EXPECT_DEATH(
        {
            lake::Lake lake(4096);
            ASSERT_TRUE(lake.mark());
            auto d = lake.alloc_dyn(64);
            std::byte* raw = d.data();
            d.leak();
            lake.reset_to_mark();
            sink = raw[10];  // the raw pointer outlived its bytes
        },
        "use-after-poison");
}

TEST(AsanDeathTest, ReadingPastTheOffsetIsReported) {
    if (!lake::kAsanPoisoning) GTEST_SKIP() << "built without AddressSanitizer";
    EXPECT_DEATH(
        {
            lake::Lake lake(4096);
            auto d = lake.alloc_dyn(16);
            sink = d.data()[16];
        },
        "use-after-poison");
}

// A view destroyed under a later allocation of its parent keeps its bytes allocated there (they
// cannot go back), yet no one owns them any more: a pointer that outlived the view is reported.
TEST(AsanDeathTest, UseAfterAViewIsDestroyedIsReportedWhenItsBytesStayInTheParent) {
#if !LAKE_ASAN
    GTEST_SKIP() << "built without AddressSanitizer";
#else
    lake::Lake lake(4096);
    std::byte* raw = nullptr;
    auto later = lake::DropletDyn{};
    {
        lake::LakeView view = lake.split(1024);
        ASSERT_TRUE(view);
        auto d = view.alloc_dyn(64);
        raw = d.data();
        d.leak();
        later = lake.alloc_dyn(16);  // the view is no longer the lake's last allocation
        ASSERT_TRUE(later);
        EXPECT_FALSE(__asan_address_is_poisoned(raw));
    }
    EXPECT_EQ(lake.used(), 1024u + 16u);  // still allocated in the lake
    EXPECT_TRUE(__asan_address_is_poisoned(raw));
    EXPECT_FALSE(__asan_address_is_poisoned(later.data()));
    EXPECT_DEATH(sink = raw[10], "use-after-poison");
    // Once the lake rewinds below them and hands them out again, they are open to the new owner.
    lake.reset();
    auto again = lake.alloc_dyn(2048);
    ASSERT_TRUE(again);
    EXPECT_FALSE(__asan_address_is_poisoned(again.data() + 10));
#endif
}

TEST(Asan, LiveAllocationsAreAddressable) {
    lake::Lake lake(4096);
    lake::LakeView view = lake.split(1024);
    auto d = view.alloc_dyn(100);
    std::fill(d.begin(), d.end(), std::byte{1});
    auto w = view.process([](std::span<std::byte> free) {
        free[free.size() - 1] = std::byte{2};  // the whole free space is writable inside process
        return std::size_t{3};
    });
    EXPECT_EQ(w.size(), 3u);
    lake.set_zeroing(true);
}

}  // namespace
