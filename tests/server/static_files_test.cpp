// The static file handler ([[static]] prefix/root), over real sockets.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "page_cache_drop.hpp"
#include "process_memory.hpp"
#include "server_fixture.hpp"

namespace lake::test {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kBig = 64u << 20;

std::string big_contents() {
    std::string s(kBig, '\0');
    std::uint32_t x = 12345;
    for (std::size_t i = 0; i < s.size(); ++i) {
        x = x * 1103515245u + 12345u;
        s[i] = static_cast<char>(x >> 24);
    }
    return s;
}

void write_file(const fs::path& p, std::string_view contents) {
    std::ofstream(p, std::ios::binary).write(contents.data(), static_cast<long>(contents.size()));
}

class StaticFiles : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        char templ[] = "/tmp/lake-static-XXXXXX";
        base_ = ::mkdtemp(templ);
        const fs::path root = base_ / "root";
        fs::create_directories(root / "dir");
        fs::create_directories(root / "empty-dir");
        write_file(root / "small.txt", "hello, static\n");
        write_file(root / "empty.bin", "");
        write_file(root / "page.html", "<p>hi</p>\n");
        write_file(root / "dir" / "index.html", "<h1>index</h1>\n");
        write_file(root / "%2e%2e", "a file named like an encoded dot-dot\n");
        write_file(root / "dated.txt", "changed long ago\n");
        const timespec long_ago[2] = {{784111777, 0}, {784111777, 0}};  // 06 Nov 1994 08:49:37
        ::utimensat(AT_FDCWD, (root / "dated.txt").c_str(), long_ago, 0);
        big_ = new std::string(big_contents());
        write_file(root / "big.bin", *big_);
        // Requested only once its pages are dropped (pages a socket still references after a
        // sendfile may not drop at once).
        write_file(root / "cold.bin", std::string_view(*big_).substr(0, kBig / 8));
        write_file(base_ / "secret.txt", "outside the root\n");
        fs::create_symlink(base_ / "secret.txt", root / "link-out");
        fs::create_symlink("small.txt", root / "link-in");
        // Precompressed copies (their bytes need not be gzip: the server sends them as they are).
        write_file(root / "page.html.gz", "GZ bytes of page.html");
        write_file(root / "page.html.br", "BR bytes of page.html");
        write_file(root / "dir" / "index.html.gz", "GZ bytes of the index");
        write_file(root / "only-copy.txt.gz", "GZ bytes without an original");
        fs::create_directories(root / "small.txt.gz");                    // a directory is no copy
        fs::create_symlink(base_ / "secret.txt", root / "dated.txt.gz");  // nor a link out
        config::ServerConfig c = test_config();
        c.static_mounts.push_back({"/files", root.string(), ""});
        c.static_mounts.push_back({"/cached", root.string(), "public, max-age=60"});
        c.static_mounts.push_back({"/gz", root.string(), "", true});
        server_ = new RunningServer(c);
        ASSERT_EQ(server_->error(), "");
    }
    static void TearDownTestSuite() {
        delete server_;
        delete big_;
        fs::remove_all(base_);
    }
    static HttpResponse request(const std::string& raw, bool head = false) {
        Client c(server_->port(), 10000);
        EXPECT_TRUE(c.send(raw));
        return c.read_response(head);
    }
    static inline RunningServer* server_ = nullptr;
    static inline fs::path base_;
    static inline std::string* big_ = nullptr;
};

TEST_F(StaticFiles, SmallEmptyAndLargeFilesByteForByte) {
    HttpResponse r = request(get("/files/small.txt"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello, static\n");
    EXPECT_EQ(r.header("content-type"), "text/plain; charset=utf-8");
    EXPECT_EQ(r.header("accept-ranges"), "bytes");
    r = request(get("/files/empty.bin"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-length"), "0");
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(r.header("content-type"), "application/octet-stream");
    r = request(get("/files/big.bin"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-length"), std::to_string(kBig));
    EXPECT_TRUE(r.body == *big_) << "64 MiB body differs (size " << r.body.size() << ")";
}

TEST_F(StaticFiles, HeadHasTheLengthAndNoBody) {
    Client c(server_->port());
    ASSERT_TRUE(c.send("HEAD /files/big.bin HTTP/1.1\r\nHost: t\r\n\r\n"));
    const HttpResponse r = c.read_response(true);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-length"), std::to_string(kBig));
    ASSERT_TRUE(c.send(get("/files/small.txt")));  // no body bytes were in between
    EXPECT_EQ(c.read_response().body, "hello, static\n");
}

TEST_F(StaticFiles, BothValidatorsGive304) {
    const HttpResponse first = request(get("/files/small.txt"));
    const std::string etag = first.header("etag"), modified = first.header("last-modified");
    ASSERT_FALSE(etag.empty());
    ASSERT_FALSE(modified.empty());
    HttpResponse r = request(get("/files/small.txt", "If-None-Match: " + etag + "\r\n"));
    EXPECT_EQ(r.status, 304);
    EXPECT_EQ(r.header("etag"), etag);
    EXPECT_EQ(r.count("content-length"), 0u);
    r = request(get("/files/small.txt", "If-None-Match: \"other\", W/" + etag + "\r\n"));
    EXPECT_EQ(r.status, 304);
    r = request(get("/files/small.txt", "If-Modified-Since: " + modified + "\r\n"));
    EXPECT_EQ(r.status, 304);
    r = request(get("/files/small.txt", "If-None-Match: \"other\"\r\n"));
    EXPECT_EQ(r.status, 200);
    r = request(get("/files/small.txt", "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n"));
    EXPECT_EQ(r.status, 200);
}

TEST_F(StaticFiles, ByteRanges) {
    HttpResponse r = request(get("/files/small.txt", "Range: bytes=0-4\r\n"));
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(r.body, "hello");
    EXPECT_EQ(r.header("content-range"), "bytes 0-4/14");
    r = request(get("/files/small.txt", "Range: bytes=7-12\r\n"));
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(r.body, "static");
    r = request(get("/files/small.txt", "Range: bytes=-7\r\n"));
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(r.body, "static\n");
    EXPECT_EQ(r.header("content-range"), "bytes 7-13/14");
    r = request(get("/files/small.txt", "Range: bytes=9-\r\n"));
    EXPECT_EQ(r.body, "atic\n");
    r = request(get("/files/small.txt", "Range: bytes=14-\r\n"));
    EXPECT_EQ(r.status, 416);
    EXPECT_EQ(r.header("content-range"), "bytes */14");
    r = request(get("/files/big.bin", "Range: bytes=1000000-3000000\r\n"));
    EXPECT_EQ(r.status, 206);
    EXPECT_TRUE(r.body == big_->substr(1000000, 2000001));
    r = request(get("/files/small.txt", "Range: bytes=0-1,3-4\r\n"));  // several: ignored
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello, static\n");
}

TEST_F(StaticFiles, EveryConditionalHeaderIsEvaluatedInTheRfcsOrder) {
    const std::string etag = request(get("/files/dated.txt")).header("etag");
    ASSERT_FALSE(etag.empty());
    // If-Match and If-Unmodified-Since: a client resuming a download of what it had.
    HttpResponse r = request(get("/files/dated.txt", "If-Match: \"other\"\r\n"));
    EXPECT_EQ(r.status, 412);
    EXPECT_EQ(r.reason, "Precondition Failed");
    EXPECT_EQ(r.body, "Precondition Failed\n");
    r = request(get("/files/dated.txt", "If-Match: \"other\", " + etag + "\r\n"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "changed long ago\n");
    r = request(get("/files/dated.txt", "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:36 GMT\r\n"));
    EXPECT_EQ(r.status, 412);
    r = request(get("/files/dated.txt", "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
    EXPECT_EQ(r.status, 200);
    // A failing If-Match wins over a matching If-None-Match.
    r = request(get("/files/dated.txt", "If-None-Match: " + etag + "\r\nIf-Match: \"x\"\r\n"));
    EXPECT_EQ(r.status, 412);
    // If-Modified-Since in the two obsolete forms a recipient must read.
    r = request(get("/files/dated.txt", "If-Modified-Since: Sunday, 06-Nov-94 08:49:37 GMT\r\n"));
    EXPECT_EQ(r.status, 304);
    EXPECT_EQ(r.reason, "Not Modified");
    r = request(get("/files/dated.txt", "If-Modified-Since: Sun Nov  6 08:49:37 1994\r\n"));
    EXPECT_EQ(r.status, 304);
    r = request(get("/files/dated.txt", "If-Modified-Since: Sun Nov  6 08:49:36 1994\r\n"));
    EXPECT_EQ(r.status, 200);
}

TEST_F(StaticFiles, ARangeIsForGetAndOnlyWhenIfRangeNamesTheFile) {
    const HttpResponse whole = request(get("/files/dated.txt"));
    const std::string etag = whole.header("etag"), modified = whole.header("last-modified");
    EXPECT_EQ(modified, "Sun, 06 Nov 1994 08:49:37 GMT");
    HttpResponse r = request(get("/files/dated.txt", "Range: bytes=0-6\r\n"));
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(r.reason, "Partial Content");
    EXPECT_EQ(r.body, "changed");
    r = request(get("/files/dated.txt", "Range: bytes=8-\r\nIf-Range: " + etag + "\r\n"));
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(r.body, "long ago\n");
    r = request(get("/files/dated.txt", "Range: bytes=8-\r\nIf-Range: " + modified + "\r\n"));
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(r.body, "long ago\n");
    // The file changed since (another tag, another date): the whole of it.
    for (const char* stale : {"\"1-1\"", "Sun, 06 Nov 1994 08:49:36 GMT", "W/\"x\""}) {
        r = request(
            get("/files/dated.txt", "Range: bytes=8-\r\nIf-Range: " + std::string(stale) + "\r\n"));
        EXPECT_EQ(r.status, 200) << stale;
        EXPECT_EQ(r.body, "changed long ago\n") << stale;
    }
    r = request(get("/files/dated.txt", "Range: bytes=99-\r\n"));
    EXPECT_EQ(r.status, 416);
    EXPECT_EQ(r.reason, "Range Not Satisfiable");
    // Range handling is defined for GET alone (RFC 9110 14.2): HEAD gets the whole length.
    r = request("HEAD /files/dated.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=0-6\r\n\r\n", true);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-length"), "17");
    EXPECT_EQ(r.count("content-range"), 0u);
}

// A mount's cache_control goes on what a cache may keep: 200, 206 and the 304 that renews it;
// not on a 412, a 416 or a 404, which a max-age would make cacheable, nor on another mount.
TEST_F(StaticFiles, CacheControlGoesOnWhatACacheMayKeep) {
    const std::string cc = "public, max-age=60";
    HttpResponse r = request(get("/cached/small.txt"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("cache-control"), cc);
    EXPECT_EQ(request(get("/files/small.txt")).count("cache-control"), 0u);
    const std::string etag = r.header("etag");
    r = request(get("/cached/small.txt", "Range: bytes=0-1\r\n"));
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(r.header("cache-control"), cc);
    r = request(get("/cached/small.txt", "If-None-Match: " + etag + "\r\n"));
    EXPECT_EQ(r.status, 304);
    EXPECT_EQ(r.header("cache-control"), cc);
    r = request(get("/cached/small.txt", "If-Match: \"other\"\r\n"));
    EXPECT_EQ(r.status, 412);
    EXPECT_EQ(r.count("cache-control"), 0u);
    r = request(get("/cached/small.txt", "Range: bytes=1000-\r\n"));
    EXPECT_EQ(r.status, 416);
    EXPECT_EQ(r.count("cache-control"), 0u);
    r = request(get("/cached/nothing-here"));
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.count("cache-control"), 0u);
}

TEST_F(StaticFiles, TraversalIsRefused) {
    for (const char* path :
         {"/files/../secret.txt", "/files/dir/../../secret.txt", "/files/%2e%2e/secret.txt",
          "/files/%2E%2E/secret.txt", "/files/..%2fsecret.txt", "/files/dir%2f..%2f..%2fsecret.txt",
          "/files/link-out", "/files/./small.txt"}) {
        const HttpResponse r = request(get(path));
        EXPECT_EQ(r.status, 403) << path;
        EXPECT_EQ(r.body.find("outside"), std::string::npos) << path;
    }
    // Double-encoded: decoded once, it names a file called "%2e%2e", not the parent.
    const HttpResponse r = request(get("/files/%252e%252e"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "a file named like an encoded dot-dot\n");
    EXPECT_EQ(request(get("/files/%252e%252e/secret.txt")).status, 404);
    // A symlink that stays inside is followed.
    EXPECT_EQ(request(get("/files/link-in")).body, "hello, static\n");
}

TEST_F(StaticFiles, DirectoriesAndMissingFiles) {
    HttpResponse r = request(get("/files/dir/"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "<h1>index</h1>\n");
    EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
    r = request(get("/files/dir"));
    EXPECT_EQ(r.status, 301);
    EXPECT_EQ(r.header("location"), "/files/dir/");
    r = request(get("/files"));
    EXPECT_EQ(r.status, 301);
    EXPECT_EQ(r.header("location"), "/files/");
    EXPECT_EQ(request(get("/files/empty-dir/")).status, 404);
    EXPECT_EQ(request(get("/files/nothing-here")).status, 404);
    EXPECT_EQ(request(get("/files/small.txt/more")).status, 404);
    // A trailing slash names a directory: a file is not served under it (it was, as small.txt).
    EXPECT_EQ(request(get("/files/small.txt/")).status, 404);
    EXPECT_EQ(request(get("/files/dir/index.html/")).status, 404);
    // The redirect to the directory keeps the query (it was dropped).
    r = request(get("/files/dir?sort=name&x"));
    EXPECT_EQ(r.status, 301);
    EXPECT_EQ(r.header("location"), "/files/dir/?sort=name&x");
    r = request(get("/files?a=b"));
    EXPECT_EQ(r.status, 301);
    EXPECT_EQ(r.header("location"), "/files/?a=b");
    EXPECT_EQ(request(get("/files/%zz")).status, 400);
    EXPECT_EQ(
        request("POST /files/small.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n").status,
        405);
}

// [[static]] precompressed: NAME.br or NAME.gz beside NAME goes to a client that takes it, with
// its coding named, its own entity tag and NAME's type; every answer says it varies.
TEST_F(StaticFiles, APrecompressedCopyGoesToAClientThatTakesIt) {
    HttpResponse r = request(get("/gz/page.html", "Accept-Encoding: gzip, deflate\r\n"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "GZ bytes of page.html");
    EXPECT_EQ(r.header("content-encoding"), "gzip");
    EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
    EXPECT_EQ(r.header("vary"), "Accept-Encoding");
    const std::string gzip_tag = r.header("etag");
    EXPECT_EQ(gzip_tag.substr(gzip_tag.size() - 6), "-gzip\"");
    // Both taken: br on a tie, the higher weight otherwise.
    r = request(get("/gz/page.html", "Accept-Encoding: gzip, br\r\n"));
    EXPECT_EQ(r.body, "BR bytes of page.html");
    EXPECT_EQ(r.header("content-encoding"), "br");
    r = request(get("/gz/page.html", "Accept-Encoding: br;q=0.5, gzip\r\n"));
    EXPECT_EQ(r.header("content-encoding"), "gzip");
    // Not taken, or refused: the file as it is, still saying it varies.
    for (const char* fields : {"", "Accept-Encoding: deflate\r\n", "Accept-Encoding: gzip;q=0\r\n",
                               "Accept-Encoding: identity\r\n"}) {
        r = request(get("/gz/page.html", fields));
        EXPECT_EQ(r.body, "<p>hi</p>\n") << fields;
        EXPECT_EQ(r.header("content-encoding"), "") << fields;
        EXPECT_EQ(r.header("vary"), "Accept-Encoding") << fields;
        EXPECT_NE(r.header("etag"), gzip_tag) << fields;
    }
    // A mount without the setting sends the file as it is and does not vary.
    r = request(get("/files/page.html", "Accept-Encoding: gzip\r\n"));
    EXPECT_EQ(r.body, "<p>hi</p>\n");
    EXPECT_EQ(r.header("content-encoding"), "");
    EXPECT_EQ(r.header("vary"), "");
    // A directory's index, too.
    r = request(get("/gz/dir/", "Accept-Encoding: gzip\r\n"));
    EXPECT_EQ(r.body, "GZ bytes of the index");
    EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
    // A "copy" that is a directory, or a link out of the root, is none.
    r = request(get("/gz/small.txt", "Accept-Encoding: gzip\r\n"));
    EXPECT_EQ(r.body, "hello, static\n");
    EXPECT_EQ(r.header("content-encoding"), "");
    r = request(get("/gz/dated.txt", "Accept-Encoding: gzip\r\n"));
    EXPECT_EQ(r.body, "changed long ago\n");
    // A copy is looked for first, and served without its original, as nginx's gzip_static does.
    r = request(get("/gz/only-copy.txt", "Accept-Encoding: gzip\r\n"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "GZ bytes without an original");
    EXPECT_EQ(r.header("content-type"), "text/plain; charset=utf-8");
    EXPECT_EQ(request(get("/gz/only-copy.txt")).status, 404);
    // The copy's validators, length and ranges are its own.
    r = request(
        get("/gz/page.html", "Accept-Encoding: gzip\r\nIf-None-Match: " + gzip_tag + "\r\n"));
    EXPECT_EQ(r.status, 304);
    EXPECT_EQ(r.header("content-encoding"), "gzip");
    r = request(get("/gz/page.html", "Accept-Encoding: gzip\r\nRange: bytes=0-1\r\n"));
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(r.body, "GZ");
    EXPECT_EQ(r.header("content-range"), "bytes 0-1/21");
    r = request("HEAD /gz/page.html HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n", true);
    EXPECT_EQ(r.header("content-length"), "21");
}

std::size_t open_descriptors() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
    return n;
}

// The descriptors open once they are down to `before` again, or after two seconds (a connection
// the server closes on its next tick, a frame destroyed when its operation is in).
std::size_t open_descriptors_once_back_to(std::size_t before) {
    std::size_t now = open_descriptors();
    for (int i = 0; i < 100 && now > before; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        now = open_descriptors();
    }
    return now;
}

// Every file the handler opens is closed again: after files, indexes, copies, misses, 304s and
// a client that leaves mid-file, the process holds no more descriptors than before.
TEST_F(StaticFiles, EveryFileItOpensIsClosed) {
    const std::size_t before = open_descriptors();
    for (int i = 0; i < 50; ++i) {
        EXPECT_EQ(request(get("/files/small.txt")).status, 200);
        EXPECT_EQ(request(get("/files/dir/")).status, 200);
        EXPECT_EQ(request(get("/gz/page.html", "Accept-Encoding: gzip\r\n")).status, 200);
        EXPECT_EQ(request(get("/gz/dir/", "Accept-Encoding: br, gzip\r\n")).status, 200);
        EXPECT_EQ(request(get("/files/nothing-here")).status, 404);
        EXPECT_EQ(request(get("/files/small.txt", "If-None-Match: *\r\n")).status, 304);
    }
    for (int i = 0; i < 5; ++i) {  // a client that leaves with most of a 64 MiB file unsent
        Client c(server_->port(), 10000);
        ASSERT_TRUE(c.send(get("/files/big.bin")));
        char buf[4096];
        ASSERT_GT(::recv(c.fd(), buf, sizeof(buf), 0), 0);
    }
    EXPECT_LE(open_descriptors_once_back_to(before), before);
}

// Requests answered in the same loop pass share the file one of them opened (a pipelined burst
// arrives in one receive and is answered in one pass): 20 requests, one or two opens, every
// answer whole; and nothing is staler than a pass: a file replaced between two requests is the
// new one for the second.
TEST_F(StaticFiles, ABurstForOneFileOpensItOnceAndAReplacedFileIsSeenNext) {
    std::string burst;
    for (int i = 0; i < 20; ++i) burst += get("/files/small.txt");
    Client c(server_->port(), 10000);
    const std::uint64_t before = handlers::static_files_opened();
    ASSERT_TRUE(c.send(burst));
    for (int i = 0; i < 20; ++i) EXPECT_EQ(c.read_response().body, "hello, static\n") << i;
    EXPECT_LE(handlers::static_files_opened() - before, 2u);
    const fs::path root = base_ / "root";
    write_file(root / "replaced.txt", "the first\n");
    EXPECT_EQ(request(get("/files/replaced.txt")).body, "the first\n");
    write_file(root / "replaced.txt.new", "the second\n");
    fs::rename(root / "replaced.txt.new", root / "replaced.txt");
    EXPECT_EQ(request(get("/files/replaced.txt")).body, "the second\n");
    fs::remove(root / "replaced.txt");
}

// Precompressed copies are shared by the pass as well, and so is a copy found missing: a burst
// of 20 requests taking "br, gzip" for a file with only a .gz beside it costs one failed open
// and one open, not 40; a burst that alternates the codings gets each its own copy; and a copy
// that appears between two requests is served to the second.
TEST_F(StaticFiles, ABurstForAPrecompressedCopyOpensItOnceAndLooksForTheMissingOneOnce) {
    const std::string both = "Accept-Encoding: br, gzip\r\n";
    std::string burst;
    for (int i = 0; i < 20; ++i) burst += get("/gz/only-copy.txt", both);
    {
        Client c(server_->port(), 10000);
        const std::uint64_t before = handlers::static_files_opened();
        ASSERT_TRUE(c.send(burst));
        for (int i = 0; i < 20; ++i) {
            const HttpResponse r = c.read_response();
            EXPECT_EQ(r.body, "GZ bytes without an original") << i;
            EXPECT_EQ(r.header("content-encoding"), "gzip") << i;
        }
        EXPECT_LE(handlers::static_files_opened() - before, 4u);  // two passes at most
    }
    burst.clear();
    for (int i = 0; i < 20; ++i)
        burst += get("/gz/page.html", i % 2 == 0 ? both : "Accept-Encoding: gzip\r\n");
    {
        Client c(server_->port(), 10000);
        ASSERT_TRUE(c.send(burst));
        for (int i = 0; i < 20; ++i)
            EXPECT_EQ(c.read_response().body,
                      i % 2 == 0 ? "BR bytes of page.html" : "GZ bytes of page.html")
                << i;
    }
    const fs::path root = base_ / "root";
    EXPECT_EQ(request(get("/gz/only-copy.txt", both)).header("content-encoding"), "gzip");
    write_file(root / "only-copy.txt.br", "BR bytes without an original");
    const HttpResponse r = request(get("/gz/only-copy.txt", both));
    EXPECT_EQ(r.body, "BR bytes without an original");
    EXPECT_EQ(r.header("content-encoding"), "br");
    fs::remove(root / "only-copy.txt.br");
}

// A directory's index is a file like any other, shared by the pass: a burst of 20 requests for
// a directory, one of them for its index.html by name, opens that file once a pass (not the
// directory and then its index, 40 times), each answered whole with the index's type.
TEST_F(StaticFiles, ABurstForADirectoryOpensItsIndexOnce) {
    std::string burst;
    for (int i = 0; i < 20; ++i) burst += get(i == 10 ? "/files/dir/index.html" : "/files/dir/");
    Client c(server_->port(), 10000);
    const std::uint64_t before = handlers::static_files_opened();
    ASSERT_TRUE(c.send(burst));
    for (int i = 0; i < 20; ++i) {
        const HttpResponse r = c.read_response();
        EXPECT_EQ(r.status, 200) << i;
        EXPECT_EQ(r.body, "<h1>index</h1>\n") << i;
        EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8") << i;
    }
    EXPECT_LE(handlers::static_files_opened() - before, 2u);  // two passes at most
    EXPECT_EQ(request(get("/files/small.txt/")).status, 404) << "a file is no directory";
}

// On a precompressed mount too: a burst for a directory whose index has a .gz copy opens the
// copy once a pass, and the index itself never.
TEST_F(StaticFiles, ABurstForAPrecompressedDirectoryOpensItsIndexCopyOnce) {
    std::string burst;
    for (int i = 0; i < 20; ++i) burst += get("/gz/dir/", "Accept-Encoding: gzip\r\n");
    Client c(server_->port(), 10000);
    const std::uint64_t before = handlers::static_files_opened();
    ASSERT_TRUE(c.send(burst));
    for (int i = 0; i < 20; ++i) {
        const HttpResponse r = c.read_response();
        EXPECT_EQ(r.body, "GZ bytes of the index") << i;
        EXPECT_EQ(r.header("content-encoding"), "gzip") << i;
        EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8") << i;
    }
    EXPECT_LE(handlers::static_files_opened() - before, 2u);  // two passes at most
}

// More distinct files in one pass than the shared table holds (16), and a name too long to be
// shared: each request keeps a descriptor of its own and is answered whole, and every file is
// closed again.
TEST_F(StaticFiles, FilesThePassCannotShareAreServedAndClosed) {
    const fs::path root = base_ / "root";
    std::vector<std::string> names;
    for (int i = 0; i < 24; ++i) names.push_back("many-" + std::to_string(i) + ".txt");
    names.push_back(std::string(230, 'l') + ".txt");
    for (const std::string& n : names) write_file(root / n, "file " + n + "\n");
    const std::size_t before = open_descriptors();
    std::string burst;
    for (const std::string& n : names) burst += get("/files/" + n);
    {
        Client c(server_->port(), 10000);
        ASSERT_TRUE(c.send(burst));
        for (const std::string& n : names) EXPECT_EQ(c.read_response().body, "file " + n + "\n");
    }
    EXPECT_LE(open_descriptors_once_back_to(before), before);
    for (const std::string& n : names) fs::remove(root / n);
}

// A redirect to a directory is written into the request arena: where that is full (a long query
// behind a large head, a request view as small as the limits allow) the answer is 500, and the
// connection goes on.
TEST(StaticFilesFullArena, ARedirectThatDoesNotFitIs500) {
    char templ[] = "/tmp/lake-static-full-XXXXXX";
    const fs::path root = ::mkdtemp(templ);
    fs::create_directories(root / "dir");
    config::ServerConfig c = test_config();
    c.request_view = c.max_target + c.max_header_bytes + c.max_headers * 32 + 1024;  // the least
    c.static_mounts.push_back({"/files", root.string(), ""});
    RunningServer server(c);
    ASSERT_EQ(server.error(), "");
    std::string pad;
    for (int i = 0; i < 3; ++i)
        pad += "X-Pad-" + std::to_string(i) + ": " + std::string(5000, 'p') + "\r\n";
    const std::string query(7900, 'q');
    for (const char* target : {"/files/dir", "/files"}) {
        Client client(server.port(), 10000);
        ASSERT_TRUE(client.send(get(std::string(target) + "?" + query, pad)));
        const HttpResponse r = client.read_response();
        EXPECT_EQ(r.status, 500) << target;
        EXPECT_EQ(r.header("location"), "") << target;
        ASSERT_TRUE(client.send(get(std::string(target) + "?short")));
        const HttpResponse next = client.read_response();
        EXPECT_EQ(next.status, 301) << target;
        EXPECT_EQ(next.header("location"), std::string(target) + "/?short");
    }
    fs::remove_all(root);
}

// Where the request arena cannot hold the precompressed copy's name (a long name behind a large
// head), the file is served as it is, not failed: swept over the head's length, each answer is
// the copy, the original or (the arena full sooner still) a 5xx, in that order, and the original
// comes up before the head is too large to take.
TEST(StaticFilesFullArena, ACopysNameThatDoesNotFitServesTheOriginal) {
    char templ[] = "/tmp/lake-static-copy-XXXXXX";
    const fs::path root = ::mkdtemp(templ);
    const std::string name(200, 'n');
    write_file(root / (name + ".txt"), "the original\n");
    write_file(root / (name + ".txt.gz"), "GZ bytes");
    config::ServerConfig c = test_config();
    c.request_view = c.max_target + c.max_header_bytes + c.max_headers * 32 + 1024;  // the least
    c.static_mounts.push_back({"/gz", root.string(), "", true});
    RunningServer server(c);
    ASSERT_EQ(server.error(), "");
    std::string seen;  // 'c' copy, 'o' original, 'x' a 5xx: one letter per change
    const std::string query(7500, 'q');
    // The head grows 4 bytes a request, up to the limit of a head's size (431): how much of the
    // arena the handler's own frame takes differs from build to build.
    for (std::size_t more = 0; more <= 4000; more += 4) {
        std::string pad;
        for (int i = 0; i < 2; ++i)
            pad += "X-Pad-" + std::to_string(i) + ": " + std::string(5000, 'p') + "\r\n";
        pad += "X-Pad-2: " + std::string(3500 + more, 'p') + "\r\nAccept-Encoding: gzip\r\n";
        Client client(server.port(), 10000);
        ASSERT_TRUE(client.send(get("/gz/" + name + ".txt?" + query, pad)));
        const HttpResponse r = client.read_response();
        if (r.status == 431) break;
        char kind = '?';
        if (r.status == 200 && r.body == "GZ bytes" && r.header("content-encoding") == "gzip")
            kind = 'c';
        else if (r.status == 200 && r.body == "the original\n" &&
                 r.header("content-encoding") == "")
            kind = 'o';
        else if (r.status >= 500)
            kind = 'x';
        ASSERT_NE(kind, '?') << "a head " << more << " bytes longer: " << r.status << " " << r.body;
        if (seen.empty() || seen.back() != kind) seen += kind;
    }
    EXPECT_TRUE(seen == "co" || seen == "cox") << seen;
    fs::remove_all(root);
}

// A file whose pages are not in the page cache is read through the ring (a read that would wait
// is never made on the worker's thread), byte for byte. With epoll it is read at once, blocking
// the worker for the disk, as nginx does without thread pools.
TEST_F(StaticFiles, AFileNotInThePageCacheIsReadThroughTheRing) {
    ASSERT_TRUE(drop_from_page_cache(base_ / "root" / "cold.bin"));
    const std::uint64_t ring_before = server_->server().counters().waiting_ops_ring;
    const std::uint64_t not_cached_before =
        server_->server().counters().file_sends_not_cached.get();
    const HttpResponse r = request(get("/files/cold.bin"));
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.body == std::string_view(*big_).substr(0, kBig / 8));
    if (backend_under_test() != "epoll") {
        EXPECT_GT(server_->server().counters().waiting_ops_ring, ring_before);
    }
    // Not sent from the page cache: sendfile would have waited on the disk.
    EXPECT_GT(server_->server().counters().file_sends_not_cached, not_cached_before);
}

// A file larger than the response arena holds, its pages in memory, goes from the page cache to
// the socket (sendfile): byte for byte, whole or a range of it, and a small one does not (it is
// read into the response arena and sent with its head, one send).
TEST_F(StaticFiles, ALargeFileInThePageCacheIsSentFromIt) {
    EXPECT_EQ(request(get("/files/big.bin")).status, 200);  // now in the page cache
    const server::WorkerCounters before = server_->server().counters();
    const HttpResponse whole = request(get("/files/big.bin"));
    EXPECT_EQ(whole.status, 200);
    EXPECT_TRUE(whole.body == *big_);
    const HttpResponse part = request(get("/files/big.bin", "Range: bytes=1000-2098575\r\n"));
    EXPECT_EQ(part.status, 206);
    EXPECT_TRUE(part.body == big_->substr(1000, 2097576));
    const HttpResponse head = request("HEAD /files/big.bin HTTP/1.1\r\nHost: t\r\n\r\n", true);
    EXPECT_EQ(head.header("content-length"), std::to_string(kBig));
    const server::WorkerCounters after_large = server_->server().counters();
    EXPECT_EQ(after_large.file_sends.get(), before.file_sends.get() + 2);
    EXPECT_EQ(after_large.file_sends_not_cached.get(), before.file_sends_not_cached.get());
    EXPECT_EQ(request(get("/files/small.txt")).body, "hello, static\n");
    EXPECT_EQ(server_->server().counters().file_sends.get(), after_large.file_sends.get());
}

// A client that reads a 64 MiB file slowly: the server holds one part of it at a time, not the
// file (its memory stays flat while the client lags behind).
TEST_F(StaticFiles, ASlowReaderKeepsTheServersMemoryFlat) {
    const int fd = raw_socket(server_->port(), 64 * 1024);
    ASSERT_GE(fd, 0);
    const std::size_t before = rss_bytes();
    ASSERT_TRUE(send_all(fd, get("/files/big.bin")));
    std::string got;
    char buf[16384];
    for (int i = 0; i < 100; ++i) {  // ~1.6 MiB in a second
        const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        ASSERT_GT(n, 0);
        got.append(buf, static_cast<std::size_t>(n));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const std::size_t during = rss_bytes();
    EXPECT_LT(during, before + (8u << 20)) << "the server's memory grew with the file";
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
        if (got.size() > kBig && got.find("\r\n\r\n") != std::string::npos &&
            got.size() - got.find("\r\n\r\n") - 4 == kBig)
            break;
    }
    ::close(fd);
    const std::size_t head_end = got.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos);
    EXPECT_TRUE(got.compare(head_end + 4, std::string::npos, *big_) == 0);
}

// Sending a file from the page cache, where it can go wrong: a reader that stops, a file that
// shrinks under the send. Each with a server of its own (a short send timeout; a file it may cut).
class StaticFileSends : public ::testing::Test {
  protected:
    void SetUp() override {
        char templ[] = "/tmp/lake-sendfile-XXXXXX";
        root_ = ::mkdtemp(templ);
        write_file(root_ / "big.bin", big_contents());  // its pages are in the cache (dirty)
        config::ServerConfig c = test_config();
        c.send_timeout_s = 1;
        c.static_mounts.push_back({"/files", root_.string(), ""});
        server_ = std::make_unique<RunningServer>(c);
        ASSERT_EQ(server_->error(), "");
    }
    void TearDown() override {
        server_.reset();
        fs::remove_all(root_);
    }
    // A client that reads little: the server's sends soon wait for room.
    int start_slow_download() {
        const int fd = raw_socket(server_->port(), 64 * 1024);
        EXPECT_GE(fd, 0);
        const timeval wait{10, 0};  // no test waits for ever on a server that would hang
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
        EXPECT_TRUE(send_all(fd, get("/files/big.bin")));
        char buf[16384];
        EXPECT_GT(::recv(fd, buf, sizeof(buf), 0), 0);
        return fd;
    }
    // Reads until the server ends the connection: the bytes, or -1 when it did not end it.
    static long long read_to_end(int fd) {
        long long total = 0;
        char buf[65536];
        for (;;) {
            const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
            if (n > 0) {
                total += n;
                continue;
            }
            if (n == 0 || errno == ECONNRESET) return total;
            return -1;  // the receive timed out: the server still holds the connection open
        }
    }

    fs::path root_;
    std::unique_ptr<RunningServer> server_;
};

// The client stops reading while the file goes out: cut at the send timeout like any response,
// and the handler's file is closed.
TEST_F(StaticFileSends, AReaderThatStopsIsCutAtTheSendTimeout) {
    const std::size_t descriptors = open_descriptors();
    const int fd = start_slow_download();
    const auto send_timeouts = [&] {
        return server_->server()
            .counters()
            .timeouts[static_cast<int>(server::TimeoutKind::Send)]
            .get();
    };
    for (int i = 0; i < 100 && send_timeouts() == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(send_timeouts(), 1u);
    EXPECT_EQ(server_->server().counters().file_sends.get(), 1u);  // it was a file's send
    const long long got = read_to_end(fd);
    EXPECT_GE(got, 0) << "the connection was not closed";
    EXPECT_LT(got, static_cast<long long>(kBig));
    ::close(fd);
    EXPECT_LE(open_descriptors_once_back_to(descriptors), descriptors);
}

// The file is cut short while it is sent: the connection ends short of the announced length
// (it cannot be kept), instead of waiting for bytes that will not come.
TEST_F(StaticFileSends, AFileThatShrinksWhileSentEndsTheConnection) {
    const int fd = start_slow_download();
    ASSERT_EQ(::truncate((root_ / "big.bin").c_str(), 1 << 20), 0);
    const long long got = read_to_end(fd);
    EXPECT_GE(got, 0) << "the connection was not closed";
    EXPECT_LT(got, static_cast<long long>(kBig));
    EXPECT_EQ(server_->server().counters().file_sends.get(), 1u);
    ::close(fd);
}

}  // namespace
}  // namespace lake::test
