// What a connection hands to the network layer to send: owned bytes, bytes owned by
// someone else (zero-copy), or a region of a file to send with sendfile. The network layer
// sends the chunks in order and drops each once sent. Plain values, moved between owners.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "core/file_region.hpp"

namespace waitron::http {

// Bytes that stay valid while `owner` lives; dropping the chunk releases the owner, on
// whichever thread drops it last (the owner's deleter must be safe there).
struct SharedBytes {
  std::string_view bytes;
  std::shared_ptr<const void> owner;
};

using OutputChunk = std::variant<std::string, core::FileRegion, SharedBytes>;

}  // namespace waitron::http
