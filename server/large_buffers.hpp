// server/large_buffers.hpp — a worker's few big views, lent to requests and responses that
// outgrow a connection's own views (bodies up to the body limit, echo of such bodies).
//
// The pool is shared by every client of the worker, so no client may take all of it: each
// client (an IPv4 address, or an IPv6 /64) holds at most `per_client` buffers at once (0: no
// limit, for a server behind a proxy where every request comes from one address).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include <lake/lake.hpp>

namespace lake::server {

// Who holds a large buffer: a peer's address folded to 64 bits (0 when unknown).
using ClientKey = std::uint64_t;

class LargeBufferPool {
  public:
    // Carves `count` views of `size` bytes from the worker's lake, at start-up.
    LargeBufferPool(lake::BasicArena& lake, std::size_t count, std::size_t size,
                    std::size_t per_client)
        : per_client_(per_client) {
        free_.reserve(count);
        holders_.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            lake::LakeView& v = views_.emplace_back(lake, size, 4096);
            if (v) free_.push_back(&v);
        }
    }

    // A reset view, or nullptr when every buffer is lent out or `client` holds its share.
    lake::LakeView* acquire(ClientKey client) noexcept {
        if (free_.empty()) return nullptr;
        Holder* h = holder(client);
        if (per_client_ != 0 && h != nullptr && h->count >= per_client_) return nullptr;
        if (h == nullptr) h = &holders_.emplace_back(Holder{client, 0});  // reserved: no allocation
        ++h->count;
        lake::LakeView* v = free_.back();
        free_.pop_back();
        return v;
    }
    void release(lake::LakeView* v, ClientKey client) noexcept {
        if (v == nullptr) return;
        v->reset();
        free_.push_back(v);  // capacity reserved up front: no allocation
        if (Holder* h = holder(client); h != nullptr && --h->count == 0) {
            *h = holders_.back();
            holders_.pop_back();
        }
        freed_ = true;
    }
    // Whether a buffer came back since the last call (the worker then wakes those waiting).
    bool take_freed() noexcept {
        const bool f = freed_;
        freed_ = false;
        return f;
    }
    std::size_t available() const noexcept { return free_.size(); }
    std::size_t size() const noexcept { return views_.size(); }

  private:
    struct Holder {
        ClientKey client;
        std::size_t count;
    };
    // At most one entry per lent buffer: a short linear search on a path taken per large body.
    Holder* holder(ClientKey client) noexcept {
        for (Holder& h : holders_)
            if (h.client == client) return &h;
        return nullptr;
    }

    std::deque<lake::LakeView> views_;
    std::vector<lake::LakeView*> free_;
    std::vector<Holder> holders_;
    std::size_t per_client_;
    bool freed_ = false;
};

}  // namespace lake::server
