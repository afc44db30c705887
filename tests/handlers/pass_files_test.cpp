// PassFiles (handlers/pass_files.hpp): what a loop pass shares, when a file is closed, and what
// it refuses. Descriptors are real (/dev/null), so a close is seen with fcntl.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "../../handlers/pass_files.hpp"

namespace lake::handlers {
namespace {

int open_null() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }
bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

struct statx stat_of_size(std::uint64_t size) {
    struct statx st {};
    st.stx_size = size;
    return st;
}

TEST(PassFiles, AFileKeptInAPassIsFoundInThatPassOnly) {
    PassFiles files;
    const int fd = open_null();
    PassFiles::Entry* kept = files.keep(3, "a.txt", fd, stat_of_size(7), 1);
    ASSERT_NE(kept, nullptr);
    PassFiles::Entry* again = files.find(3, "a.txt", 1);
    ASSERT_EQ(again, kept);
    EXPECT_EQ(again->fd, fd);
    EXPECT_EQ(again->st.stx_size, 7u);
    EXPECT_EQ(files.find(4, "a.txt", 1), nullptr) << "the same name beneath another directory";
    EXPECT_EQ(files.find(3, "a.tx", 1), nullptr);
    EXPECT_EQ(files.find(3, "a.txtt", 1), nullptr);
    files.release(*again);
    files.release(*kept);
    EXPECT_TRUE(is_open(fd)) << "nobody uses it, but its pass is not over";
    EXPECT_EQ(files.find(3, "a.txt", 2), nullptr) << "nothing staler than a pass";
    EXPECT_FALSE(is_open(fd)) << "closed at the first look of a later pass";
}

TEST(PassFiles, AFileInUseWhenItsPassEndsIsClosedByItsLastRelease) {
    PassFiles files;
    const int fd = open_null();
    PassFiles::Entry* kept = files.keep(3, "big.bin", fd, {}, 1);
    ASSERT_NE(kept, nullptr);
    PassFiles::Entry* second = files.find(3, "big.bin", 1);
    ASSERT_NE(second, nullptr);
    EXPECT_EQ(files.find(3, "other", 2), nullptr);  // a new pass begins
    EXPECT_TRUE(is_open(fd)) << "two requests still send from it";
    files.release(*kept);
    EXPECT_TRUE(is_open(fd));
    files.release(*second);
    EXPECT_FALSE(is_open(fd));
}

TEST(PassFiles, AMissingCopyIsRememberedForItsPass) {
    PassFiles files;
    files.keep_missing(3, "page.html.br", 1);
    PassFiles::Entry* e = files.find(3, "page.html.br", 1);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->fd, PassFiles::kMissing);
    EXPECT_EQ(e->refs, 0u) << "nothing to release";
    EXPECT_EQ(files.find(3, "page.html.br", 2), nullptr) << "looked for again in a later pass";
}

TEST(PassFiles, TheTickClosesWhatNobodyUses) {
    PassFiles files;
    const int idle = open_null(), used = open_null();
    PassFiles::Entry* a = files.keep(3, "idle", idle, {}, 1);
    PassFiles::Entry* b = files.keep(3, "used", used, {}, 1);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    files.release(*a);
    files.close_idle();
    EXPECT_FALSE(is_open(idle));
    EXPECT_TRUE(is_open(used));
    EXPECT_EQ(files.find(3, "idle", 1), nullptr);
    files.release(*b);
    files.close_idle();
    EXPECT_FALSE(is_open(used));
}

// Refused (the caller keeps its own descriptor and closes it): a name too long for an entry, and
// a file when every entry is in use.
TEST(PassFiles, ALongNameOrAFullTableIsNotKept) {
    PassFiles files;
    const int fd = open_null();
    EXPECT_EQ(files.keep(3, std::string(200, 'n').c_str(), fd, {}, 1), nullptr);
    std::vector<PassFiles::Entry*> held;
    std::vector<int> fds;
    for (int i = 0;; ++i) {
        const int f = open_null();
        char name[16];
        std::snprintf(name, sizeof(name), "f%d", i);  // (GCC 12 -O3 warns of "f" + to_string)
        PassFiles::Entry* e = files.keep(3, name, f, {}, 1);
        if (e == nullptr) {
            ::close(f);
            break;
        }
        held.push_back(e);
        fds.push_back(f);
        ASSERT_LT(i, 1000);
    }
    EXPECT_EQ(held.size(), 16u);
    EXPECT_EQ(files.keep(3, "one more", fd, {}, 2), nullptr) << "in use: not closed by a new pass";
    for (PassFiles::Entry* e : held) files.release(*e);
    for (int f : fds) EXPECT_FALSE(is_open(f)) << "released after their pass: closed";
    EXPECT_NE(files.keep(3, "one more", fd, {}, 2), nullptr);
}

TEST(PassFiles, ItsDestructorClosesWhatItHolds) {
    const int fd = open_null();
    {
        PassFiles files;
        ASSERT_NE(files.keep(3, "a", fd, {}, 1), nullptr);
    }
    EXPECT_FALSE(is_open(fd));
}

}  // namespace
}  // namespace lake::handlers
