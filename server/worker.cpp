#include "worker.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "epoll_backend.hpp"
#include "uring_backend.hpp"

namespace lake::server {

Worker::Worker(unsigned index, int listen_fd, const config::ServerConfig& config,
               const handlers::Router& router)
    : index_(index),
      listen_fd_(listen_fd),
      config_(config),
      router_(router),
      server_line_("Server: " + config.server_name + "\r\n") {}

Worker::~Worker() {
    if (wake_fd_ >= 0) ::close(wake_fd_);
    if (reserve_fd_ >= 0) ::close(reserve_fd_);
}

// After the loop: a write of the access log still with the kernel (or only queued on the ring,
// not yet submitted) is seen through before the rest is written at once; otherwise its lines
// and every line after them would be lost. Nothing else is served meanwhile: a socket accepted
// now is closed, other completions are dropped. At most 2 s (a log on a FIFO nobody reads, a
// stuck device: then those lines are lost, as before).
void Worker::finish_access_log_write() noexcept {
    struct LogOnly final : LoopEvents {
        explicit LogOnly(Worker& w) : worker(w) {}
        void on_pass() noexcept override {}
        void on_accept(int result, bool) noexcept override {
            if (result >= 0) ::close(result);
        }
        void on_recv(std::uint32_t, const Completion&) noexcept override {}
        void on_send(std::uint32_t, int) noexcept override {}
        void on_handler_io(std::uint32_t, int) noexcept override {}
        void on_tick() noexcept override { worker.io_->arm_tick(); }  // wakes the next wait
        void on_wake() noexcept override {}
        void on_log_written(int result) noexcept override { worker.access_log_.written(result); }
        Worker& worker;
    };
    if (!io_ || !access_log_.write_in_flight()) return;
    LogOnly events(*this);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (access_log_.write_in_flight() && std::chrono::steady_clock::now() < deadline)
        if (!io_->run_pass(events).empty()) break;
}

void Worker::close_connections() noexcept {
    if (connections_closed_) return;  // teardown() after the worker's thread did it
    connections_closed_ = true;
    finish_access_log_write();
    access_log_.flush_blocking();
    for (Connection& c : connections_)
        if (c.fd() >= 0) ::close(c.fd());
    if (io_) io_->close();  // first: nothing in flight may point into the lake any more
    connections_.clear();
}

void Worker::teardown() noexcept {
    close_connections();
    large_.reset();
    lake::thread_lake_release();
}

std::string Worker::setup() {
    // One lake holds everything this worker needs for its whole life: receive buffers, the
    // connection arenas and the large buffers. Pages are touched only when used.
    const std::size_t large_size = 2 * config_.max_body + 64 * 1024;
    const std::size_t capacity =
        config_.recv_buffers * (config_.recv_buffer_size + 16) + 2 * 4096 +
        config_.max_connections_per_worker * (config_.connection_arena + 2 * 4096) +
        config_.large_buffers_per_worker * (large_size + 4096) +
        (config_.access_log.empty() ? 0 : 2 * AccessLog::kBufferBytes + 128) + 2 * 4096;
    // The worker's lake is its thread's lake (lake::thread_lake_init): it lives and dies with
    // the worker thread, which is the only one that ever touches it.
    try {
        if (!lake::thread_lake_init(capacity)) return "worker thread already has a lake";
    } catch (const std::bad_alloc&) {
        return "cannot reserve " + std::to_string(capacity >> 20) + " MiB for worker " +
               std::to_string(index_) + "'s lake";
    }
    lake::Lake& lake = *lake::thread_lake();
    loop_.hold_limit = std::clamp(config_.recv_buffers / 16, 2u, 8u);
    if (config_.io_backend == "epoll") {
        auto epoll = std::make_unique<EpollBackend>();
        if (std::string err = epoll->setup(config_, lake, loop_.hold_limit); !err.empty())
            return err;
        io_ = std::move(epoll);
    } else {
        auto uring = std::make_unique<UringBackend>(counters_);
        if (std::string err = uring->setup(config_, lake, loop_.hold_limit); !err.empty())
            return err;
        io_ = std::move(uring);
    }
    large_ = std::make_unique<LargeBufferPool>(lake, config_.large_buffers_per_worker, large_size,
                                               config_.large_buffers_per_client);
    refusal_view_ = std::make_unique<lake::LakeView>(lake, 1024, 64);
    if (!*refusal_view_) return "worker " + std::to_string(index_) + "'s lake has no room left";
    if (std::string err =
            access_log_.open(config_.access_log,
                             config_.access_log_format == "json" ? AccessLog::Format::Json
                                                                 : AccessLog::Format::Combined,
                             lake);
        !err.empty())
        return err;

    free_slots_.reserve(config_.max_connections_per_worker);
    moves_.prepare(siblings_.size());
    waiting_for_buffers_.reserve(config_.max_connections_per_worker * 2);
    large_wait_.resize(config_.max_connections_per_worker);
    env_ = std::make_unique<ConnectionEnv>(ConnectionEnv{*io_, *this, config_, router_, loop_,
                                                         io_->buffers(), *large_, counters_,
                                                         access_log_, date_, server_line_});
    for (std::uint32_t i = 0; i < config_.max_connections_per_worker; ++i) {
        if (!connections_.emplace_back(*env_, lake, i).has_memory())
            return "worker " + std::to_string(index_) + "'s lake is too small for its slots";
        free_slots_.push_back(config_.max_connections_per_worker - 1 - i);
    }
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
    if (wake_fd_ < 0) return std::string("eventfd: ") + std::strerror(errno);
    hand_off_.open(static_cast<std::uint32_t>(free_slots_.size()), wake_fd_);
    return {};
}

void Worker::request_stop() noexcept {
    stop_requested_.store(true, std::memory_order_release);
    const std::uint64_t one = 1;
    if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof(one));
}

void Worker::request_log_reopen() noexcept {
    reopen_requested_.store(true, std::memory_order_release);
    const std::uint64_t one = 1;
    if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof(one));
}

// After each loop pass (and, with `all`, each tick): what the access log gathered goes to the
// kernel in one write once there is enough of it.
void Worker::write_access_log(bool all) noexcept {
    const std::span<const char> batch = access_log_.take_batch(all);
    if (!batch.empty()) io_->write_log(access_log_.fd(), batch);
}

void Worker::request_drain(bool handover) noexcept {
    handover_.store(handover, std::memory_order_relaxed);
    drain_requested_.store(true, std::memory_order_release);
    const std::uint64_t one = 1;
    if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof(one));
}

void Worker::inject_failure() noexcept {
    failure_injected_.store(true, std::memory_order_release);
    request_stop();
}

// ---- the event loop -----------------------------------------------------------------------

std::string Worker::run() {
    std::string failure;
    arm_accept();
    io_->arm_tick();
    io_->arm_wake(wake_fd_);
    while (!stopping_) {
        if (failure = io_->run_pass(*this); !failure.empty()) break;
        rearm_waiting();
        wake_large_waiters();
        write_access_log(false);
        if (loop_.draining && all_connections_gone()) break;
    }
    if (failure_injected_.load(std::memory_order_acquire)) failure = "failure injected by a test";
    hand_off_.close(true);
    for (Connection& c : connections_) {
        if (c.state() != Connection::State::Free) ++counters_.cut;
        c.abort();
    }
    if (loop_.draining)
        counters_.drained.set(open_at_drain_ - std::min(open_at_drain_, counters_.cut.get()));
    return failure;
}

void Worker::on_pass() noexcept {
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    loop_.loop_ns = static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u +
                    static_cast<std::uint64_t>(t.tv_nsec);
}

void Worker::on_wake() noexcept {
    take_handed_over();
    if (!loop_.draining && drain_requested_.load(std::memory_order_acquire)) begin_drain();
    if (reopen_requested_.exchange(false, std::memory_order_acq_rel)) access_log_.request_reopen();
    if (stop_requested_.load(std::memory_order_acquire))
        stopping_ = true;
    else
        io_->arm_wake(wake_fd_);
}

void Worker::on_accept(int result, bool more) noexcept {
    if (!more) accept_armed_ = false;
    if (result >= 0) {
        ++counters_.accepted;
        if (!free_slots_.empty())
            open_connection(result);
        else if (!give_away(result)) {
            ++counters_.refused_no_slot;
            refuse(result);
        }
    } else {
        // A drain, not an error: the listener shut down (out of the SO_REUSEPORT group: EINVAL,
        // often seen before the drain request itself), or our own cancel_accept() (ECANCELED).
        if (result == -EINVAL || result == -ECANCELED) return;
        // EMFILE / ENFILE / ENOBUFS / ENOMEM: keep serving the open connections. At the file
        // limit, answer the clients waiting in the backlog 503 at once; then accept again at
        // once if the reserve descriptor is back (new clients will meet the same answer), or
        // at the next tick rather than spinning on a failing accept.
        ++counters_.accept_errors;
        if (result != -EMFILE && result != -ENFILE) return;
        shed_backlog();
        if (reserve_fd_ < 0) return;
    }
    if (!accept_armed_ && !loop_.draining) arm_accept();
}

// At the file-descriptor limit: the reserve descriptor makes room for one accept at a time, each
// answered 503 and closed, until the backlog is empty (bounded per call).
void Worker::shed_backlog() noexcept {
    for (int i = 0; i < 256 && reserve_fd_ >= 0; ++i) {
        ::close(reserve_fd_);
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            ++counters_.refused_fd_limit;
            refuse(fd);
        }
        reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) break;  // the backlog is empty, or a sibling took the freed descriptor
    }
}

void Worker::open_connection(int fd) noexcept {
    const std::uint32_t slot = free_slots_.back();
    free_slots_.pop_back();
    hand_off_.set_free_slots(static_cast<std::uint32_t>(free_slots_.size()));
    connections_[slot].open(fd);
}

// ---- what crosses workers (server/hand_off.hpp) ---------------------------------------------

bool Worker::give_away(int fd) noexcept {
    HandOff* to = HandOff::roomiest(siblings_, &hand_off_);
    if (to == nullptr || !to->offer(fd)) return false;
    ++counters_.handed_off;
    return true;
}

// Sockets siblings handed over (full, or moving a connection here), opened on the next wake.
void Worker::take_handed_over() noexcept {
    for (int fd : hand_off_.take()) {
        if (free_slots_.empty()) {
            ++counters_.refused_no_slot;
            refuse(fd);  // filled up meanwhile by its own accepts
        } else {
            ++counters_.adopted;
            open_connection(fd);
        }
    }
}

// A graceful stop: no more accepts (the listener is already out of the group) or hand-offs
// (the sockets already handed over are served), idle connections close now, busy ones after
// their answer (Connection::on_drain, and `Connection: close` on every response from now on).
void Worker::begin_drain() noexcept {
    loop_.draining = true;
    hand_off_.close(false);
    take_handed_over();
    if (accept_armed_) io_->cancel_accept();
    open_at_drain_ = connections_.size() - free_slots_.size();
    if (!handover_.load(std::memory_order_relaxed))
        for (Connection& c : connections_)
            if (c.state() != Connection::State::Free) c.on_drain();
}

// Once a tick: connections whose packets now arrive on another worker's CPU are asked to move
// there (Connection::request_move), within MovePlan's balance.
void Worker::plan_moves() noexcept {
    std::uint32_t open = 0;
    for (const Connection& c : connections_)
        if (c.state() == Connection::State::Open) ++open;
    hand_off_.set_open(open);
    if (!steered_ || hand_off_.cpu < 0 || siblings_.size() < 2) return;
    moves_.begin(hand_off_, siblings_, open);
    for (Connection& c : connections_) {
        if (!c.active(loop_.now) || c.move_under_way()) continue;
        c.forget_move();  // decided afresh each tick
        int cpu = -1;
        socklen_t len = sizeof(cpu);
        if (::getsockopt(c.fd(), SOL_SOCKET, SO_INCOMING_CPU, &cpu, &len) != 0 ||
            cpu == hand_off_.cpu)
            continue;
        if (HandOff* to = moves_.target(cpu)) c.request_move(*to);
    }
}

// No free connection slot (or at the file limit): a short 503, written by the response writer
// like every answer, and close (the socket is ours for a few microseconds).
void Worker::refuse(int fd) noexcept {
    refusal_.reset();
    refusal_.status = 503;
    refusal_view_->reset();
    const http::ResponseContext ctx{date_.line(), server_line_, false, false, false};
    const std::span<const std::byte> bytes = http::write_response(*refusal_view_, refusal_, ctx);
    (void)!::send(fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    ::close(fd);
}

void Worker::on_tick() noexcept {
    ++loop_.now;
    date_.refresh();
    router_.lifecycle().tick_worker(index_);
    if (!accept_armed_ && !loop_.draining) arm_accept();
    for (Connection& c : connections_) {
        if (c.state() != Connection::State::Free)
            c.on_tick(loop_.now);
        else
            c.on_free_tick(loop_.now);
    }
    if (!waiting_for_buffers_.empty()) {
        // Receivers starve: bodies that hold buffers while they wait for a large one, and
        // clients that hold buffers without reading their answers, give way.
        for (Connection& c : connections_)
            if (!c.give_way_to_starved_receivers())
                (void)c.cut_if_stalled_holding_buffers(loop_.now);
    }
    plan_moves();
    sample_gauges();
    write_access_log(true);
    io_->arm_tick();
}

// Once a tick: what is open and how much of the worker's memory it holds right now.
void Worker::sample_gauges() noexcept {
    std::uint64_t open = 0, in_use = 0;
    for (const Connection& c : connections_) {
        if (c.state() == Connection::State::Free) continue;
        ++open;
        in_use += c.arena_bytes_in_use();
    }
    counters_.connections_open.set(open);
    counters_.arena_bytes_in_use.set(in_use);
    if (in_use > counters_.arena_high_water) counters_.arena_high_water.set(in_use);
    counters_.large_buffers_in_use.set(large_->size() - large_->available());
}

void Worker::arm_accept() noexcept {
    io_->arm_accept(listen_fd_);
    accept_armed_ = true;
}

// ---- buffer-ring back-pressure and slots ----------------------------------------------------

void Worker::wait_for_buffers(Connection& c) noexcept {
    if (!c.waiting_for_buffers()) waiting_for_buffers_.push_back(c.index());
}

// Recvs that stopped on ENOBUFS resume as soon as the ring has a connection's worth of buffers
// free again (what one recv may hold before it pauses): waiting for half the ring, as liburing's
// proxy example does, starved everyone while a few non-reading clients held the rest.
void Worker::rearm_waiting() noexcept {
    if (waiting_for_buffers_.empty() || io_->buffers().free() < loop_.hold_limit) return;
    for (std::uint32_t i : waiting_for_buffers_) connections_[i].on_buffers_available();
    waiting_for_buffers_.clear();
}

// A connection whose body found no large buffer free (or its client at its share) waits for
// one; the ones waiting are woken, first come first served, after a loop pass in which a buffer
// came back, for as long as buffers are free.
void Worker::wait_for_large_buffer(Connection& c) noexcept {
    LargeWait& w = large_wait_[c.index()];
    if (w.linked) return;
    w = LargeWait{large_wait_tail_, kNoSlot, true};
    if (large_wait_tail_ != kNoSlot)
        large_wait_[large_wait_tail_].next = c.index();
    else
        large_wait_head_ = c.index();
    large_wait_tail_ = c.index();
}

void Worker::stop_waiting_for_large_buffer(Connection& c) noexcept {
    LargeWait& w = large_wait_[c.index()];
    if (!w.linked) return;
    (w.prev != kNoSlot ? large_wait_[w.prev].next : large_wait_head_) = w.next;
    (w.next != kNoSlot ? large_wait_[w.next].prev : large_wait_tail_) = w.prev;
    w = LargeWait{};
}

void Worker::wake_large_waiters() noexcept {
    if (!large_->take_freed()) return;
    // A woken connection that still gets nothing (its client at its share) stays in the queue.
    std::uint32_t i = large_wait_head_;
    while (i != kNoSlot && large_->available() != 0) {
        const std::uint32_t next = large_wait_[i].next;
        connections_[i].on_large_buffer_free();
        i = next;
    }
}

void Worker::release(Connection& c) noexcept {
    free_slots_.push_back(c.index());
    hand_off_.set_free_slots(static_cast<std::uint32_t>(free_slots_.size()));
}

}  // namespace lake::server
