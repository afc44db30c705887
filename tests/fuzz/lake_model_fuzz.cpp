// Model-based fuzzer for the lake library: random sequences of every API call, each checked
// against a simple exact model of which bytes are live, which droplets and views are valid, and
// which bytes must read as zero.
//
// The model knows nothing of epochs or staircases: it keeps, per arena, an offset and a list of
// handles, and kills a handle when a rewind goes below its end. The library must agree with it
// exactly (arenas here track enough rewind levels for every input), and every valid droplet must
// still hold the bytes written into it (so no two live allocations ever overlap).
//
//   tests/fuzz/run-lake-model [seconds]
//
// Built with -DLAKE_FUZZ_OLD_API it runs against the library before the exactness fixes (views
// there have a fixed 16-level staircase, so only "dead means invalid" is checked, not the
// converse).
#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <vector>

#include <lake/lake.hpp>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define FUZZ_ASAN 1
#endif
#endif

namespace {

#ifdef LAKE_FUZZ_OLD_API
using View = lake::LakeView;
constexpr bool kExact = false;
#else
using View = lake::BasicLakeView<16, 2048>;  // more levels than steps: the answer is exact
constexpr bool kExact = true;
#endif

constexpr std::size_t kRootCapacity = 1024;
constexpr int kViews = 6;  // slot 0 is the root view; 1.. are views split from views
constexpr int kDroplets = 24;
constexpr int kSnapshots = 6;
constexpr int kSandboxes = 4;  // per arena
constexpr std::size_t kMaxMarks = 16;
constexpr int kMaxSteps = 1500;

[[noreturn]] void fail(const char* what, int a = -1, long b = -1, long c = -1) {
    std::fprintf(stderr, "lake model mismatch: %s (%d, %ld, %ld)\n", what, a, b, c);
    std::abort();
}
#define CHECK(cond, ...)                                     \
    do {                                                     \
        if (!(cond)) fail(#cond __VA_OPT__(, ) __VA_ARGS__); \
    } while (0)

struct ThrownByWriter {};

// LAKE_FUZZ_NO=reentrant,zeroing,floors,views leaves those operations out, so that one class of
// bug can be looked for alone (how each was found on the library before its fixes).
bool left_out(const char* what) {
    static const char* no = std::getenv("LAKE_FUZZ_NO");
    return no != nullptr && std::strstr(no, what) != nullptr;
}

// ---- the model --------------------------------------------------------------------------

struct ModelSandbox {
    std::size_t start;
    std::uint64_t generation;
};

struct ModelArena {
    bool exists = false;
    int parent = -1;       // -1: the root view (its own parent, a Lake, is never touched)
    std::size_t base = 0;  // absolute offset of its first byte in the root
    std::size_t capacity = 0;
    std::size_t offset = 0;
    std::size_t touched = 0;  // how far bytes were ever writable through it
    bool alive = true;
    bool zeroing = false;
    std::uint64_t generation = 0;
    int incarnation = 0;
    std::vector<std::size_t> marks;
    std::vector<ModelSandbox> sandboxes;
    std::size_t floor() const {
        std::size_t f = marks.empty() ? 0 : marks.back();
        if (!sandboxes.empty() && sandboxes.back().start > f) f = sandboxes.back().start;
        return f;
    }
};

enum class Kind { dyn, fixed16, raw };

struct ModelDroplet {
    bool exists = false;
    int arena = 0;
    Kind kind = Kind::dyn;
    std::size_t begin = 0;  // relative to its arena
    std::size_t size = 0;
    bool valid = true;
    bool give_back = true;
    std::uint8_t tag = 0;
};

struct ModelSnapshot {
    bool exists = false;
    int arena = 0;
    int incarnation = 0;
    std::size_t offset = 0;
    std::uint64_t generation = 0;
};

// ---- the harness: the real objects beside the model --------------------------------------

class Harness {
  public:
    Harness() : storage_(1 << 16) {
        views_[0].emplace(storage_, kRootCapacity, 4096);
        if (!*views_[0]) std::abort();
        root_ = reinterpret_cast<std::uintptr_t>(views_[0]->region().data());
        arenas_[0].exists = true;
        arenas_[0].capacity = kRootCapacity;
    }
    ~Harness() {
        // Tear down in an order that respects every lifetime rule.
        for (int d = kDroplets; d-- > 0;)
            if (drops_[d].exists) destroy_droplet(d);
        for (int v = kViews; v-- > 1;)
            if (arenas_[v].exists) destroy_view(v);
    }

    void step(FuzzedDataProvider& in) {
        const int op = in.ConsumeIntegralInRange(0, 19);
        const int a = pick_arena(in);
        static const bool trace = std::getenv("LAKE_FUZZ_TRACE") != nullptr;
        if (trace) std::fprintf(stderr, "op %d arena %d (offset %zu)\n", op, a, arenas_[a].offset);
        switch (op) {
            case 0:
            case 1:
                alloc_dyn(a, in.ConsumeIntegralInRange<std::size_t>(0, 200),
                          std::size_t{1} << in.ConsumeIntegralInRange(0, 4));
                break;
            case 2:
                alloc_fixed(a);
                break;
            case 3:
                alloc_raw(a, in.ConsumeIntegralInRange<std::size_t>(0, 40));
                break;
            case 4:
            case 5:
                destroy_droplet(pick_droplet(in));
                break;
            case 6:
                leak(pick_droplet(in));
                break;
            case 7:
                shrink(pick_droplet(in), in.ConsumeIntegralInRange<std::size_t>(0, 200));
                break;
            case 8:
                if (left_out("floors")) break;
                mark_op(a, in.ConsumeIntegralInRange(0, 2));
                break;
            case 9:
                snapshot_op(a, in.ConsumeIntegralInRange(0, kSnapshots - 1), in.ConsumeBool());
                break;
            case 10:
                if (left_out("floors")) break;
                sandbox_op(a, in.ConsumeIntegralInRange(0, 2));
                break;
            case 11:
                if (left_out("views")) break;
                split(a, in.ConsumeIntegralInRange<std::size_t>(0, 300),
                      std::size_t{1} << in.ConsumeIntegralInRange(0, 6));
                break;
            case 12:
                destroy_view(pick_view(in));
                break;
            case 13:
            case 14:
                process(a, in);
                break;
            case 15:
                reset(a, false);
                break;
            case 16:
                reset(a, !left_out("zeroing"));
                break;
            case 17:
                if (left_out("zeroing")) break;
                set_zeroing(a, in.ConsumeBool());
                break;
            case 18:
                move_view(pick_view(in));
                break;
            default:
                dealloc_raw(pick_droplet(in));
                break;
        }
        check();
    }

  private:
    // ---- picking ----
    int pick_arena(FuzzedDataProvider& in) {
        int i = in.ConsumeIntegralInRange(0, kViews - 1);
        return arenas_[i].exists ? i : 0;
    }
    int pick_view(FuzzedDataProvider& in) { return in.ConsumeIntegralInRange(1, kViews - 1); }
    int pick_droplet(FuzzedDataProvider& in) { return in.ConsumeIntegralInRange(0, kDroplets - 1); }
    int free_droplet() {
        for (int i = 0; i < kDroplets; ++i)
            if (!drops_[i].exists) return i;
        return -1;
    }
    lake::BasicArena& arena(int a) { return *views_[a]; }
    std::byte* abs(std::size_t at) { return reinterpret_cast<std::byte*>(root_ + at); }

    // ---- model helpers ----
    void set_zero(std::size_t from, std::size_t to, bool must) {
        for (std::size_t i = from; i < to; ++i) must_zero_[i] = must;
    }
    // A rewind of arena `a` to `target` (below its offset): frees, wipes with zeroing, kills.
    void model_rewind(int a, std::size_t target) {
        ModelArena& m = arenas_[a];
        if (target >= m.offset) return;
        if (m.alive && m.zeroing) set_zero(m.base + target, m.base + m.offset, true);
        kill_above(a, target);
        m.offset = target;
    }
    // Kills the handles of arena `a` that end above `target` (every one with `all`: a reset).
    void kill_above(int a, std::size_t target, bool all = false) {
        for (auto& d : drops_)
            if (d.exists && d.arena == a && (all || d.begin + d.size > target)) d.valid = false;
        for (int v = 1; v < kViews; ++v) {
            ModelArena& c = arenas_[v];
            if (c.exists && c.parent == a && c.alive &&
                (all || c.base - arenas_[a].base + c.capacity > target))
                kill_view(v);
        }
    }
    void kill_view(int v) {
        arenas_[v].alive = false;
        kill_above(v, 0, true);
        // Its own rewinds no longer touch memory; its offset still moves (checked by used()).
    }
    bool can_allocate(int a) const { return arenas_[a].alive && in_process_ != a; }
    // The model's bump: returns the relative offset or -1.
    long model_bump(int a, std::size_t n, std::size_t align) {
        ModelArena& m = arenas_[a];
        if (!can_allocate(a)) return -1;
        const std::size_t abs_at = (m.base + m.offset + align - 1) / align * align;
        const std::size_t at = abs_at - m.base;
        if (at > m.capacity || n > m.capacity - at) return -1;
        m.offset = at + n;
        if (m.offset > m.touched) m.touched = m.offset;
        set_zero(m.base + at, m.base + at + n, false);
        return static_cast<long>(at);
    }
    // The model of a give-back of droplet d (its destructor, or shrink's tail).
    bool model_give_back(int a, std::size_t begin, std::size_t end) {
        ModelArena& m = arenas_[a];
        if (in_process_ == a || !m.alive || end != m.offset || begin < m.floor()) return false;
        model_rewind(a, begin);
        return true;
    }

    void new_droplet(int slot, int a, Kind kind, std::size_t at, std::size_t n, std::byte* data) {
        ModelDroplet& d = drops_[slot];
        d = ModelDroplet{};
        d.exists = true;
        d.arena = a;
        d.kind = kind;
        d.begin = at;
        d.size = n;
        d.give_back = kind != Kind::raw;
        d.tag = static_cast<std::uint8_t>(++tags_ == 0 ? ++tags_ : tags_);
        CHECK(data == abs(arenas_[a].base + at), slot, static_cast<long>(at));
        std::memset(data, d.tag, n);
    }

    // ---- operations ----
    void alloc_dyn(int a, std::size_t n, std::size_t align) {
        const int slot = free_droplet();
        if (slot < 0) return;
        lake::DropletDyn got = arena(a).alloc_dyn(n, align);
        const long at = model_bump(a, n, align);
        CHECK(static_cast<bool>(got) == (at >= 0), a, at);
        if (at < 0) {
            CHECK(got.size() == 0 && got.begin() == got.end(), a);
            return;
        }
        dyn_[slot].emplace(std::move(got));
        new_droplet(slot, a, Kind::dyn, static_cast<std::size_t>(at), n, dyn_[slot]->data());
    }
    void alloc_fixed(int a) {
        const int slot = free_droplet();
        if (slot < 0) return;
        lake::Droplet<16> got = arena(a).alloc<16>();
        const long at = model_bump(a, 16, 1);
        CHECK(static_cast<bool>(got) == (at >= 0), a, at);
        if (at < 0) {
#ifndef LAKE_FUZZ_OLD_API
            CHECK(got.size() == 0 && got.begin() == got.end(), a);
#endif
            return;
        }
        fixed_[slot].emplace(std::move(got));
        new_droplet(slot, a, Kind::fixed16, static_cast<std::size_t>(at), 16, fixed_[slot]->data());
    }
    void alloc_raw(int a, std::size_t n) {
        const int slot = free_droplet();
        if (slot < 0) return;
        lake::Slice<std::uint32_t> got = arena(a).alloc_slice<std::uint32_t>(n);
        const long at = model_bump(a, n * 4, 4);
        CHECK(static_cast<bool>(got) == (at >= 0), a, at);
        if (at < 0) return;
        raw_[slot] = reinterpret_cast<std::byte*>(got.data());
        new_droplet(slot, a, Kind::raw, static_cast<std::size_t>(at), n * 4, raw_[slot]);
    }
    // deallocate() of a raw block that is still valid.
    void dealloc_raw(int slot) {
        ModelDroplet& d = drops_[slot];
        if (!d.exists || d.kind != Kind::raw) return;
        if (d.valid) {
            const bool gave = arena(d.arena).deallocate(raw_[slot], d.size);
            CHECK(gave == model_give_back(d.arena, d.begin, d.begin + d.size), slot);
        }
        d.exists = false;
    }
    void destroy_droplet(int slot) {
        ModelDroplet& d = drops_[slot];
        if (!d.exists) return;
        if (d.kind == Kind::raw) {
            d.exists = false;  // raw blocks are simply forgotten
            return;
        }
        if (d.give_back && d.valid) model_give_back(d.arena, d.begin, d.begin + d.size);
        if (d.kind == Kind::dyn)
            dyn_[slot].reset();
        else
            fixed_[slot].reset();
        d.exists = false;
    }
    void leak(int slot) {
        ModelDroplet& d = drops_[slot];
        if (!d.exists || d.kind == Kind::raw || !d.valid) return;  // leak() checks validity
        if (d.kind == Kind::dyn)
            (void)dyn_[slot]->leak();
        else
            (void)fixed_[slot]->leak();
        d.give_back = false;
    }
    void shrink(int slot, std::size_t n) {
        ModelDroplet& d = drops_[slot];
        if (!d.exists || d.kind != Kind::dyn || !d.valid) return;
        const bool ok = dyn_[slot]->shrink_to(n);
        CHECK(ok == (n <= d.size), slot);
        if (!ok) return;
        const std::size_t old_end = d.begin + d.size;
        d.size = n;  // first: the droplet lives on at its new size
        if (d.give_back) model_give_back(d.arena, d.begin + n, old_end);
    }
    void mark_op(int a, int what) {
        ModelArena& m = arenas_[a];
        if (what == 0) {
            const bool ok = arena(a).mark();
            CHECK(ok == (m.marks.size() < kMaxMarks), a);
            if (ok) m.marks.push_back(m.offset);
        } else if (what == 1) {
            const bool ok = arena(a).reset_to_mark();
            CHECK(ok == !m.marks.empty(), a);
            if (!ok) return;
            const std::size_t to = m.marks.back();
            m.marks.pop_back();
            model_rewind(a, to);
        } else {
            const bool ok = arena(a).move_mark();
            CHECK(ok == !m.marks.empty(), a);
            if (ok) m.marks.back() = m.offset;
        }
    }
    void snapshot_op(int a, int slot, bool take) {
        ModelSnapshot& s = snaps_[slot];
        if (take) {
            snap_real_[slot] = arena(a).snapshot();
            s = ModelSnapshot{true, a, arenas_[a].incarnation, arenas_[a].offset,
                              arenas_[a].generation};
            return;
        }
        if (!s.exists) return;
        const bool ok = arena(a).rewind(snap_real_[slot]);
        const ModelArena& m = arenas_[a];
        const bool expect = s.arena == a && s.incarnation == m.incarnation &&
                            s.generation == m.generation && s.offset <= m.offset;
        CHECK(ok == expect, a, static_cast<long>(s.offset), static_cast<long>(m.offset));
        if (ok) model_rewind(a, s.offset);
    }
    void sandbox_op(int a, int what) {
        ModelArena& m = arenas_[a];
        auto& stack = sandboxes_[a];
        const int depth = static_cast<int>(m.sandboxes.size());
        if (what == 0) {
            if (depth == kSandboxes) return;
            stack[depth].emplace(arena(a).sandbox());
            m.sandboxes.push_back({m.offset, m.generation});
            return;
        }
        if (depth == 0) return;
        const ModelSandbox top = m.sandboxes.back();
        m.sandboxes.pop_back();
        if (what == 1) {
            CHECK(stack[depth - 1]->commit(), a);
        } else {
            const bool ok = stack[depth - 1]->rollback();
            const bool expect = top.generation == m.generation && top.start <= m.offset;
            CHECK(ok == expect, a, static_cast<long>(top.start), static_cast<long>(m.offset));
            if (ok) model_rewind(a, top.start);
        }
        stack[depth - 1].reset();
    }
    void split(int a, std::size_t len, std::size_t align) {
        int v = -1;
        for (int i = 1; i < kViews; ++i)
            if (!arenas_[i].exists) {
                v = i;
                break;
            }
        if (v < 0) return;
        views_[v].emplace(arena(a), len, align);
        const long at = model_bump(a, len, align);
        CHECK(static_cast<bool>(*views_[v]) == (at >= 0), a, at);
        if (at < 0) {
            views_[v].reset();
            return;
        }
        ModelArena& c = arenas_[v];
        const int incarnation = c.incarnation + 1;
        c = ModelArena{};
        c.exists = true;
        c.incarnation = incarnation;
        c.parent = a;
        c.base = arenas_[a].base + static_cast<std::size_t>(at);
        c.capacity = len;
        c.zeroing = arenas_[a].zeroing;
    }
    void destroy_view(int v) {
        ModelArena& m = arenas_[v];
        if (!m.exists) return;
        for (int c = 1; c < kViews; ++c)  // children first: they must not outlive it
            if (arenas_[c].exists && arenas_[c].parent == v) destroy_view(c);
        while (!m.sandboxes.empty()) sandbox_op(v, 2);
        for (int d = kDroplets; d-- > 0;)
            if (drops_[d].exists && drops_[d].arena == v) destroy_droplet(d);
        if (m.alive && m.zeroing) set_zero(m.base, m.base + m.touched, true);
        if (m.alive) {
            const std::size_t begin = m.base - arenas_[m.parent].base;
            model_give_back(m.parent, begin, begin + m.capacity);
        }
        views_[v].reset();
        m.exists = false;
    }
    // Moves a view out of its slot and back: droplets and children taken before report invalid.
    void move_view(int v) {
#ifndef LAKE_FUZZ_OLD_API
        ModelArena& m = arenas_[v];
        if (!m.exists || !m.sandboxes.empty()) return;  // a sandbox must not outlive its arena
        View moved(std::move(*views_[v]));
        CHECK(!*views_[v] && views_[v]->used() == 0, v);
        *views_[v] = std::move(moved);
        for (auto& d : drops_)
            if (d.exists && d.arena == v) d.valid = false, d.give_back = false;
        for (int c = 1; c < kViews; ++c)
            if (arenas_[c].exists && arenas_[c].parent == v && arenas_[c].alive) kill_view(c);
                // Their bytes stay allocated in the moved view, which keeps offset, marks and
                // snapshots.
#else
        (void)v;
#endif
    }
    void process(int a, FuzzedDataProvider& in) {
        int mode = in.ConsumeIntegralInRange(0, 3);
        if (mode == 2 && left_out("reentrant")) mode = 0;
        const std::size_t align = std::size_t{1} << in.ConsumeIntegralInRange(0, 3);
        const std::size_t want = in.ConsumeIntegralInRange<std::size_t>(0, 120);
        const std::size_t keep = in.ConsumeIntegralInRange<std::size_t>(0, 120);
        const int slot = free_droplet();
        if (slot < 0) return;
        ModelArena& m = arenas_[a];
        if (in_process_ >= 0) return;
        std::size_t room_seen = 0, wrote = 0;
        std::byte* p_seen = nullptr;
        bool called = false;
        const std::uint8_t scribble = 0xA5;
        auto writer = [&](std::span<std::byte> free) -> std::size_t {
            called = true;
            in_process_ = a;
            p_seen = free.data();
            room_seen = free.size();
            wrote = want < free.size() ? want : free.size();
            std::memset(free.data(), scribble, wrote);
            if (mode == 2) {
                // Re-entrant: every allocation and rewind from the same arena is refused.
                lake::DropletDyn inner = arena(a).alloc_dyn(1);
                CHECK(!inner, a);
                lake::DropletDyn nested =
                    arena(a).process([](std::span<std::byte> s) { return s.size(); });
                CHECK(!nested, a);
#ifndef LAKE_FUZZ_OLD_API
                View child(arena(a), 8);
                CHECK(!child, a);
                CHECK(!arena(a).reset_to_mark(), a);  // refused: the mark stays
                arena(a).reset();                     // ignored
#endif
            }
            in_process_ = -1;
            if (mode == 3) throw ThrownByWriter{};
            if (mode == 1) return free.size() + 1;
            return keep < wrote ? keep : wrote;
        };
        lake::DropletDyn got;
        try {
            got = arena(a).process(writer, align);
        } catch (const ThrownByWriter&) {
        }
        in_process_ = -1;
        const std::size_t start = (m.base + m.offset + align - 1) / align * align;
        CHECK(called == (m.alive && start <= m.base + m.capacity), a);
        if (!called) {
            CHECK(!got, a);
            return;
        }
        const std::size_t p =
            static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(p_seen) - root_);
        const std::size_t end = m.base + m.capacity;
        CHECK(room_seen == end - p, a);
        m.touched = m.capacity;
        const bool kept = mode == 0 || mode == 2;
        const std::size_t used = kept ? (keep < wrote ? keep : wrote) : 0;
        CHECK(static_cast<bool>(got) == kept, a, mode);
        set_zero(p, p + (wrote > used ? wrote : used), false);  // written or kept
        if (m.zeroing) set_zero(p + used, end, true);           // the scratch is wiped
        if (!kept) return;
        m.offset = p + used - m.base;
        dyn_[slot].emplace(std::move(got));
        new_droplet(slot, a, Kind::dyn, p - m.base, used, dyn_[slot]->data());
    }
    void reset(int a, bool clear) {
        ModelArena& m = arenas_[a];
        if (clear) {
            arena(a).clear();
            if (m.alive)
                set_zero(m.base, m.base + (m.touched > m.offset ? m.touched : m.offset), true);
        } else {
            arena(a).reset();
        }
        model_rewind(a, 0);
        kill_above(a, 0, true);  // zero-sized handles at offset 0 die too
        m.marks.clear();
        ++m.generation;
    }
    void set_zeroing(int a, bool on) {
        arena(a).set_zeroing(on);
        arenas_[a].zeroing = on;
    }

    // ---- the checks, after every step ----
    bool reads_zero(std::size_t at) {
        std::byte* p = abs(at);
#ifdef FUZZ_ASAN
        if (__asan_address_is_poisoned(p)) {
            __asan_unpoison_memory_region(p, 1);
            const bool zero = *reinterpret_cast<volatile std::byte*>(p) == std::byte{0};
            __asan_poison_memory_region(p, 1);
            return zero;
        }
#endif
        return *reinterpret_cast<volatile std::byte*>(p) == std::byte{0};
    }
    void check() {
        for (int a = 0; a < kViews; ++a) {
            const ModelArena& m = arenas_[a];
            if (!m.exists) continue;
            CHECK(arena(a).used() == m.offset, a, static_cast<long>(arena(a).used()),
                  static_cast<long>(m.offset));
            CHECK(views_[a]->is_valid() == m.alive, a);
        }
        for (int i = 0; i < kDroplets; ++i) {
            const ModelDroplet& d = drops_[i];
            if (!d.exists) continue;
            if (d.kind != Kind::raw) {
                const bool real = d.kind == Kind::dyn ? dyn_[i]->is_valid() : fixed_[i]->is_valid();
                if (!d.valid) CHECK(!real, i, static_cast<long>(d.begin), d.arena);
                if (kExact && d.valid) CHECK(real, i, static_cast<long>(d.begin), d.arena);
            }
            if (!d.valid) continue;
            const std::byte* p = abs(arenas_[d.arena].base + d.begin);
            for (std::size_t k = 0; k < d.size; ++k)
                CHECK(p[k] == std::byte{d.tag}, i, static_cast<long>(k), static_cast<long>(p[k]));
        }
        for (std::size_t at = 0; at < kRootCapacity; ++at)
            if (must_zero_[at]) CHECK(reads_zero(at), -1, static_cast<long>(at));
    }

    lake::Lake storage_;
    std::array<std::optional<View>, kViews> views_;
    std::uintptr_t root_ = 0;
    std::array<ModelArena, kViews> arenas_;
    std::array<std::array<std::optional<lake::Sandbox>, kSandboxes>, kViews> sandboxes_;
    std::array<ModelDroplet, kDroplets> drops_;
    std::array<std::optional<lake::DropletDyn>, kDroplets> dyn_;
    std::array<std::optional<lake::Droplet<16>>, kDroplets> fixed_;
    std::array<std::byte*, kDroplets> raw_{};
    std::array<ModelSnapshot, kSnapshots> snaps_;
    std::array<lake::Snapshot, kSnapshots> snap_real_;
    std::array<bool, kRootCapacity> must_zero_{};
    std::uint8_t tags_ = 0;
    int in_process_ = -1;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    Harness h;
    for (int i = 0; i < kMaxSteps && in.remaining_bytes() > 0; ++i) h.step(in);
    return 0;
}
