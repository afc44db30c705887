#include "ring.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace lake::server {

void Ring::close() noexcept {
    if (live_) io_uring_queue_exit(&ring_);
    live_ = false;
}

int Ring::init(unsigned entries, unsigned cq_entries) {
    struct Attempt {
        unsigned flags;
        const char* names;
    };
    static const Attempt ladder[] = {
        {IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER, "defer_taskrun single_issuer"},
        {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN, "single_issuer coop_taskrun"},
        {IORING_SETUP_COOP_TASKRUN, "coop_taskrun"},
        {0, "basic"},
    };
    int err = -EINVAL;
    for (const Attempt& a : ladder) {
        io_uring_params p{};
        p.flags = a.flags | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
        p.cq_entries = cq_entries;
        err = io_uring_queue_init_params(entries, &ring_, &p);
        if (err == 0) {
            live_ = true;
            features_ = a.names;
            io_uring_register_ring_fd(&ring_);  // an optimisation; failure is harmless
            return 0;
        }
        if (err != -EINVAL) return err;  // EPERM, ENOMEM, ENOSYS: no flag will help
    }
    return err;
}

io_uring_sqe* Ring::sqe() noexcept {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    while (s == nullptr) {
        io_uring_submit(&ring_);
        s = io_uring_get_sqe(&ring_);
    }
    return s;
}

int probe_io_uring() noexcept {
    io_uring ring{};
    if (int err = io_uring_queue_init(8, &ring, 0); err != 0) return err;
    void* entries = std::aligned_alloc(4096, 4096);
    int err = -ENOMEM;
    if (entries != nullptr) {
        io_uring_buf_reg reg{};
        reg.ring_addr = reinterpret_cast<std::uint64_t>(entries);
        reg.ring_entries = 1;
        reg.bgid = 0;
        err = io_uring_register_buf_ring(&ring, &reg, 0);
    }
    io_uring_queue_exit(&ring);
    std::free(entries);
    return err;
}

std::string explain_ring_failure(int err) {
    std::string msg = "cannot set up io_uring: ";
    msg += std::strerror(-err);
    if (err == -EPERM || err == -ENOSYS || err == -EACCES) {
        msg +=
            ".\n  io_uring is blocked on this system. Inside a container, the default seccomp "
            "profile of Docker 25+, containerd 2 and Podman forbids it: run with "
            "--security-opt seccomp=<profile allowing io_uring_setup, io_uring_enter, "
            "io_uring_register> (or seccomp=unconfined). On the host, check "
            "`sysctl kernel.io_uring_disabled` (it must be 0, or 1 with this user in "
            "kernel.io_uring_group).";
    } else if (err == -ENOMEM) {
        msg +=
            ".\n  The ring could not be allocated: raise RLIMIT_MEMLOCK (ulimit -l / "
            "docker --ulimit memlock=-1) or lower --ring-entries.";
    }
    return msg;
}

}  // namespace lake::server
