// server/op_tag.hpp — what every SQE carries in user_data: the operation and the connection.
#pragma once

#include <cstdint>

namespace lake::server {

// Handler: the one operation a connection's waiting handler has on the ring (handlers/io.hpp).
// FileReady: the socket has room for a file's range (the send itself follows, then Send's report).
enum class Op : std::uint8_t {
    Accept = 1,
    Recv,
    Send,
    Cancel,
    Timer,
    Wake,
    LogWrite,
    Handler,
    FileReady
};

constexpr std::uint64_t tag(Op op, std::uint32_t connection = 0) noexcept {
    return (std::uint64_t{static_cast<std::uint8_t>(op)} << 32) | connection;
}
constexpr Op op_of(std::uint64_t user_data) noexcept { return static_cast<Op>(user_data >> 32); }
constexpr std::uint32_t connection_of(std::uint64_t user_data) noexcept {
    return static_cast<std::uint32_t>(user_data);
}

}  // namespace lake::server
