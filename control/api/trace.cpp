#include "api/trace.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <limits>
#include <string>

namespace dorado::api {
namespace {

constexpr const char* kKeys[] = {"hw-address", "client-id", "circuit-id", "subnet-id"};
constexpr const char* kOneOf = "one of hw-address, client-id, circuit-id or subnet-id";

std::string time_text(std::uint64_t us) {
  const auto secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%06u", static_cast<unsigned>(us % 1000000));
  return buf;
}

std::string hex_text(const std::uint8_t* p, std::size_t n) { return format_hex(p, n); }

// circuit-id: hex bytes, or text in single quotes ('eth0/1', Kea's form for
// text identifiers).
std::optional<std::vector<std::uint8_t>> circuit_id_of(const std::string& s) {
  if (s.size() >= 3 && s.front() == '\'' && s.back() == '\'')
    return std::vector<std::uint8_t>(s.begin() + 1, s.end() - 1);
  return parse_hex(s);
}

const char* nak_text(engine::NakReason r) {
  switch (r) {
    case engine::NakReason::none: return "";
    case engine::NakReason::not_in_subnet: return "the address asked for is not in the subnet the request comes from";
    case engine::NakReason::withdrawn: return "the client's lease was withdrawn by a config reload";
    case engine::NakReason::reserved_elsewhere: return "the client has a reservation for another address";
    case engine::NakReason::not_in_pool: return "the address is in no pool of the subnet";
    case engine::NakReason::not_the_clients:
      return "the address is not the client's (not offered to it, held by another client, or not free)";
    case engine::NakReason::pool_not_allowed:
      return "the address is in a [[subnet.pool]] the client's classes may not use";
  }
  return "";
}

const engine::SubnetConfig* subnet_by_id(const config::DaemonConfig* c, std::uint32_t id) {
  if (c == nullptr || id == 0) return nullptr;
  for (const engine::SubnetConfig& s : c->engine.subnets)
    if (s.id == id) return &s;
  return nullptr;
}

}  // namespace

std::optional<engine::TraceFilter> trace_filter_of(const Json& arguments, std::string& error) {
  int given = 0;
  if (arguments.is_object())
    for (const char* k : kKeys) given += arguments.contains(k) ? 1 : 0;
  if (given != 1) {
    error = given == 0 ? std::string("trace-start needs ") + kOneOf
                       : std::string("trace-start takes ") + kOneOf + ", not several";
    return std::nullopt;
  }
  Args a(arguments);
  engine::TraceFilter f;
  const auto set_bytes = [&f](engine::TraceKey key, const std::uint8_t* p, std::size_t n) {
    f.key = key;
    f.len = static_cast<std::uint8_t>(n);
    std::copy(p, p + n, f.bytes.begin());
  };
  if (arguments.contains("hw-address")) {
    if (const auto m = a.mac("hw-address", true)) set_bytes(engine::TraceKey::hw_address, m->b.data(), 6);
  } else if (arguments.contains("client-id")) {
    if (const auto id = a.hex("client-id", true, 1, 255))
      set_bytes(engine::TraceKey::client_id, id->data(), id->size());
  } else if (arguments.contains("circuit-id")) {
    if (const auto s = a.string("circuit-id", true)) {
      const auto id = circuit_id_of(*s);
      if (!id || id->empty() || id->size() > 255)
        a.fail("'circuit-id' must be 1..255 hex bytes (01:02:ff) or 'text' in single quotes, got \"" + *s + "\"");
      else
        set_bytes(engine::TraceKey::circuit_id, id->data(), id->size());
    }
  } else if (const auto id = a.integer("subnet-id", true, 1, std::numeric_limits<std::uint32_t>::max())) {
    f.key = engine::TraceKey::subnet_id;
    f.subnet_id = static_cast<std::uint32_t>(*id);
  }
  if (const auto n = a.integer("count", false, 1, engine::kTraceCapacity)) f.count = static_cast<std::uint32_t>(*n);
  if (!a.finish()) {
    error = a.error();
    return std::nullopt;
  }
  return f;
}

Json trace_filter_json(const engine::TraceFilter& f) {
  Json j = Json::object();
  const std::string key(engine::trace_key_name(f.key));
  switch (f.key) {
    case engine::TraceKey::subnet_id: j[key] = f.subnet_id; break;
    case engine::TraceKey::circuit_id:
      if (std::all_of(f.bytes.begin(), f.bytes.begin() + f.len, [](std::uint8_t c) { return c >= 0x20 && c < 0x7f && c != '\''; }))
        j[key] = '\'' + std::string(f.bytes.begin(), f.bytes.begin() + f.len) + '\'';
      else
        j[key] = hex_text(f.bytes.data(), f.len);
      break;
    default: j[key] = hex_text(f.bytes.data(), f.len); break;
  }
  j["count"] = f.count;
  return j;
}

Json trace_record_json(unsigned worker, const engine::TraceRecord& r, const config::DaemonConfig* config) {
  Json j = Json::object();
  j["worker"] = worker;
  j["time"] = time_text(r.time_us);
  j["type"] = r.message_type != 0 ? std::string(wire::message_type_name(r.message_type)) : std::string("none");
  char xid[16];
  std::snprintf(xid, sizeof xid, "0x%08x", r.xid);
  j["xid"] = xid;
  j["hw-address"] = hex_text(r.chaddr.data(), r.hlen);
  if (r.client_id_len != 0) {
    j["client-id"] = hex_text(r.client_id.data(), std::min<std::size_t>(r.client_id_len, r.client_id.size()));
    if (r.client_id_len > r.client_id.size()) j["client-id-length"] = r.client_id_len;   // truncated
  }
  if (r.ciaddr != 0) j["ciaddr"] = format_ipv4(r.ciaddr);
  if (r.giaddr != 0) j["giaddr"] = format_ipv4(r.giaddr);
  if (r.requested != 0) j["requested-address"] = format_ipv4(r.requested);
  if (r.server_id != 0) j["server-id"] = format_ipv4(r.server_id);
  // The subnet and how it was chosen.
  Json sub = Json::object();
  sub["selected-by"] = std::string(engine::subnet_by_name(r.subnet_by));
  if (r.subnet_by != engine::SubnetBy::none) sub["selector"] = format_ipv4(r.selector);
  const engine::SubnetConfig* s = subnet_by_id(config, r.subnet_id);
  if (r.subnet_id != 0) sub["id"] = r.subnet_id;
  if (s != nullptr) sub["prefix"] = format_ipv4(s->prefix) + "/" + std::to_string(s->prefix_len);
  j["subnet"] = sub;
  // The outcome.
  switch (r.verdict) {
    case engine::Verdict::reply: {
      j["outcome"] = std::string(wire::message_type_name(static_cast<std::uint8_t>(r.reply_type)));
      if (r.reply_type == wire::MessageType::nak) {
        j["nak-reason"] = std::string(engine::nak_reason_name(r.nak));
        j["nak-text"] = nak_text(r.nak);
      }
      if (r.yiaddr != 0) {
        j["address"] = format_ipv4(r.yiaddr);
        if (s != nullptr) {
          for (const auto& res : s->reservations)
            if (res.address == r.yiaddr) j["pool"] = "reservation";
          if (!j.contains("pool"))
            for (const auto& p : s->pools)
              if (r.yiaddr >= p.first && r.yiaddr <= p.last) {
                j["pool"] = format_ipv4(p.first) + "-" + format_ipv4(p.last);
                break;
              }
        }
      }
      if (r.lease_time != 0) j["lease-time"] = r.lease_time;
      j["reply-to"] = {{"ip", format_ipv4(r.reply_ip)},
                       {"port", r.reply_port},
                       {"broadcast", (r.reply_flags & wire::kFlagBroadcast) != 0},
                       {"mac", hex_text(r.reply_mac.b.data(), 6)}};
      break;
    }
    case engine::Verdict::silent: {
      j["outcome"] = "silent";
      const auto type = static_cast<wire::MessageType>(r.message_type);
      j["silent-text"] = type == wire::MessageType::release   ? "RELEASE handled: the lease is released"
                         : type == wire::MessageType::decline ? "DECLINE handled: the address is in probation"
                         : r.server_id != 0 ? "the client selected another server (server-id " + format_ipv4(r.server_id) + ")"
                                            : std::string("no answer by protocol");
      break;
    }
    case engine::Verdict::drop:
      j["outcome"] = "drop";
      j["drop-reason"] = std::string(engine::drop_name(r.drop));
      j["drop-text"] = std::string(engine::drop_text(r.drop));
      break;
  }
  return j;
}

void register_trace_commands(CommandTable& t, TraceHooks hooks) {
  t.add("trace-start",
        "record what the workers decide for one client or subnet (hw-address, client-id, circuit-id "
        "or subnet-id; count per worker)",
        [hooks](const Request& r, Reply done) {
          if (!hooks.start) return done(Answer{kUnsupported, "'trace-start' command not supported.", std::nullopt});
          std::string error;
          const auto f = trace_filter_of(r.arguments, error);
          if (!f) return done(error_answer(error));
          hooks.start(*f);
          const Json filter = trace_filter_json(*f);
          std::string what;
          for (auto it = filter.begin(); it != filter.end(); ++it)
            if (it.key() != "count") what = it.key() + " " + (it->is_string() ? it->get<std::string>() : it->dump());
          done(success("Trace started: " + what + ", up to " + std::to_string(f->count) + " records per worker.",
                       Json{{"filter", filter}}));
        });

  t.add("trace-get", "the trace's records so far (trace-start)", [hooks](const Request& r, Reply done) {
    Args a(r.arguments);
    if (!a.finish()) return done(error_answer(a.error()));
    if (!hooks.read) return done(Answer{kUnsupported, "'trace-get' command not supported.", std::nullopt});
    const TraceView v = hooks.read();
    if (v.session == 0) return done(Answer{kEmpty, "No trace started (trace-start).", std::nullopt});
    const config::DaemonConfig* c = hooks.config ? hooks.config() : nullptr;
    Json records = Json::array();
    for (const auto& [worker, rec] : v.records) records.push_back(trace_record_json(worker, rec, c));
    Json full = Json::array(), waiting = Json::array();
    for (unsigned w : v.full) full.push_back(w);
    for (unsigned w : v.waiting) waiting.push_back(w);
    std::string text = std::to_string(v.records.size()) + " record(s), trace " + (v.active ? "on" : "stopped");
    if (!v.full.empty()) text += ", full on " + std::to_string(v.full.size()) + " worker(s)";
    done(success(text + ".", Json{{"active", v.active},
                                  {"filter", trace_filter_json(v.filter)},
                                  {"records", records},
                                  {"full", full},
                                  {"waiting", waiting}}));
  });

  t.add("trace-stop", "stop recording (the records stay for trace-get)", [hooks](const Request& r, Reply done) {
    Args a(r.arguments);
    if (!a.finish()) return done(error_answer(a.error()));
    if (!hooks.stop) return done(Answer{kUnsupported, "'trace-stop' command not supported.", std::nullopt});
    if (!hooks.stop()) return done(Answer{kEmpty, "No trace under way.", std::nullopt});
    done(success("Trace stopped."));
  });
}

}  // namespace dorado::api
