// proxy/reverse_proxy.hpp — requests under a URL prefix forwarded to upstream HTTP/1.1 servers
// ([[proxy]] in the config): a streaming waiting handler on the upstream client
// (proxy/upstream_client.hpp).
//
// The request's body is streamed to the upstream as it arrives (with its Content-Length, or
// chunked), the response streamed back as it arrives (one that arrives whole goes out as one,
// with its length). Hop-by-hop headers stay on their hop, X-Forwarded-* and Via are added
// (proxy/forwarded_request.hpp). 502 when no upstream answers or the answer is malformed, 504
// when it is not in within read_timeout; an upstream that fails after the response began closes
// the client's connection (never a truncated body that looks whole). A pooled connection found
// closed is retried once on a fresh one when the request can be sent again (idempotent, no body).
#pragma once

#include <memory>
#include <string>

#include "../handlers/router.hpp"
#include "upstream_client.hpp"

namespace lake::proxy {

struct ProxySettings {
    std::string prefix;  // "/api"
    bool strip_prefix = false;
    UpstreamSettings upstream;
};

class ReverseProxy {
  public:
    // Adds the routes `prefix` and `prefix/{*rest}` for GET, HEAD, POST, PUT, DELETE, PATCH and
    // OPTIONS, and an upstream client for them. nullptr and `error` set when an upstream does not
    // resolve.
    static std::unique_ptr<ReverseProxy> mount(handlers::Router& router, ProxySettings settings,
                                               std::string& error);
    ReverseProxy(const ReverseProxy&) = delete;
    ReverseProxy& operator=(const ReverseProxy&) = delete;

    const ProxySettings& settings() const noexcept { return settings_; }
    const UpstreamClient& client() const noexcept { return *client_; }

  private:
    explicit ReverseProxy(ProxySettings settings) : settings_(std::move(settings)) {}
    static handlers::Task forward(const http::Request& request, http::Response& response,
                                  void* self);

    ProxySettings settings_;
    std::unique_ptr<UpstreamClient> client_;
};

}  // namespace lake::proxy
