// server/large_buffers.hpp — a worker's few big views, lent to requests and responses that
// outgrow a connection's own views (bodies up to the body limit, echo of such bodies).
#pragma once

#include <cstddef>
#include <deque>
#include <vector>

#include <lake/lake.hpp>

namespace lake::server {

class LargeBufferPool {
  public:
    // Carves `count` views of `size` bytes from the worker's lake, at start-up.
    LargeBufferPool(lake::BasicArena& lake, std::size_t count, std::size_t size) {
        free_.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            lake::LakeView& v = views_.emplace_back(lake, size, 4096);
            if (v) free_.push_back(&v);
        }
    }

    // A reset view, or nullptr when every buffer is lent out.
    lake::LakeView* acquire() noexcept {
        if (free_.empty()) return nullptr;
        lake::LakeView* v = free_.back();
        free_.pop_back();
        return v;
    }
    void release(lake::LakeView* v) noexcept {
        if (v == nullptr) return;
        v->reset();
        free_.push_back(v);  // capacity reserved up front: no allocation
    }
    std::size_t available() const noexcept { return free_.size(); }

  private:
    std::deque<lake::LakeView> views_;
    std::vector<lake::LakeView*> free_;
};

}  // namespace lake::server
