// One input = one frame received by dorado-gen's client logic, fed to two
// generators (direct and relay mode) that keep their clients across inputs;
// a fake clock advances by the first input byte so that timers fire too.
// Whatever arrives: no crash, no out-of-bounds read, the TX ring drained.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "gen/generator.hpp"

namespace {

std::unique_ptr<dorado::gen::Generator> make(bool relay) {
  dorado::gen::GenConfig c;
  c.mode = dorado::gen::Mode::mixed;
  c.clients = 64;
  c.duration_s = 1e9;
  c.first_mac = 0x020000000000ull;
  if (relay) {
    c.giaddr = 0x0a630002;
    c.server_ip = 0x0a630001;
  }
  return std::make_unique<dorado::gen::Generator>(c, 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static auto direct = make(false);
  static auto relay = make(true);
  static std::uint64_t now = 0;
  now += size > 0 ? std::uint64_t{data[0]} * 4000 : 1000;   // up to ~1 s: cheap wheel walks
  for (auto* g : {direct.get(), relay.get()}) {
    g->receive({data, size}, now);
    g->poll(now);
    g->tx().pop(g->tx().size());
  }
  return 0;
}
