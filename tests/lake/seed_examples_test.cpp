// Every example of the seed crate's README (lake 0.2.0), translated to the C++ API.
#include <gtest/gtest.h>

#include <cstring>
#include <lake/lake.hpp>
#include <string>
#include <thread>

namespace {

// thread_lake_init(); with_lake!(|lake| { let d = lake.alloc::<256>().unwrap(); ... });
TEST(SeedExamples, ThreadLocalLake) {
    std::thread t([] {
        ASSERT_TRUE(lake::thread_lake_init(1 << 20));
        lake::with_lake([](lake::Lake& lake) {
            auto d = lake.alloc<256>();
            ASSERT_TRUE(d);  // .unwrap()
            EXPECT_EQ(d.size(), 256u);
        });
        lake::thread_lake_release();
    });
    t.join();
}

// let static_ref: &'static [u8; 128] = unsafe { droplet.leak() };
TEST(SeedExamples, LeakADroplet) {
    static lake::Lake lake(4096);
    std::byte* static_ref = nullptr;
    {
        auto droplet = lake.alloc<128>();
        std::span<std::byte, 128> bytes = droplet.leak_fixed();
        static_ref = bytes.data();
    }
    static_ref[127] = std::byte{9};  // still ours after the droplet is gone
    EXPECT_EQ(lake.used(), 128u);
}

// static CONFIG: &mut MyConfig = FBC!(MyConfig::new());
struct MyConfig {
    int threads = 2;
};
TEST(SeedExamples, FbcConfig) {
    static auto CONFIG = LAKE_FBC(MyConfig{});
    CONFIG->threads = 16;
    EXPECT_EQ(CONFIG->threads, 16);
}

// Markers: .mark() push, .reset_to_mark() pop, .move_mark() update; no memory is copied.
TEST(SeedExamples, MarkersForNestedScopes) {
    lake::Lake lake(1 << 16);
    ASSERT_TRUE(lake.mark());
    auto outer = lake.alloc<64>();
    outer.leak();
    ASSERT_TRUE(lake.mark());
    auto inner = lake.alloc<64>();
    inner.leak();
    lake.reset_to_mark();
    EXPECT_TRUE(outer.is_valid());
    EXPECT_FALSE(inner.is_valid());
    lake.reset_to_mark();
    EXPECT_EQ(lake.used(), 0u);
}

// Snapshots: .snapshot() returns a value, .rewind(snapshot) restores exact state.
TEST(SeedExamples, SnapshotAndRewind) {
    lake::Lake lake(1 << 16);
    auto header = lake.alloc<16>();
    const lake::Snapshot snap = lake.snapshot();
    auto body = lake.alloc_dyn(1000);
    body.leak();
    ASSERT_TRUE(lake.rewind(snap));
    EXPECT_EQ(lake.used(), 16u);
}

// DropletDyn from .process(): serialize-once, write-once patterns (e.g. a JSON payload).
TEST(SeedExamples, ProcessBuildsADynamicDroplet) {
    lake::Lake lake(1 << 16);
    auto json = lake.process([](std::span<std::byte> out) {
        const char text[] = R"({"message":"Hello, World!"})";
        if (out.size() < sizeof(text) - 1) return out.size() + 1;  // did not fit
        std::memcpy(out.data(), text, sizeof(text) - 1);
        return sizeof(text) - 1;
    });
    ASSERT_TRUE(json);
    EXPECT_EQ(json.as_chars(), R"({"message":"Hello, World!"})");
}

// alloc_struct / alloc_slice place values in the lake with align_up.
TEST(SeedExamples, StructsAndSlicesInPlace) {
    lake::Lake lake(1 << 16);
    struct Point {
        double x, y;
    };
    Point* p = lake.alloc_struct<Point>(Point{1.0, 2.0});
    ASSERT_NE(p, nullptr);
    auto xs = lake.alloc_slice<std::uint32_t>(64);
    ASSERT_TRUE(xs);
    xs[63] = 7;
    EXPECT_EQ(p->y, 2.0);
}

// LakeView: forkable sub-allocators, recursive split, independent rewinding, zeroing.
TEST(SeedExamples, ForkableViews) {
    lake::Lake lake(1 << 16);
    lake::LakeView view = lake.split(4096);
    lake::LakeView sub = view.split(1024);
    sub.set_zeroing(true);
    auto d = sub.alloc<32>();
    ASSERT_TRUE(d);
    sub.reset();
    sub.clear();
    EXPECT_EQ(lake.used(), 4096u);  // droplets from a view never affect the parent lake
    EXPECT_EQ(view.used(), 1024u);
}

// Sandbox: speculative work that commits or reverts.
TEST(SeedExamples, SandboxCommitOrRevert) {
    lake::Lake lake(1 << 16);
    {
        auto sb = lake.sandbox();
        auto speculative = lake.alloc<100>();
        speculative.leak();
    }  // dropped: reverted
    EXPECT_EQ(lake.used(), 0u);
    {
        auto sb = lake.sandbox();
        auto kept = lake.alloc<100>();
        kept.leak();
        sb.commit();
    }
    EXPECT_EQ(lake.used(), 100u);
}

}  // namespace
