// libFuzzer target: any bytes, cut into reads of any size, through the request parser. It
// must never crash, read out of bounds or hang, whatever it answers. Build and run with
// tests/fuzz/run (clang, ASan + UBSan).
#include <cstddef>
#include <cstdint>

#include "../../server/http/request_parser.hpp"

namespace {

struct Fixture {
    lake::Lake lake{std::size_t{8} << 20};
    lake::server::LargeBufferPool pool{lake, 2, 2 * 65536 + 65536};
    lake::LakeView view{lake, 32 * 1024};
    lake::http::RequestParser parser{view, pool, lake::http::ParseLimits{2048, 8192, 32, 65536}};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Fixture f;
    if (size == 0) return 0;
    f.parser.reset_connection();
    const std::size_t read_size = 1 + data[0] % 97;  // the first byte picks the read size
    const char* p = reinterpret_cast<const char*>(data + 1);
    std::size_t left = size - 1;
    while (left > 0) {
        const std::size_t n = left < read_size ? left : read_size;
        const lake::http::ParseStep step = f.parser.feed(p, n);
        if (step.event == lake::http::ParseEvent::Error) break;
        if (step.event == lake::http::ParseEvent::Complete) {
            const lake::http::Request& r = f.parser.request();
            volatile std::size_t touch = r.path.size() + r.body.size() + r.headers.size();
            for (const auto& h : r.headers) touch = touch + h.name.size() + h.value.size();
            (void)touch;
            f.parser.start();
        } else if (step.consumed == 0) {
            break;
        }
        p += step.consumed;
        left -= step.consumed;
    }
    return 0;
}
