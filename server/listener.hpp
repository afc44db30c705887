// server/listener.hpp — the listening sockets: one per worker, all on one port (SO_REUSEPORT).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lake::server {

// Opens a non-blocking TCP listener on host:port with SO_REUSEADDR, SO_REUSEPORT and
// TCP_NODELAY (accepted sockets inherit it). Returns the fd, or -errno with `error` filled in.
int open_listener(const std::string& host, std::uint16_t port, std::string& error);

// Refuses a port another server already listens on: joining its SO_REUSEPORT group would take a
// share of its connections silently. An empty string when host:port is free (or port is 0),
// else "... address in use ...".
std::string check_port_free(const std::string& host, std::uint16_t port);

// Makes the kernel hand each new connection on this SO_REUSEPORT group to listener i when the
// SYN is processed on cpu_of_listener[i] (the CPU whose worker owns listener i), and by hash
// otherwise. The connection's packets are then handled, its worker woken and its socket touched
// on one CPU: no cross-CPU wake-ups and warm caches. The listeners must have joined the group
// in index order and be its only members. Returns 0 or -errno.
int steer_connections_by_cpu(int fd, const std::vector<int>& cpu_of_listener);

// The port a socket is bound to (useful after binding port 0).
std::uint16_t bound_port(int fd);

}  // namespace lake::server
