// The thread-local lake: one per thread, and a clear failure before it exists.
#include <gtest/gtest.h>

#include <lake/lake.hpp>
#include <latch>
#include <thread>

namespace {

TEST(ThreadLake, EachThreadHasItsOwn) {
    const void* lake_a = nullptr;
    const void* lake_b = nullptr;
    std::size_t used_a = 0;
    std::size_t used_b = 0;
    std::latch both_hold_their_lake(2);  // so that the two lakes exist at the same time
    auto worker = [&](std::size_t bytes, const void*& which, std::size_t& used) {
        EXPECT_TRUE(lake::thread_lake_init(1 << 16));
        EXPECT_FALSE(lake::thread_lake_init(1 << 16));  // already there: kept
        lake::with_lake([&](lake::Lake& lake) {
            which = &lake;
            for (int i = 0; i < 1000; ++i) {
                auto d = lake.alloc_dyn(bytes);
                ASSERT_TRUE(d);
                d.leak();
                lake.reset();
            }
            auto d = lake.alloc_dyn(bytes);
            d.leak();
            used = lake.used();
        });
        both_hold_their_lake.arrive_and_wait();
        lake::thread_lake_release();
    };
    std::thread a(worker, 10, std::ref(lake_a), std::ref(used_a));
    std::thread b(worker, 20, std::ref(lake_b), std::ref(used_b));
    a.join();
    b.join();
    EXPECT_NE(lake_a, nullptr);
    EXPECT_NE(lake_a, lake_b);
    EXPECT_EQ(used_a, 10u);
    EXPECT_EQ(used_b, 20u);
    EXPECT_EQ(lake::thread_lake(), nullptr);  // the main thread never made one
}

TEST(ThreadLake, WithLakeReturnsWhatTheFunctionReturns) {
    std::thread t([] {
        ASSERT_TRUE(lake::thread_lake_init(4096));
        const std::size_t cap = lake::with_lake([](lake::Lake& l) { return l.capacity(); });
        EXPECT_EQ(cap, 4096u);
        lake::thread_lake_release();
        EXPECT_EQ(lake::thread_lake(), nullptr);
    });
    t.join();
}

TEST(ThreadLakeDeathTest, WithLakeBeforeInitSaysWhatToDo) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(
        {
            std::thread t([] { lake::with_lake([](lake::Lake&) {}); });
            t.join();
        },
        "call lake::thread_lake_init");
}

}  // namespace
