#include "core/forced_unwind.hpp"

#include <unistd.h>

namespace waitron::core {

void hang_ended_thread() noexcept {
  for (;;) ::pause();  // a handled signal returns from pause(): wait again
}

}  // namespace waitron::core
