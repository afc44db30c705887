// handlers/task.hpp — a handler that waits: a C++20 coroutine whose frame lives in the
// connection's request arena, never on the heap.
//
//   lake::handlers::Task delay(const lake::http::Request& req, lake::http::Response& res, void*) {
//       co_await req.io->sleep(std::chrono::milliseconds(200));   // handlers/io.hpp
//       res.text(200, "done\n");
//   }
//
// Registered like a plain handler (router.add(Method::Get, "/delay", Handler::waiting(delay))),
// it runs on its worker's thread: every co_await hands an operation to the worker's io_uring and
// the thread serves other connections until it completes. A Task may co_await another Task (its
// frame comes from the same arena and goes back when it ends, if it was the last allocation).
//
// A frame that does not fit the request arena: the top-level handler is answered 503; a nested
// Task throws std::bad_alloc at its co_await. An exception that leaves the handler is answered
// 500 if no byte of the response was sent, otherwise the connection is closed.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <new>
#include <utility>

#include <lake/lake.hpp>

namespace lake::handlers {

// The arena coroutine frames are allocated from on this thread: the engine points it at the
// connection's request arena around every start and resumption of a handler. Defined in the
// server (plugins resolve it against the executable that loads them).
lake::BasicArena*& frame_arena() noexcept;

class [[nodiscard]] Task {
  public:
    struct promise_type;
    using Handle = std::coroutine_handle<promise_type>;

    struct promise_type {
        // Each frame starts with the arena it came from, for operator delete.
        static constexpr std::size_t kHeader = alignof(std::max_align_t);

        static void* operator new(std::size_t size) noexcept {
            lake::BasicArena* arena = frame_arena();
            if (arena == nullptr) return nullptr;
            auto* p =
                static_cast<std::byte*>(arena->allocate(size + kHeader, alignof(std::max_align_t)));
            if (p == nullptr) return nullptr;
            *reinterpret_cast<lake::BasicArena**>(p) = arena;
            return p + kHeader;
        }
        // The bytes go back when the frame was the arena's last allocation (a nested Task that
        // ends before anything else was allocated); otherwise with the arena's reset.
        static void operator delete(void* frame, std::size_t size) noexcept {
            auto* p = static_cast<std::byte*>(frame) - kHeader;
            (void)(*reinterpret_cast<lake::BasicArena**>(p))->deallocate(p, size + kHeader);
        }
        static Task get_return_object_on_allocation_failure() noexcept { return Task{}; }

        Task get_return_object() noexcept { return Task{Handle::from_promise(*this)}; }
        std::suspend_always initial_suspend() noexcept { return {}; }
        struct FinalAwaiter {
            bool await_ready() const noexcept { return false; }
            // Back to the Task that awaited this one; a top-level handler stops here and its
            // connection sees it done.
            std::coroutine_handle<> await_suspend(Handle h) noexcept {
                std::coroutine_handle<> next = h.promise().continuation;
                return next ? next : std::noop_coroutine();
            }
            void await_resume() const noexcept {}
        };
        FinalAwaiter final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { exception = std::current_exception(); }

        std::coroutine_handle<> continuation;
        std::exception_ptr exception;
    };

    Task() noexcept = default;
    explicit Task(Handle h) noexcept : handle_(h) {}
    Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    Task& operator=(Task&& other) noexcept {
        if (this != &other) {
            reset();
            handle_ = std::exchange(other.handle_, {});
        }
        return *this;
    }
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    ~Task() { reset(); }

    // False when the frame could not be allocated.
    explicit operator bool() const noexcept { return static_cast<bool>(handle_); }
    bool done() const noexcept { return handle_ && handle_.done(); }
    // Destroys the frame (and the locals it holds), wherever it is suspended.
    void reset() noexcept {
        if (handle_) std::exchange(handle_, {}).destroy();
    }

    // ---- awaited by another Task ----------------------------------------------------------
    bool await_ready() const noexcept { return !handle_; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
        handle_.promise().continuation = parent;
        return handle_;
    }
    void await_resume() {
        if (!handle_) throw std::bad_alloc();
        if (handle_.promise().exception) std::rethrow_exception(handle_.promise().exception);
    }

    // ---- for the engine -------------------------------------------------------------------
    // Runs the handler until its first wait (or its end).
    void start() noexcept { handle_.resume(); }
    // The exception that ended it, if any.
    std::exception_ptr exception() const noexcept {
        return handle_ ? handle_.promise().exception : nullptr;
    }

  private:
    Handle handle_;
};

// The engine's side of frame_arena(): sets it for a scope, restores it after.
class FrameArenaScope {
  public:
    explicit FrameArenaScope(lake::BasicArena* arena) noexcept
        : saved_(std::exchange(frame_arena(), arena)) {}
    ~FrameArenaScope() { frame_arena() = saved_; }
    FrameArenaScope(const FrameArenaScope&) = delete;
    FrameArenaScope& operator=(const FrameArenaScope&) = delete;

  private:
    lake::BasicArena* saved_;
};

}  // namespace lake::handlers
