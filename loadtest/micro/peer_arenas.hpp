// loadtest/micro/peer_arenas.hpp — the arenas from other libraries: foonathan/memory's
// memory_stack and protobuf's Arena, both given one preallocated block up front like Lake.
#pragma once

#include <google/protobuf/arena.h>
#include <foonathan/memory/memory_stack.hpp>

#include <cstdlib>
#include <memory>

#include "contenders.hpp"

namespace micro {

// memory_stack takes its block from the heap itself; its placement is its own.
class FoonathanStack {
  public:
    static constexpr const char* name() { return "foonathan memory_stack"; }
    void* alloc(std::size_t n, std::size_t align) { return stack_.allocate(n, align); }
    void mark() { markers_[depth_++] = stack_.top(); }
    void release_to_mark() { stack_.unwind(markers_[--depth_]); }
    void reset() { stack_.unwind(start_); }

  private:
    foonathan::memory::memory_stack<> stack_{kCapacity};
    foonathan::memory::memory_stack<>::marker start_ = stack_.top();
    foonathan::memory::memory_stack<>::marker markers_[16] = {
        start_, start_, start_, start_, start_, start_, start_, start_,
        start_, start_, start_, start_, start_, start_, start_, start_};
    std::size_t depth_ = 0;
};

class ProtobufArena {
  public:
    ProtobufArena() {
        google::protobuf::ArenaOptions o;
        o.initial_block = block_.get();
        o.initial_block_size = kCapacity;
        arena_ = std::make_unique<google::protobuf::Arena>(o);
    }
    static constexpr const char* name() { return "protobuf Arena"; }
    void* alloc(std::size_t n, std::size_t align) {
        // Arena aligns to 8; over-aligned requests are padded by hand, as its users must.
        if (align <= 8) return google::protobuf::Arena::CreateArray<char>(arena_.get(), n);
        char* p = google::protobuf::Arena::CreateArray<char>(arena_.get(), n + align - 1);
        return reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(p) + align - 1) &
                                       ~(align - 1));
    }
    void mark() {}  // no nested release
    void release_to_mark() {}
    void reset() { arena_->Reset(); }

  private:
    std::unique_ptr<char, decltype(&std::free)> block_{buffer(), &std::free};
    std::unique_ptr<google::protobuf::Arena> arena_;
};

}  // namespace micro
