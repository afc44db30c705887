// align_up, FBC / FBCWrap, and the debug-only contract checks.
#include <gtest/gtest.h>

#include <lake/lake.hpp>
#include <string>

namespace {

static_assert(lake::align_up(0, 8) == 0);
static_assert(lake::align_up(1, 8) == 8);
static_assert(lake::align_up(8, 8) == 8);
static_assert(lake::align_up(4097, 4096) == 8192);
static_assert(lake::is_power_of_two(1) && lake::is_power_of_two(4096));
static_assert(!lake::is_power_of_two(0) && !lake::is_power_of_two(12));
// lake::align_up(5, 3) in a constant expression does not compile.

TEST(AlignUp, RoundsUpToPowersOfTwo) {
    for (std::size_t a = 1; a <= 4096; a *= 2) {
        for (std::size_t v : {std::size_t{0}, std::size_t{1}, a - 1, a, a + 1, 3 * a + 1}) {
            const std::size_t r = lake::align_up(v, a);
            EXPECT_EQ(r % a, 0u);
            EXPECT_GE(r, v);
            EXPECT_LT(r - v, a);
        }
    }
}

TEST(AlignUp, CheckedVersionReportsWrapAndBadAlignment) {
    std::size_t out = 0;
    EXPECT_TRUE(lake::checked_align_up(13, 16, out));
    EXPECT_EQ(out, 16u);
    EXPECT_FALSE(lake::checked_align_up(SIZE_MAX - 2, 16, out));
    EXPECT_FALSE(lake::checked_align_up(10, 6, out));
}

TEST(AlignUpDeathTest, NonPowerOfTwoIsADebugAssertion) {
    if (!lake::kDebugChecks) GTEST_SKIP() << "release build: no debug checks";
    volatile std::size_t bad = 6;
    EXPECT_DEATH((void)lake::align_up(10, bad), "power of two");
}

struct Config {
    std::string name;
    int workers;
};

TEST(Fbc, PromotesAValueToProgramLifetime) {
    static auto config = lake::FBC(Config{"lake", 4});
    EXPECT_EQ(config->name, "lake");
    config->workers = 8;
    EXPECT_EQ((*config).workers, 8);
    auto copy = config;  // a handle: copies share the value
    EXPECT_EQ(&copy.get(), &config.get());
    auto via_macro = LAKE_FBC(std::string("interned"));
    EXPECT_EQ(*via_macro, "interned");
}

TEST(DropletDeathTest, ElementAccessAfterRewindIsADebugAssertion) {
    if (!lake::kDebugChecks) GTEST_SKIP() << "release build: no debug checks";
    EXPECT_DEATH(
        {
            lake::Lake lake(4096);
            ASSERT_TRUE(lake.mark());
            auto d = lake.alloc<16>();
            lake.reset_to_mark();
            d[0] = std::byte{1};
        },
        "droplet used after its arena rewound it");
}

TEST(DropletDeathTest, IndexOutOfRangeIsADebugAssertion) {
    if (!lake::kDebugChecks) GTEST_SKIP() << "release build: no debug checks";
    EXPECT_DEATH(
        {
            lake::Lake lake(4096);
            auto d = lake.alloc_dyn(16);
            d[16] = std::byte{1};
        },
        "out of range");
}

TEST(Droplet, ReleaseBuildsStillAnswerIsValid) {
    // is_valid() is API, not a debug check: it works in every build.
    lake::Lake lake(4096);
    auto d = lake.alloc<16>();
    lake.reset();
    EXPECT_FALSE(d.is_valid());
}

}  // namespace
