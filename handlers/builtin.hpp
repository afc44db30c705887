// handlers/builtin.hpp — the handlers every lake-server has.
#pragma once

#include <atomic>
#include <string>

#include "router.hpp"

namespace lake::handlers {

// GET /plaintext (TechEmpower), GET /json (TechEmpower), POST /echo.
void add_builtin_handlers(Router& router);

void plaintext(const http::Request& request, http::Response& response, void* context);
void json(const http::Request& request, http::Response& response, void* context);
void echo(const http::Request& request, http::Response& response, void* context);

// GET live_path (200 while serving) and GET ready_path (200, or 503 while `draining` is set);
// an empty path leaves that endpoint out. Added by the server, which owns the flag.
void add_health_handlers(Router& router, const std::string& live_path,
                         const std::string& ready_path, const std::atomic<bool>* draining);

}  // namespace lake::handlers
