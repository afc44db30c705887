// GET /healthz and GET /readyz (paths from [health]): for load balancers and orchestrators.
// Alive answers 200 while the process serves at all; ready answers 200 while it accepts new
// connections and 503 once it drains, so that a balancer stops sending before it goes.
#include <atomic>

#include "builtin.hpp"

namespace lake::handlers {

namespace {

void alive(const http::Request&, http::Response& response, void*) { response.text(200, "ok\n"); }

void ready(const http::Request&, http::Response& response, void* draining) {
    if (static_cast<const std::atomic<bool>*>(draining)->load(std::memory_order_relaxed))
        response.text(503, "draining\n");
    else
        response.text(200, "ready\n");
}

}  // namespace

void add_health_handlers(Router& router, const std::string& live_path,
                         const std::string& ready_path, const std::atomic<bool>* draining) {
    if (!live_path.empty()) router.add(http::Method::Get, live_path, {&alive, nullptr});
    if (!ready_path.empty())
        router.add(http::Method::Get, ready_path,
                   {&ready, const_cast<void*>(static_cast<const void*>(draining))});
}

}  // namespace lake::handlers
