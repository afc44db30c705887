// same_bytes compares by words (8, 4, or the first, middle and last byte): every length up to
// three words, with one byte changed at each position, must tell the difference; equal bytes
// must compare equal. The bytes sit at the very end of their buffers, so a load past them is
// an overflow AddressSanitizer reports.
#include <gtest/gtest.h>

#include <memory>

#include "../../handlers/short_compare.hpp"

namespace {

using lake::handlers::same_bytes;
using lake::handlers::starts_with_bytes;

TEST(SameBytes, EveryLengthAndEveryDifferingPosition) {
    for (std::size_t n = 0; n <= 24; ++n) {
        const std::unique_ptr<char[]> a(new char[n]);  // exactly n bytes each
        const std::unique_ptr<char[]> b(new char[n]);
        for (std::size_t i = 0; i < n; ++i) a[i] = b[i] = static_cast<char>('a' + i);
        EXPECT_TRUE(same_bytes(a.get(), b.get(), n)) << n;
        for (std::size_t i = 0; i < n; ++i) {
            b[i] = static_cast<char>(b[i] ^ 0x20);
            EXPECT_FALSE(same_bytes(a.get(), b.get(), n)) << "length " << n << ", byte " << i;
            b[i] = static_cast<char>(b[i] ^ 0x20);
        }
    }
}

TEST(SameBytes, ViewsCompareLengthFirstAndPrefixes) {
    EXPECT_TRUE(same_bytes(std::string_view("users"), std::string_view("users")));
    EXPECT_FALSE(same_bytes(std::string_view("users"), std::string_view("user")));
    EXPECT_FALSE(same_bytes(std::string_view(""), std::string_view("a")));
    EXPECT_TRUE(starts_with_bytes("/admin/ping", "/admin/"));
    EXPECT_FALSE(starts_with_bytes("/admin", "/admin/"));
    EXPECT_FALSE(starts_with_bytes("/adMin/ping", "/admin/"));
    EXPECT_TRUE(starts_with_bytes("/x", ""));
}

}  // namespace
