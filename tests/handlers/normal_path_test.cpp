// A path as a normalizing server reads it (handlers/normal_path.hpp).
#include <gtest/gtest.h>

#include <string>

#include "../../handlers/normal_path.hpp"

namespace lake::http {
namespace {

std::string normal(std::string_view path) {
    lake::Lake arena(4096);
    return std::string(normal_path(path, arena));
}

TEST(NormalPath, NormalPathsAreTheirOwnAndNotCopied) {
    for (const char* p : {"/", "/a", "/a/b", "/users/42/", "/a.b/..c/...", "*", ""}) {
        EXPECT_TRUE(is_normal_path(p)) << p;
        lake::Lake arena(64);
        const std::string_view in = p;
        EXPECT_EQ(normal_path(in, arena).data(), in.data()) << p;
    }
    for (const char* p : {"//", "/a//b", "/a/./b", "/a/../b", "/.", "/..", "/a%20b", "/a\\b"})
        EXPECT_FALSE(is_normal_path(p)) << p;
}

TEST(NormalPath, EscapesSlashesAndDotSegmentsAsRfc3986Resolves) {
    EXPECT_EQ(normal("//a///b"), "/a/b");
    EXPECT_EQ(normal("/a/b//"), "/a/b/");
    EXPECT_EQ(normal("/a/./b/."), "/a/b/");
    EXPECT_EQ(normal("/a/b/../c"), "/a/c");
    EXPECT_EQ(normal("/a/b/.."), "/a/");
    EXPECT_EQ(normal("/../../a"), "/a");  // ".." at the root stays there
    EXPECT_EQ(normal("/.."), "/");
    EXPECT_EQ(normal("/%61dmin/%2e%2E/x%2Fy"), "/x/y");
    EXPECT_EQ(normal("/a\\b\\..\\c"), "/a/c");
    EXPECT_EQ(normal("/a%2"), "/a%2");  // a broken escape stays
    EXPECT_EQ(normal("/%zz/x%"), "/%zz/x%");
    EXPECT_EQ(normal("/a%20b"), "/a b");
}

TEST(NormalPath, AFullArenaGivesNothing) {
    lake::Lake arena(4);
    EXPECT_EQ(normal_path("/a//b/c", arena), "");
}

}  // namespace
}  // namespace lake::http
