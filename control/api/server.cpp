#include "api/server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace dorado::api {
namespace {

std::string sys_error(const std::string& path, const char* what) {
  return "control socket " + path + ": " + what + ": " + std::strerror(errno);
}

}  // namespace

struct Server::Core {
  enum class State : std::uint8_t { reading, waiting, writing };
  struct Conn {
    int fd = -1;
    std::uint64_t id = 0;
    State state = State::reading;
    std::uint64_t deadline_ms = 0;
    std::string in;
    std::string out;
    std::size_t out_off = 0;
  };

  ServerOptions options;
  const CommandTable* table = nullptr;
  int listener = -1;
  std::vector<Conn> conns;
  std::uint64_t next_id = 1;
  std::uint64_t now_ms = 0;
  ServerCounters counters;

  ~Core() {
    for (Conn& c : conns) ::close(c.fd);
    if (listener >= 0) {
      ::close(listener);
      ::unlink(options.path.c_str());
    }
  }

  Conn* find(std::uint64_t id) {
    for (Conn& c : conns)
      if (c.id == id) return &c;
    return nullptr;
  }

  void answer(Conn& c, const Answer& a) {
    ++counters.requests;
    if (a.result == kError) ++counters.errors;
    c.out = a.to_string();
    c.out += '\n';
    c.out_off = 0;
    c.state = State::writing;
    ::shutdown(c.fd, SHUT_RD);   // one request per connection
  }

  // Hands the complete request to the table; the answer comes through a
  // Reply that finds the connection by id (it may be gone by then).
  void dispatch(Conn& c, std::shared_ptr<Core> self) {
    c.state = State::waiting;
    const std::uint64_t id = c.id;
    std::weak_ptr<Core> weak = self;
    const std::string text = std::move(c.in);
    handle_text(*table, text, [weak, id](Answer a) {
      const auto core = weak.lock();
      if (!core) return;
      Conn* conn = core->find(id);
      if (conn == nullptr || conn->state != State::waiting) return;   // gone, or answered already
      core->answer(*conn, a);
    });
  }

  // Reads what is there; true when the connection should be closed.
  bool on_readable(Conn& c, const std::shared_ptr<Core>& self) {
    char buf[65536];
    bool eof = false;
    while (true) {
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, static_cast<std::size_t>(n));
        if (c.in.size() > options.max_request) {
          ++counters.too_large;
          answer(c, error_answer("request too large: more than " + std::to_string(options.max_request) +
                                 " bytes"));
          c.in.clear();
          return false;
        }
        continue;
      }
      if (n == 0) {
        eof = true;
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return true;
    }
    if (eof && c.in.find_first_not_of(" \t\r\n") == std::string::npos) return true;   // nothing asked
    if (eof || !incomplete_json(c.in)) dispatch(c, self);
    return false;
  }

  // Writes what the socket takes; true when done (or failed): close.
  bool on_writable(Conn& c) {
    while (c.out_off < c.out.size()) {
      const ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_off += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
      return true;
    }
    return true;
  }

  void accept_new() {
    while (conns.size() < options.max_connections) {
      const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;   // EAGAIN, or a transient error: try next tick
      ++counters.connections;
      Conn c;
      c.fd = fd;
      c.id = next_id++;
      c.deadline_ms = now_ms + options.timeout_ms;
      conns.push_back(std::move(c));
    }
  }
};

Server::Server(std::shared_ptr<Core> core) : core_(std::move(core)) {}
Server::~Server() = default;

Server::Opened Server::open(const ServerOptions& options, const CommandTable& table) {
  Opened r;
  const std::string& path = options.path;
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    r.error = "control socket \"" + path + "\": path must be 1.." +
              std::to_string(sizeof addr.sun_path - 1) + " bytes";
    return r;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (const auto slash = path.rfind('/'); slash != std::string::npos && slash != 0) {
    const std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      r.error = sys_error(path, ("mkdir " + dir).c_str());
      return r;
    }
  }
  auto core = std::make_shared<Core>();
  core->options = options;
  core->table = &table;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    r.error = sys_error(path, "socket");
    return r;
  }
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      ::close(fd);
      r.error = "control socket " + path + ": exists and is not a socket";
      return r;
    }
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool live = probe >= 0 && ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    if (probe >= 0) ::close(probe);
    if (live) {
      ::close(fd);
      r.error = "control socket " + path + ": another server is listening on it";
      return r;
    }
    ::unlink(path.c_str());   // stale: left by a process that died
  }
  const mode_t old = ::umask(0777 & ~options.mode);
  const int b = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (b != 0) {
    r.error = sys_error(path, "bind");
    ::close(fd);
    return r;
  }
  core->listener = fd;   // from here ~Core unlinks the file
  if (::chmod(path.c_str(), options.mode) != 0) {
    r.error = sys_error(path, "chmod");
    return r;
  }
  if (::listen(fd, 64) != 0) {
    r.error = sys_error(path, "listen");
    return r;
  }
  r.server.reset(new Server(std::move(core)));
  return r;
}

void Server::poll(std::uint64_t now_ms) {
  Core& c = *core_;
  c.now_ms = now_ms;
  std::vector<pollfd> fds;
  fds.reserve(c.conns.size() + 1);
  fds.push_back({c.listener, POLLIN, 0});
  for (const auto& conn : c.conns) {
    short ev = 0;
    if (conn.state == Core::State::reading) ev = POLLIN;
    if (conn.state == Core::State::writing) ev = POLLOUT;
    fds.push_back({conn.fd, ev, 0});
  }
  if (::poll(fds.data(), fds.size(), 0) < 0) return;
  // Connections first (indices match fds[1..]); accepting appends after.
  const std::size_t n = c.conns.size();
  std::vector<bool> close_it(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    const short re = fds[i + 1].revents;
    Core::Conn& conn = c.conns[i];
    if (conn.state == Core::State::reading && (re & (POLLIN | POLLHUP | POLLERR)))
      close_it[i] = c.on_readable(conn, core_);
    // An answer given at once (bad input, a synchronous command) goes out now.
    if (!close_it[i] && conn.state == Core::State::writing)
      close_it[i] = c.on_writable(conn);
    else if (!close_it[i] && conn.state == Core::State::reading && (re & (POLLHUP | POLLERR)) &&
             !(re & POLLIN))
      close_it[i] = true;
    if (!close_it[i] && now_ms >= conn.deadline_ms) {
      ++c.counters.timeouts;
      if (conn.state == Core::State::writing) {
        close_it[i] = true;
      } else {
        c.answer(conn, error_answer(conn.state == Core::State::reading
                                        ? "timeout: the request did not arrive in time"
                                        : "timeout: no answer in time"));
        conn.deadline_ms = now_ms + 1000;   // a last second to take the answer
        close_it[i] = c.on_writable(conn);
      }
    }
  }
  for (std::size_t i = n; i-- > 0;) {
    if (!close_it[i]) continue;
    ::close(c.conns[i].fd);
    c.conns.erase(c.conns.begin() + static_cast<std::ptrdiff_t>(i));
  }
  if (fds[0].revents & POLLIN) c.accept_new();
}

const ServerCounters& Server::counters() const noexcept { return core_->counters; }
unsigned Server::open_connections() const noexcept { return static_cast<unsigned>(core_->conns.size()); }
const std::string& Server::path() const noexcept { return core_->options.path; }

}  // namespace dorado::api
