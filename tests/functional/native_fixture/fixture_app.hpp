// The native App the functional tests serve (tests/functional/conftest.py starts it with
// waitron-serve's command line). Each path is one behaviour the tests observe from outside:
// see fixture_app.cpp for the list. Thread-safe: it runs on every application thread.
#pragma once

#include <memory>

#include <waitron/app.hpp>

namespace waitron::fixture {

std::shared_ptr<App> make_fixture_app();

}  // namespace waitron::fixture
