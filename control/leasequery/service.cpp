#include "leasequery/service.hpp"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>

#include "wire/text.hpp"

namespace dorado::leasequery {

struct BulkService::Conn {
  int fd = -1;
  std::uint64_t number = 0;
  wire::Ipv4 peer = 0;
  FrameReader reader;
  std::deque<std::vector<std::uint8_t>> queued;   // whole query messages not yet started
  std::vector<std::uint8_t> out;                  // framed answers not yet sent
  std::size_t out_sent = 0;
  bool peer_closed = false;   // read side ended: close once everything is sent
  bool closing = false;       // refuse more: close once `out` is sent
  // The running query.
  bool running = false;
  BulkQuery query;
  std::vector<std::uint32_t> cursor;     // per shard: next slot, kNil: finished
  std::vector<std::uint8_t> outstanding; // per shard: a page asked, not answered yet
  std::uint64_t sent = 0;
  std::uint64_t started_ms = 0;
  std::size_t unsent() const noexcept { return out.size() - out_sent; }
};

namespace {

std::string peer_text(wire::Ipv4 ip) { return wire::format_ipv4(ip); }

}  // namespace

BulkService::BulkService(const BulkOptions& options, api::ShardPort& port, const engine::CompiledConfig& config)
    : options_(options), shards_(port), config_(&config) {}

BulkService::~BulkService() {
  for (auto& [n, c] : conns_) ::close(c->fd);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

BulkService::Opened BulkService::open(const BulkOptions& options, api::ShardPort& port,
                                      const engine::CompiledConfig& config) {
  Opened o;
  std::unique_ptr<BulkService> s(new BulkService(options, port, config));
  const std::string where = peer_text(options.listen_address) + ":" + std::to_string(options.listen_port);
  s->listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->listen_fd_ < 0) {
    o.error = std::string("bulk leasequery: socket: ") + std::strerror(errno);
    return o;
  }
  const int one = 1;
  ::setsockopt(s->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(options.listen_port);
  a.sin_addr.s_addr = htonl(options.listen_address);
  if (::bind(s->listen_fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(s->listen_fd_, 16) != 0) {
    o.error = "bulk leasequery: listen on " + where + ": " + std::strerror(errno);
    return o;
  }
  socklen_t len = sizeof a;
  ::getsockname(s->listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  s->port_number_ = ntohs(a.sin_port);
  o.service = std::move(s);
  return o;
}

void BulkService::accept_new() {
  for (int i = 0; i < 16; ++i) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;   // EAGAIN, or an error of that one connection
    if (conns_.size() >= kMaxConnections) {
      ::close(fd);
      ++counters_.connections_refused;
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    c->number = next_conn_++;
    c->peer = ntohl(a.sin_addr.s_addr);
    ++counters_.connections;
    conns_.emplace(c->number, std::move(c));
  }
}

void BulkService::read_from(Conn& c, engine::Seconds now) {
  std::uint8_t buf[16384];
  // Bounded per tick: at most 4 reads, and none while much is unsent or
  // many queries wait (the requestor's TCP window then holds it back).
  for (int i = 0; i < 4 && !c.peer_closed && !c.closing && c.queued.size() < 8; ++i) {
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n == 0) {
      c.peer_closed = true;
      break;
    }
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) c.peer_closed = c.closing = true;
      break;
    }
    c.reader.feed({buf, static_cast<std::size_t>(n)});
    std::vector<std::uint8_t> msg;
    while (true) {
      const FrameReader::Status st = c.reader.next(msg);
      if (st == FrameReader::Status::need_more) break;
      if (st == FrameReader::Status::bad_length) {
        ++counters_.malformed;
        append_status(c.out, 0, StatusCode::malformed_query, "bad message length", now, options_.server_id);
        c.closing = true;
        break;
      }
      c.queued.push_back(std::move(msg));
    }
  }
}

// Starts queued queries and asks the shards for the next pages.
void BulkService::advance(Conn& c, engine::Seconds now, std::uint64_t now_ms, std::vector<std::string>& log) {
  const unsigned shards = shards_.shards();
  while (!c.running && !c.queued.empty() && !c.closing) {
    const std::vector<std::uint8_t> msg = std::move(c.queued.front());
    c.queued.pop_front();
    ++counters_.queries;
    ParsedQuery p = parse_bulk_query(msg);
    if (!config_->leasequery_allows(c.peer)) {
      ++counters_.not_allowed;
      append_status(c.out, p.query.xid, StatusCode::not_allowed, "requestor not in [leasequery] allowed", now,
                    options_.server_id);
      c.closing = true;
      log.push_back("bulk leasequery: " + peer_text(c.peer) + " is not in [leasequery] allowed: refused");
      break;
    }
    if (p.status != StatusCode::success) {
      ++counters_.malformed;
      append_status(c.out, p.query.xid, p.status, p.message, now, options_.server_id);
      continue;
    }
    c.running = true;
    c.query = std::move(p.query);
    c.cursor.assign(shards, config_->blocks.empty() ? engine::kNil : 0);
    c.outstanding.assign(shards, 0);
    c.sent = 0;
    c.started_ms = now_ms;
  }
  if (!c.running) return;
  bool finished = true;
  for (unsigned s = 0; s < shards; ++s) {
    if (c.outstanding[s]) {
      finished = false;
      continue;
    }
    if (c.cursor[s] == engine::kNil) continue;
    finished = false;
    if (c.unsent() >= kHighWater || c.closing) continue;   // backpressure (or the peer is gone)
    engine::AdminRequest r;
    r.id = kBulkAdminId | c.number;
    r.op = engine::AdminOp::scan;
    r.filter = engine::kAdminActiveOnly;
    r.cursor = c.cursor[s];
    r.limit = engine::kMaxAdminLeases;
    if (shards_.submit(s, r)) c.outstanding[s] = 1;   // ring full: next tick
  }
  if (finished) {
    append_done(c.out, c.query.xid, now, options_.server_id);
    ++counters_.done_sent;
    c.running = false;
    char took[32];
    std::snprintf(took, sizeof took, "%.3f", static_cast<double>(now_ms - c.started_ms) / 1000.0);
    log.push_back("bulk leasequery by " + std::string(query_kind_name(c.query.kind)) + " from " + peer_text(c.peer) +
                  ": " + std::to_string(c.sent) + " lease(s) in " + took + " s");
  }
}

void BulkService::on_admin_reply(unsigned shard, const engine::AdminReply& r) {
  const auto it = conns_.find(r.id & ~kBulkAdminId);
  if (it == conns_.end()) return;   // the connection went away meanwhile
  Conn& c = *it->second;
  if (!c.running || shard >= c.cursor.size()) return;
  if (r.has_lease && r.state == engine::LeaseState::active && matches(c.query, r.lease)) {
    append_lease_active(c.out, c.query.xid, r.lease, now_, options_.server_id);
    ++c.sent;
    ++counters_.leases_sent;
  }
  if (r.last) {
    c.outstanding[shard] = 0;
    // A page that stopped inside the slots goes on from there; kNil: done.
    // A cursor of a config a reload replaced may lie past the slots: done.
    c.cursor[shard] = r.cursor != engine::kNil && r.cursor < config_->blocks.size() * 64 ? r.cursor : engine::kNil;
    if (r.status != engine::AdminStatus::ok) c.cursor[shard] = engine::kNil;
    // Ask the next page now (not at the next tick): a page per shard per
    // control loop pass would cap the rate.
    if (c.cursor[shard] != engine::kNil && c.unsent() < kHighWater && !c.closing) {
      engine::AdminRequest next;
      next.id = r.id;
      next.op = engine::AdminOp::scan;
      next.filter = engine::kAdminActiveOnly;
      next.cursor = c.cursor[shard];
      next.limit = engine::kMaxAdminLeases;
      if (shards_.submit(shard, next)) c.outstanding[shard] = 1;
    }
  }
}

bool BulkService::write_to(Conn& c) {
  while (c.unsent() > 0) {
    const ssize_t n = ::send(c.fd, c.out.data() + c.out_sent, c.unsent(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
      return false;   // reset by the peer
    }
    c.out_sent += static_cast<std::size_t>(n);
  }
  if (c.out_sent == c.out.size()) {
    c.out.clear();
    c.out_sent = 0;
  } else if (c.out_sent > kHighWater) {
    c.out.erase(c.out.begin(), c.out.begin() + static_cast<std::ptrdiff_t>(c.out_sent));
    c.out_sent = 0;
  }
  return true;
}

std::vector<std::string> BulkService::tick(engine::Seconds now, std::uint64_t now_ms) {
  now_ = now;
  std::vector<std::string> log;
  accept_new();
  std::vector<std::uint64_t> gone;
  for (auto& [n, cp] : conns_) {
    Conn& c = *cp;
    read_from(c, now);
    advance(c, now, now_ms, log);
    if (!write_to(c)) {
      gone.push_back(n);
      continue;
    }
    // Closed once all is sent: after a refusal or framing error, or when
    // the requestor closed its side and nothing runs or waits.
    const bool idle = !c.running && c.queued.empty();
    if (c.unsent() == 0 && (c.closing || (c.peer_closed && idle))) gone.push_back(n);
  }
  for (const std::uint64_t n : gone) {
    auto it = conns_.find(n);
    ::close(it->second->fd);
    conns_.erase(it);
  }
  return log;
}

}  // namespace dorado::leasequery
