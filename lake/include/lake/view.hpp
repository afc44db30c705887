// lake/view.hpp — LakeView: a non-owning sub-arena carved from a Lake or from another view.
#pragma once

#include <cstddef>

#include "arena.hpp"

namespace lake {

// A "tributary": `len` bytes of a parent arena with their own offset, marks, generation and
// zeroing setting (inherited from the parent at the split, changeable after), and the full
// allocation API. Rewinding the view never touches the parent.
//
// The view lives only while every ancestor still holds its bytes: once the parent (or any arena
// above it) is reset, rewound below the view's block or moved, the view and everything allocated
// from it report invalid, allocations from it fail (counted as overflows) and its rewinds no
// longer write to memory that now belongs to someone else — in every build.
//
// The view's bytes stay allocated in the parent; when the view is destroyed they go back to the
// parent if they are its most recent allocation (and no parent mark or sandbox is in the way);
// otherwise they stay allocated there, owned by no one (poisoned under ASan). A zeroing view
// wipes every byte it ever handed out before it goes.
//
// MaxMarks and RewindLevels size the view's own bookkeeping (its mark stack, and how many
// distinct rewind levels is_valid() tracks exactly; see staircase.hpp): 8 bytes per mark and 16
// per level, inside the view object. A server with thousands of connection views that only
// reset them can use BasicLakeView<0, 1>.
//
// A view must not outlive its parent, nor droplets their view. Views are movable (the moved-from
// view is empty); droplets and views taken from a view before it moved report invalid after.
template <std::size_t MaxMarks, std::size_t RewindLevels>
class BasicLakeView : public BasicArena {
    using Book = detail::Bookkeeping<MaxMarks, RewindLevels>;

  public:
    // The empty view: capacity 0, tests false.
    BasicLakeView() noexcept : BasicArena(book_) {}
    // Carves `len` bytes aligned to `align` from `parent`; tests false when the parent is full,
    // is a dead view, or is inside a process() writer.
    BasicLakeView(BasicArena& parent, std::size_t len,
                  std::size_t align = alignof(std::max_align_t)) noexcept
        : BasicLakeView(parent, parent.core_.bump(len, align), len) {}

    BasicLakeView(BasicLakeView&& other) noexcept : BasicLakeView() { core_.adopt(other.core_); }
    BasicLakeView& operator=(BasicLakeView&& other) noexcept {
        if (this != &other) {
            leave_parent();
            core_.adopt(other.core_);
        }
        return *this;
    }
    BasicLakeView(const BasicLakeView&) = delete;
    BasicLakeView& operator=(const BasicLakeView&) = delete;
    ~BasicLakeView() { leave_parent(); }

    // False when the split failed (or the view was moved from).
    explicit operator bool() const noexcept { return core_.base() != nullptr; }
    // False once an ancestor was reset, rewound below this view's bytes, or moved.
    bool is_valid() const noexcept { return core_.holds_memory(); }

  private:
    BasicLakeView(BasicArena& parent, std::byte* block, std::size_t len) noexcept
        : BasicArena(block, block != nullptr ? len : 0, book_) {
        if (block != nullptr) {
            const auto end = static_cast<std::size_t>(block - parent.core_.base()) + len;
            core_.attach_to(parent.core_, end);
            core_.set_zeroing(parent.core_.zeroing());
        }
    }

    // A zeroing view wipes what it ever exposed, then offers its block back to the parent.
    void leave_parent() noexcept {
        if (core_.zeroing()) core_.wipe(0, core_.touched());
        core_.leave_parent();
    }

    // Storage for the mark stack and staircase; the core (first in the object) keeps its address.
    Book book_;
};

}  // namespace lake
