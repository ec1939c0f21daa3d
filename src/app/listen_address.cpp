// waitron::ListenAddress::url() (include/waitron/server.hpp).
#include <waitron/server.hpp>

namespace waitron {

std::string ListenAddress::url() const {
  if (host == "unix") return "http://unix:" + port;
  // IPv6 hosts are bracketed, unlike waitress's single-socket banner (a known quirk there).
  if (host.find(':') != std::string::npos) return "http://[" + host + "]:" + port;
  return "http://" + host + ":" + port;
}

}  // namespace waitron
