// server/worker_counters.hpp — what a worker counts, for the metrics page and the stop summary.
#pragma once

#include "counter.hpp"
#include "metrics.hpp"

namespace lake::server {

// What a worker counts: written only by its own thread, read by any (a metrics scrape while it
// runs, the stop summary after). Counters and, at the end, gauges sampled once a second.
struct WorkerCounters {
    Counter accepted;
    Counter requests;
    Counter refused_no_slot;   // answered 503: no free connection arena here or anywhere
    Counter handed_off;        // accepted while full, given to a sibling with room
    Counter adopted;           // taken over from a sibling (full, or moving it here)
    Counter moved_out;         // open connections moved to the worker on their CPU
    Counter enobufs;           // recv stopped because the buffer ring ran dry
    Counter recv_pauses;       // recv paused: the connection held too many buffers
    Counter short_sends;       // sends the kernel completed only in part (resumed)
    Counter cq_overflows;      // loop passes that found the completion queue overflowed
    Counter accept_errors;     // EMFILE, ENFILE, ...
    Counter refused_fd_limit;  // answered 503 at the file-descriptor limit
    Counter bad_responses;     // handler responses refused (answered 500 instead)
    Counter drained;           // open at a graceful stop, closed after their answers
    Counter cut;               // still open when the worker stopped (drain deadline)
    // Waiting handlers' operations: done at once without waiting (a cached path or page, a
    // stat, a part of a body already here) or through the ring.
    Counter waiting_ops_inline;
    Counter waiting_ops_ring;
    // Files' ranges sent from the page cache (send_file), and those refused for not being
    // cached (read through the ring instead).
    Counter file_sends;
    Counter file_sends_not_cached;

    // Responses by status class (1xx..5xx) and method, and how long requests took.
    Counter responses[5][kMethodCount];
    Counter duration_buckets[kDurationBuckets.size() + 1];  // the last one: +Inf
    Counter duration_sum_ns;
    Counter received_bytes;
    Counter sent_bytes;
    Counter parse_errors[kParseErrorCodes.size()];  // answered by the server, by status
    Counter timeouts[kTimeoutKinds.size()];

    // Gauges, sampled every tick.
    Counter connections_open;
    Counter arena_bytes_in_use;  // request and response views of open connections, in use
    Counter arena_high_water;    // the most arena_bytes_in_use seen
    Counter large_buffers_in_use;
};

}  // namespace lake::server
