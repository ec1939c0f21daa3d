#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <system_error>

#include "server/listen_sockets.hpp"

using namespace waitron;

TEST_CASE("open_listen_sockets binds every listen entry, in order") {
  Adjustments adj;
  adj.listen = {{"127.0.0.1", "0"}, {"127.0.0.1", "0"}};
  auto sockets = server::open_listen_sockets(adj);
  REQUIRE(sockets.size() == 2);
  for (const auto& s : sockets) {
    CHECK(s.host == "127.0.0.1");
    CHECK(std::stoi(s.port) > 0);
    int accepting = 0;
    socklen_t len = sizeof accepting;
    REQUIRE(::getsockopt(s.fd.get(), SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0);
    CHECK(accepting == 1);
  }
  CHECK(sockets[0].port != sockets[1].port);
}

TEST_CASE("open_listen_sockets adopts given sockets, which the result then owns") {
  Adjustments first;
  first.listen = {{"127.0.0.1", "0"}};
  auto bound = server::open_listen_sockets(first);
  REQUIRE(bound.size() == 1);
  Adjustments adj;
  adj.sockets = {bound[0].fd.release()};
  auto adopted = server::open_listen_sockets(adj);
  REQUIRE(adopted.size() == 1);
  CHECK(adopted[0].fd.get() == adj.sockets[0]);
  CHECK(adopted[0].port == bound[0].port);
}

TEST_CASE("open_listen_sockets names the address it cannot listen on") {
  Adjustments first;
  first.listen = {{"127.0.0.1", "0"}};
  auto taken = server::open_listen_sockets(first);
  Adjustments adj;
  adj.listen = {{"127.0.0.1", "0"}, {"127.0.0.1", taken[0].port}};
  try {
    (void)server::open_listen_sockets(adj);
    FAIL("no error");
  } catch (const std::system_error& e) {
    CHECK(e.code() == std::errc::address_in_use);
    CHECK(std::string(e.what()).find("cannot listen on 127.0.0.1:" + taken[0].port) == 0);
  }
}
