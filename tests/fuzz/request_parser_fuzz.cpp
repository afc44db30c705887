// libFuzzer target: any bytes, cut into reads of any size, through the request parser. It
// must never crash, read out of bounds or hang, whatever it answers. Build and run with
// tests/fuzz/run (clang, ASan + UBSan).
#include <cstddef>
#include <cstdint>

#include "parser_fixture.hpp"

namespace {

using Fixture = lake::fuzz::ParserFixture;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Fixture f;
    if (size == 0) return 0;
    f.new_connection();
    const std::size_t read_size = 1 + data[0] % 97;  // the first byte picks the read size
    const char* p = reinterpret_cast<const char*>(data + 1);
    std::size_t left = size - 1;
    while (left > 0) {
        const std::size_t n = left < read_size ? left : read_size;
        const lake::http::ParseStep step = f.parser.feed(p, n);
        if (step.event == lake::http::ParseEvent::Error) break;
        if (step.event == lake::http::ParseEvent::BodyPart) {
            const std::string_view part = f.parser.body_part();
            volatile char first = part.empty() ? 0 : part.front();
            volatile char last = part.empty() ? 0 : part.back();
            (void)first;
            (void)last;
        }
        if (step.event == lake::http::ParseEvent::Complete) {
            const lake::http::Request& r = f.parser.request();
            volatile std::size_t touch = r.path.size() + r.body.size() + r.headers.size();
            for (const auto& h : r.headers) touch = touch + h.name.size() + h.value.size();
            (void)touch;
            f.next_request();
        } else if (step.consumed == 0) {
            break;
        }
        p += step.consumed;
        left -= step.consumed;
    }
    return 0;
}
