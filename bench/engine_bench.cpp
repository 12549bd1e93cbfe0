// Engine benchmark: DISCOVER + REQUEST through one Shard holding 2^20
// (1,048,576) active leases in a /11 pool (2,097,150 addresses), and for the
// *10M variants 10 * 2^20 (10,485,760) in a /8 pool (built on first use:
// ~1.7 GiB; filter them out with --benchmark_filter=-10M for a quick run).
//
// Variants (items = packets; "DORA/s" counts DISCOVER+REQUEST pairs):
//   BM_EngineDora<Existing|New>/burst       engine only: each request frame is
//       parsed once up front; per packet only chaddr (and option 50) are
//       patched in place and Shard::handle() runs. No parse, no reply build.
//   BM_EngineDoraParse<Existing|New>/burst  + parse_frame + DhcpMessage::parse
//       per packet.
//   BM_EngineDoraParseBuild<Existing>/burst + the reply built as the worker
//       builds it (ReplyCache::build).
//   BM_ReplyBuild/burst                     build_reply() alone (every option
//       collected, ordered and encoded per reply) for OFFERs and ACKs decided
//       up front (items = replies).
//   BM_ReplyBuildCached/burst               the same through ReplyCache (the
//       options encoded once per subnet and option 55, lease times patched).
//   BM_EngineDoraExistingNoPrefetch/burst   Shard::handle() per request instead
//       of Shard::handle_burst(): shows what the burst prefetch buys.
//   BM_EngineDoraPolicy/policy:P/renew:R/burst:B  client classes (issue 16):
//       BM_EngineDoraNamed's path (name:0) with today's config (policy:0) or
//       with 50 classes and 1,000 reservations (policy:1).
//   BM_EngineDoraLimits/limits:L/renew:R/burst:B  per-circuit limits (issue 16):
//       BM_EngineDoraNamed's path (name:0) without (limits:0) or with
//       [limits] (limits:1), counted but never reached.
//   BM_EngineDoraNamed/name:N/ddns:D/renew:R/burst:B  dynamic DNS: kNamedClients new
//       clients (a fixed count: callgrind figures compare), each with its
//       own name "bench-<8 hex digits>" in option 12 (name:12), in option 81
//       only (name:81: S=1, wire encoding, a partial name) or none (name:0),
//       with [ddns] off (ddns:0) or on (ddns:1, qualifying suffix
//       "bench.example"); the same requests either way. The worker's whole
//       path per packet: parse + Shard::handle_burst + the reply built
//       (ReplyCache::build). On a world of its own: kNamedPrefill leases,
//       named the same way. renew:1: those clients instead, each DORA the
//       renewal of its bound address (the pipeline's steady state).
// "Existing": clients from the prefilled million, visited in a scattered
// order (the DISCOVER offers their bound address, the REQUEST renews it).
// "New": clients never seen (record insert + bit-scan allocation + commit).
// A burst of N handles N DISCOVERs, then the N REQUESTs, then drains the
// change log, as the runtime does per RX burst.
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "bench/dora_fixture.hpp"
#include "engine/engine.hpp"
#include "engine/reply_cache.hpp"
#include "wire/build.hpp"
#include "wire/frame.hpp"

namespace {

using namespace dorado;
using namespace dorado::engine;
using wire::MessageType;
using namespace dorado::bench;

constexpr std::uint32_t kPrefill = 1u << 20;
constexpr std::uint32_t kNewClients = 1u << 19;   // per "New" run
constexpr std::uint32_t kMaxBurst = 32;
constexpr Seconds kNow = 1'700'000'000;

constexpr std::uint32_t kPrefill10M = 10u << 20;   // 10,485,760 leases

constexpr std::uint32_t kNamedPrefill = 1u << 16;   // BM_EngineDoraNamed's table
constexpr std::uint32_t kNamedClients = 1u << 17;   // per BM_EngineDoraNamed run

// i-th existing client: an odd multiplier permutes 0 .. 2^20-1, so
// consecutive packets hit unrelated table slots and blocks.
std::uint32_t scattered(std::uint64_t i) {
  return static_cast<std::uint32_t>(i * 0x9E3779B1u) & (kPrefill - 1);
}
// The same over 0 .. prefill-1 for any prefill coprime with the multiplier
// (10 * 2^20 is: 0x9E3779B1 is odd and not a multiple of 5).
std::uint32_t scattered(std::uint64_t i, std::uint32_t prefill) {
  return prefill == kPrefill ? scattered(i) : static_cast<std::uint32_t>((i * 0x9E3779B1u) % prefill);
}

struct World {
  CompileResult compiled;
  std::unique_ptr<Shard> shard;
  std::vector<std::unique_ptr<RequestSlot>> discovers, requests;
  std::vector<std::uint8_t> out = std::vector<std::uint8_t>(1600);
  ReplyCache replies;
  std::string error;

  // A /11 pool (2,097,150 addresses) for up to ~2 M clients, else a /8
  // (16,777,214). `name`: what the requests carry (bench/dora_fixture.hpp);
  // `ddns`: [ddns] on with the defaults and "bench.example" as the suffix.
  explicit World(std::uint32_t capacity, std::uint32_t prefill = kPrefill,
                 ClientName name = ClientName::bench_host, bool ddns = false, bool policy = false,
                 bool limits = false) {
    EngineConfig cfg;
    cfg.server_address = kServer;
    SubnetConfig s = bench_subnet(capacity > (1u << 21));
    s.dns_servers = {(10u << 24) | 53u};
    s.domain_name = "bench.example";
    cfg.subnets = {s};
    if (policy) add_policy(cfg);
    if (limits) {   // BM_EngineDoraLimits: counted, never reached (one lease per MAC)
      cfg.limits.max_leases = 4;
      cfg.limits.max_new_per_second = 1'000'000;
    }
    if (ddns) {
      cfg.ddns.enabled = true;
      cfg.ddns.qualifying_suffix = "bench.example";
    }
    compiled = compile(cfg);
    if (!compiled.ok()) {
      error = compiled.error;
      return;
    }
    ShardConfig sizes;
    sizes.table.capacity = capacity;
    sizes.table.hostname_capacity = capacity;
    sizes.table.long_key_capacity = 16;
    sizes.change_log_capacity = 1024;
    Shard::Created c = Shard::create(compiled.config, sizes);
    if (!c.shard) {
      error = c.error;
      return;
    }
    shard = std::move(c.shard);
    for (std::uint32_t i = 0; i < kMaxBurst; ++i) {
      discovers.push_back(make_slot(MessageType::discover, name));
      requests.push_back(make_slot(MessageType::request, name));
      if (!discovers.back() || !requests.back()) {
        error = "cannot build request frames";
        return;
      }
    }
    std::uint32_t ids[kMaxBurst];
    for (std::uint32_t n = 0; n < prefill; n += kMaxBurst) {
      for (std::uint32_t i = 0; i < kMaxBurst; ++i) ids[i] = n + i;
      if (!dora<false, false>(ids, kMaxBurst)) {
        error = "prefill failed";
        return;
      }
    }
  }

  // DISCOVER then REQUEST for each client of the burst; false on any reply
  // other than OFFER/ACK. kBurstApi: Shard::handle_burst (prefetching), else
  // Shard::handle one request at a time.
  template <bool kParse, bool kBuild, bool kBurstApi = true>
  bool dora(const std::uint32_t* ids, std::uint32_t n) noexcept {
    Ipv4 offered[kMaxBurst];
    Shard::Request reqs[kMaxBurst];
    for (std::uint32_t i = 0; i < n; ++i) {
      RequestSlot& s = *discovers[i];
      s.set_client(ids[i]);
      if (kParse && !s.reparse()) return false;
      reqs[i] = {&s.msg, &s.rx};
    }
    if (!decide<kBuild, kBurstApi>(reqs, n, MessageType::offer, offered)) return false;
    for (std::uint32_t i = 0; i < n; ++i) {
      RequestSlot& s = *requests[i];
      s.set_client(ids[i]);
      s.set_requested(offered[i]);
      if (kParse && !s.reparse()) return false;
      reqs[i] = {&s.msg, &s.rx};
    }
    if (!decide<kBuild, kBurstApi>(reqs, n, MessageType::ack, offered)) return false;
    shard->clear_changes();
    return true;
  }

  template <bool kBuild, bool kBurstApi>
  bool decide(const Shard::Request* reqs, std::uint32_t n, MessageType want, Ipv4* yiaddr) noexcept {
    auto check = [&](const Shard::Request& r, const Decision& d, std::uint32_t i) noexcept {
      if (d.verdict != Verdict::reply || d.type != want) return false;
      yiaddr[i] = d.yiaddr;
      return !kBuild || replies.build(compiled.config, d, *r.msg, *r.rx, out).error == wire::Error::ok;
    };
    if constexpr (kBurstApi) {
      const Shard::Burst b = shard->handle_burst(std::span<const Shard::Request>(reqs, n), kNow);
      for (std::uint32_t i = 0; i < n; ++i)
        if (!check(reqs[i], b.decisions[i], i)) return false;
    } else {
      for (std::uint32_t i = 0; i < n; ++i)
        if (!check(reqs[i], shard->handle(*reqs[i].msg, *reqs[i].rx, kNow), i)) return false;
    }
    return true;
  }

  // BM_EngineDoraPolicy's config (issue 16): 50 client classes and 1,000
  // MAC reservations. 47 classes look at what the bench requests do not
  // carry or do not match (option 60, 77, 82 sub-options, OUIs, VLANs,
  // giaddr, option 93); 3 match every request (option 55 lists 3; the
  // bench MACs' 02:00 prefix), two of them with options (66, 150), so the
  // replies come from the class-keyed cache entries. The reservations are
  // for other MACs (the lookup runs, finds nothing).
  static void add_policy(EngineConfig& cfg) {
    auto str = [](std::string_view v) { return std::vector<std::uint8_t>(v.begin(), v.end()); };
    for (std::uint32_t i = 0; i < 50; ++i) {
      ClassConfig k;
      k.name = "class-" + std::to_string(i);
      ClassMatch m;
      switch (i % 8) {
        case 0: m.field = ClassField::option; m.code = 60; m.op = ClassOp::exact; m.value = str("vendor-" + std::to_string(i)); break;
        case 1: m.field = ClassField::option; m.code = 60; m.op = ClassOp::prefix; m.value = str("Polycom" + std::to_string(i)); break;
        case 2: m.field = ClassField::relay_sub; m.code = 1; m.op = ClassOp::exact; m.value = str("eth0/1/" + std::to_string(i)); break;
        case 3: m.field = ClassField::relay_sub; m.code = 2; m.op = ClassOp::prefix; m.value = str("cpe-" + std::to_string(i)); break;
        case 4: m.field = ClassField::mac; m.op = ClassOp::prefix; m.value = {0x00, 0x1b, static_cast<std::uint8_t>(i)}; break;
        case 5: m.field = ClassField::vlan_outer; m.op = ClassOp::equals; m.number = 100 + i; break;
        case 6: m.field = ClassField::option; m.code = 77; m.op = ClassOp::user_class; m.value = str("uc-" + std::to_string(i)); break;
        default: m.field = ClassField::giaddr; m.op = ClassOp::in_prefix; m.number = (172u << 24) | (i << 16); m.prefix_len = 16; break;
      }
      if (i == 47) {   // matches: option 55 lists 3 (routers)
        m = ClassMatch{};
        m.field = ClassField::option; m.code = 55; m.op = ClassOp::contains; m.number = 3;
        k.options = {OptionData{150, encode_ipv4_list(std::vector<Ipv4>{(10u << 24) | 150u}), false}};
      } else if (i == 48) {   // matches: every bench MAC starts 02:00
        m = ClassMatch{};
        m.field = ClassField::mac; m.op = ClassOp::prefix; m.value = {0x02, 0x00};
        k.options = {OptionData{66, encode_string("tftp.bench.example"), true}};
      } else if (i == 49) {   // matches, no options: option 55 present
        m = ClassMatch{};
        m.field = ClassField::option; m.code = 55; m.op = ClassOp::present;
      } else {
        k.options = {OptionData{66, encode_string(k.name + ".example"), false}};
      }
      k.matches = {m};
      cfg.classes.push_back(std::move(k));
    }
    SubnetConfig& s = cfg.subnets[0];
    for (std::uint32_t i = 0; i < 1000; ++i) {
      Reservation r;
      r.mac = mac_of(0x80000000u + i);
      r.address = (10u << 24) | 0x1f0000u | i;
      s.reservations.push_back(r);
    }
  }
};

World& existing_world() {
  static World w(kPrefill + 4096);
  return w;
}
// Built on first use only (~1.7 GiB, tens of seconds to fill).
World& existing_world_10m() {
  static World w(kPrefill10M + 4096, kPrefill10M);
  return w;
}

void report(benchmark::State& state, const World& w, std::uint64_t clients) {
  const double packets = 2.0 * static_cast<double>(clients);
  state.SetItemsProcessed(static_cast<std::int64_t>(packets));
  // CPU seconds per packet (printed with an SI prefix: "212n" = 212 ns).
  state.counters["t/pkt"] =
      benchmark::Counter(packets, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["DORA/s"] = benchmark::Counter(static_cast<double>(clients), benchmark::Counter::kIsRate);
  state.counters["leases"] = static_cast<double>(w.shard->leases().size());
  state.counters["table_MiB"] = static_cast<double>(w.shard->leases().memory_bytes()) / (1 << 20);
  state.counters["shard_MiB"] = static_cast<double>(w.shard->memory_bytes()) / (1 << 20);
}

template <bool kParse, bool kBuild, bool kBurstApi = true, bool k10M = false>
void run_existing(benchmark::State& state) {
  World& w = k10M ? existing_world_10m() : existing_world();
  const std::uint32_t prefill = k10M ? kPrefill10M : kPrefill;
  if (!w.error.empty()) {
    state.SkipWithError(w.error.c_str());
    return;
  }
  const auto burst = static_cast<std::uint32_t>(state.range(0));
  std::uint32_t ids[kMaxBurst];
  std::uint64_t next = 0, clients = 0;
  for (auto _ : state) {
    for (std::uint32_t i = 0; i < burst; ++i) ids[i] = scattered(next++, prefill);
    if (!w.dora<kParse, kBuild, kBurstApi>(ids, burst)) {
      state.SkipWithError("unexpected engine reply");
      return;
    }
    clients += burst;
  }
  report(state, w, clients);
}

template <bool kParse>
void run_new(benchmark::State& state) {
  World w(kPrefill + kNewClients + 4096);
  if (!w.error.empty()) {
    state.SkipWithError(w.error.c_str());
    return;
  }
  const auto burst = static_cast<std::uint32_t>(state.range(0));
  std::uint32_t ids[kMaxBurst];
  std::uint32_t next = kPrefill;
  std::uint64_t clients = 0;
  for (auto _ : state) {
    for (std::uint32_t i = 0; i < burst; ++i) ids[i] = next++;
    if (!w.dora<kParse, false>(ids, burst)) {
      state.SkipWithError("unexpected engine reply");
      return;
    }
    clients += burst;
  }
  report(state, w, clients);
}

// BM_EngineDoraNamed: args {name, ddns, burst} (see the top). The timed
// loop is its own function (named_dora_loop) so that callgrind can collect
// it alone: --toggle-collect='*named_dora_loop*' (bench/callgrind_per_request.py).
[[gnu::noinline]] bool named_dora_loop(benchmark::State& state, World& w, std::uint32_t burst,
                                       std::uint64_t& clients) {
  std::uint32_t ids[kMaxBurst];
  std::uint32_t next = kNamedPrefill;
  for (auto _ : state) {
    for (std::uint32_t i = 0; i < burst; ++i) ids[i] = next++;
    if (!w.dora<true, true>(ids, burst)) return false;
    clients += burst;
  }
  return true;
}

// The same over the kNamedPrefill clients already bound (the prefill used
// the same requests, names included): the DISCOVER offers the bound
// address, the REQUEST renews it, as the pipeline's steady state does.
[[gnu::noinline]] bool named_dora_loop_renew(benchmark::State& state, World& w, std::uint32_t burst,
                                             std::uint64_t& clients) {
  std::uint32_t ids[kMaxBurst];
  std::uint32_t next = 0;
  for (auto _ : state) {
    for (std::uint32_t i = 0; i < burst; ++i) ids[i] = next++ % kNamedPrefill;
    if (!w.dora<true, true>(ids, burst)) return false;
    clients += burst;
  }
  return true;
}

// BM_EngineDoraPolicy's and BM_EngineDoraLimits's body: the named
// benchmark's path (no name) on a World with `policy` / `limits`; args
// {on, renew, burst}. The reply cache's counters with `cache_counters`.
void dora_policy_run(benchmark::State& state, bool policy, bool limits, bool cache_counters) {
  World w(kNamedPrefill + kNamedClients + 4096, kNamedPrefill, ClientName::none, false, policy, limits);
  if (!w.error.empty()) {
    state.SkipWithError(w.error.c_str());
    return;
  }
  std::uint64_t clients = 0;
  const auto burst = static_cast<std::uint32_t>(state.range(2));
  if (!(state.range(1) != 0 ? named_dora_loop_renew(state, w, burst, clients)
                            : named_dora_loop(state, w, burst, clients))) {
    state.SkipWithError("unexpected engine reply");
    return;
  }
  report(state, w, clients);
  if (cache_counters) {
    const ReplyCache::Stats& rs = w.replies.stats();
    state.counters["generic"] = static_cast<double>(rs.generic);
    state.counters["fills"] = static_cast<double>(rs.fills);
  }
}

// BM_EngineDoraPolicy/policy:P/renew:R/burst:B: the named benchmark's whole
// worker path (parse + handle_burst + ReplyCache::build, named_dora_loop*,
// no name) with today's config (policy:0) or with 50 classes and 1,000
// reservations (policy:1, World::add_policy); renew as BM_EngineDoraNamed.
void BM_EngineDoraPolicy(benchmark::State& state) { dora_policy_run(state, state.range(0) != 0, false, true); }

// BM_EngineDoraLimits/limits:L/renew:R/burst:B: the named benchmark's
// whole worker path (named_dora_loop*, no name) without (limits:0) or with
// per-circuit limits (limits:1: max_leases_per_circuit = 4,
// max_new_clients_per_second = 1000000, engine/limits.hpp): the requests
// carry no option 82, so each client is its own circuit (its MAC) and the
// limits are counted on every new lease but never reached.
void BM_EngineDoraLimits(benchmark::State& state) { dora_policy_run(state, false, state.range(0) != 0, false); }

void BM_EngineDoraNamed(benchmark::State& state) {
  const auto option = state.range(0);
  const ClientName name = option == 12 ? ClientName::hostname : option == 81 ? ClientName::fqdn : ClientName::none;
  World w(kNamedPrefill + kNamedClients + 4096, kNamedPrefill, name, state.range(1) != 0);
  if (!w.error.empty()) {
    state.SkipWithError(w.error.c_str());
    return;
  }
  std::uint64_t clients = 0;
  const auto burst = static_cast<std::uint32_t>(state.range(3));
  if (!(state.range(2) != 0 ? named_dora_loop_renew(state, w, burst, clients)
                            : named_dora_loop(state, w, burst, clients))) {
    state.SkipWithError("unexpected engine reply");
    return;
  }
  report(state, w, clients);
  const ReplyCache::Stats& rs = w.replies.stats();
  state.counters["generic"] = static_cast<double>(rs.generic);
}

// Config reload: Shard::reconfigure over the million leases, alternating
// between the prefill config and one with another DNS server and a second
// pool (every lease kept). The time is the worker's pause at the switch; the
// new allocator is built outside it (the control thread does that).
void BM_EngineReconfigure(benchmark::State& state) {
  World& w = existing_world();
  if (!w.error.empty()) {
    state.SkipWithError(w.error.c_str());
    return;
  }
  EngineConfig cfg;
  cfg.server_address = kServer;
  SubnetConfig s = bench_subnet();
  s.dns_servers = {(10u << 24) | 54u};   // differs from the prefill config's 53
  s.domain_name = "bench.example";
  SubnetConfig extra;
  extra.id = 2;
  extra.prefix = 11u << 24;
  extra.prefix_len = 16;
  extra.pools = {{(11u << 24) | 1u, (11u << 24) | 0xfffeu}};
  cfg.subnets = {s, extra};
  static const CompileResult other = compile(cfg);
  const CompiledConfig* configs[2] = {&other.config, &w.compiled.config};
  std::uint64_t k = 0;
  Shard::ReconfigureStats st;
  for (auto _ : state) {
    state.PauseTiming();
    const CompiledConfig& next = *configs[k++ % 2];
    Allocator fresh(next, w.shard->identity());
    state.ResumeTiming();
    st = w.shard->reconfigure(next, fresh);
    benchmark::DoNotOptimize(st);
    state.PauseTiming();
    { Allocator old = std::move(fresh); }   // the control thread frees it
    state.ResumeTiming();
  }
  if (k % 2 == 1) {   // leave the shard on the prefill config for the other benchmarks
    Allocator fresh(w.compiled.config, w.shard->identity());
    w.shard->reconfigure(w.compiled.config, fresh);
  }
  state.counters["leases_kept"] = st.kept;
  state.counters["withdrawn"] = st.withdrawn;
}

// build_reply() alone: the OFFER and the ACK of `burst` existing clients,
// decided once up front, serialised per iteration into one scratch buffer
// (as the worker does before copying into the mbuf). items = replies.
template <bool kCached>
void reply_build(benchmark::State& state) {
  World& w = existing_world();
  if (!w.error.empty()) {
    state.SkipWithError(w.error.c_str());
    return;
  }
  const auto burst = static_cast<std::uint32_t>(state.range(0));
  std::vector<Decision> offers(burst), acks(burst);
  for (std::uint32_t i = 0; i < burst; ++i) {
    RequestSlot& d = *w.discovers[i];
    d.set_client(scattered(i));
    const Decision offer = w.shard->handle(d.msg, d.rx, kNow);
    RequestSlot& r = *w.requests[i];
    r.set_client(scattered(i));
    r.set_requested(offer.yiaddr);
    const Decision ack = w.shard->handle(r.msg, r.rx, kNow);
    if (offer.type != MessageType::offer || ack.type != MessageType::ack) {
      state.SkipWithError("unexpected engine reply");
      return;
    }
    offers[i] = offer;
    acks[i] = ack;
  }
  w.shard->clear_changes();
  std::uint64_t replies = 0;
  for (auto _ : state) {
    for (std::uint32_t i = 0; i < burst; ++i) {
      const RequestSlot& d = *w.discovers[i];
      const RequestSlot& r = *w.requests[i];
      const wire::BuildResult a = kCached ? w.replies.build(w.compiled.config, offers[i], d.msg, d.rx, w.out)
                                          : build_reply(w.compiled.config, offers[i], d.msg, d.rx, w.out);
      const wire::BuildResult b = kCached ? w.replies.build(w.compiled.config, acks[i], r.msg, r.rx, w.out)
                                          : build_reply(w.compiled.config, acks[i], r.msg, r.rx, w.out);
      benchmark::DoNotOptimize(a.length + b.length);
    }
    replies += 2 * burst;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(replies));
  state.counters["t/pkt"] =
      benchmark::Counter(static_cast<double>(replies), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_ReplyBuild(benchmark::State& s) { reply_build<false>(s); }
void BM_ReplyBuildCached(benchmark::State& s) { reply_build<true>(s); }
void BM_EngineDoraExisting(benchmark::State& s) { run_existing<false, false>(s); }
void BM_EngineDoraExistingNoPrefetch(benchmark::State& s) { run_existing<false, false, false>(s); }
void BM_EngineDoraExisting10M(benchmark::State& s) { run_existing<false, false, true, true>(s); }
void BM_EngineDoraParseBuildExisting10M(benchmark::State& s) { run_existing<true, true, true, true>(s); }
void BM_EngineDoraParseExisting(benchmark::State& s) { run_existing<true, false>(s); }
void BM_EngineDoraParseBuildExisting(benchmark::State& s) { run_existing<true, true>(s); }
void BM_EngineDoraNew(benchmark::State& s) { run_new<false>(s); }
void BM_EngineDoraParseNew(benchmark::State& s) { run_new<true>(s); }

}  // namespace

BENCHMARK(BM_EngineDoraExisting)->Arg(1)->Arg(8)->Arg(32);
BENCHMARK(BM_ReplyBuild)->Arg(1)->Arg(8)->Arg(32);
BENCHMARK(BM_ReplyBuildCached)->Arg(1)->Arg(8)->Arg(32);
BENCHMARK(BM_EngineReconfigure)->Unit(benchmark::kMillisecond)->Iterations(10);
BENCHMARK(BM_EngineDoraExistingNoPrefetch)->Arg(8)->Arg(32);
BENCHMARK(BM_EngineDoraParseExisting)->Arg(1)->Arg(8)->Arg(32);
BENCHMARK(BM_EngineDoraParseBuildExisting)->Arg(1)->Arg(8)->Arg(32);
BENCHMARK(BM_EngineDoraExisting10M)->Arg(1)->Arg(8)->Arg(32);
BENCHMARK(BM_EngineDoraParseBuildExisting10M)->Arg(1)->Arg(8)->Arg(32);
// "New" runs a fixed number of fresh clients per run (table and pool are
// finite): kNewClients DORAs on top of the prefilled million.
BENCHMARK(BM_EngineDoraNew)->Arg(1)->Iterations(kNewClients);
BENCHMARK(BM_EngineDoraNew)->Arg(8)->Iterations(kNewClients / 8);
BENCHMARK(BM_EngineDoraNew)->Arg(32)->Iterations(kNewClients / 32);
BENCHMARK(BM_EngineDoraParseNew)->Arg(1)->Iterations(kNewClients);
BENCHMARK(BM_EngineDoraParseNew)->Arg(8)->Iterations(kNewClients / 8);
BENCHMARK(BM_EngineDoraParseNew)->Arg(32)->Iterations(kNewClients / 32);
// kNamedClients new clients per run, burst 8.
BENCHMARK(BM_EngineDoraPolicy)
    ->ArgNames({"policy", "renew", "burst"})
    ->ArgsProduct({{0, 1}, {0, 1}, {8}})
    ->Iterations(kNamedClients / 8);
BENCHMARK(BM_EngineDoraLimits)
    ->ArgNames({"limits", "renew", "burst"})
    ->ArgsProduct({{0, 1}, {0, 1}, {8}})
    ->Iterations(kNamedClients / 8);
BENCHMARK(BM_EngineDoraNamed)
    ->ArgNames({"name", "ddns", "renew", "burst"})
    ->ArgsProduct({{0, 12, 81}, {0, 1}, {0, 1}, {8}})
    ->Iterations(kNamedClients / 8);
