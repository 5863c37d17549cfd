#include "common/clock.h"

namespace agentwatch::common {

Clock& RealClock::Get() {
  static RealClock* clock = new RealClock();
  return *clock;
}

}  // namespace agentwatch::common
