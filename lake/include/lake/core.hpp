// lake/core.hpp — the state every arena shares: offset, marks, generation, validity tracking.
//
// Lake (owns its memory) and LakeView (borrows a slice of a parent) both wrap one ArenaCore, so
// the bump, the mark stack and the rules for rewinding exist exactly once.
//
// Validity tracking. Every rewind that frees bytes starts a new *epoch*. A droplet remembers the
// epoch it was born in and its end offset; it is dead as soon as any later rewind went below its
// end, even if that space has been handed out again since. The core keeps, for the rewinds that
// still matter, a "staircase" of (limit, epoch) pairs: positions >= limit-1 were last freed in that
// epoch. Limits and epochs both increase along the staircase, and a rewind pops every step at or
// above its own limit, so the staircase is as deep as the number of distinct rewind levels still
// outstanding (nested marks, snapshots). Up to kMaxRewindLevels levels, is_valid() is exact. Past
// that the two oldest steps are merged, which can only make an old droplet report *invalid* early
// — it never reports a dead droplet as valid.
//
// Tracking is paid for only when it can matter: until a droplet or view is handed out (or after
// a reset, which kills them all), rewinds skip the staircase, so raw allocate() + marks cost no
// more than a plain offset move.
//
// Not thread-safe: an arena and everything allocated from it belong to one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "align.hpp"
#include "config.hpp"

namespace lake {

namespace detail {
class ArenaCore;
}

// Counters describing an arena. `overflows` counts every refused allocation (no room, or a bad
// alignment); `generation` counts resets.
struct Stats {
    std::size_t used = 0;
    std::size_t remaining = 0;
    std::size_t capacity = 0;
    std::size_t high_water = 0;
    std::uint64_t generation = 0;
    std::uint64_t allocations = 0;
    std::uint64_t overflows = 0;
};

// A saved arena position. Cheap to copy; rewind(snapshot) restores it if it is still meaningful.
class Snapshot {
  public:
    Snapshot() = default;
    std::size_t offset() const noexcept { return offset_; }
    std::uint64_t generation() const noexcept { return generation_; }

  private:
    friend class detail::ArenaCore;
    const detail::ArenaCore* owner_ = nullptr;
    std::size_t offset_ = 0;
    std::uint64_t generation_ = 0;
};

namespace detail {

class ArenaCore {
  public:
    static constexpr std::size_t kMaxMarks = 16;
    static constexpr std::size_t kMaxRewindLevels = 16;

    ArenaCore() noexcept = default;
    ArenaCore(std::byte* base, std::size_t capacity) noexcept
        : base_(base), cur_(base), end_(base + capacity) {
        poison(base_, capacity);
    }
    ArenaCore(const ArenaCore&) = delete;
    ArenaCore& operator=(const ArenaCore&) = delete;

    std::byte* base() const noexcept { return base_; }
    std::size_t offset() const noexcept { return static_cast<std::size_t>(cur_ - base_); }
    std::size_t capacity() const noexcept { return static_cast<std::size_t>(end_ - base_); }
    std::uint64_t epoch() const noexcept { return epoch_; }
    std::uint64_t generation() const noexcept { return generation_; }

    // Records that this arena's memory is the block ending at `end` of `parent`, born in `epoch`
    // (a LakeView). Debug builds then refuse to allocate once the parent rewound below it.
    void set_origin(ArenaCore* parent, std::size_t end, std::uint64_t epoch) noexcept {
        parent_ = parent;
        parent_end_ = end;
        parent_epoch_ = epoch;
    }
    ArenaCore* parent() const noexcept { return parent_; }
    // True unless this is a view whose parent has since rewound below it.
    bool origin_alive() const noexcept {
        return parent_ == nullptr || parent_->alive(parent_end_, parent_epoch_);
    }
    // Returns the view's block to its parent if it is the parent's most recent allocation.
    void give_back_to_origin() noexcept {
        if (parent_ != nullptr) parent_->give_back(base_, capacity(), parent_epoch_);
        parent_ = nullptr;
    }

    // The hot path: aligns the current address, bumps the offset, returns the block or nullptr.
    std::byte* bump(std::size_t size, std::size_t align) noexcept {
        LAKE_ASSERT(origin_alive(), "allocation from a LakeView whose parent rewound below it");
        // Pointer arithmetic on the current and end addresses: two compares and two stores.
        const auto cur = reinterpret_cast<std::uintptr_t>(cur_);
        const auto end = reinterpret_cast<std::uintptr_t>(end_);
        const std::uintptr_t at = (cur + (align - 1)) & ~static_cast<std::uintptr_t>(align - 1);
        if (at > end || size > end - at || !is_power_of_two(align)) [[unlikely]] {
            ++overflows_;
            return nullptr;
        }
        std::byte* p = cur_ + (at - cur);
        cur_ = p + size;
        ++allocations_;
        unpoison(p, size);
        return p;
    }

    // Gives back the bytes of the block [p, p+size) if it is the most recent live allocation.
    bool give_back(const std::byte* p, std::size_t size, std::uint64_t born) noexcept {
        const std::size_t begin = static_cast<std::size_t>(p - base_);
        if (begin + size != offset() || !alive(begin + size, born)) return false;
        rewind_to(begin);
        return true;
    }

    // True when no rewind since epoch `born` went below `end` and no reset happened.
    bool alive(std::size_t end, std::uint64_t born) const noexcept {
        if (born == epoch_) return true;  // nothing was freed since its birth
        for (std::size_t i = levels_; i-- > 0;) {
            if (steps_[i].limit <= end) return steps_[i].epoch <= born;
        }
        return true;
    }

    // Moves the offset down to `target`; no-op when target >= offset. Frees (and, with zeroing,
    // wipes) the bytes above it and kills every droplet that ended above it.
    void rewind_to(std::size_t target) noexcept {
        const std::size_t offset = this->offset();
        if (target >= offset) return;
        note_high_water();
        release(target, offset - target);
        record_kill(target + 1);
        cur_ = base_ + target;
    }

    void reset() noexcept {
        note_high_water();
        release(0, offset());
        cur_ = base_;
        ++generation_;
        mark_count_ = 0;
        if (tracking_) {
            levels_ = 0;
            record_kill(0);  // limit 0: kills every droplet, zero-sized ones at offset 0 included
            tracking_ = false;
        }
    }

    // A droplet or view now points into this arena: rewinds must record what they kill.
    void track() noexcept { tracking_ = true; }

    // reset(), then wipes every byte ever handed out, whatever the zeroing setting.
    void clear() noexcept {
        note_high_water();
        if (high_water_ != 0) {  // an empty view has no buffer at all
            unpoison(base_, high_water_);
            std::memset(base_, 0, high_water_);
            poison(base_, high_water_);
        }
        reset();
    }

    bool push_mark() noexcept {
        if (mark_count_ == kMaxMarks) return false;
        marks_[mark_count_++] = offset();
        return true;
    }
    bool pop_mark_and_rewind() noexcept {
        if (mark_count_ == 0) return false;
        rewind_to(marks_[--mark_count_]);
        return true;
    }
    bool move_top_mark() noexcept {
        if (mark_count_ == 0) return false;
        marks_[mark_count_ - 1] = offset();
        return true;
    }
    std::size_t mark_depth() const noexcept { return mark_count_; }

    Snapshot snapshot() const noexcept {
        Snapshot s;
        s.owner_ = this;
        s.offset_ = offset();
        s.generation_ = generation_;
        return s;
    }
    // Refuses snapshots of another arena, of an earlier generation, or above the current offset.
    bool rewind(const Snapshot& s) noexcept {
        if (s.owner_ != this || s.generation_ != generation_ || s.offset_ > offset()) return false;
        rewind_to(s.offset_);
        return true;
    }

    void set_zeroing(bool on) noexcept { zeroing_ = on; }
    bool zeroing() const noexcept { return zeroing_; }

    Stats stats() const noexcept {
        Stats s;
        s.used = offset();
        s.remaining = capacity() - s.used;
        s.capacity = capacity();
        s.high_water = high_water_ > s.used ? high_water_ : s.used;
        s.generation = generation_;
        s.allocations = allocations_;
        s.overflows = overflows_;
        return s;
    }
    void count_overflow() noexcept { ++overflows_; }

    // Hands out every free byte at once (for process()): unpoisons [offset, capacity).
    std::byte* open_free_space(std::size_t align, std::size_t& room) noexcept {
        LAKE_ASSERT(origin_alive(), "allocation from a LakeView whose parent rewound below it");
        const auto cur = reinterpret_cast<std::uintptr_t>(cur_);
        const std::size_t pad = static_cast<std::size_t>(-cur) & (align - 1);
        const std::size_t free = static_cast<std::size_t>(end_ - cur_);
        if (!is_power_of_two(align) || pad > free) {
            room = 0;
            ++overflows_;
            return nullptr;
        }
        room = free - pad;
        unpoison(cur_ + pad, room);
        return cur_ + pad;
    }
    // Keeps `used` bytes of the block opened by open_free_space and poisons the rest again.
    // A `used` larger than `room` means the writer ran out of space: nothing is kept.
    bool close_free_space(std::byte* p, std::size_t room, std::size_t used) noexcept {
        if (used > room) {
            poison(p, room);
            ++overflows_;
            return false;
        }
        poison(p + used, room - used);
        cur_ = p + used;
        ++allocations_;
        return true;
    }

  private:
    struct Step {
        std::size_t limit;    // droplets whose end >= limit were freed...
        std::uint64_t epoch;  // ...by the rewind that started this epoch
    };

    void note_high_water() noexcept {
        if (offset() > high_water_) high_water_ = offset();
    }

    void release(std::size_t from, std::size_t len) noexcept {
        if (zeroing_ && len != 0) {
            unpoison(base_ + from, len);  // a child view may have poisoned part of it
            std::memset(base_ + from, 0, len);
        }
        poison(base_ + from, len);
    }

    void record_kill(std::size_t limit) noexcept {
        if (!tracking_) return;  // no handle born since the last reset can be affected
        ++epoch_;
        while (levels_ > 0 && steps_[levels_ - 1].limit >= limit) --levels_;
        if (levels_ == kMaxRewindLevels) {
            // Merge the two oldest steps: the merged step kills a little more than it should,
            // which errs towards "invalid", never towards "valid".
            steps_[1].limit = steps_[0].limit;
            for (std::size_t i = 1; i < levels_; ++i) steps_[i - 1] = steps_[i];
            --levels_;
        }
        steps_[levels_++] = Step{limit, epoch_};
    }

    std::byte* base_ = nullptr;
    std::byte* cur_ = nullptr;  // the next free byte
    std::byte* end_ = nullptr;
    ArenaCore* parent_ = nullptr;  // set for views only
    std::size_t parent_end_ = 0;
    std::uint64_t parent_epoch_ = 0;
    std::size_t high_water_ = 0;
    std::uint64_t epoch_ = 0;
    std::uint64_t generation_ = 0;
    std::uint64_t allocations_ = 0;
    std::uint64_t overflows_ = 0;
    bool zeroing_ = false;
    bool tracking_ = false;
    std::size_t mark_count_ = 0;
    std::size_t levels_ = 0;
    // Left uninitialized on purpose: only entries below the counts are ever read.
    std::size_t marks_[kMaxMarks];
    Step steps_[kMaxRewindLevels];
};

}  // namespace detail
}  // namespace lake
