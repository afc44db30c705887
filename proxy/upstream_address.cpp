#include "upstream_address.hpp"

#include <netdb.h>

#include <cstring>

namespace lake::proxy {

std::string resolve_upstream(const std::string& text, UpstreamAddress& out) {
    std::string host, port;
    if (!text.empty() && text.front() == '[') {  // [v6]:port
        const std::size_t close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return "upstream '" + text + "' must be \"[address]:port\"";
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const std::size_t colon = text.rfind(':');
        if (colon == std::string::npos || colon == 0 || text.find(':') != colon)
            return "upstream '" + text + "' must be \"host:port\"";
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
        port.size() > 5 || std::stoul(port) == 0 || std::stoul(port) > 65535)
        return "upstream '" + text + "': the port must be a number from 1 to 65535";
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0)
        return "upstream '" + text + "': " + ::gai_strerror(rc);
    out.text = text;
    std::memcpy(&out.address, found->ai_addr, found->ai_addrlen);
    out.length = found->ai_addrlen;
    ::freeaddrinfo(found);
    return {};
}

}  // namespace lake::proxy
