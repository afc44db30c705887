// server/http/body_buffers.hpp — where a request body goes once it outgrows the request view.
//
// The parser knows nothing of pools, clients or waiting: it asks its owner for a buffer, gives
// it back when the request is done, and stops before the body's next bytes when none can be
// had now (ParseEvent::NeedBodyBuffer), so that the owner can wait for one.
#pragma once

#include <lake/lake.hpp>

namespace lake::http {

class BodyBuffers {
  public:
    // A reset view for the body, or nullptr when none can be had now.
    virtual lake::LakeView* acquire_body_buffer() noexcept = 0;
    virtual void release_body_buffer(lake::LakeView* v) noexcept = 0;

  protected:
    ~BodyBuffers() = default;
};

}  // namespace lake::http
