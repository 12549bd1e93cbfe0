// libFuzzer target for the client-class matcher (engine/classes.hpp). Input:
// one Ethernet frame. parse_frame and DhcpMessage::parse, then the request is
// matched against classes of every kind (options 60/77/55/any, option 82
// sub-options 1/2/6, MAC and OUI, VLAN tags, giaddr), and the option 82
// sub-option walk runs on the raw input too. Invariants: the result is a
// subset of the classes that have conditions, matching twice gives the same
// set, and a sub-option found lies inside its option.
#include <cstddef>
#include <cstdint>

#include "engine/classes.hpp"
#include "engine/config.hpp"
#include "fuzz_check.hpp"
#include "wire/dhcp.hpp"
#include "wire/frame.hpp"

namespace {

using namespace dorado::engine;

ClassMatch m(ClassField f, ClassOp op, std::uint8_t code, std::vector<std::uint8_t> v = {}, std::uint32_t n = 0,
             std::uint8_t len = 32) {
  ClassMatch x;
  x.field = f;
  x.op = op;
  x.code = code;
  x.value = std::move(v);
  x.number = n;
  x.prefix_len = len;
  return x;
}

const CompiledConfig& config() {
  static const CompileResult r = [] {
    EngineConfig c;
    c.server_address = 0x0a000001;
    SubnetConfig s;
    s.prefix = 0x0a000000;
    s.prefix_len = 24;
    s.pools = {{0x0a00000a, 0x0a000013}};
    c.subnets = {s};
    auto add = [&](std::vector<ClassMatch> ms) {
      ClassConfig k;
      k.name = "c" + std::to_string(c.classes.size());
      k.matches = std::move(ms);
      c.classes.push_back(std::move(k));
    };
    add({m(ClassField::option, ClassOp::prefix, 60, {'M', 'S'})});
    add({m(ClassField::option, ClassOp::exact, 60, {'M', 'S', 'F', 'T'})});
    add({m(ClassField::option, ClassOp::user_class, 77, {'i', 'P', 'X', 'E'})});
    add({m(ClassField::option, ClassOp::contains, 55, {}, 43)});
    add({m(ClassField::option, ClassOp::present, 93)});
    add({m(ClassField::relay_sub, ClassOp::exact, 1, {'a'}), m(ClassField::relay_sub, ClassOp::prefix, 2, {1})});
    add({m(ClassField::relay_sub, ClassOp::prefix, 6, {'s'})});
    add({m(ClassField::mac, ClassOp::prefix, 0, {0, 0x1b, 0x63})});
    add({m(ClassField::mac, ClassOp::exact, 0, {2, 0, 0, 0, 0, 1})});
    add({m(ClassField::vlan_outer, ClassOp::equals, 0, {}, 100), m(ClassField::vlan_inner, ClassOp::equals, 0, {}, 7)});
    add({m(ClassField::giaddr, ClassOp::in_prefix, 0, {}, 0x0a000000, 8)});
    add({});
    return compile(c);
  }();
  FUZZ_CHECK(r.ok());
  return r.config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const CompiledConfig& c = config();
  const dorado::wire::Bytes in{data, size};
  for (std::uint8_t sub : {1, 2, 6}) {
    const dorado::wire::Bytes v = relay_sub_option(in, sub);
    if (v.data() != nullptr) FUZZ_CHECK(v.data() >= data && v.data() + v.size() <= data + size);
  }
  const dorado::wire::Frame f = dorado::wire::parse_frame(in);
  if (f.error != dorado::wire::Error::ok) return 0;
  dorado::wire::DhcpMessage msg;
  if (msg.parse(f.udp_payload(in)) != dorado::wire::Error::ok) return 0;
  const ClassSet a = c.classes.match(msg, f.eth.vlan_count, f.eth.vlans);
  FUZZ_CHECK((a & ~c.classes.matchable) == 0);
  FUZZ_CHECK(c.classes.match(msg, f.eth.vlan_count, f.eth.vlans) == a);
  return 0;
}
