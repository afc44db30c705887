// handlers/pass_files.hpp — the static handler's table of the files open in a loop pass. Its
// own (not installed: no plugin sees it), in a file of its own so that it is tested alone.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

namespace lake::handlers {

// The files this worker's static requests opened in the current loop pass, kept open for the
// other requests answered in the same pass (as h2o's file cache): one open and one stat for a
// burst of requests for a file, and nothing staler than a pass. A file still in use when its
// pass ends (a send waiting for room, a read on the ring) stays open until its last request
// lets go; the others are closed at the first look of a later pass, or at the worker's next
// tick (within a second) when no request comes. A precompressed copy that is not there is
// remembered for the pass too (a browser's "br, gzip" for a file with only a .gz beside it
// would otherwise cost every request a failed open). Per worker thread: no lock.
class PassFiles {
  public:
    static constexpr int kFree = -1;
    static constexpr int kMissing = -2;  // looked for in this pass: not there
    struct Entry {
        int fd = kFree;  // a descriptor, kFree or kMissing
        int dir = -1;
        std::uint32_t refs = 0;
        std::uint32_t len = 0;
        std::uint64_t pass = 0;
        struct statx st {};
        char name[200];
    };
    PassFiles() = default;
    PassFiles(const PassFiles&) = delete;
    PassFiles& operator=(const PassFiles&) = delete;
    ~PassFiles() {
        for (Entry& e : entries_)
            if (e.fd >= 0) ::close(e.fd);
    }

    // `name` beneath `dir`, looked for in this pass: an open file, taken (release() it); one
    // found missing (fd kMissing: nothing to release); or nullptr.
    Entry* find(int dir, const char* name, std::uint64_t pass) noexcept {
        begin(pass);
        const std::size_t n = std::strlen(name);
        for (Entry& e : entries_)
            if (e.fd != kFree && e.pass == pass && e.dir == dir && e.len == n &&
                std::memcmp(e.name, name, n) == 0) {
                if (e.fd >= 0) ++e.refs;
                return &e;
            }
        return nullptr;
    }
    // Keeps a regular file just opened and stated for the rest of the pass, taken by the
    // caller; nullptr (the caller keeps its descriptor) when the name is long or every entry is
    // in use.
    Entry* keep(int dir, const char* name, int fd, const struct statx& st,
                std::uint64_t pass) noexcept {
        begin(pass);
        const std::size_t n = std::strlen(name);
        if (n >= sizeof(Entry{}.name)) return nullptr;
        for (Entry& e : entries_)
            if (e.fd == kFree) {
                e.fd = fd;
                e.dir = dir;
                e.refs = fd >= 0 ? 1 : 0;
                e.len = static_cast<std::uint32_t>(n);
                e.pass = pass;
                e.st = st;
                std::memcpy(e.name, name, n);
                return &e;
            }
        return nullptr;
    }
    // Remembers for the rest of the pass that `name` beneath `dir` is not there.
    void keep_missing(int dir, const char* name, std::uint64_t pass) noexcept {
        (void)keep(dir, name, kMissing, {}, pass);
    }
    void release(Entry& e) noexcept {
        if (--e.refs == 0 && e.pass != pass_) close(e);
    }
    // The worker's tick: what nobody uses is closed (an idle worker holds no file for long: a
    // deleted file's space comes back within a second).
    void close_idle() noexcept {
        for (Entry& e : entries_)
            if (e.fd != kFree && e.refs == 0) close(e);
    }

  private:
    // A new pass: the files of earlier ones that nobody uses are closed, what was missing
    // forgotten.
    void begin(std::uint64_t pass) noexcept {
        if (pass == pass_) return;
        pass_ = pass;
        for (Entry& e : entries_)
            if (e.fd != kFree && e.refs == 0) close(e);
    }
    static void close(Entry& e) noexcept {
        if (e.fd >= 0) ::close(e.fd);
        e.fd = kFree;
    }

    std::uint64_t pass_ = 0;
    Entry entries_[16];
};

}  // namespace lake::handlers
