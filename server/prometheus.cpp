#include "prometheus.hpp"

#include <tuple>

#include "../handlers/response_format.hpp"

namespace lake::server {

namespace {

using Field = Counter WorkerCounters::*;

std::uint64_t sum(const std::vector<std::unique_ptr<Worker>>& workers, Field f) {
    std::uint64_t n = 0;
    for (const auto& w : workers) n += (w->counters().*f).get();
    return n;
}

void family(http::Response& r, std::string_view name, std::string_view type,
            std::string_view help) {
    format(r, "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void single(http::Response& r, const std::vector<std::unique_ptr<Worker>>& workers,
            std::string_view name, std::string_view type, std::string_view help, Field f) {
    family(r, name, type, help);
    format(r, "{} {}\n", name, sum(workers, f));
}

}  // namespace

void write_prometheus(http::Response& r, const std::vector<std::unique_ptr<Worker>>& workers) {
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";

    family(r, "lake_http_requests_total", "counter",
           "Responses handed to the kernel, by status class and request method.");
    for (std::size_t cls = 0; cls < 5; ++cls)
        for (std::size_t m = 0; m < kMethodCount; ++m) {
            std::uint64_t n = 0;
            for (const auto& w : workers) n += w->counters().responses[cls][m].get();
            if (n != 0 || (cls == 1 && m == 0))  // 2xx GET always, so the family is never empty
                format(r, "lake_http_requests_total{{code=\"{}xx\",method=\"{}\"}} {}\n", cls + 1,
                       kMethodLabels[m], n);
        }

    family(r, "lake_http_request_duration_seconds", "histogram",
           "From the loop pass that brought a request's first byte to the one that handed its "
           "response to the kernel.");
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b <= kDurationBuckets.size(); ++b) {
        for (const auto& w : workers) cumulative += w->counters().duration_buckets[b].get();
        if (b < kDurationBuckets.size())
            format(r, "lake_http_request_duration_seconds_bucket{{le=\"{}\"}} {}\n",
                   static_cast<double>(kDurationBuckets[b]) / 1e9, cumulative);
        else
            format(r, "lake_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", cumulative);
    }
    format(r, "lake_http_request_duration_seconds_sum {}\n",
           static_cast<double>(sum(workers, &WorkerCounters::duration_sum_ns)) / 1e9);
    format(r, "lake_http_request_duration_seconds_count {}\n", cumulative);

    single(r, workers, "lake_http_received_bytes_total", "counter", "Bytes received from clients.",
           &WorkerCounters::received_bytes);
    single(r, workers, "lake_http_sent_bytes_total", "counter", "Bytes sent to clients.",
           &WorkerCounters::sent_bytes);
    single(r, workers, "lake_connections_open", "gauge",
           "Open client connections (sampled every second).", &WorkerCounters::connections_open);
    single(r, workers, "lake_connections_accepted_total", "counter", "Connections accepted.",
           &WorkerCounters::accepted);
    family(r, "lake_connections_refused_total", "counter",
           "Connections answered 503 and closed: no free slot anywhere, or the file limit.");
    format(r, "lake_connections_refused_total {}\n",
           sum(workers, &WorkerCounters::refused_no_slot) +
               sum(workers, &WorkerCounters::refused_fd_limit));
    single(r, workers, "lake_connections_moved_total", "counter",
           "Open connections moved to the worker on their packets' CPU.",
           &WorkerCounters::moved_out);

    family(r, "lake_parse_errors_total", "counter",
           "Requests the server answered itself with an error status, by status.");
    for (std::size_t i = 0; i < kParseErrorCodes.size(); ++i) {
        std::uint64_t n = 0;
        for (const auto& w : workers) n += w->counters().parse_errors[i].get();
        format(r, "lake_parse_errors_total{{code=\"{}\"}} {}\n", kParseErrorCodes[i], n);
    }
    family(r, "lake_timeouts_total", "counter", "Connections timed out, by kind.");
    for (std::size_t i = 0; i < kTimeoutKinds.size(); ++i) {
        std::uint64_t n = 0;
        for (const auto& w : workers) n += w->counters().timeouts[i].get();
        format(r, "lake_timeouts_total{{kind=\"{}\"}} {}\n", kTimeoutKinds[i], n);
    }
    family(r, "lake_waiting_operations_total", "counter",
           "Operations of waiting handlers: done at once without waiting, or through the ring.");
    format(r, "lake_waiting_operations_total{{how=\"inline\"}} {}\n",
           sum(workers, &WorkerCounters::waiting_ops_inline));
    format(r, "lake_waiting_operations_total{{how=\"ring\"}} {}\n",
           sum(workers, &WorkerCounters::waiting_ops_ring));
    family(r, "lake_file_sends_total", "counter",
           "Files' ranges waiting handlers sent from the page cache (sendfile), or could not "
           "because some of it was not cached (read through the ring instead).");
    format(r, "lake_file_sends_total{{how=\"sendfile\"}} {}\n",
           sum(workers, &WorkerCounters::file_sends));
    format(r, "lake_file_sends_total{{how=\"not_cached\"}} {}\n",
           sum(workers, &WorkerCounters::file_sends_not_cached));
    single(r, workers, "lake_recv_pauses_total", "counter",
           "Receives paused for back-pressure (a client sending faster than it reads).",
           &WorkerCounters::recv_pauses);
    single(r, workers, "lake_enobufs_total", "counter",
           "Receives stopped because the buffer ring ran dry.", &WorkerCounters::enobufs);

    family(r, "lake_arena_bytes_in_use", "gauge",
           "Bytes of connection arenas in use, per worker (sampled every second).");
    for (std::size_t i = 0; i < workers.size(); ++i)
        format(r, "lake_arena_bytes_in_use{{worker=\"{}\"}} {}\n", i,
               workers[i]->counters().arena_bytes_in_use.get());
    family(r, "lake_arena_high_water_bytes", "gauge",
           "The most bytes of connection arenas in use seen, per worker.");
    for (std::size_t i = 0; i < workers.size(); ++i)
        format(r, "lake_arena_high_water_bytes{{worker=\"{}\"}} {}\n", i,
               workers[i]->counters().arena_high_water.get());
    single(r, workers, "lake_large_buffers_in_use", "gauge",
           "Large buffers lent to bodies and responses (sampled every second).",
           &WorkerCounters::large_buffers_in_use);

    using LogField = Counter AccessLog::*;
    for (const auto& [name, help, field] :
         {std::tuple<std::string_view, std::string_view, LogField>{
              "lake_access_log_lines_total", "Access log lines written or queued.",
              &AccessLog::lines},
          {"lake_access_log_dropped_total",
           "Access log lines dropped: the disk was behind and both buffers were full.",
           &AccessLog::dropped},
          {"lake_access_log_write_errors_total",
           "Access log writes that failed (a full disk...); their lines are lost.",
           &AccessLog::write_errors}}) {
        family(r, name, "counter", help);
        std::uint64_t n = 0;
        for (const auto& w : workers) n += (w->access_log().*field).get();
        format(r, "{} {}\n", name, n);
    }
}

}  // namespace lake::server
