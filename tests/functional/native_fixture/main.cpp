// waitron-fixture: waitron-serve's command line serving the functional tests' native App.
#include <string>
#include <vector>

#include "fixture_app.hpp"
#include "runner/runner.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  return waitron::runner::run(args, waitron::fixture::make_fixture_app());
}
