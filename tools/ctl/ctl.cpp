#include "ctl/ctl.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace dorado::ctl {

const std::vector<CommandHelp>& command_help() {
  static const std::vector<CommandHelp> list = {
      {"version-get", "", "the server's version"},
      {"list-commands", "", "the commands the server supports"},
      {"config-get", "", "the running configuration as JSON"},
      {"config-test", "[file=PATH]", "validate a config file (default: the running one); FILE:LINE errors"},
      {"statistic-get-all", "", "every statistic (Kea names such as pkt4-received, and dorado's counters)"},
      {"statistic-get", "name=NAME", "one statistic"},
      {"statistic-reset", "[name=NAME]", "reset one statistic, or all"},
      {"statistic-reset-all", "", "reset every statistic"},
      {"lease4-get", "ip-address=IP | identifier-type=hw-address|client-id identifier=ID subnet-id=N",
       "one lease"},
      {"lease4-get-by-hw-address", "hw-address=MAC", "the leases of a MAC"},
      {"lease4-get-by-client-id", "client-id=HEX", "the lease of a client-id"},
      {"lease4-get-page", "from=start|IP limit=N", "leases in address order after `from`"},
      {"lease4-add", "ip-address=IP hw-address=MAC [client-id=HEX subnet-id=N valid-lft=S expire=T hostname=H]",
       "add a lease (journaled like a packet's)"},
      {"lease4-update", "(as lease4-add)", "replace the lease on ip-address"},
      {"lease4-del", "ip-address=IP | identifier-type=... identifier=ID subnet-id=N", "delete a lease"},
      {"lease4-wipe", "[subnet-id=N]", "delete every lease (of a subnet)"},
      {"leases-reclaim", "remove=true|false", "expire due leases now (remove: delete expired ones too)"},
      {"lease4-resend-ddns", "ip-address=IP", "send an address's DNS records again (added, or removed for an ended lease)"},
      {"trace-start", "hw-address=MAC | client-id=HEX | circuit-id=HEX | subnet-id=N [count=N]",
       "record what the workers decide for one client or subnet (count per worker, default 100)"},
      {"trace-get", "", "the trace's records, one line each"},
      {"trace-stop", "", "stop recording (the records stay for trace-get)"},
      {"shutdown", "", "stop the server cleanly (like SIGTERM)"},
  };
  return list;
}

CliResult parse_cli(const std::vector<std::string>& args) {
  CliResult r;
  Cli c;
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      c.help = true;
      r.cli = c;
      return r;
    }
    if (a == "--json" || a == "-j") {
      c.json = true;
    } else if (a == "-s" || a == "--socket" || a == "-t" || a == "--timeout") {
      if (i + 1 >= args.size()) {
        r.error = a + " needs a value";
        return r;
      }
      const std::string& v = args[++i];
      if (a == "-s" || a == "--socket") {
        c.socket = v;
      } else {
        char* end = nullptr;
        c.timeout_s = std::strtod(v.c_str(), &end);
        if (end == v.c_str() || *end != '\0' || !(c.timeout_s > 0)) {
          r.error = "--timeout must be a positive number of seconds (got \"" + v + "\")";
          return r;
        }
      }
    } else if (!a.empty() && a[0] == '-') {
      r.error = "unknown option " + a;
      return r;
    } else {
      break;
    }
  }
  if (i >= args.size()) {
    r.error = "no command given (doradoctl --help lists them)";
    return r;
  }
  c.command = args[i++];
  for (; i < args.size(); ++i) {
    const std::string& kv = args[i];
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0 || (eq == 1 && kv[0] == ':')) {
      r.error = "argument \"" + kv + "\" is not key=value (or key:=JSON)";
      return r;
    }
    if (eq > 0 && kv[eq - 1] == ':') {
      const std::string key = kv.substr(0, eq - 1);
      try {
        c.arguments[key] = Json::parse(kv.substr(eq + 1));
      } catch (const std::exception&) {
        r.error = "argument \"" + kv + "\": the value after := is not JSON";
        return r;
      }
      continue;
    }
    const std::string key = kv.substr(0, eq), v = kv.substr(eq + 1);
    if (!v.empty() && v.size() <= 19 && std::all_of(v.begin(), v.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      c.arguments[key] = std::stoull(v);
    else if (v == "true" || v == "false")
      c.arguments[key] = v == "true";
    else
      c.arguments[key] = v;
  }
  r.cli = c;
  return r;
}

std::string request_text(const Cli& c) {
  Json j = {{"command", c.command}};
  if (!c.arguments.empty()) j["arguments"] = c.arguments;
  return j.dump();
}

namespace {

std::string cell(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

std::string table(const Json& leases) {
  const std::vector<std::pair<const char*, const char*>> cols = {
      {"ip-address", "ADDRESS"}, {"hw-address", "HW-ADDRESS"}, {"client-id", "CLIENT-ID"},
      {"subnet-id", "SUBNET"},   {"dorado-state", "STATE"},    {"cltt", "CLTT"},
      {"valid-lft", "VALID"},    {"expire", "EXPIRE"},         {"hostname", "HOSTNAME"}};
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head;
  for (const auto& [k, h] : cols) head.emplace_back(h);
  rows.push_back(head);
  for (const auto& l : leases) {
    std::vector<std::string> row;
    for (const auto& [k, h] : cols) row.push_back(l.contains(k) ? cell(l[k]) : "");
    rows.push_back(row);
  }
  std::vector<std::size_t> w(cols.size(), 0);
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], row[i].size());
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(w[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string str(const Json& o, const char* key) {
  return o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : std::string();
}

}  // namespace

std::string trace_line(const Json& r) {
  std::string l = str(r, "time") + " w" + cell(r.value("worker", Json())) + " " + str(r, "type") + " xid " +
                  str(r, "xid") + " hw " + str(r, "hw-address");
  if (r.contains("client-id")) l += " id " + str(r, "client-id") + (r.contains("client-id-length") ? "..." : "");
  for (const char* k : {"ciaddr", "giaddr", "requested-address", "server-id"})
    if (r.contains(k)) l += std::string(" ") + (std::string(k) == "requested-address" ? "requested" : k) + " " + str(r, k);
  const Json sub = r.value("subnet", Json::object());
  l += ": subnet ";
  l += sub.contains("id") ? cell(sub["id"]) + (sub.contains("prefix") ? " " + str(sub, "prefix") : "") : "none";
  const std::string by = str(sub, "selected-by");
  l += by == "none" ? " (no selector)" : " (" + by + " " + str(sub, "selector") + ")";
  const std::string outcome = str(r, "outcome");
  l += " -> " + outcome;
  if (outcome == "drop") {
    l += " " + str(r, "drop-reason") + " (" + str(r, "drop-text") + ")";
  } else if (outcome == "silent") {
    l += " (" + str(r, "silent-text") + ")";
  } else {
    if (r.contains("nak-reason")) l += " " + str(r, "nak-reason") + " (" + str(r, "nak-text") + ")";
    if (r.contains("address")) {
      l += " " + str(r, "address");
      std::string detail = str(r, "pool");
      if (detail == "reservation")
        detail = "reserved";
      else if (!detail.empty())
        detail = "pool " + detail;
      if (r.contains("lease-time")) detail += (detail.empty() ? "" : ", ") + cell(r["lease-time"]) + " s";
      if (!detail.empty()) l += " (" + detail + ")";
    }
    const Json to = r.value("reply-to", Json::object());
    if (to.contains("ip"))
      l += " to " + str(to, "ip") + ":" + cell(to.value("port", Json())) + " " + str(to, "mac") +
           (to.value("broadcast", false) ? " broadcast" : "");
  }
  return l;
}

std::string format_answer(const Json& a) {
  std::string out;
  const int result = a.contains("result") && a["result"].is_number_integer() ? a["result"].get<int>() : -1;
  const std::string text = a.contains("text") && a["text"].is_string() ? a["text"].get<std::string>() : "";
  if (result != 0) out += "error (result " + std::to_string(result) + "): ";
  out += text + "\n";
  if (!a.contains("arguments")) return out;
  const Json& args = a["arguments"];
  if (args.is_object() && args.contains("records") && args["records"].is_array()) {   // trace-get
    for (const auto& r : args["records"]) out += trace_line(r) + "\n";
    if (args.contains("waiting") && args["waiting"].is_array() && !args["waiting"].empty())
      out += "(workers " + args["waiting"].dump() + " have not taken the last trace-start or trace-stop yet)\n";
  } else if (args.is_object() && args.contains("leases") && args["leases"].is_array()) {
    if (!args["leases"].empty()) out += table(args["leases"]);
  } else if (args.is_object() && args.contains("ip-address")) {
    out += table(Json::array({args}));
  } else if (args.is_object() && args.contains("errors") && args["errors"].is_array()) {
    for (const auto& e : args["errors"]) out += cell(e) + "\n";
  } else if (args.is_object() && !args.empty() &&
             std::all_of(args.begin(), args.end(), [](const Json& v) {
               return v.is_array() && !v.empty() && v[0].is_array() && !v[0].empty();
             })) {
    std::size_t w = 0;
    for (auto it = args.begin(); it != args.end(); ++it) w = std::max(w, it.key().size());
    for (auto it = args.begin(); it != args.end(); ++it)
      out += it.key() + std::string(w - it.key().size() + 2, ' ') + cell((*it)[0][0]) + "\n";
  } else if (args.is_array()) {
    for (const auto& v : args) out += cell(v) + "\n";
  } else if (!args.empty()) {
    out += args.dump(2) + "\n";
  }
  return out;
}

int exit_code(const Json& a) {
  return a.is_object() && a.contains("result") && a["result"] == 0 ? kExitOk : kExitAnswer;
}

Exchange exchange(const std::string& socket_path, const std::string& request, double timeout_s) {
  Exchange x;
  sockaddr_un addr{};
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path) {
    x.error = "socket path must be 1.." + std::to_string(sizeof addr.sun_path - 1) + " bytes";
    return x;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    x.error = std::string("socket: ") + std::strerror(errno);
    return x;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    x.error = "connect: " + std::string(std::strerror(errno));
    ::close(fd);
    return x;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  auto wait = [&](short ev) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, ev, 0};
    return ::poll(&p, 1, static_cast<int>(left.count())) > 0;
  };
  std::size_t off = 0;
  while (off < request.size()) {
    if (!wait(POLLOUT)) {
      x.error = "timeout sending the request";
      ::close(fd);
      return x;
    }
    const ssize_t n = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;   // the server may have refused it (too large): read its answer
    off += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  x.reached = true;
  char buf[65536];
  while (true) {
    if (!wait(POLLIN)) {
      x.error = "timeout: no complete answer within " + std::to_string(timeout_s) + " s";
      break;
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n < 0) x.error = std::string("recv: ") + std::strerror(errno);
      break;
    }
    x.answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return x;
}

}  // namespace dorado::ctl
