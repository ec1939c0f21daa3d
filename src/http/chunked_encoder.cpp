#include "http/chunked_encoder.hpp"

namespace waitron::http {

std::string chunk_header(std::uint64_t size) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  char buf[20];
  char* end = buf + sizeof buf;
  char* p = end;
  *--p = '\n';
  *--p = '\r';
  do {
    *--p = kDigits[size & 0xf];
    size >>= 4;
  } while (size != 0);
  return std::string(p, end);
}

}  // namespace waitron::http
