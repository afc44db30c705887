// lake/sandbox.hpp — commit-or-rollback scopes over an arena.
#pragma once

#include <cstddef>

#include "core.hpp"

namespace lake {

// Returned by sandbox(). Allocations made in the arena while the sandbox is open are kept by
// commit(); if the sandbox is destroyed (or rolled back) uncommitted, the arena rewinds to where
// it stood when the sandbox opened, and those droplets become invalid.
//
// An open sandbox is a floor: destroying a droplet allocated before it never gives bytes back
// below its start, so what is allocated inside is always rolled back. Sandboxes nest and must
// end in the reverse order of opening (like scopes); an inner sandbox's committed work is still
// rolled back by an outer sandbox that is not committed.
class [[nodiscard]] Sandbox {
  public:
    Sandbox(Sandbox&& o) noexcept : core_(o.core_), start_(o.start_), outer_floor_(o.outer_floor_) {
        o.core_ = nullptr;
    }
    Sandbox(const Sandbox&) = delete;
    Sandbox& operator=(const Sandbox&) = delete;
    Sandbox& operator=(Sandbox&&) = delete;
    ~Sandbox() { (void)rollback(); }

    // Keeps what was allocated. false if the sandbox was already committed or rolled back.
    bool commit() noexcept {
        if (core_ == nullptr) return false;
        end();
        return true;
    }
    // Rewinds to the sandbox's start now. false if already ended, or if the arena was reset or
    // explicitly rewound below the start in between (then there is nothing left to roll back).
    bool rollback() noexcept {
        if (core_ == nullptr) return false;
        detail::ArenaCore* core = core_;
        end();
        return core->rewind(start_);
    }
    bool is_open() const noexcept { return core_ != nullptr; }
    std::size_t start_offset() const noexcept { return start_.offset(); }

  private:
    friend class BasicArena;
    explicit Sandbox(detail::ArenaCore& core) noexcept
        : core_(&core), start_(core.snapshot()), outer_floor_(core.open_sandbox_floor()) {}

    void end() noexcept {
        core_->close_sandbox_floor(outer_floor_);
        core_ = nullptr;
    }

    detail::ArenaCore* core_;
    Snapshot start_;
    std::size_t outer_floor_;
};

}  // namespace lake
