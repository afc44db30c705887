// handlers/handler.hpp — the handler API: a plain function plus a context pointer.
//
// A handler reads the Request and fills the Response. It runs on a worker thread, must not
// block, and may use request.arena for scratch memory (reset when the next request starts).
// It may throw: the connection answers 500 then. Plugins export handlers with the same shape.
#pragma once

#include "request.hpp"
#include "response.hpp"

namespace lake::handlers {

using HandlerFn = void (*)(const http::Request& request, http::Response& response, void* context);

struct Handler {
    HandlerFn fn = nullptr;
    void* context = nullptr;
};

// Middleware: runs around the handlers of the routes under a path prefix. A before-hook that
// returns true has answered the request itself (e.g. 401) and the handler is not run; an
// after-hook's result is ignored (it may add headers). Same threading rules as handlers.
using HookFn = bool (*)(const http::Request& request, http::Response& response, void* context);

struct Hook {
    HookFn fn = nullptr;
    void* context = nullptr;
};

}  // namespace lake::handlers
