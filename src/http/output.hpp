// What a connection hands to the network layer to send: owned bytes, or a
// region of a file to send with sendfile. The network layer sends the chunks
// in order and drops each once sent. Plain values, moved between owners.
#pragma once

#include <string>
#include <variant>

#include "core/file_region.hpp"

namespace waitron::http {

using OutputChunk = std::variant<std::string, core::FileRegion>;

}  // namespace waitron::http
