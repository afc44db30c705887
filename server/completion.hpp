// server/completion.hpp — what an I/O backend reports when a connection's operation completes:
// the same three fields whichever backend ran it (io_uring's CQE, or what the epoll loop did).
#pragma once

#include <cstdint>

namespace lake::server {

struct Completion {
    static constexpr std::uint16_t kNoBuffer = 0xFFFF;

    int result = 0;                    // bytes, 0 (EOF), or -errno
    bool more = false;                 // a receive: it stays armed and more completions follow
    std::uint16_t buffer = kNoBuffer;  // a receive of result > 0 bytes: the buffer holding them
};

}  // namespace lake::server
