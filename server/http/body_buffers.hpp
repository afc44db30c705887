// server/http/body_buffers.hpp — where a request body goes: once it outgrows the request view, or
// when its handler reads it as it arrives.
//
// The parser knows nothing of pools, clients, routes or waiting: it asks its owner for a buffer,
// gives it back when the request is done, and stops before the body's next bytes when none can be
// had now (ParseEvent::NeedBodyBuffer), so that the owner can wait for one. And it asks, once the
// headers are in, whether the body is streamed (ParseEvent::Headers, then BodyPart events).
#pragma once

#include <lake/lake.hpp>

#include "../../handlers/request.hpp"

namespace lake::http {

class BodyBuffers {
  public:
    // A reset view for the body, or nullptr when none can be had now.
    virtual lake::LakeView* acquire_body_buffer() noexcept = 0;
    virtual void release_body_buffer(lake::LakeView* v) noexcept = 0;
    // The headers of a request with a body are in: true when its handler reads the body as it
    // arrives (no ceiling, nothing kept), false to keep it whole in the request (max_body).
    virtual bool stream_body(const Request& request) noexcept = 0;

  protected:
    ~BodyBuffers() = default;
};

}  // namespace lake::http
