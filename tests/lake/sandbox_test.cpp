// Sandboxes: commit keeps, destruction rolls back, nesting composes.
#include <gtest/gtest.h>

#include <lake/lake.hpp>

namespace {

TEST(Sandbox, CommitKeepsTheAllocations) {
    lake::Lake lake(4096);
    lake::DropletDyn d;
    {
        auto sb = lake.sandbox();
        d = lake.alloc_dyn(100);
        d.leak();
        EXPECT_TRUE(sb.commit());
        EXPECT_FALSE(sb.commit());  // already ended
    }
    EXPECT_EQ(lake.used(), 100u);
    EXPECT_TRUE(d.is_valid());
}

TEST(Sandbox, DestructionWithoutCommitRollsBack) {
    lake::Lake lake(4096);
    auto before = lake.alloc<10>();
    lake::DropletDyn d;
    {
        auto sb = lake.sandbox();
        EXPECT_TRUE(sb.is_open());
        EXPECT_EQ(sb.start_offset(), 10u);
        d = lake.alloc_dyn(100);
        d.leak();
    }
    EXPECT_EQ(lake.used(), 10u);
    EXPECT_FALSE(d.is_valid());
    EXPECT_TRUE(before.is_valid());
}

TEST(Sandbox, ExplicitRollback) {
    lake::Lake lake(4096);
    auto sb = lake.sandbox();
    auto d = lake.alloc_dyn(100);
    d.leak();
    EXPECT_TRUE(sb.rollback());
    EXPECT_FALSE(sb.is_open());
    EXPECT_EQ(lake.used(), 0u);
}

TEST(Sandbox, NestedInnerRollbackOuterCommit) {
    lake::Lake lake(4096);
    auto outer = lake.sandbox();
    auto a = lake.alloc_dyn(10);
    a.leak();
    {
        auto inner = lake.sandbox();
        auto b = lake.alloc_dyn(20);
        b.leak();
    }
    EXPECT_EQ(lake.used(), 10u);
    EXPECT_TRUE(outer.commit());
    EXPECT_EQ(lake.used(), 10u);
    EXPECT_TRUE(a.is_valid());
}

TEST(Sandbox, NestedInnerCommitIsUndoneByOuterRollback) {
    lake::Lake lake(4096);
    lake::DropletDyn b;
    {
        auto outer = lake.sandbox();
        {
            auto inner = lake.sandbox();
            b = lake.alloc_dyn(20);
            b.leak();
            inner.commit();
        }
        EXPECT_EQ(lake.used(), 20u);
    }
    EXPECT_EQ(lake.used(), 0u);
    EXPECT_FALSE(b.is_valid());
}

TEST(Sandbox, RollbackAfterAResetInsideIsHarmless) {
    lake::Lake lake(4096);
    auto keep = lake.alloc<50>();
    keep.leak();
    auto sb = lake.sandbox();
    lake.reset();
    auto fresh = lake.alloc<10>();
    fresh.leak();
    EXPECT_FALSE(sb.rollback());  // the start belongs to an earlier generation
    EXPECT_EQ(lake.used(), 10u);
}

TEST(Sandbox, WorksOnViews) {
    lake::Lake lake(4096);
    lake::LakeView view = lake.split(1024);
    {
        auto sb = view.sandbox();
        auto d = view.alloc_dyn(500);
        d.leak();
    }
    EXPECT_EQ(view.used(), 0u);
    EXPECT_EQ(lake.used(), 1024u);
}

TEST(Sandbox, CanBeMovedOut) {
    lake::Lake lake(4096);
    auto open = [&] { return lake.sandbox(); };
    {
        lake::Sandbox sb = open();
        auto d = lake.alloc_dyn(10);
        d.leak();
    }
    EXPECT_EQ(lake.used(), 0u);
}

}  // namespace
