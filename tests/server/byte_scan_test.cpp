// The strict head check's scans (server/http/byte_scan.hpp) against the plain definition: every
// length up to three 16-byte blocks, the byte sought or refused at every position, in buffers
// exactly as long as what may be read (AddressSanitizer reports a read past them).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../../server/http/byte_scan.hpp"

namespace {

using lake::http::byte_scan::all_visible;
using lake::http::byte_scan::find_lf;

TEST(ByteScan, FindsTheFirstLineFeedAtEveryPosition) {
    for (std::size_t n = 0; n <= 48; ++n) {
        const std::string letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ";
        std::vector<char> b(letters.begin(), letters.begin() + static_cast<std::ptrdiff_t>(n));
        EXPECT_EQ(find_lf(b.data(), b.data() + n), nullptr) << n;
        for (std::size_t at = 0; at < n; ++at) {
            b[at] = '\n';
            EXPECT_EQ(find_lf(b.data(), b.data() + n), b.data() + at) << n << " " << at;
            if (at + 1 < n) {
                b[n - 1] = '\n';  // a later one does not matter
                EXPECT_EQ(find_lf(b.data(), b.data() + n), b.data() + at) << n << " " << at;
                b[n - 1] = 'z';
            }
            b[at] = 'x';
        }
    }
}

TEST(ByteScan, RefusesASpaceAControlOrDelAtEveryPositionAndNothingPastTheEnd) {
    const unsigned char refused[] = {0x00, 0x09, 0x0A, 0x0D, 0x1F, ' ', 0x7F};
    const unsigned char allowed[] = {'!', '~', 0x80, 0xFF, '%', '/'};
    for (std::size_t n = 0; n <= 48; ++n) {
        for (std::size_t extra : {std::size_t{0}, std::size_t{5}, std::size_t{16}}) {
            // `extra` readable bytes past the run, each one refused: they must not count.
            const std::string bytes = std::string(n, 'a') + std::string(extra, ' ');
            std::vector<char> b(bytes.begin(), bytes.end());  // exactly n + extra bytes
            const char* end = b.data() + n;
            const char* readable = end + extra;
            EXPECT_TRUE(all_visible(b.data(), end, readable)) << n << " " << extra;
            for (std::size_t at = 0; at < n; ++at) {
                for (unsigned char c : refused) {
                    b[at] = static_cast<char>(c);
                    EXPECT_FALSE(all_visible(b.data(), end, readable))
                        << n << " " << extra << " " << at << " " << int(c);
                }
                for (unsigned char c : allowed) {
                    b[at] = static_cast<char>(c);
                    EXPECT_TRUE(all_visible(b.data(), end, readable))
                        << n << " " << extra << " " << at << " " << int(c);
                }
                b[at] = 'a';
            }
        }
    }
}

}  // namespace
