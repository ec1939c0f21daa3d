// waitron-serve: see runner.hpp.
#include <string>
#include <vector>

#include "runner/demo_app.hpp"
#include "runner/runner.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  return waitron::runner::run(args, waitron::runner::make_demo_app());
}
