// handlers/accept_encoding.hpp — what a request's Accept-Encoding (RFC 9110 §12.5.3) says of a
// content coding: its weight, from the coding's own entry, else from "*".
#pragma once

#include <string_view>

#include "request.hpp"

namespace lake::http {

// The weight, 0 to 1000 (a qvalue in thousandths), that `req`'s Accept-Encoding fields (all of
// them, in order) give `coding` (a lower-case token such as "gzip" or "br"; "x-gzip" counts as
// "gzip", §8.4.1.3). Its own entry wins over "*"; without either, or without the header, 0:
// the RFC would let a server pick any coding for a client that sent none, but no client relies
// on it, and nginx and h2o send an encoded file only to one that asked. An entry whose weight is
// malformed is skipped.
int coding_weight(const Request& req, std::string_view coding) noexcept;

}  // namespace lake::http
