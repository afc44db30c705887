// lake/lake_arena.hpp — Lake: an arena that owns one fixed, preallocated buffer.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include "arena.hpp"
#include "memory_block.hpp"

namespace lake {

// A fixed-capacity linear arena. The buffer is allocated once, page-aligned, at construction
// (which throws std::bad_alloc if it cannot be had) and never grows; after that, allocating is a
// pointer bump with no system call, no lock and no heap allocation.
//
// Not thread-safe: use one Lake per thread (see thread_lake.hpp). Neither copyable nor movable,
// because droplets and views point at it.
class Lake : public BasicArena {
  public:
    explicit Lake(std::size_t capacity, LakeOptions options = {})
        : Lake(std::make_unique<detail::MemoryBlock>(capacity, options)) {}

    ~Lake() { detail::unpoison(block_->data(), block_->size()); }  // the pages go back unpoisoned

    // True when the buffer is backed by huge pages (only ever when LakeOptions asked for them).
    bool huge_pages() const noexcept { return block_->huge(); }

  private:
    explicit Lake(std::unique_ptr<detail::MemoryBlock> block)
        : BasicArena(block->data(), block->size()), block_(std::move(block)) {}

    std::unique_ptr<detail::MemoryBlock> block_;
};

}  // namespace lake
