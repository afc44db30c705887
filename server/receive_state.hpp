// server/receive_state.hpp — a connection's input side: the receive buffers it holds unparsed
// and the state of its multishot recv.
//
//   armed ──(a completion without `more`: EOF, error, byte budget, cancel)──▶ not armed
//   not armed ──(Connection::update_recv: open, under the hold limit)──▶ armed
//   holding the limit ──▶ cancelling (paused) ──▶ re-armed below half the limit
//   ENOBUFS ──▶ waiting_for_buffers ──(the ring has buffers again)──▶ re-armed
#pragma once

#include "buffer_ring.hpp"
#include "completion.hpp"

namespace lake::server {

struct ReceiveState {
    HeldQueue held;                    // received, not parsed yet (in arrival order)
    bool armed = false;                // a multishot recv is live
    bool cancelling = false;           // it is being cancelled; its last CQE is on its way
    bool paused = false;               // not re-armed for back-pressure (counted once a pause)
    bool waiting_for_buffers = false;  // stopped by ENOBUFS: re-armed when the ring has buffers
    bool peer_closed = false;          // the client sent EOF

    void clear() noexcept { *this = ReceiveState{}; }
    // Every receive completion: one without `more` ended the receive.
    void completed(const Completion& c) noexcept {
        if (!c.more) armed = cancelling = false;
    }
    // Nothing stands in the way of arming one (the connection decides whether it wants one).
    bool can_arm() const noexcept { return !armed && !waiting_for_buffers && !peer_closed; }
};

}  // namespace lake::server
