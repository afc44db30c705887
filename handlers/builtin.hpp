// handlers/builtin.hpp — the handlers every lake-server has.
#pragma once

#include "router.hpp"

namespace lake::handlers {

// GET /plaintext (TechEmpower), GET /json (TechEmpower), POST /echo.
void add_builtin_handlers(Router& router);

void plaintext(const http::Request& request, http::Response& response, void* context);
void json(const http::Request& request, http::Response& response, void* context);
void echo(const http::Request& request, http::Response& response, void* context);

}  // namespace lake::handlers
