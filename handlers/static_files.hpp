// handlers/static_files.hpp — a directory served under a URL prefix ([[static]] in the config),
// as a waiting handler: every open, stat and read goes through the worker's io_uring.
//
// GET and HEAD; Content-Type from the extension; ETag and Last-Modified, with the conditional
// headers of RFC 9110 (If-Match and If-Unmodified-Since answered 412 when they fail, If-None-Match
// and If-Modified-Since 304; handlers/preconditions.hpp); one byte range of a GET (206, or 416
// when unsatisfiable), subject to If-Range; index.html
// for a directory (a directory asked for without its trailing '/' is redirected to it); a
// precompressed copy (NAME.br, NAME.gz) to a client that takes it, when the mount says so; 404 for
// what does not exist; 403 for anything that would leave the root: `..` or `.` segments (plain
// or percent-encoded), encoded slashes, and symlinks pointing out (openat2 RESOLVE_BENEATH).
// The file goes out in parts of what the response arena holds, each read when the previous one
// is with the kernel: a slow reader holds one part of memory, whatever the file's size.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "router.hpp"

namespace lake::handlers {

class StaticFiles {
  public:
    // Opens `root` and adds GET routes for `prefix` (redirected to `prefix/`) and everything
    // under `prefix/`. Returns the mount, or nullptr and `error` set.
    // `cache_control` ("" for none) goes on its 200, 206 and 304 answers. `precompressed`:
    // a file's copy `NAME.br` or `NAME.gz` beside it is sent instead, to a client whose
    // Accept-Encoding takes that coding (the higher weight first, br on a tie), as nginx's
    // gzip_static and h2o's file.send-compressed do.
    static std::unique_ptr<StaticFiles> mount(Router& router, const std::string& prefix,
                                              const std::string& root, std::string& error,
                                              std::string cache_control = {},
                                              bool precompressed = false);
    ~StaticFiles();
    StaticFiles(const StaticFiles&) = delete;
    StaticFiles& operator=(const StaticFiles&) = delete;

    int root_fd() const noexcept { return root_fd_; }
    const std::string& prefix() const noexcept { return prefix_; }
    const std::string& cache_control() const noexcept { return cache_control_; }
    bool precompressed() const noexcept { return precompressed_; }

  private:
    StaticFiles(std::string prefix, int root_fd) : prefix_(std::move(prefix)), root_fd_(root_fd) {}
    std::string prefix_;
    std::string cache_control_;
    bool precompressed_ = false;
    int root_fd_ = -1;
};

// The files the static handlers tried to open, in this process, found or not (a request served
// by a file another request of the same loop pass had open, or told by it that a precompressed
// copy is not there, opens none): for tests and measurements.
std::uint64_t static_files_opened() noexcept;

// The Content-Type for a file name, from its extension ("application/octet-stream" when
// unknown).
std::string_view content_type_for(std::string_view name) noexcept;

}  // namespace lake::handlers
