// lake/sandbox.hpp — commit-or-rollback scopes over an arena.
#pragma once

#include "arena.hpp"

namespace lake {

// Returned by sandbox(). Allocations made in the arena while the sandbox is open are kept by
// commit(); if the sandbox is destroyed (or rolled back) uncommitted, the arena rewinds to where
// it stood when the sandbox opened, and those droplets become invalid. Sandboxes nest: an inner
// sandbox's committed work is still rolled back by an outer sandbox that is not committed.
class [[nodiscard]] Sandbox {
  public:
    Sandbox(Sandbox&& o) noexcept : core_(o.core_), start_(o.start_) { o.core_ = nullptr; }
    Sandbox(const Sandbox&) = delete;
    Sandbox& operator=(const Sandbox&) = delete;
    Sandbox& operator=(Sandbox&&) = delete;
    ~Sandbox() { rollback(); }

    // Keeps what was allocated. false if the sandbox was already committed or rolled back.
    bool commit() noexcept {
        if (core_ == nullptr) return false;
        core_ = nullptr;
        return true;
    }
    // Rewinds to the sandbox's start now. false if already ended, or if the arena was reset or
    // rewound below the start in between (then there is nothing left to roll back).
    bool rollback() noexcept {
        if (core_ == nullptr) return false;
        const bool ok = core_->rewind(start_);
        core_ = nullptr;
        return ok;
    }
    bool is_open() const noexcept { return core_ != nullptr; }
    std::size_t start_offset() const noexcept { return start_.offset(); }

  private:
    friend class BasicArena;
    explicit Sandbox(detail::ArenaCore& core) noexcept : core_(&core), start_(core.snapshot()) {}

    detail::ArenaCore* core_;
    Snapshot start_;
};

inline Sandbox BasicArena::sandbox() noexcept { return Sandbox(core_); }

}  // namespace lake
