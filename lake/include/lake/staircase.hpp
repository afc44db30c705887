// lake/staircase.hpp — validity tracking: which handles the rewinds of one arena have killed.
//
// Every rewind that frees bytes starts a new *epoch*. A handle (droplet or view) remembers the
// epoch it was born in and the offset where it ends; it is dead as soon as a later rewind went
// below its end, even if that space has been handed out again since. The staircase keeps, for the
// rewinds that still matter, (limit, epoch) steps: a handle ending at or above `limit` and born
// before `epoch` is dead. Limits and epochs both increase along the staircase, and a rewind pops
// every step at or above its own limit, so the staircase is as deep as the number of distinct
// rewind levels still outstanding (nested marks, snapshots, give-backs).
//
// Up to its capacity the answer is exact. Past it the two oldest steps merge, which can only make
// an old handle report *invalid* early — never a dead handle valid. The storage for the steps
// belongs to the arena object (its size is a template parameter of views), not to this class.
//
// Tracking costs nothing until a handle exists: until then (and again after a reset, which kills
// every handle) rewinds skip the staircase.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lake::detail {

struct KillStep {
    std::size_t limit;    // handles whose end >= limit were freed...
    std::uint64_t epoch;  // ...by the rewind that started this epoch
};

class Staircase {
  public:
    Staircase() noexcept = default;
    Staircase(KillStep* steps, std::size_t capacity) noexcept
        : steps_(steps), capacity_(capacity) {}

    std::uint64_t epoch() const noexcept { return epoch_; }
    std::size_t capacity() const noexcept { return capacity_; }
    std::size_t depth() const noexcept { return levels_; }

    // A handle now points into the arena: from here on rewinds must record what they kill.
    void track() noexcept { tracking_ = true; }

    // True when no rewind since epoch `born` went below `end`.
    bool alive(std::size_t end, std::uint64_t born) const noexcept {
        if (born == epoch_) return true;  // nothing was freed since its birth
        for (std::size_t i = levels_; i-- > 0;) {
            if (steps_[i].limit <= end) return steps_[i].epoch <= born;
        }
        return true;
    }

    // Records a rewind that freed every byte at or above `limit - 1` (so handles ending at or
    // above `limit` die).
    void record_kill(std::size_t limit) noexcept {
        if (!tracking_) return;  // no handle born since the last reset can be affected
        ++epoch_;
        while (levels_ > 0 && steps_[levels_ - 1].limit >= limit) --levels_;
        if (levels_ == capacity_) {
            // Full: merge the two oldest steps (the new one is the second when the capacity is 1).
            // The merged step keeps the lower limit and the newer epoch: it kills a little more
            // than it should, which errs towards "invalid", never towards "valid".
            if (capacity_ == 1) {
                steps_[0].epoch = epoch_;
                return;
            }
            steps_[1].limit = steps_[0].limit;
            for (std::size_t i = 1; i < levels_; ++i) steps_[i - 1] = steps_[i];
            --levels_;
        }
        steps_[levels_++] = KillStep{limit, epoch_};
    }

    // A reset: every handle born so far is dead, and none exists any more to track.
    void kill_all() noexcept {
        if (!tracking_) return;
        levels_ = 0;
        record_kill(0);  // limit 0: kills every handle, zero-sized ones at offset 0 included
        tracking_ = false;
    }

    // Takes over `from`'s epochs (a moved arena) and kills every handle born before the move:
    // they point at the old object, or at this address from an earlier life.
    void adopt(Staircase& from) noexcept {
        epoch_ = from.epoch_ > epoch_ ? from.epoch_ : epoch_;
        tracking_ = true;
        kill_all();
        from.levels_ = 0;
        from.tracking_ = false;
    }

  private:
    // The flag first: a reset reads only it when no handle was taken (its arena keeps it in the
    // same cache line as the offset).
    bool tracking_ = false;
    std::uint64_t epoch_ = 0;
    std::size_t levels_ = 0;
    KillStep* steps_ = nullptr;
    std::size_t capacity_ = 0;
};

}  // namespace lake::detail
