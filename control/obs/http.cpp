#include "obs/http.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include "wire/text.hpp"

namespace dorado::obs {
namespace {

bool tchar(char c) noexcept {   // RFC 9110 token characters
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!tchar(c)) return false;
  return true;
}

// Next line of `rest` without its LF (and CR); advances rest past it.
std::string_view next_line(std::string_view& rest) noexcept {
  const std::size_t lf = rest.find('\n');
  std::string_view line = rest.substr(0, lf);
  rest.remove_prefix(lf == std::string_view::npos ? rest.size() : lf + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

const char* reason(int status) noexcept {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

std::string response(int status, std::string_view content_type, std::string_view body,
                     bool head_only, std::string_view extra_headers = {}) {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
  r += "Content-Type: ";
  r += content_type;
  r += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  r += extra_headers;
  r += "Connection: close\r\n\r\n";
  if (!head_only) r += body;
  return r;
}

}  // namespace

HttpRequest parse_request(std::string_view bytes, std::size_t max) noexcept {
  HttpRequest r;
  // The head ends at the first empty line.
  std::size_t end = std::string_view::npos;
  for (std::size_t i = bytes.find('\n'); i != std::string_view::npos; i = bytes.find('\n', i + 1)) {
    const std::size_t next = i + 1;
    if (next < bytes.size() && bytes[next] == '\n') {
      end = next + 1;
      break;
    }
    if (next + 1 < bytes.size() && bytes[next] == '\r' && bytes[next + 1] == '\n') {
      end = next + 2;
      break;
    }
  }
  if (end == std::string_view::npos || end > max) {
    r.status = bytes.size() >= max || end != std::string_view::npos ? ParseStatus::too_large
                                                                     : ParseStatus::incomplete;
    // A first line that is already malformed need not wait for the rest.
    if (r.status == ParseStatus::incomplete) {
      const std::size_t lf = bytes.find('\n');
      if (lf != std::string_view::npos) {
        std::string_view rest = bytes;
        const std::string_view line = next_line(rest);
        const std::size_t sp = line.find(' ');
        if (sp == std::string_view::npos || !token(line.substr(0, sp))) r.status = ParseStatus::bad;
      }
    }
    return r;
  }
  r.head_bytes = end;
  std::string_view rest = bytes.substr(0, end);
  // Request line: METHOD SP TARGET SP HTTP/1.x
  const std::string_view line = next_line(rest);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  r.status = ParseStatus::bad;
  if (sp2 == std::string_view::npos) return r;
  r.method = line.substr(0, sp1);
  r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  r.version = line.substr(sp2 + 1);
  if (!token(r.method) || r.target.empty() || r.target[0] != '/') return r;
  for (char c : r.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return r;
  if (r.version != "HTTP/1.1" && r.version != "HTTP/1.0") return r;
  // Header fields: name ":" value, no whitespace before the colon.
  while (!rest.empty()) {
    const std::string_view h = next_line(rest);
    if (h.empty()) break;   // the blank line
    const std::size_t colon = h.find(':');
    if (colon == std::string_view::npos || !token(h.substr(0, colon))) return r;
  }
  r.status = ParseStatus::complete;
  return r;
}

std::string simple_response(int status, std::string_view body) {
  return response(status, "text/plain; charset=utf-8", std::string(body) + "\n", false);
}

std::string respond(const HttpRequest& r, const std::function<std::string()>& page) {
  switch (r.status) {
    case ParseStatus::bad:
    case ParseStatus::incomplete: return simple_response(400, "bad request");
    case ParseStatus::too_large: return simple_response(431, "request head too large");
    case ParseStatus::complete: break;
  }
  std::string_view path = r.target.substr(0, r.target.find('?'));
  if (path != "/metrics") return simple_response(404, "not found: try /metrics");
  const bool head = r.method == "HEAD";
  if (r.method != "GET" && !head)
    return response(405, "text/plain; charset=utf-8", "only GET and HEAD\n", false, "Allow: GET, HEAD\r\n");
  return response(200, "text/plain; version=0.0.4; charset=utf-8", page(), head);
}

bool parse_listen_address(std::string_view text, ListenAddress& out) noexcept {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view host = text.substr(0, colon), port = text.substr(colon + 1);
  const auto ip = wire::parse_ipv4(host);
  if (!ip) return false;
  unsigned pv = 0;
  if (port.empty() || port.size() > 5) return false;
  const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), pv);
  if (ec != std::errc{} || p != port.data() + port.size() || pv == 0 || pv > 65535) return false;
  out.ip = *ip;
  out.port = static_cast<std::uint16_t>(pv);
  return true;
}

MetricsServer::~MetricsServer() { stop(); }

std::string MetricsServer::start(ListenAddress where, std::function<std::string()> page) {
  const std::string text = wire::format_ipv4(where.ip) + ":" + std::to_string(where.port);
  auto fail = [&](const char* what) {
    const std::string e = text + ": " + what + ": " + std::strerror(errno);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
    return e;
  };
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return fail("socket");
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(where.ip);
  sa.sin_port = htons(where.port);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return fail("bind");
  if (::listen(listen_fd_, 16) != 0) return fail("listen");
  socklen_t len = sizeof sa;
  if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len) == 0) port_ = ntohs(sa.sin_port);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return fail("eventfd");
  page_ = std::move(page);
  thread_ = std::thread([this] { run(); });
  return {};
}

void MetricsServer::stop() {
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  listen_fd_ = wake_fd_ = -1;
}

void MetricsServer::run() {
  struct Conn {
    int fd = -1;
    std::string in;
    std::string out;
    std::size_t sent = 0;
    std::chrono::steady_clock::time_point deadline;
  };
  std::vector<Conn> conns;
  std::vector<pollfd> fds;
  const auto close_conn = [&](std::size_t i) {
    ::close(conns[i].fd);
    conns.erase(conns.begin() + static_cast<std::ptrdiff_t>(i));
  };
  for (;;) {
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    // Stop accepting while full: further clients wait in the backlog.
    fds.push_back({conns.size() < kMaxConnections ? listen_fd_ : -1, POLLIN, 0});
    auto now = std::chrono::steady_clock::now();
    int timeout_ms = -1;
    for (const auto& c : conns) {
      fds.push_back({c.fd, static_cast<short>(c.out.empty() ? POLLIN : POLLOUT), 0});
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - now).count();
      const int ms = left < 0 ? 0 : static_cast<int>(left) + 1;
      timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) break;   // stop()
    now = std::chrono::steady_clock::now();
    // Walk backwards so that closing one does not shift the ones not seen yet.
    for (std::size_t i = conns.size(); i-- > 0;) {
      Conn& c = conns[i];
      const short rev = fds[2 + i].revents;
      if (c.out.empty()) {
        if (rev != 0) {
          std::array<char, 4096> buf;
          const ssize_t n = ::recv(c.fd, buf.data(), buf.size(), 0);
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            close_conn(i);
            continue;
          }
          if (n > 0) c.in.append(buf.data(), static_cast<std::size_t>(n));
          const HttpRequest r = parse_request(c.in);
          if (r.status != ParseStatus::incomplete) {
            c.out = respond(r, page_);
            served_.fetch_add(1, std::memory_order_relaxed);
          }
        }
        if (c.out.empty() && now >= c.deadline) {
          c.out = simple_response(408, "request timeout");
          served_.fetch_add(1, std::memory_order_relaxed);
        }
      } else if (rev != 0) {
        const ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
          close_conn(i);
          continue;
        }
        if (n > 0) c.sent += static_cast<std::size_t>(n);
        if (c.sent == c.out.size()) {
          ::shutdown(c.fd, SHUT_WR);
          close_conn(i);
          continue;
        }
      }
      if (!c.out.empty() && now >= c.deadline + kTimeout) close_conn(i);   // reader stalled
    }
    if (fds[1].revents != 0) {
      while (conns.size() < kMaxConnections) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        conns.push_back(Conn{fd, {}, {}, 0, now + kTimeout});
      }
    }
  }
  for (const auto& c : conns) ::close(c.fd);
}

}  // namespace dorado::obs
