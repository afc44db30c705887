// same_bytes compares by words (8, 4, or the first, middle and last byte): every length up to
// three words, with one byte changed at each position, must tell the difference; equal bytes
// must compare equal. The bytes sit at the very end of their buffers, so a load past them is
// an overflow AddressSanitizer reports. http::iequals folds ASCII case the same way, a word at a
// time: at every place of every length up to three words it must compare as a byte-by-byte
// reference does.
#include <gtest/gtest.h>

#include <memory>
#include <span>

#include "../../handlers/request.hpp"
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

// What iequals must agree with: ASCII letters alike in either case, every other byte only
// equal to itself.
char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

TEST(IEquals, AgreesWithAByteByByteReferenceAtEveryPlaceOfEveryLength) {
    using lake::http::iequals;
    for (std::size_t n = 1; n <= 24; ++n) {
        const std::unique_ptr<char[]> a(new char[n]);  // exactly n bytes each
        const std::unique_ptr<char[]> b(new char[n]);
        for (std::size_t i = 0; i < n; ++i) a[i] = b[i] = static_cast<char>("aZ-9_x"[i % 6]);
        b[0] = 'A';  // the rest differs in case only: still equal
        // Every place of every length: each byte value against itself, its neighbours and its
        // other case; every pair of values at the first, middle and last place of lengths at
        // and around each path's edges (1-3 bytes, 4-7, 8-16, more).
        const bool edge = n <= 4 || n == 7 || n == 8 || n == 9 || n == 16 || n == 17 || n == 24;
        for (std::size_t i = 0; i < n; ++i) {
            const bool all_pairs = edge && (i == 0 || i == n - 1 || i == n / 2);
            for (int x = 0; x < 256; ++x) {
                for (int y = all_pairs ? 0 : x; y < (all_pairs ? 256 : x + 1); ++y) {
                    const char keep_a = a[i], keep_b = b[i];
                    a[i] = static_cast<char>(x);
                    // Off the pairs, y runs over x's neighbours and its other case.
                    static constexpr int kAround[] = {0, 1, -1, 0x20, -0x20};
                    for (int d : std::span<const int>(kAround, all_pairs ? 1 : 5)) {
                        b[i] = static_cast<char>(y + d);
                        const bool want = ascii_lower(a[i]) == ascii_lower(b[i]);
                        ASSERT_EQ(iequals({a.get(), n}, {b.get(), n}), want)
                            << "length " << n << ", place " << i << ", bytes " << x << " and "
                            << (y + d);
                    }
                    a[i] = keep_a;
                    b[i] = keep_b;
                }
            }
        }
    }
    EXPECT_TRUE(iequals("", ""));
    EXPECT_FALSE(iequals("Host", "Hos"));
    EXPECT_TRUE(iequals("Transfer-Encoding", "transfer-encoding"));
    EXPECT_FALSE(iequals("a^b", "a~b"));    // '^' | 0x20 is '~': only letters fold
    EXPECT_FALSE(iequals("\xC1", "\xE1"));  // nor bytes above ASCII ('A' and 'a' + 0x80)
}

}  // namespace
