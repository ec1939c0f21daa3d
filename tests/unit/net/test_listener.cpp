#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>

#include "net/listener.hpp"

using namespace waitron;
using namespace waitron::net;

namespace {

std::string tmp() {
  const char* d = std::getenv("WAITRON_TEST_TMPDIR");
  return d ? d : "/tmp";
}

}  // namespace

TEST_CASE("a TCP listener on port 0 reports its real port") {
  ListenSpec spec;
  auto* in = reinterpret_cast<sockaddr_in*>(&spec.address);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  spec.address_length = sizeof(sockaddr_in);
  ListenSocket s;
  REQUIRE(!open_listen_socket(spec, 16, s));
  CHECK(s.host == "127.0.0.1");
  CHECK(std::stoi(s.port) > 0);
  CHECK_FALSE(s.is_unix);
  // A second bind to the same port fails with EADDRINUSE.
  in->sin_port = htons(static_cast<std::uint16_t>(std::stoi(s.port)));
  ListenSocket again;
  CHECK(open_listen_socket(spec, 16, again) == std::errc::address_in_use);
}

TEST_CASE("a Unix listener replaces a stale socket file and applies the permissions") {
  std::string path = tmp() + "/listener.sock";
  ::unlink(path.c_str());
  ListenSpec spec;
  spec.kind = ListenSpec::Kind::unix_path;
  spec.path = path;
  spec.perms = 0640;
  {
    ListenSocket first;
    REQUIRE(!open_listen_socket(spec, 16, first));
  }  // closed: the file stays behind, stale, as with waitress
  ListenSocket s;
  REQUIRE(!open_listen_socket(spec, 16, s));
  CHECK(s.is_unix);
  CHECK(s.host == "unix");
  CHECK(s.port == path);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
  ::unlink(path.c_str());
}

TEST_CASE("a regular file in the way of a Unix socket is not removed") {
  std::string path = tmp() + "/not-a-socket";
  FILE* f = std::fopen(path.c_str(), "w");
  REQUIRE(f);
  std::fclose(f);
  ListenSpec spec;
  spec.kind = ListenSpec::Kind::unix_path;
  spec.path = path;
  ListenSocket s;
  CHECK(open_listen_socket(spec, 16, s) == std::errc::address_in_use);
  struct stat st {};
  CHECK(::stat(path.c_str(), &st) == 0);
  ::unlink(path.c_str());
}

TEST_CASE("an already-bound socket is adopted, not bound again") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  ListenSpec spec;
  spec.kind = ListenSpec::Kind::adopted;
  spec.fd = fd;
  ListenSocket s;
  REQUIRE(!open_listen_socket(spec, 16, s));
  CHECK(s.fd.get() == fd);
  CHECK(s.host == "127.0.0.1");
}
