// The non-virtual helpers of waitron::BodyReader (include/waitron/request.hpp).
#include <algorithm>

#include <waitron/request.hpp>

namespace waitron {

std::string BodyReader::read(std::size_t n) {
  std::string out(std::min<std::uint64_t>(n, remaining()), '\0');
  out.resize(read(out.data(), out.size()));
  return out;
}

std::string BodyReader::readline(std::size_t limit) {
  std::string out;
  char c;
  while (out.size() < limit && read(&c, 1) == 1) {
    out.push_back(c);
    if (c == '\n') break;
  }
  return out;
}

std::string BodyReader::read_all() {
  return read(static_cast<std::size_t>(remaining()));
}

}  // namespace waitron
