// server/listener.hpp — the listening sockets: one per worker, all on one port (SO_REUSEPORT).
#pragma once

#include <cstdint>
#include <string>

namespace lake::server {

// Opens a non-blocking TCP listener on host:port with SO_REUSEADDR, SO_REUSEPORT and
// TCP_NODELAY (accepted sockets inherit it). Returns the fd, or -errno with `error` filled in.
int open_listener(const std::string& host, std::uint16_t port, std::string& error);

// The port a socket is bound to (useful after binding port 0).
std::uint16_t bound_port(int fd);

}  // namespace lake::server
