// server/prometheus.hpp — the workers' counters as a Prometheus text-format page (GET /metrics),
// summed at scrape time: nothing shared is written on the request path.
#pragma once

#include <memory>
#include <vector>

#include "../handlers/response.hpp"
#include "worker.hpp"

namespace lake::server {

// Writes the page into `response` (straight into its response arena, with {fmt}).
void write_prometheus(http::Response& response,
                      const std::vector<std::unique_ptr<Worker>>& workers);

}  // namespace lake::server
