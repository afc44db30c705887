// Regression tests for the library's exactness holes: each was a way to make a "valid" droplet
// share bytes with someone else, keep bytes it should have wiped, or crash. All hold in every
// build (debug, release, ASan+UBSan).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory_resource>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include <lake/lake.hpp>

namespace {

// Reads a byte the arena may have poisoned for ASan (it is free), without a report.
bool reads_zero(const std::byte* p, std::size_t n) {
    lake::detail::unpoison(p, n);
    bool zero = true;
    for (std::size_t i = 0; i < n; ++i) zero = zero && p[i] == std::byte{0};
    lake::detail::poison(p, n);
    return zero;
}

// ---- 1. views die with their parent, at any depth ----------------------------------------

TEST(ViewLifetime, DropletOfAViewIsInvalidAfterTheLakeResets) {
    lake::Lake lake(4096);
    lake::LakeView view = lake.split(256);
    auto d = view.alloc_dyn(64);
    ASSERT_TRUE(d.is_valid());
    lake.reset();
    EXPECT_FALSE(view.is_valid());
    EXPECT_FALSE(d.is_valid());
}

TEST(ViewLifetime, DropletOfAViewIsInvalidAfterTheLakeRewindsBelowTheViewAndReusesTheBytes) {
    lake::Lake lake(4096);
    ASSERT_TRUE(lake.mark());
    lake::LakeView view = lake.split(256, 64);
    auto old = view.alloc_dyn(64);
    std::byte* bytes = old.data();
    ASSERT_TRUE(lake.reset_to_mark());
    auto newcomer = lake.alloc_dyn(256, 64);  // the same bytes, handed out again
    ASSERT_EQ(newcomer.data(), view.region().data());
    EXPECT_FALSE(old.is_valid());
    EXPECT_TRUE(newcomer.is_valid());
    EXPECT_LE(newcomer.data(), bytes);
}

TEST(ViewLifetime, AGrandchildAndItsDropletsDieWithTheRoot) {
    lake::Lake lake(1 << 16);
    lake::LakeView child = lake.split(8192);
    lake::LakeView grandchild = child.split(1024);
    auto d = grandchild.alloc<32>();
    ASSERT_TRUE(d.is_valid() && grandchild.is_valid());
    lake.reset();
    EXPECT_FALSE(child.is_valid());
    EXPECT_FALSE(grandchild.is_valid());
    EXPECT_FALSE(d.is_valid());
}

TEST(ViewLifetime, ADeadViewRefusesToAllocateInEveryBuild) {
    lake::Lake lake(1 << 16);
    lake::LakeView child = lake.split(8192);
    lake::LakeView grandchild = child.split(1024);
    lake.reset();
    const auto overflows = grandchild.stats().overflows;
    EXPECT_FALSE(grandchild.alloc<1>());
    EXPECT_FALSE(grandchild.alloc_dyn(0));
    EXPECT_EQ(grandchild.allocate(8, 8), nullptr);
    EXPECT_FALSE(grandchild.split(16));
    EXPECT_FALSE(grandchild.process([](std::span<std::byte> s) { return s.size(); }));
    EXPECT_EQ(grandchild.stats().overflows, overflows + 5);
}

TEST(ViewLifetime, ADeadViewNeverWritesIntoBytesThatBelongToSomeoneElse) {
    lake::Lake lake(4096);
    ASSERT_TRUE(lake.mark());
    lake::LakeView view = lake.split(256, 64);
    view.set_zeroing(true);
    auto d = view.alloc_dyn(100);
    ASSERT_TRUE(lake.reset_to_mark());
    auto owner = lake.alloc_dyn(256, 64);
    ASSERT_EQ(owner.data(), view.region().data());
    std::memset(owner.data(), 0x5A, 256);
    view.reset();  // zeroing: would wipe 100 bytes that are owner's now
    view.clear();
    for (std::size_t i = 0; i < 256; ++i) ASSERT_EQ(owner[i], std::byte{0x5A}) << i;
}

TEST(ViewLifetime, ASiblingViewAtTheSameAddressKeepsItsOwnLife) {
    lake::Lake lake(4096);
    ASSERT_TRUE(lake.mark());
    auto first = std::make_unique<lake::LakeView>(lake, 512);
    auto d = first->alloc_dyn(8);
    ASSERT_TRUE(lake.reset_to_mark());
    lake::LakeView second = lake.split(512);
    ASSERT_EQ(second.region().data(), first->region().data());
    auto e = second.alloc_dyn(8);
    EXPECT_FALSE(d.is_valid());
    EXPECT_TRUE(e.is_valid());
    EXPECT_TRUE(second.is_valid());
}

// ---- 2. process() is not re-entrant --------------------------------------------------------

TEST(Process, AnAllocationFromInsideTheWriterFailsAndIsCounted) {
    lake::Lake lake(4096);
    lake::DropletDyn inner;
    lake::DropletDyn inner_process;
    lake::LakeView inner_view;
    const auto overflows = lake.stats().overflows;
    auto outer = lake.process([&](std::span<std::byte> free) {
        inner = lake.alloc_dyn(16);
        inner_process = lake.process([](std::span<std::byte> s) { return s.size(); });
        inner_view = lake.split(64);
        std::memset(free.data(), 1, 32);
        return std::size_t{32};
    });
    ASSERT_TRUE(outer);
    EXPECT_FALSE(inner);
    EXPECT_FALSE(inner_process);
    EXPECT_FALSE(inner_view);
    EXPECT_EQ(lake.stats().overflows, overflows + 3);
    EXPECT_EQ(lake.used(), 32u);
    auto after = lake.alloc_dyn(16);  // the arena opens again once the writer is done
    ASSERT_TRUE(after);
    EXPECT_EQ(after.data(), outer.data() + 32);
}

TEST(Process, RewindsAndGiveBacksFromInsideTheWriterAreRefused) {
    lake::Lake lake(4096);
    auto before = lake.alloc_dyn(16);
    ASSERT_TRUE(lake.mark());
    const auto snap = lake.snapshot();
    auto outer = lake.process([&](std::span<std::byte>) {
        EXPECT_FALSE(lake.reset_to_mark());
        EXPECT_FALSE(lake.rewind(snap));
        EXPECT_FALSE(lake.deallocate(before.data(), 16));
        lake.reset();  // ignored
        lake.clear();  // ignored
        return std::size_t{8};
    });
    ASSERT_TRUE(outer);
    EXPECT_EQ(lake.mark_depth(), 1u);
    EXPECT_EQ(lake.used(), 24u);
    EXPECT_TRUE(before.is_valid());
    EXPECT_TRUE(outer.is_valid());
}

TEST(Process, ASplitViewCanBeFilledFromInsideItsParentsWriter) {
    lake::Lake lake(4096);
    lake::LakeView view = lake.split(256);
    auto out = lake.process([&](std::span<std::byte> free) {
        auto d = view.alloc_dyn(16);  // another arena: allowed
        EXPECT_TRUE(d);
        d.leak();
        return free.size() < 8 ? free.size() : std::size_t{8};
    });
    EXPECT_TRUE(out);
    EXPECT_EQ(view.used(), 16u);
}

// ---- 3. marks and sandboxes are floors for give-backs -------------------------------------

TEST(Floors, ADropletFromBeforeASandboxDoesNotGiveBackInsideIt) {
    lake::Lake lake(4096);
    auto outer = std::make_optional(lake.alloc_dyn(64));
    {
        auto sandbox = lake.sandbox();
        outer.reset();  // destroyed inside the sandbox: must not drop the offset below its start
        EXPECT_EQ(lake.used(), 64u);
        auto inside = lake.alloc_dyn(32);
        inside.leak();
        EXPECT_TRUE(sandbox.rollback());
        EXPECT_FALSE(inside.is_valid());
    }
    EXPECT_EQ(lake.used(), 64u);  // the outer droplet's bytes come back at the next rewind
}

TEST(Floors, ADropletFromBeforeAMarkDoesNotGiveBackAboveIt) {
    lake::Lake lake(4096);
    auto outer = std::make_optional(lake.alloc_dyn(64));
    ASSERT_TRUE(lake.mark());
    outer.reset();
    EXPECT_EQ(lake.used(), 64u);
    auto inside = lake.alloc_dyn(32);
    inside.leak();
    ASSERT_TRUE(lake.reset_to_mark());
    EXPECT_EQ(lake.used(), 64u);
    EXPECT_FALSE(inside.is_valid());
}

TEST(Floors, DeallocateRespectsTheFloorsToo) {
    lake::Lake lake(4096);
    void* p = lake.allocate(32, 8);
    auto sandbox = lake.sandbox();
    EXPECT_FALSE(lake.deallocate(p, 32));
    void* q = lake.allocate(16, 8);
    EXPECT_TRUE(lake.deallocate(q, 16));  // above the floor: fine
    EXPECT_TRUE(sandbox.rollback());
    EXPECT_EQ(lake.used(), 32u);
}

TEST(Floors, NestedSandboxesRestoreTheOuterFloor) {
    lake::Lake lake(4096);
    auto a = std::make_optional(lake.alloc_dyn(8));
    auto outer = lake.sandbox();
    auto b = std::make_optional(lake.alloc_dyn(8));
    {
        auto inner = lake.sandbox();
        b.reset();  // below the inner floor: kept
        EXPECT_EQ(lake.used(), 16u);
        EXPECT_TRUE(inner.commit());
    }
    auto c = std::make_optional(lake.alloc_dyn(8));
    c.reset();  // above the outer floor again: given back
    EXPECT_EQ(lake.used(), 16u);
    a.reset();  // below the outer floor: kept
    EXPECT_EQ(lake.used(), 16u);
    EXPECT_TRUE(outer.rollback());
    EXPECT_EQ(lake.used(), 8u);
}

// ---- 4. zeroing misses no byte ------------------------------------------------------------

TEST(Zeroing, ClearWipesWhatAProcessWriterWroteButDidNotKeep) {
    lake::Lake lake(4096);
    std::byte* scratch = nullptr;
    auto kept = lake.process([&](std::span<std::byte> free) {
        std::memset(free.data(), 0x77, 200);
        scratch = free.data();
        return std::size_t{10};
    });
    ASSERT_TRUE(kept);
    lake.clear();
    EXPECT_TRUE(reads_zero(scratch, 200));
}

TEST(Zeroing, AZeroingArenaWipesAWritersUnkeptBytesAtOnce) {
    lake::Lake lake(4096);
    lake.set_zeroing(true);
    std::byte* scratch = nullptr;
    auto kept = lake.process([&](std::span<std::byte> free) {
        std::memset(free.data(), 0x77, 200);
        scratch = free.data();
        return std::size_t{10};
    });
    ASSERT_TRUE(kept);
    EXPECT_TRUE(reads_zero(scratch + 10, 190));
    auto failed = lake.process([&](std::span<std::byte> free) {
        std::memset(free.data(), 0x66, 100);
        return free.size() + 1;  // "did not fit"
    });
    EXPECT_FALSE(failed);
    EXPECT_TRUE(reads_zero(scratch + 10, 190));
}

TEST(Zeroing, ThrowingWriterLeavesNothingBehindWhenZeroing) {
    lake::Lake lake(4096);
    lake.set_zeroing(true);
    std::byte* scratch = nullptr;
    EXPECT_THROW(
        {
            auto d = lake.process([&](std::span<std::byte> free) -> std::size_t {
                std::memset(free.data(), 0x55, 64);
                scratch = free.data();
                throw std::runtime_error("writer failed");
            });
        },
        std::runtime_error);
    EXPECT_TRUE(reads_zero(scratch, 64));
    EXPECT_EQ(lake.used(), 0u);
    EXPECT_TRUE(lake.alloc_dyn(16));  // the arena is open again
}

TEST(Zeroing, AViewInheritsZeroingAndCanTurnItOff) {
    lake::Lake lake(4096);
    lake.set_zeroing(true);
    lake::LakeView on = lake.split(256);
    EXPECT_TRUE(on.zeroing());
    auto d = on.alloc_dyn(64);
    std::byte* p = d.data();
    std::memset(p, 0x42, 64);
    on.reset();
    EXPECT_TRUE(reads_zero(p, 64));
    lake::LakeView off = lake.split(256);
    off.set_zeroing(false);
    EXPECT_FALSE(off.zeroing());
}

TEST(Zeroing, ADestroyedZeroingViewWipesItsBytesBeforeANonZeroingParentGetsThem) {
    lake::Lake lake(4096);
    std::byte* p = nullptr;
    {
        lake::LakeView view = lake.split(256);
        view.set_zeroing(true);
        auto d = view.alloc_dyn(64);
        d.leak();
        p = d.data();
        std::memset(p, 0x42, 64);
    }
    EXPECT_EQ(lake.used(), 0u);  // given back
    auto again = lake.alloc_dyn(256);
    ASSERT_EQ(again.data(), p);
    EXPECT_TRUE(reads_zero(p, 64));
}

// ---- 5. capacities near SIZE_MAX ----------------------------------------------------------

TEST(Capacity, HugeCapacitiesThrowBadAllocAndUnmapNothing) {
    for (std::size_t cap : {SIZE_MAX, SIZE_MAX - 4095, SIZE_MAX - (std::size_t{2} << 20),
                            SIZE_MAX / 2, std::size_t{PTRDIFF_MAX}}) {
        EXPECT_THROW(lake::Lake l(cap), std::bad_alloc) << cap;
    }
    lake::Lake still(4096);  // the process's mappings are intact
    auto d = still.alloc_dyn(4096);
    ASSERT_TRUE(d);
    std::memset(d.data(), 1, 4096);
}

// ---- 6. stale snapshots across address reuse -----------------------------------------------

TEST(Snapshots, ASnapshotOfADestroyedViewIsRefusedByTheNextViewAtTheSameAddress) {
    lake::Lake lake(4096);
    alignas(lake::LakeView) unsigned char storage[sizeof(lake::LakeView)];
    auto* first = ::new (storage) lake::LakeView(lake, 512);
    auto d = first->alloc_dyn(100);
    d.leak();
    const auto snap = first->snapshot();
    first->~BasicLakeView();
    auto* second = ::new (storage) lake::LakeView(lake, 512);
    auto e = second->alloc_dyn(200);
    e.leak();
    EXPECT_FALSE(second->rewind(snap));
    EXPECT_EQ(second->used(), 200u);
    second->~BasicLakeView();
}

// ---- 7. ASan: a throwing writer poisons the free space again --------------------------------

TEST(Process, AThrowingWriterKeepsNothingAndClosesTheFreeSpace) {
    lake::Lake lake(4096);
    std::byte* scratch = nullptr;
    EXPECT_THROW(
        {
            auto d = lake.process([&](std::span<std::byte> free) -> std::size_t {
                scratch = free.data();
                throw std::runtime_error("writer failed");
            });
        },
        std::runtime_error);
    EXPECT_EQ(lake.used(), 0u);
    EXPECT_EQ(lake.stats().overflows, 1u);
    if (lake::kAsanPoisoning) {
#if LAKE_ASAN
        EXPECT_TRUE(__asan_address_is_poisoned(scratch));
#endif
    }
    EXPECT_TRUE(lake.alloc_dyn(8));
}

// ---- 8. a failed Droplet<N> is empty ----------------------------------------------------------

TEST(FailedDroplet, AFixedSizeDropletThatFailedIsEmpty) {
    lake::Lake lake(8);
    auto d = lake.alloc<64>();
    ASSERT_FALSE(d);
    EXPECT_EQ(d.size(), 0u);
    EXPECT_TRUE(d.empty());
    EXPECT_EQ(d.begin(), d.end());
    std::size_t seen = 0;
    for (std::byte& b : d) {
        (void)b;
        ++seen;
    }
    EXPECT_EQ(seen, 0u);
    EXPECT_TRUE(std::span<std::byte>(d).empty());
    static_assert(lake::Droplet<64>::extent == 64);
}

TEST(FailedDropletDeathTest, FixedExtentSpanOfAFailedDropletAbortsInEveryBuild) {
    EXPECT_DEATH(
        {
            lake::Lake lake(8);
            auto d = lake.alloc<64>();
            auto s = d.span();
            s[0] = std::byte{1};
        },
        "failed Droplet");
}

// ---- moves -------------------------------------------------------------------------------------

TEST(Moves, ALakeMovesIntoAContainerAndKeepsItsState) {
    std::vector<lake::Lake> lakes;
    lake::Lake first(4096);
    auto d = first.alloc_dyn(100);
    d.leak();
    const auto snap = first.snapshot();
    auto e = first.alloc_dyn(50);
    e.leak();
    lakes.push_back(std::move(first));
    EXPECT_EQ(first.capacity(), 0u);   // the moved-from lake is empty...
    EXPECT_FALSE(first.alloc_dyn(1));  // ...refuses to allocate...
    EXPECT_FALSE(d.is_valid());        // ...and what came from it before reports invalid
    lakes.emplace_back(1024);          // a reallocation moves the first lake again
    lake::Lake& moved = lakes[0];
    EXPECT_EQ(moved.capacity(), 4096u);
    EXPECT_EQ(moved.used(), 150u);
    EXPECT_TRUE(moved.rewind(snap));  // snapshots travel with it
    EXPECT_EQ(moved.used(), 100u);
    auto f = moved.alloc_dyn(10);
    EXPECT_TRUE(f.is_valid());
}

TEST(Moves, AViewIsReturnedFromAFunctionAndItsChildrenEnd) {
    lake::Lake lake(4096);
    auto make = [&lake]() {
        lake::LakeView v = lake.split(1024);
        auto d = v.alloc_dyn(10);
        d.leak();
        return v;
    };
    lake::LakeView v = make();
    ASSERT_TRUE(v);
    EXPECT_EQ(v.used(), 10u);
    lake::LakeView child = v.split(100);
    lake::LakeView moved = std::move(v);
    EXPECT_FALSE(v);
    EXPECT_FALSE(child.is_valid());
    EXPECT_FALSE(child.alloc_dyn(1));
    EXPECT_TRUE(moved.is_valid());
    lake.reset();
    EXPECT_FALSE(moved.is_valid());  // still a child of the lake
}

TEST(Moves, MovedFromViewsAndLakesAreSafeToUseAndDestroy) {
    lake::Lake lake(4096);
    lake::LakeView v = lake.split(128);
    lake::LakeView w = std::move(v);
    v.reset();
    v.clear();
    EXPECT_FALSE(v.mark() && v.alloc_dyn(1));
    EXPECT_FALSE(v.rewind(w.snapshot()));
    lake::Lake other = std::move(lake);
    lake.reset();
    EXPECT_FALSE(lake.alloc<1>());
    EXPECT_FALSE(w.is_valid());  // its parent moved
}

// ---- per-view bookkeeping sized by the user ---------------------------------------------------

TEST(Bookkeeping, AViewCanCarryLessBookkeeping) {
    using Small = lake::BasicLakeView<0, 1>;
    // 16 marks and 15 levels fewer: 368 bytes less per view.
    static_assert(sizeof(lake::LakeView) - sizeof(Small) >=
                  15 * sizeof(std::size_t) + 15 * sizeof(lake::detail::KillStep));
    lake::Lake lake(1 << 16);
    Small v = lake.split<Small>(4096);
    ASSERT_TRUE(v);
    EXPECT_EQ(v.max_marks(), 0u);
    EXPECT_EQ(v.rewind_levels(), 1u);
    EXPECT_FALSE(v.mark());
    auto a = v.alloc_dyn(10);
    a.leak();
    auto b = v.alloc_dyn(10);
    auto snap = v.snapshot();
    auto c = v.alloc_dyn(10);
    c.leak();
    ASSERT_TRUE(v.rewind(snap));
    EXPECT_FALSE(c.is_valid());
    EXPECT_TRUE(a.is_valid());  // one level: still exact for the one outstanding rewind
    v.reset();
    EXPECT_FALSE(a.is_valid());
}

template <class View>
bool survivor_of_a_merge_is_valid() {
    lake::Lake lake(4096);
    View v = lake.template split<View>(1024);
    auto low = v.alloc_dyn(10);
    low.leak();
    const auto s1 = v.snapshot();
    auto mid = v.alloc_dyn(10);
    mid.leak();
    EXPECT_TRUE(v.rewind(s1));  // one level: kills mid
    auto x = v.alloc_dyn(10);   // born after that rewind, alive
    x.leak();
    const auto s2 = v.snapshot();
    auto y = v.alloc_dyn(10);
    y.leak();
    EXPECT_TRUE(v.rewind(s2));  // a second, higher level: kills y
    EXPECT_TRUE(low.is_valid());
    EXPECT_FALSE(mid.is_valid());
    EXPECT_FALSE(y.is_valid());
    return x.is_valid();
}

TEST(Bookkeeping, BeyondItsLevelsAViewErrsTowardsInvalidNeverValid) {
    EXPECT_TRUE(survivor_of_a_merge_is_valid<lake::LakeView>());  // 16 levels: exact
    // One level: the two steps merge and x, alive, reports invalid (never the reverse).
    EXPECT_FALSE((survivor_of_a_merge_is_valid<lake::BasicLakeView<2, 1>>()));
}

TEST(Bookkeeping, AViewCanBeMoveAssigned) {
    lake::Lake lake(4096);
    lake::BasicLakeView<2, 1> v;
    EXPECT_FALSE(v);
    v = lake.split<lake::BasicLakeView<2, 1>>(1024);
    ASSERT_TRUE(v);
    EXPECT_EQ(v.capacity(), 1024u);
    EXPECT_TRUE(v.alloc_dyn(8));
}

// ---- the pmr adapter compares by arena ---------------------------------------------------------

TEST(Pmr, ResourcesOverTheSameArenaCompareEqual) {
    lake::Lake lake(4096);
    lake::MemoryResource a(lake), b(lake);
    lake::Lake other(4096);
    lake::MemoryResource c(other);
    EXPECT_TRUE(a.is_equal(b));
    EXPECT_FALSE(a.is_equal(c));
    EXPECT_FALSE(a.is_equal(*std::pmr::new_delete_resource()));
}

}  // namespace
