// dataplane/runtime/counters.def is the one list of a worker's counters:
// every line of it must show, with its value, in each output an operator
// reads: the counters text (SIGUSR1, stop), /metrics (when it has a metric),
// statistic-get-all (its name, and Kea's where it has one). The message
// counters (DORADO_MESSAGE_COUNTER) likewise with their type labels and
// Kea names. Pure: no EAL (the runtime library's counters.cpp only).
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "api/builtin.hpp"
#include "api/commands.hpp"
#include "obs/snapshot.hpp"
#include "runtime/counters.hpp"

namespace dorado::runtime {
namespace {

// Every counter a distinct non-zero value; the message counters too, as the
// shard would report them ("engine.rx_discover", ...).
struct Filled {
  WorkerSnapshot worker;                        // what Worker::snapshot() lists
  std::map<std::string, std::uint64_t> value;   // by counter name
};

Filled filled() {
  WorkerCounters c;
  Filled f;
  std::uint64_t v = 1000;
#define DORADO_WORKER_COUNTER(field, name, kind, metric, help, kea) \
  c.field.add(v += 7);                                              \
  f.value[name] = v;
#include "runtime/counters.def"
  f.worker.lcore = 1;
  // 1 ns per TSC cycle (ns = cycles * 2^32 >> 32): tsc counters read as set.
  append_counters(c, std::uint64_t{1} << 32, f.worker);
  for (const MessageCounterInfo& m : kMessageCounterInfo) {
    f.worker.counters.emplace_back(m.name, v += 7);
    f.value[std::string(m.name)] = v;
  }
  return f;
}

// What Worker::snapshot() lists: every counter, by its name, with its value.
TEST(CountersTable, EveryEntryIsInTheWorkersSnapshot) {
  const Filled f = filled();
  std::map<std::string, std::uint64_t> listed;
  for (const auto& [name, v] : f.worker.counters) listed[name] = v;
  for (const WorkerCounterInfo& c : kWorkerCounterInfo) {
    const std::string name(c.name);
    ASSERT_TRUE(listed.contains(name)) << name;
    EXPECT_EQ(listed[name], f.value.at(name)) << name;
  }
  // tsc counters in ns: 2 ns per cycle doubles them.
  WorkerCounters c;
  c.busy_cycles.add(21);
  WorkerSnapshot w;
  append_counters(c, std::uint64_t{2} << 32, w);
  ASSERT_EQ(w.counters.size(), 1u);
  EXPECT_EQ(w.counters[0], (std::pair<std::string, std::uint64_t>{"busy_ns", 42}));
}

TEST(CountersTable, NamesMetricsAndKeaNamesAreUniqueAndWellFormed) {
  std::set<std::string_view> names, metrics, kea;
  for (const WorkerCounterInfo& c : kWorkerCounterInfo) {
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
    EXPECT_FALSE(c.help.empty()) << c.name;
    if (!c.metric.empty()) {
      EXPECT_TRUE(metrics.insert(c.metric).second) << c.metric;
      EXPECT_TRUE(c.metric.starts_with("dorado_") && c.metric.ends_with("_total")) << c.metric;
    }
    if (!c.kea.empty()) {
      EXPECT_TRUE(kea.insert(c.kea).second) << c.kea;
    }
    if (c.kind == CounterKind::tsc) {
      EXPECT_TRUE(c.name.ends_with("_ns")) << c.name;
    }
  }
  for (const MessageCounterInfo& m : kMessageCounterInfo) {
    EXPECT_EQ(m.name, "engine." + std::string(engine::event_name(m.event)));
    EXPECT_TRUE(kea.insert(m.kea).second) << m.kea;
    EXPECT_TRUE(m.kea.starts_with("pkt4-")) << m.kea;
  }
  // Every Counter of WorkerCounters comes from the table: one more member
  // written by hand would make the struct bigger than the table says.
  constexpr std::size_t counters =
      std::size(kWorkerCounterInfo) + kLatencyBuckets + kDropCount + wire::kErrorCount;
  EXPECT_EQ(sizeof(WorkerCounters), (counters * sizeof(Counter) + 63) / 64 * 64);
}

TEST(CountersTable, EveryEntryIsInTheCountersText) {
  const Filled f = filled();
  const std::string text = counters_text({&f.worker, 1}, {}, {});
  for (const WorkerCounterInfo& c : kWorkerCounterInfo) {
    char line[160];
    std::snprintf(line, sizeof line, "\n  %-40s %llu\n", std::string(c.name).c_str(),
                  static_cast<unsigned long long>(f.value.at(std::string(c.name))));
    EXPECT_NE(text.find(line), std::string::npos) << c.name << " in\n" << text;
  }
}

TEST(CountersTable, EveryEntryWithAMetricIsOnTheMetricsPage) {
  const Filled f = filled();
  obs::Snapshot s;
  for (unsigned w = 0; w < 2; ++w) {
    obs::WorkerStats ws;
    ws.index = w;
    for (const auto& [name, v] : f.worker.counters) ws.counters.push_back({name, v + w});
    s.workers.push_back(ws);
  }
  const std::string page = obs::render_metrics(s);
  std::size_t families = 0;
  for (const WorkerCounterInfo& c : kWorkerCounterInfo) {
    if (c.metric.empty()) continue;
    ++families;
    const std::string m(c.metric);
    EXPECT_NE(page.find("# HELP " + m + " " + std::string(c.help) + "\n# TYPE " + m + " counter\n"),
              std::string::npos)
        << m;
    for (unsigned w = 0; w < 2; ++w) {
      const std::string sample = "\n" + m + "{worker=\"" + std::to_string(w) + "\"} " +
                                 std::to_string(f.value.at(std::string(c.name)) + w) + "\n";
      EXPECT_NE(page.find(sample), std::string::npos) << sample;
    }
  }
  EXPECT_GE(families, 14u);
  for (const MessageCounterInfo& c : kMessageCounterInfo) {
    const char* family = c.direction == MessageDirection::sent ? "dorado_dhcp_replies_total"
                                                               : "dorado_dhcp_packets_received_total";
    const std::string sample = '\n' + std::string(family) + "{worker=\"1\",type=\"" + std::string(c.type) +
                               "\"} " + std::to_string(f.value.at(std::string(c.name)) + 1) + "\n";
    EXPECT_NE(page.find(sample), std::string::npos) << sample;
    // Not also among the other engine events.
    EXPECT_EQ(page.find("event=\"" + std::string(engine::event_name(c.event)) + "\""), std::string::npos);
  }
}

TEST(CountersTable, EveryEntryIsInStatisticGetAllWithItsKeaName) {
  const Filled f = filled();
  api::CommandTable t;
  api::Statistics stats([&f] {
    api::CounterList l;
    for (const auto& [name, v] : f.worker.counters) l.emplace_back(name, v);
    return l;
  });
  api::register_daemon_commands(t, stats, {"0.1.0", nullptr, "", {}, {}, {}});
  api::Answer got{-1, "", std::nullopt};
  api::handle_text(t, R"({"command": "statistic-get-all"})", [&got](api::Answer a) { got = std::move(a); });
  ASSERT_EQ(got.result, api::kSuccess) << got.text;
  ASSERT_TRUE(got.arguments);
  const api::Json& all = *got.arguments;
  const auto value = [&all](std::string_view name) -> std::uint64_t {
    const std::string n(name);
    if (!all.contains(n)) return 0;
    return all[n][0][0].get<std::uint64_t>();
  };
  for (const WorkerCounterInfo& c : kWorkerCounterInfo) {
    EXPECT_EQ(value(c.name), f.value.at(std::string(c.name))) << c.name;
    if (!c.kea.empty()) {
      EXPECT_EQ(value(c.kea), f.value.at(std::string(c.name))) << c.kea;
    }
  }
  std::uint64_t received = 0, sent = 0;
  for (const MessageCounterInfo& c : kMessageCounterInfo) {
    const std::uint64_t v = f.value.at(std::string(c.name));
    EXPECT_EQ(value(c.name), v) << c.name;
    EXPECT_EQ(value(c.kea), v) << c.kea;
    (c.direction == MessageDirection::sent ? sent : received) += v;
  }
  EXPECT_EQ(value("pkt4-received"), received);   // no parse failures here
  EXPECT_EQ(value("pkt4-sent"), sent);
}

}  // namespace
}  // namespace dorado::runtime
