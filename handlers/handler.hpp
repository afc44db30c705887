// handlers/handler.hpp — the handler API: a plain function plus a context pointer.
//
// A handler reads the Request and fills the Response. It runs on a worker thread, must not
// block, and may use request.arena for scratch memory (reset when the next request starts).
// It may throw: the connection answers 500 then. Plugins export handlers with the same shape.
// A handler that must wait (a file, a timer, a response sent in parts) is a coroutine returning
// a Task instead (handlers/task.hpp), registered with Handler::waiting().
#pragma once

#include "io.hpp"
#include "request.hpp"
#include "response.hpp"
#include "task.hpp"

namespace lake::handlers {

using HandlerFn = void (*)(const http::Request& request, http::Response& response, void* context);
using WaitingHandlerFn = Task (*)(const http::Request& request, http::Response& response,
                                  void* context);

struct Handler {
    HandlerFn fn = nullptr;
    void* context = nullptr;
    WaitingHandlerFn waiting_fn = nullptr;  // instead of fn: a coroutine
    bool streams_body = false;              // it reads the request body as it arrives

    static Handler waiting(WaitingHandlerFn f, void* context = nullptr) noexcept {
        return Handler{nullptr, context, f};
    }
    // A waiting handler that runs once the headers are in and reads the body itself
    // (io.read_body(), handlers/io.hpp): bodies of any size, never held whole.
    static Handler streaming(WaitingHandlerFn f, void* context = nullptr) noexcept {
        return Handler{nullptr, context, f, true};
    }
    bool empty() const noexcept { return fn == nullptr && waiting_fn == nullptr; }
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
