// lake/view.hpp — LakeView: a non-owning sub-arena carved from a Lake or from another view.
#pragma once

#include <cstddef>

#include "arena.hpp"

namespace lake {

// A "tributary": `len` bytes of a parent arena with their own offset, marks, generation and
// zeroing setting, and the full allocation API. Rewinding the view never touches the parent.
// The view's bytes stay allocated in the parent; if they are the parent's most recent
// allocation when the view is destroyed, the parent gets them back.
//
// A view must not outlive its parent. It is neither copyable nor movable (droplets point at it);
// construct it where it will live, e.g. `lake::LakeView v = lake.split(4096);`.
class LakeView : public BasicArena {
  public:
    // The empty view: capacity 0, tests false.
    LakeView() noexcept = default;
    // Carves `len` bytes aligned to `align` from `parent`; tests false when the parent is full.
    LakeView(BasicArena& parent, std::size_t len,
             std::size_t align = alignof(std::max_align_t)) noexcept
        : LakeView(parent, parent.core_.bump(len, align), len) {}
    ~LakeView() { core_.give_back_to_origin(); }

    // False when the split failed.
    explicit operator bool() const noexcept { return core_.base() != nullptr; }
    // False once the parent was reset or rewound below this view's bytes.
    bool is_valid() const noexcept { return core_.base() != nullptr && core_.origin_alive(); }

  private:
    LakeView(BasicArena& parent, std::byte* block, std::size_t len) noexcept
        : BasicArena(block, block != nullptr ? len : 0) {
        if (block != nullptr) {
            const auto end = static_cast<std::size_t>(block - parent.core_.base()) + len;
            parent.core_.track();
            core_.set_origin(&parent.core_, end, parent.core_.epoch());
        }
    }
};

inline LakeView BasicArena::split(std::size_t len, std::size_t align) noexcept {
    return LakeView(*this, len, align);
}

}  // namespace lake
