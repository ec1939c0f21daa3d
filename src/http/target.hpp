// The request-target split as waitress splits it (split_uri, unquote_bytes_to_wsgi).
//
// - origin-form "/p?q#f": path "/p", query "q" (raw bytes), the fragment dropped;
// - absolute-form "http://host:81/p?q": the path and query of the URI; the scheme and
//   authority are not used (the Host field is not overridden), as in waitress;
// - "//foo" stays a path (not an authority);
// - "*": path "*".
// The path is then percent-decoded to bytes ("%2F" becomes "/"; a malformed escape such as
// "%zz" is kept as is). Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>

namespace waitron::http {

struct SplitTarget {
  std::string_view path;   // still percent-encoded
  std::string_view query;  // without the '?'
};

SplitTarget split_target(std::string_view target) noexcept;

std::string percent_decode(std::string_view s);

}  // namespace waitron::http
