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
