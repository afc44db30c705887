// lake/lake_arena.hpp — Lake: an arena that owns one fixed, preallocated buffer.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include "arena.hpp"
#include "memory_block.hpp"
#include "view.hpp"

namespace lake {

// A fixed-capacity linear arena. The buffer is allocated once, page-aligned, at construction
// (which throws std::bad_alloc if it cannot be had) and never grows; after that, allocating is a
// pointer bump with no system call, no lock and no heap allocation.
//
// Not thread-safe: use one Lake per thread (see thread_lake.hpp). Movable (a moved-from Lake is
// empty and safe to destroy; droplets and views taken before the move report invalid after it),
// not copyable.
class Lake : public BasicArena {
    using Book = detail::Bookkeeping<BasicArena::kMaxMarks, BasicArena::kRewindLevels>;

  public:
    explicit Lake(std::size_t capacity, LakeOptions options = {})
        : Lake(std::make_unique<detail::MemoryBlock>(capacity, options)) {}

    Lake(Lake&& other) noexcept : BasicArena(book_), block_(std::move(other.block_)) {
        core_.adopt(other.core_);
    }
    Lake& operator=(Lake&& other) noexcept {
        if (this != &other) {
            release_block();
            block_ = std::move(other.block_);
            core_.adopt(other.core_);
        }
        return *this;
    }
    ~Lake() { release_block(); }

    // True when the buffer is backed by huge pages (only ever when LakeOptions asked for them).
    bool huge_pages() const noexcept { return block_ != nullptr && block_->huge(); }

  private:
    explicit Lake(std::unique_ptr<detail::MemoryBlock> block)
        : BasicArena(block->data(), block->size(), book_), block_(std::move(block)) {}

    void release_block() noexcept {
        if (block_ == nullptr) return;
        detail::unpoison(block_->data(), block_->size());  // the pages go back unpoisoned
        block_.reset();
    }

    std::unique_ptr<detail::MemoryBlock> block_;
    // The mark stack and staircase storage. The core (in the base, first in the object) only
    // keeps its address, so handing it over before this member is constructed is fine; the
    // bump's fields stay at the start of the object.
    Book book_;
};

}  // namespace lake
