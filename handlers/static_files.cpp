#include "static_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iterator>
#include <new>
#include <stdexcept>

#include "accept_encoding.hpp"
#include "http_date.hpp"
#include "pass_files.hpp"
#include "preconditions.hpp"
#include "url_encoded.hpp"

namespace lake::handlers {

namespace {

using http::Request;
using http::Response;

thread_local PassFiles t_pass_files;

// The worker's tick (Lifecycle::worker_tick).
void close_idle_pass_files(unsigned) { t_pass_files.close_idle(); }
std::atomic<std::uint64_t> g_files_opened{0};

// Closes the file when the handler ends, however it ends (returned, threw, or destroyed
// because its client left): a plain close(2) of a regular file does not wait on the disk. A
// file of the pass's (`shared`) is let go instead.
struct FileGuard {
    int fd = -1;
    PassFiles::Entry* shared = nullptr;
    ~FileGuard() {
        if (shared != nullptr)
            t_pass_files.release(*shared);
        else if (fd >= 0)
            ::close(fd);
    }
};

void answer(Response& res, int status, std::string_view text) {
    res.text(status, text, "text/plain; charset=utf-8");
}

// `n` bytes of the request arena as text (empty when full).
std::string_view arena_text(const Request& req, const char* fmt, auto... args) {
    char buf[96];
    const int n = std::snprintf(buf, sizeof(buf), fmt, args...);
    if (n <= 0 || static_cast<std::size_t>(n) >= sizeof(buf) || req.arena == nullptr) return {};
    auto* p = static_cast<char*>(req.arena->allocate(static_cast<std::size_t>(n), 1));
    if (p == nullptr) return {};
    std::memcpy(p, buf, static_cast<std::size_t>(n));
    return {p, static_cast<std::size_t>(n)};
}

// The file's strong entity tag, "MTIME_NS-SIZE" in hex (with "-CODING" for a precompressed copy),
// quoted, in the request arena (empty when full). std::to_chars, not snprintf: the format
// machinery cost a static request ~850 instructions, a tenth of all its user-space work.
std::string_view entity_tag(const Request& req, std::uint64_t mtime_ns, std::uint64_t size,
                            std::string_view coding) {
    char buf[2 + 16 + 1 + 16 + 1 + 8];
    char* at = buf;
    *at++ = '"';
    at = std::to_chars(at, std::end(buf), mtime_ns, 16).ptr;
    *at++ = '-';
    at = std::to_chars(at, std::end(buf), size, 16).ptr;
    if (!coding.empty() && coding.size() <= 6) {
        *at++ = '-';
        at = std::copy(coding.begin(), coding.end(), at);
    }
    *at++ = '"';
    const auto n = static_cast<std::size_t>(at - buf);
    auto* p = req.arena != nullptr ? static_cast<char*>(req.arena->allocate(n, 1)) : nullptr;
    if (p == nullptr) return {};
    std::memcpy(p, buf, n);
    return {p, n};
}

// "NAME.SUFFIX", NUL-terminated, in the request arena (nullptr when full).
const char* name_with_suffix(const Request& req, const char* name, std::string_view suffix) {
    const std::size_t n = std::strlen(name);
    auto* p = req.arena != nullptr
                  ? static_cast<char*>(req.arena->allocate(n + 1 + suffix.size() + 1, 1))
                  : nullptr;
    if (p == nullptr) return nullptr;
    std::memcpy(p, name, n);
    p[n] = '.';
    std::memcpy(p + n + 1, suffix.data(), suffix.size());
    p[n + 1 + suffix.size()] = '\0';
    return p;
}

constexpr std::string_view kIndex = "index.html";

// The path below the prefix as a file name relative to the root, NUL-terminated, in the request
// arena: percent-decoded, empty segments dropped; with `index`, the name of the directory's
// index.html (a file like any other: it is opened beneath the root, and shared by the pass under
// the same name as a request for it by name). 0 and the name, or the status to answer: 400 for
// a broken escape or a NUL, 403 for `.`/`..` segments and encoded slashes (a way around the
// segment check), 500 when the arena is full.
int relative_name(const Request& req, std::string_view raw, bool index, const char*& name) {
    if (req.arena == nullptr) return 500;
    // The name, its NUL, and for an index its '/' and "index.html".
    const std::size_t room = raw.size() + 2 + (index ? 1 + kIndex.size() : 0);
    auto* out = static_cast<char*>(req.arena->allocate(room, 1));
    if (out == nullptr) return 500;
    std::size_t n = 0;
    std::size_t segment_start = 0;
    auto end_segment = [&]() -> int {
        const std::string_view seg(out + segment_start, n - segment_start);
        if (seg == "." || seg == "..") return 403;
        if (seg.empty() && n != 0) --n;  // "a//b": the empty segment and its slash go
        return 0;
    };
    for (std::size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (c == '%') {
            const int hi = i + 2 < raw.size() ? http::hex_digit(raw[i + 1]) : -1;
            const int lo = hi >= 0 ? http::hex_digit(raw[i + 2]) : -1;
            if (lo < 0) return 400;
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
            if (c == '/' || c == '\\') return 403;
            if (c == '\0') return 400;
        } else if (c == '/') {
            if (int status = end_segment(); status != 0) return status;
            if (n == 0) continue;  // a leading slash
            out[n++] = '/';
            segment_start = n;
            continue;
        }
        out[n++] = c;
    }
    if (int status = end_segment(); status != 0) return status;
    if (n != 0 && out[n - 1] == '/') --n;
    if (index) {
        if (n != 0) out[n++] = '/';
        n = static_cast<std::size_t>(std::copy(kIndex.begin(), kIndex.end(), out + n) - out);
    }
    if (n == 0) out[n++] = '.';  // the root itself
    out[n] = '\0';
    name = out;
    return 0;
}

std::string_view http_date(const Request& req, std::int64_t seconds) {
    auto* p = req.arena != nullptr ? static_cast<char*>(req.arena->allocate(http::kHttpDateSize, 1))
                                   : nullptr;
    if (p == nullptr) return {};
    http::format_http_date(seconds, *reinterpret_cast<char(*)[http::kHttpDateSize]>(p));
    return {p, http::kHttpDateSize};
}

bool parse_u64(std::string_view s, std::uint64_t& v) {
    if (s.empty()) return false;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

enum class RangeResult { None, Satisfiable, Unsatisfiable };

// One byte range (RFC 9110 14.1.2): "bytes=a-b", "bytes=a-", "bytes=-n". Several ranges, other
// units or a malformed one: the header is ignored and the whole file served (as the RFC allows).
RangeResult parse_range(std::string_view h, std::uint64_t size, std::uint64_t& first,
                        std::uint64_t& last) {
    if (h.size() < 6 || !http::iequals(h.substr(0, 6), "bytes=")) return RangeResult::None;
    const std::string_view spec = h.substr(6);
    if (spec.find(',') != std::string_view::npos) return RangeResult::None;
    const std::size_t dash = spec.find('-');
    if (dash == std::string_view::npos) return RangeResult::None;
    const std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
    std::uint64_t x = 0, y = 0;
    if (a.empty()) {  // the last y bytes
        if (!parse_u64(b, y)) return RangeResult::None;
        if (y == 0 || size == 0) return RangeResult::Unsatisfiable;
        first = size - std::min(y, size);
        last = size - 1;
        return RangeResult::Satisfiable;
    }
    if (!parse_u64(a, x)) return RangeResult::None;
    if (b.empty()) {
        y = UINT64_MAX;
    } else if (!parse_u64(b, y) || y < x) {
        return RangeResult::None;
    }
    if (x >= size) return RangeResult::Unsatisfiable;
    first = x;
    last = std::min(y, size - 1);
    return RangeResult::Satisfiable;
}

// `path` + '/' + the request's query, if any, in the request arena (empty when full): where a
// redirect to a directory goes, keeping what the client asked with.
std::string_view with_slash_and_query(const Request& req, std::string_view path) {
    const std::size_t n = path.size() + 1 + (req.query.empty() ? 0 : 1 + req.query.size());
    auto* p = req.arena != nullptr ? static_cast<char*>(req.arena->allocate(n, 1)) : nullptr;
    if (p == nullptr) return {};
    char* at = std::copy(path.begin(), path.end(), p);
    *at++ = '/';
    if (!req.query.empty()) {
        *at++ = '?';
        std::copy(req.query.begin(), req.query.end(), at);
    }
    return {p, n};
}

// A precompressed copy of `name` beneath `root_fd` (name.br, name.gz) that the client takes, the
// one of higher weight first (br on a tie): when one is a regular file, `file` holds it (what it
// held is closed), `st` says what it is and `coding` names its coding; otherwise all three stay.
// Never a copy the client did not ask for: without Accept-Encoding, none. The pass's files are
// looked at first (the mount's root descriptor names one directory for the mount's life), and
// what is opened or found missing is left for the pass.
Task open_copy(const Request& req, int root_fd, const char* name, FileGuard& file, struct statx& st,
               std::string_view& coding) {
    const int br = http::coding_weight(req, "br"), gzip = http::coding_weight(req, "gzip");
    const std::string_view order[2] = {br >= gzip ? "br" : "gzip", br >= gzip ? "gzip" : "br"};
    for (const std::string_view c : order) {
        if ((c == "br" ? br : gzip) == 0) continue;
        const char* copy = name_with_suffix(req, name, c == "br" ? "br" : "gz");
        if (copy == nullptr) co_return;  // the arena is full: the file as it is
        FileGuard encoded;
        struct statx encoded_st {};
        const std::uint64_t pass = req.io->pass();
        if (PassFiles::Entry* e = t_pass_files.find(root_fd, copy, pass)) {
            if (e->fd < 0) continue;  // missing, found so earlier in this pass
            encoded.shared = e;
            encoded.fd = e->fd;
            encoded_st = e->st;
        } else {
            encoded.fd = co_await req.io->open_beneath(root_fd, copy);
            g_files_opened.fetch_add(1, std::memory_order_relaxed);
            if (encoded.fd == -ENOENT) t_pass_files.keep_missing(root_fd, copy, pass);
            if (encoded.fd < 0 || co_await req.io->stat(encoded.fd, encoded_st) < 0 ||
                !S_ISREG(encoded_st.stx_mode))
                continue;  // none, a directory, a link out of the root: no copy
            encoded.shared = t_pass_files.keep(root_fd, copy, encoded.fd, encoded_st, pass);
        }
        std::swap(file.fd, encoded.fd);
        std::swap(file.shared, encoded.shared);
        st = encoded_st;
        coding = c;
        co_return;
    }
}

Task serve(const Request& req, Response& res, void* context) {
    const auto& mount = *static_cast<const StaticFiles*>(context);
    // A path that ends in '/' names a directory: what answers for it is its index.html (a file
    // there is not found, as the file system says of "file.txt/index.html"; and a directory named
    // without the slash is redirected to it, or relative links in its index would resolve
    // against its parent).
    const bool named_as_directory = !req.path.empty() && req.path.back() == '/';
    const char* name = nullptr;
    if (const int status = relative_name(req, req.param("path"), named_as_directory, name);
        status != 0) {
        answer(res, status, status == 403 ? "Forbidden\n" : http::reason_phrase(status));
        co_return;
    }
    handlers::Io& io = *req.io;
    FileGuard file;
    struct statx st {};
    int rc = 0;
    // With precompressed copies, the copy is looked for first: found, the file itself is never
    // opened (as nginx's gzip_static does; a copy is served without its original, too). The
    // answers of such a mount all vary with Accept-Encoding, for caches.
    std::string_view coding;
    if (mount.precompressed()) {
        res.add_header({"Vary", "Accept-Encoding"});
        co_await open_copy(req, mount.root_fd(), name, file, st, coding);
    }
    if (coding.empty()) {
        if (PassFiles::Entry* e = t_pass_files.find(mount.root_fd(), name, io.pass())) {
            file.shared = e;  // opened and stated for another request of this pass
            file.fd = e->fd;
            st = e->st;
        } else {
            file.fd = co_await io.open_beneath(mount.root_fd(), name);
            rc = file.fd;
            g_files_opened.fetch_add(1, std::memory_order_relaxed);
            if (rc >= 0) rc = co_await io.stat(file.fd, st);
            if (rc >= 0 && S_ISREG(st.stx_mode))
                file.shared = t_pass_files.keep(mount.root_fd(), name, file.fd, st, io.pass());
        }
    }
    if (rc >= 0 && S_ISDIR(st.stx_mode) && !named_as_directory) {
        const std::string_view to = with_slash_and_query(req, req.path);
        if (to.empty()) {
            answer(res, 500, "Internal Server Error\n");
            co_return;
        }
        res.redirect(301, to);
        co_return;
    }
    if (rc < 0) {
        switch (-rc) {
            case ENOENT:
            case ENOTDIR:
            case ENAMETOOLONG:
                answer(res, 404, "Not Found\n");
                break;
            case EXDEV:  // RESOLVE_BENEATH: the path (a symlink, say) leads out of the root
            case ELOOP:
            case EACCES:
            case EPERM:
                answer(res, 403, "Forbidden\n");
                break;
            case EMFILE:
            case ENFILE:
                answer(res, 503, "Service Unavailable\n");
                break;
            default:
                answer(res, 500, "Internal Server Error\n");
        }
        co_return;
    }
    if (!S_ISREG(st.stx_mode)) {
        answer(res, 404, "Not Found\n");
        co_return;
    }
    if (coding == "br")
        res.add_header({"Content-Encoding", "br"});
    else if (!coding.empty())
        res.add_header({"Content-Encoding", "gzip"});

    const std::uint64_t size = st.stx_size;
    const std::uint64_t mtime_ns =
        static_cast<std::uint64_t>(st.stx_mtime.tv_sec) * 1'000'000'000u + st.stx_mtime.tv_nsec;
    // An encoded copy's tag names its coding too: a strong tag is one representation's alone,
    // even where the copy's size and time happen to be the file's.
    const std::string_view etag = entity_tag(req, mtime_ns, size, coding);
    const std::string_view modified = http_date(req, st.stx_mtime.tv_sec);
    res.add_header("ETag", etag);
    res.add_header("Last-Modified", modified);

    // Conditional requests (RFC 9110 13.2.2), then If-Range for a range of a GET alone (14.2).
    const std::int64_t now = std::time(nullptr);
    const http::Validators validators{etag, st.stx_mtime.tv_sec};
    // Freshness for what a cache may keep (200, 206, and a 304 that renews it: RFC 9111 4.3.4),
    // not for a 412 or 416, which a max-age would make cacheable.
    const auto add_cache_control = [&] {
        if (!mount.cache_control().empty()) res.add_header("Cache-Control", mount.cache_control());
    };
    if (const int status = http::evaluate_preconditions(req, validators, now); status == 304) {
        res.status = 304;
        add_cache_control();
        co_return;
    } else if (status != 0) {
        answer(res, status, "Precondition Failed\n");
        co_return;
    }

    std::uint64_t first = 0, last = size == 0 ? 0 : size - 1;
    std::uint64_t length = size;
    res.status = 200;
    res.add_header({"Accept-Ranges", "bytes"});
    const std::string_view range = req.header("range");
    if (!range.empty() && req.method == http::Method::Get &&
        http::if_range_holds(req, validators, now)) {
        switch (parse_range(range, size, first, last)) {
            case RangeResult::None:
                break;
            case RangeResult::Unsatisfiable:
                res.status = 416;
                res.add_header("Content-Range", arena_text(req, "bytes */%llu",
                                                           static_cast<unsigned long long>(size)));
                co_return;
            case RangeResult::Satisfiable:
                res.status = 206;
                length = last - first + 1;
                res.add_header("Content-Range", arena_text(req, "bytes %llu-%llu/%llu",
                                                           static_cast<unsigned long long>(first),
                                                           static_cast<unsigned long long>(last),
                                                           static_cast<unsigned long long>(size)));
                break;
        }
    }
    add_cache_control();
    res.content_type = content_type_for(name);
    res.stream_length = static_cast<std::int64_t>(length);
    if (req.method == http::Method::Head) {
        (void)co_await io.send(res);  // the head alone, with the file's length
        co_return;
    }

    std::uint64_t offset = first;
    std::uint64_t left = length;
    bool sent_any = false;
    // More than the response arena holds in one part: from the page cache to the socket
    // (sendfile), no read and no copy. Pages not cached (-EAGAIN, nothing sent) are read part by
    // part below, which brings them in for the next request.
    constexpr std::uint64_t kMaxFileSend = 1u << 30;
    while (left > res.room()) {
        const int sent = co_await io.send_file(
            res, file.fd, offset, static_cast<std::uint32_t>(std::min(left, kMaxFileSend)));
        if (sent == -EAGAIN) break;
        if (sent <= 0) throw std::runtime_error("static file: send failed");
        offset += static_cast<std::uint64_t>(sent);
        left -= static_cast<std::uint64_t>(sent);
        sent_any = true;
    }

    // Part by part: each read fills what the response arena holds, each part goes out before
    // the next read. A file that fits in one part is answered like any response.
    constexpr std::size_t kMaxPart = 256 * 1024;
    while (left != 0) {
        std::size_t room = std::min<std::uint64_t>({left, res.room(), kMaxPart});
        if (room == 0) {  // the arena is taken by earlier output: send what there is first
            if (co_await io.send(res) < 0) throw std::bad_alloc();
            sent_any = true;
            room = std::min<std::uint64_t>({left, res.room(), kMaxPart});
            if (room == 0) throw std::bad_alloc();
        }
        const std::span<char> into = res.prepare(room);
        const int n = co_await io.read(file.fd, into, offset);
        res.commit(n > 0 ? static_cast<std::size_t>(n) : 0);
        if (n <= 0) {  // an I/O error, or the file shrank under us
            if (!sent_any) {
                res.stream_length = -1;
                answer(res, 500, "Internal Server Error\n");
                co_return;
            }
            throw std::runtime_error("static file: read failed");
        }
        offset += static_cast<std::uint64_t>(n);
        left -= static_cast<std::uint64_t>(n);
        if (left != 0) {
            if (co_await io.send(res) < 0) throw std::runtime_error("static file: send failed");
            sent_any = true;
        }
    }
}

void redirect_to_slash(const Request& req, Response& res, void* context) {
    const std::string_view to =
        with_slash_and_query(req, static_cast<const StaticFiles*>(context)->prefix());
    if (to.empty()) {
        answer(res, 500, "Internal Server Error\n");
        return;
    }
    res.redirect(301, to);
}

}  // namespace

std::string_view content_type_for(std::string_view name) noexcept {
    struct Type {
        std::string_view ext, type;
    };
    static constexpr Type kTypes[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"txt", "text/plain; charset=utf-8"},
        {"md", "text/markdown; charset=utf-8"},
        {"xml", "application/xml"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"avif", "image/avif"},
        {"ico", "image/vnd.microsoft.icon"},
        {"wasm", "application/wasm"},
        {"pdf", "application/pdf"},
        {"woff", "font/woff"},
        {"woff2", "font/woff2"},
        {"mp4", "video/mp4"},
        {"webm", "video/webm"},
        {"mp3", "audio/mpeg"},
        {"zip", "application/zip"},
        {"gz", "application/gzip"},
        {"tar", "application/x-tar"},
    };
    const std::size_t dot = name.rfind('.');
    const std::size_t slash = name.rfind('/');
    if (dot != std::string_view::npos && (slash == std::string_view::npos || dot > slash)) {
        const std::string_view ext = name.substr(dot + 1);
        for (const Type& t : kTypes)
            if (http::iequals(ext, t.ext)) return t.type;
    }
    return "application/octet-stream";
}

std::unique_ptr<StaticFiles> StaticFiles::mount(Router& router, const std::string& prefix,
                                                const std::string& root, std::string& error,
                                                std::string cache_control, bool precompressed) {
    const int fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        error = "[[static]] root '" + root + "': " + std::strerror(errno);
        return nullptr;
    }
    std::unique_ptr<StaticFiles> m(new StaticFiles(prefix == "/" ? std::string() : prefix, fd));
    m->cache_control_ = std::move(cache_control);
    m->precompressed_ = precompressed;
    // One tick for every mount of a router: the pass's files are the worker thread's, not a
    // mount's.
    auto& ticks = router.lifecycle().worker_tick;
    const bool ticking = std::any_of(ticks.begin(), ticks.end(), [](const auto& hook) {
        auto* const* fn = hook.template target<void (*)(unsigned)>();
        return fn != nullptr && *fn == &close_idle_pass_files;
    });
    if (!ticking) ticks.push_back(&close_idle_pass_files);
    router.add(http::Method::Get, m->prefix_ + "/{*path}", Handler::waiting(&serve, m.get()));
    if (!m->prefix_.empty())
        router.add(http::Method::Get, m->prefix_, {&redirect_to_slash, m.get()});
    else
        router.add(http::Method::Get, "/", Handler::waiting(&serve, m.get()));
    return m;
}

std::uint64_t static_files_opened() noexcept {
    return g_files_opened.load(std::memory_order_relaxed);
}

StaticFiles::~StaticFiles() {
    if (root_fd_ >= 0) ::close(root_fd_);
}

}  // namespace lake::handlers
