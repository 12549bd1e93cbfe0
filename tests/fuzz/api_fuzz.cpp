// libFuzzer target for the control API's request path (control/api): one
// input = the bytes a client writes to the socket. They go through
// incomplete_json, parse_request and the command table with the lease
// commands over one in-process engine shard (the same messages the runtime
// carries) and the statistics commands. No runtime, no files, no sockets.
// Checks: every request gets exactly one answer, the answer serialises to
// JSON with result 0..3, and the shard stays consistent (Shard::audit,
// every 16th input).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/builtin.hpp"
#include "api/commands.hpp"
#include "api/leases.hpp"
#include "api/protocol.hpp"
#include "config/config.hpp"
#include "engine/engine.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace dorado;

constexpr const char* kConfig = R"(
[server]
address = "10.99.0.1"
[[subnet]]
id = 1
prefix = "10.99.0.0/16"
pools = ["10.99.1.0-10.99.1.255"]
[[subnet.reservation]]
mac = "02:00:00:00:00:01"
address = "10.99.0.100"
)";

struct OneShard final : api::ShardPort {
  explicit OneShard(const engine::CompiledConfig& c) {
    engine::ShardConfig sc;
    sc.table.capacity = 1024;
    sc.table.hostname_capacity = 1024;
    sc.table.wheel_bits = 8;   // audit() walks the wheel: keep it small
    shard = engine::Shard::create(c, sc).shard;
  }
  unsigned shards() const override { return 1; }
  bool submit(unsigned, const engine::AdminRequest& r) override {
    std::vector<engine::AdminReply> out(engine::kMaxAdminReplies);
    const std::uint32_t n = shard->admin(r, now, out);
    FUZZ_CHECK(n >= 1 && n <= engine::kMaxAdminReplies && out[n - 1].last);
    for (std::uint32_t i = 0; i < n; ++i) queue.push_back(out[i]);
    shard->clear_changes();
    return true;
  }
  std::unique_ptr<engine::Shard> shard;
  std::deque<engine::AdminReply> queue;
  engine::Seconds now = 1'000'000;
};

struct World {
  config::LoadResult loaded = config::load_config_string(kConfig, "fuzz.toml");
  OneShard port{*loaded.compiled};
  api::LeaseService leases{port, *loaded.compiled, [this] { return port.now; }};
  api::Statistics stats{[] { return api::CounterList{{"engine.tx_ack", 1}}; }};
  api::CommandTable table;
  std::uint64_t ms = 0;
  World() {
    leases.register_commands(table);
    api::register_daemon_commands(table, stats, {"0.1.0", &*loaded.config, "", {}, {}, {}});
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World* w = new World();   // shards persist across inputs: state accumulates
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)api::incomplete_json(text);
  const api::Parsed p = api::parse_request(text);
  FUZZ_CHECK(p.request.has_value() != (p.error.result == api::kError));
  if (p.request && p.request->command == "config-test") return 0;   // reads files: not here
  int answers = 0;
  api::Answer got;
  api::handle_text(w->table, text, [&](api::Answer a) {
    ++answers;
    got = std::move(a);
  });
  for (int i = 0; i < 10000 && answers == 0; ++i) {
    w->leases.tick(++w->ms);
    while (!w->port.queue.empty()) {
      const engine::AdminReply r = w->port.queue.front();
      w->port.queue.pop_front();
      w->leases.on_reply(0, r);
    }
  }
  FUZZ_CHECK(answers == 1);
  FUZZ_CHECK(got.result >= 0 && got.result <= 3);
  const nlohmann::json j = nlohmann::json::parse(got.to_string());
  FUZZ_CHECK(j.is_object() && j.contains("result"));
  static unsigned runs = 0;
  if (++runs % 16 == 0) FUZZ_CHECK(w->port.shard->audit().empty());
  return 0;
}
