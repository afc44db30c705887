// proxy/upstream_address.hpp — "host:port" resolved once, at start-up, to a socket address.
#pragma once

#include <sys/socket.h>

#include <string>

namespace lake::proxy {

struct UpstreamAddress {
    std::string text;  // as configured: "127.0.0.1:9001", "[::1]:9001", "app.internal:8080"
    sockaddr_storage address{};
    socklen_t length = 0;
};

// Resolves `text` (getaddrinfo: the first TCP address). Empty on success, or what is wrong.
std::string resolve_upstream(const std::string& text, UpstreamAddress& out);

}  // namespace lake::proxy
