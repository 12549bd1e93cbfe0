#include "ha/link.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <utility>

#include "wire/text.hpp"

namespace dorado::ha {

namespace {

constexpr std::size_t kReadChunk = std::size_t{256} << 10;   // per recv / room per read

std::string errno_text(int err) { return std::strerror(err); }

// An address in the one IPv4 text form (wire/text.hpp) as a socket address.
bool to_in_addr(const std::string& host, in_addr* out) {
  const auto ip = wire::parse_ipv4(host);
  if (!ip) return false;
  out->s_addr = htonl(*ip);
  return true;
}

std::string sockaddr_text(const sockaddr_in& sa) {
  return wire::format_ipv4(ntohl(sa.sin_addr.s_addr)) + ":" + std::to_string(ntohs(sa.sin_port));
}

void set_nodelay(int fd) {
  const int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Before connect()/listen(), so that the window scale matches (accepted
// sockets inherit the listener's).
void set_buffers(int fd, int bytes) {
  if (bytes <= 0) return;
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

// Everything in this thread's OpenSSL error queue, oldest first, as reason
// strings ("no such file; system lib"), and clears it.
std::string drain_openssl_errors() {
  std::string text;
  while (const unsigned long err = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(err);
    char buf[256];
    if (reason == nullptr) {
      ERR_error_string_n(err, buf, sizeof buf);
      reason = buf;
    }
    if (text.find(reason) != std::string::npos) continue;
    if (!text.empty()) text += "; ";
    text += reason;
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

// The first commonName of a certificate's subject, "" when it has none.
std::string subject_cn(X509* cert) {
  if (cert == nullptr) return {};
  X509_NAME* name = X509_get_subject_name(cert);
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return {};
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return {};
  std::string cn(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(len));
  OPENSSL_free(utf8);
  return cn;
}

// A readable file, or why not ("No such file or directory").
std::string check_readable(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return errno_text(errno);
  std::fclose(f);
  return {};
}

}  // namespace

// ---- endpoints ---------------------------------------------------------------

std::optional<Endpoint> parse_endpoint(std::string_view text, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<Endpoint> {
    if (error != nullptr) *error = "HA endpoint '" + std::string(text) + "': " + why;
    return std::nullopt;
  };
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return fail("expected IPv4-address:port, e.g. 10.98.0.1:8647");
  }
  Endpoint e;
  e.host = std::string(text.substr(0, colon));
  if (!wire::parse_ipv4(e.host)) {
    return fail("'" + e.host + "' is not an IPv4 address (expected IPv4-address:port, e.g. 10.98.0.1:8647)");
  }
  const std::string_view port = text.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
    return fail("port '" + std::string(port) + "' is not a number from 1 to 65535");
  }
  e.port = static_cast<std::uint16_t>(value);
  return e;
}

std::string to_string(const Endpoint& endpoint) {
  return endpoint.host + ":" + std::to_string(endpoint.port);
}

// ---- TLS context -----------------------------------------------------------

LinkResult<TlsContext> TlsContext::create(const TlsSettings& settings) {
  LinkResult<TlsContext> out;
  if (settings.insecure) {
    out.value.emplace(TlsContext(nullptr));
    return out;
  }
  const std::pair<const char*, const std::string*> files[] = {
      {"ca", &settings.ca}, {"cert", &settings.cert}, {"key", &settings.key}};
  for (const auto& [what, path] : files) {
    if (path->empty()) {
      out.error = std::string("HA TLS: no ") + what +
                  " file given (ca, cert and key are required unless insecure = true)";
      return out;
    }
    if (std::string why = check_readable(*path); !why.empty()) {
      out.error = std::string("HA TLS ") + what + " " + *path + ": " + why;
      return out;
    }
  }

  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (ctx == nullptr) {
    out.error = "HA TLS: SSL_CTX_new: " + drain_openssl_errors();
    return out;
  }
  TlsContext context(ctx);   // frees it on the error paths below
  auto fail = [&](const std::string& what, std::string path) {
    if (path.back() != ':') path += ':';
    out.error = "HA TLS " + what + " " + path + " " + drain_openssl_errors();
    return out;
  };
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    out.error = "HA TLS: cannot require TLS 1.2: " + drain_openssl_errors();
    return out;
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                               SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

  if (SSL_CTX_load_verify_locations(ctx, settings.ca.c_str(), nullptr) != 1) {
    return fail("ca", settings.ca);
  }
  // The CA names the accepting end sends in its certificate request.
  if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings.ca.c_str())) {
    SSL_CTX_set_client_CA_list(ctx, names);
  }
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, settings.cert.c_str()) != 1) {
    return fail("cert", settings.cert);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, settings.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      return fail("key", settings.key + " does not match cert " + settings.cert + ":");
    }
    return fail("key", settings.key);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return fail("key", settings.key + " does not match cert " + settings.cert + ":");
  }
  out.value.emplace(std::move(context));
  return out;
}

TlsContext::TlsContext(const TlsContext& other) noexcept : ctx_(other.ctx_) {
  if (ctx_ != nullptr) SSL_CTX_up_ref(ctx_);
}
TlsContext& TlsContext::operator=(const TlsContext& other) noexcept {
  if (this != &other) {
    if (other.ctx_ != nullptr) SSL_CTX_up_ref(other.ctx_);
    SSL_CTX_free(ctx_);
    ctx_ = other.ctx_;
  }
  return *this;
}
TlsContext::TlsContext(TlsContext&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}
TlsContext& TlsContext::operator=(TlsContext&& other) noexcept {
  if (this != &other) {
    SSL_CTX_free(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}
TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

// ---- connection internals ----------------------------------------------------

struct Connection::Detail {
  // A socket BIO of our own: send() with MSG_NOSIGNAL (OpenSSL's socket BIO
  // uses write(), which raises SIGPIPE on a reset connection).
  static int bio_write(BIO* bio, const char* data, std::size_t len, std::size_t* written) {
    auto* c = static_cast<Connection*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    for (;;) {
      const ssize_t n = ::send(c->fd_, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) {
        *written = static_cast<std::size_t>(n);
        return 1;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(bio);
      return 0;
    }
  }
  static int bio_read(BIO* bio, char* data, std::size_t len, std::size_t* read) {
    auto* c = static_cast<Connection*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    for (;;) {
      const ssize_t n = ::recv(c->fd_, data, len, MSG_DONTWAIT);
      if (n > 0) {
        *read = static_cast<std::size_t>(n);
        return 1;
      }
      if (n == 0) {
        c->bio_eof_ = true;
        return 0;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(bio);
      return 0;
    }
  }
  static long bio_ctrl(BIO* bio, int cmd, long, void*) {
    switch (cmd) {
      case BIO_CTRL_FLUSH:
        return 1;
      case BIO_CTRL_EOF:
        return static_cast<Connection*>(BIO_get_data(bio))->bio_eof_ ? 1 : 0;
      default:
        return 0;
    }
  }
  static int bio_create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
  }
  static const BIO_METHOD* bio_method() {
    static BIO_METHOD* const method = [] {
      BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "dorado HA socket");
      if (m == nullptr) return m;
      BIO_meth_set_write_ex(m, bio_write);
      BIO_meth_set_read_ex(m, bio_read);
      BIO_meth_set_ctrl(m, bio_ctrl);
      BIO_meth_set_create(m, bio_create);
      return m;
    }();
    return method;
  }

  // Records the CN of the certificate the peer presented (depth 0), also
  // when it is refused, for the error text. Verification itself is
  // OpenSSL's (chain to the CA, dates, expected name).
  static int verify(int preverify_ok, X509_STORE_CTX* store) {
    if (X509_STORE_CTX_get_error_depth(store) == 0) {
      auto* ssl = static_cast<SSL*>(
          X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
      if (auto* c = ssl != nullptr ? static_cast<Connection*>(SSL_get_app_data(ssl)) : nullptr) {
        c->presented_name_ = subject_cn(X509_STORE_CTX_get_current_cert(store));
      }
    }
    return preverify_ok;
  }

  // Gives `c` (fd set) a TLS session; false (and c closed) when OpenSSL
  // cannot make one.
  static bool attach_tls(Connection& c, SSL_CTX* ctx, bool accepting) {
    ERR_clear_error();
    const BIO_METHOD* method = bio_method();
    SSL* ssl = method != nullptr ? SSL_new(ctx) : nullptr;
    BIO* bio = ssl != nullptr ? BIO_new(method) : nullptr;
    if (bio == nullptr) {
      SSL_free(ssl);
      c.fail(Failure::tls, "TLS with " + c.peer_address_ + ": " + drain_openssl_errors());
      return false;
    }
    BIO_set_data(bio, &c);
    SSL_set_bio(ssl, bio, bio);   // takes our one reference
    SSL_set_app_data(ssl, &c);
    SSL_set_verify(ssl,
                   accepting ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER,
                   verify);
    if (accepting) {
      SSL_set_accept_state(ssl);
    } else {
      SSL_set_connect_state(ssl);
    }
    c.ssl_ = ssl;
    c.tls_ = true;
    return true;
  }
};

Connection::Connection(int fd, State state, std::string peer_address, const LinkOptions& options)
    : fd_(fd),
      state_(state),
      peer_address_(std::move(peer_address)),
      expected_peer_name_(options.expected_peer_name),
      handshake_timeout_(options.handshake_timeout),
      deadline_(std::chrono::steady_clock::now() + options.handshake_timeout),
      input_cap_(std::max<std::size_t>(options.input_cap, 1)),
      output_cap_(options.output_cap) {}

Connection::~Connection() {
  SSL_free(ssl_);
  if (fd_ >= 0) ::close(fd_);
}

void Connection::Buffer::reserve_tail(std::size_t n) {
  if (capacity - tail >= n) return;
  const std::size_t size = tail - head;
  if (head > 0 && capacity - size >= n) {
    std::memmove(data, data + head, size);
    head = 0;
    tail = size;
    return;
  }
  const std::size_t grown = std::max({capacity * 2, size + n, std::size_t{64} << 10});
  auto* bigger = new std::uint8_t[grown];
  if (size > 0) std::memcpy(bigger, data + head, size);
  delete[] data;
  data = bigger;
  capacity = grown;
  head = 0;
  tail = size;
}

void Connection::fail(Failure failure, std::string error) {
  if (state_ == State::closed) return;
  state_ = State::closed;
  failure_ = failure;
  error_ = std::move(error);
  SSL_free(ssl_);   // also frees the BIO
  ssl_ = nullptr;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  out_.release();
  want_write_ = false;
}

void Connection::close(std::string reason) {
  if (state_ == State::closed) return;
  if (ssl_ != nullptr && state_ == State::open) {
    ERR_clear_error();
    (void)SSL_shutdown(ssl_);   // one try at close_notify; never waits
    ERR_clear_error();
  }
  fail(Failure::none, std::move(reason));
}

bool Connection::set_expected_peer_name(std::string name) {
  if (handshake_started_ || state_ == State::open || state_ == State::closed) return false;
  expected_peer_name_ = std::move(name);
  return true;
}

short Connection::poll_events() const noexcept {
  switch (state_) {
    case State::connecting:
      return POLLOUT;
    case State::handshaking:
      return want_write_ ? POLLOUT : POLLIN;
    case State::open: {
      short events = 0;
      if (in_.tail - in_.head < input_cap_) events |= POLLIN;
      if (pending_output() > 0 || want_write_) events |= POLLOUT;
      return events;
    }
    case State::closed:
      break;
  }
  return 0;
}

bool Connection::finish_connect() {
  pollfd p{fd_, POLLOUT, 0};
  if (::poll(&p, 1, 0) <= 0) return false;   // still connecting (or EINTR)
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) {
    fail(Failure::connect, "connect to " + peer_address_ + " failed: " + errno_text(err));
    return true;
  }
  state_ = tls_ ? State::handshaking : State::open;
  return true;
}

std::string Connection::tls_failure_text(int ssl_error, int saved_errno) {
  if (ssl_error == SSL_ERROR_SYSCALL) {
    ERR_clear_error();
    return saved_errno != 0 ? errno_text(saved_errno) : "connection closed by peer";
  }
  if (ssl_error == SSL_ERROR_ZERO_RETURN) return "connection closed by peer";
  return drain_openssl_errors();
}

bool Connection::handshake() {
  if (!handshake_started_) {
    handshake_started_ = true;
    if (!expected_peer_name_.empty()) {
      // Checked by OpenSSL's chain verification (X509_check_host): the CN
      // or a SAN DNS name, exact (case-insensitive), no wildcards.
      SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_WILDCARDS | X509_CHECK_FLAG_ALWAYS_CHECK_SUBJECT);
      if (SSL_set1_host(ssl_, expected_peer_name_.c_str()) != 1) {
        fail(Failure::tls, "TLS with " + peer_address_ + ": cannot set expected peer name '" +
                               expected_peer_name_ + "': " + drain_openssl_errors());
        return true;
      }
    }
  }
  ERR_clear_error();
  errno = 0;
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    want_write_ = false;
    state_ = State::open;
    peer_name_ = subject_cn(SSL_get0_peer_certificate(ssl_));
    return true;
  }
  const int saved_errno = errno;
  const int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    want_write_ = e == SSL_ERROR_WANT_WRITE;
    return false;
  }
  const unsigned long first = ERR_peek_error();
  const bool ssl_lib = e == SSL_ERROR_SSL && ERR_GET_LIB(first) == ERR_LIB_SSL;
  const bool verify_failed = ssl_lib && ERR_GET_REASON(first) == SSL_R_CERTIFICATE_VERIFY_FAILED;
  const bool no_cert = ssl_lib && ERR_GET_REASON(first) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE;
  std::string text = "TLS handshake with " + peer_address_ + " failed: " + tls_failure_text(e, saved_errno);
  if (verify_failed) {
    const long result = SSL_get_verify_result(ssl_);
    if (result != X509_V_OK) {
      text += std::string(" (") + X509_verify_cert_error_string(result);
      if (result == X509_V_ERR_HOSTNAME_MISMATCH) {
        text += ": certificate of '" + presented_name_ + "', expected '" + expected_peer_name_ + "'";
      } else if (!presented_name_.empty()) {
        text += "; certificate of '" + presented_name_ + "'";
      }
      text += ")";
    }
  }
  fail(verify_failed || no_cert ? Failure::auth : Failure::tls, std::move(text));
  return true;
}

bool Connection::read_some() {
  bool progress = false;
  while (state_ == State::open && in_.tail - in_.head < input_cap_) {
    const std::size_t room = std::min(input_cap_ - (in_.tail - in_.head), kReadChunk);
    in_.reserve_tail(room);
    if (ssl_ != nullptr) {
      ERR_clear_error();
      errno = 0;
      std::size_t n = 0;
      const int r = SSL_read_ex(ssl_, in_.data + in_.tail, room, &n);
      if (r == 1) {
        in_.tail += n;
        progress = true;
        continue;
      }
      const int saved_errno = errno;
      const int e = SSL_get_error(ssl_, r);
      if (e == SSL_ERROR_WANT_READ) break;
      if (e == SSL_ERROR_WANT_WRITE) {
        want_write_ = true;
        break;
      }
      if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && saved_errno == 0)) {
        ERR_clear_error();
        fail(Failure::eof, peer_address_ + " closed the connection");
      } else if (e == SSL_ERROR_SYSCALL) {
        ERR_clear_error();
        fail(Failure::io, "read from " + peer_address_ + ": " + errno_text(saved_errno));
      } else {
        fail(Failure::tls, "TLS connection with " + peer_address_ + " failed: " +
                               tls_failure_text(e, saved_errno));
      }
      return true;
    }
    const ssize_t n = ::recv(fd_, in_.data + in_.tail, room, MSG_DONTWAIT);
    if (n > 0) {
      in_.tail += static_cast<std::size_t>(n);
      progress = true;
      if (static_cast<std::size_t>(n) < room) break;   // drained: save a recv that says EAGAIN
      continue;
    }
    if (n == 0) {
      fail(Failure::eof, peer_address_ + " closed the connection");
      return true;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    fail(Failure::io, "read from " + peer_address_ + ": " + errno_text(errno));
    return true;
  }
  return progress;
}

bool Connection::write_some() {
  bool progress = false;
  while (state_ == State::open && out_.tail > out_.head) {
    const std::size_t pending = out_.tail - out_.head;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      errno = 0;
      std::size_t n = 0;
      const int r = SSL_write_ex(ssl_, out_.data + out_.head, pending, &n);
      if (r == 1) {
        out_.head += n;
        progress = true;
        continue;
      }
      const int saved_errno = errno;
      const int e = SSL_get_error(ssl_, r);
      if (e == SSL_ERROR_WANT_WRITE) {
        want_write_ = true;
        break;
      }
      if (e == SSL_ERROR_WANT_READ) break;
      if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) {
        ERR_clear_error();
        if (saved_errno == 0) {
          fail(Failure::eof, peer_address_ + " closed the connection");
        } else {
          fail(saved_errno == EPIPE ? Failure::eof : Failure::io,
               "write to " + peer_address_ + ": " + errno_text(saved_errno));
        }
      } else {
        fail(Failure::tls, "TLS connection with " + peer_address_ + " failed: " +
                               tls_failure_text(e, saved_errno));
      }
      return true;
    }
    const ssize_t n = ::send(fd_, out_.data + out_.head, pending, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      out_.head += static_cast<std::size_t>(n);
      progress = progress || n > 0;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    fail(errno == EPIPE ? Failure::eof : Failure::io,
         "write to " + peer_address_ + ": " + errno_text(errno));
    return true;
  }
  if (out_.head == out_.tail) out_.clear();
  return progress;
}

void Connection::flush() {
  if (state_ == State::open) (void)write_some();
}

bool Connection::poll() {
  bool progress = false;
  if (state_ == State::connecting) progress = finish_connect();
  if (state_ == State::handshaking) progress = handshake() || progress;
  if (state_ == State::open) {
    want_write_ = false;   // read_some or write_some set it again
    progress = read_some() || progress;
    progress = write_some() || progress;
  }
  if ((state_ == State::connecting || state_ == State::handshaking) &&
      std::chrono::steady_clock::now() >= deadline_) {
    const auto ms = std::to_string(handshake_timeout_.count());
    fail(Failure::timeout, state_ == State::connecting
                               ? "connect to " + peer_address_ + " timed out after " + ms + " ms"
                               : "TLS handshake with " + peer_address_ + " timed out after " + ms + " ms");
    progress = true;
  }
  return progress;
}

void Connection::consume(std::size_t n) noexcept {
  in_.head += std::min(n, in_.tail - in_.head);
  if (in_.head == in_.tail) in_.clear();
}

bool Connection::send(std::span<const std::uint8_t> bytes) {
  if (state_ == State::closed) return false;
  if (bytes.size() > output_cap_ || pending_output() > output_cap_ - bytes.size()) return false;
  if (bytes.empty()) return true;
  out_.reserve_tail(bytes.size());
  std::memcpy(out_.data + out_.tail, bytes.data(), bytes.size());
  out_.tail += bytes.size();
  return true;
}

// ---- connect / listen ------------------------------------------------------------

std::unique_ptr<Connection> connect(const Endpoint& to, const TlsContext* tls, const LinkOptions& options) {
  const bool use_tls = tls != nullptr && !tls->insecure();
  std::unique_ptr<Connection> c(
      new Connection(-1, Connection::State::connecting, to_string(to), options));
  auto fail = [&](const std::string& why) {
    c->fail(Connection::Failure::connect, "connect to " + c->peer_address_ + " failed: " + why);
    return std::move(c);
  };
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(to.port);
  if (!to_in_addr(to.host, &sa.sin_addr)) return fail("'" + to.host + "' is not an IPv4 address");
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail("socket: " + errno_text(errno));
  c->fd_ = fd;
  set_nodelay(fd);
  set_buffers(fd, options.socket_buffer);
  if (!options.bind_address.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (!to_in_addr(options.bind_address, &local.sin_addr)) {
      return fail("bind address '" + options.bind_address + "' is not an IPv4 address");
    }
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
      return fail("bind to " + options.bind_address + ": " + errno_text(errno));
    }
  }
  if (use_tls && !Connection::Detail::attach_tls(*c, tls->native(), /*accepting=*/false)) {
    return c;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0) {
    c->state_ = use_tls ? Connection::State::handshaking : Connection::State::open;
  } else if (errno != EINPROGRESS && errno != EINTR) {
    return fail(errno_text(errno));
  }
  return c;
}

Listener::Listener(int fd, std::optional<TlsContext> tls, const LinkOptions& options) noexcept
    : fd_(fd), tls_(std::move(tls)), options_(options) {}

Listener::Listener(Listener&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      tls_(std::move(other.tls_)),
      options_(std::move(other.options_)),
      last_error_(std::move(other.last_error_)) {}

Listener& Listener::operator=(Listener&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    tls_ = std::move(other.tls_);
    options_ = std::move(other.options_);
    last_error_ = std::move(other.last_error_);
  }
  return *this;
}

Listener::~Listener() {
  if (fd_ >= 0) ::close(fd_);
}

LinkResult<Listener> Listener::open(const Endpoint& at, const TlsContext* tls, const LinkOptions& options,
                                int backlog) {
  LinkResult<Listener> out;
  const std::string where = "HA listen " + to_string(at) + ": ";
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(at.port);
  if (!to_in_addr(at.host, &sa.sin_addr)) {
    out.error = where + "'" + at.host + "' is not an IPv4 address";
    return out;
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    out.error = where + "socket: " + errno_text(errno);
    return out;
  }
  const int one = 1;
  const char* step = nullptr;
  set_buffers(fd, options.socket_buffer);
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    step = "SO_REUSEADDR";
  } else if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    step = "bind";
  } else if (::listen(fd, backlog) != 0) {
    step = "listen";
  }
  if (step != nullptr) {
    out.error = where + step + ": " + errno_text(errno);
    ::close(fd);
    return out;
  }
  std::optional<TlsContext> context;
  if (tls != nullptr && !tls->insecure()) context.emplace(*tls);
  out.value.emplace(Listener(fd, std::move(context), options));
  return out;
}

std::unique_ptr<Connection> Listener::accept() {
  if (fd_ < 0) return nullptr;
  for (;;) {
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    const int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&sa), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        last_error_ = "HA accept on " + to_string(local()) + ": " + errno_text(errno);
      }
      return nullptr;
    }
    set_nodelay(fd);
    const bool use_tls = tls_.has_value();
    std::unique_ptr<Connection> c(new Connection(
        fd, use_tls ? Connection::State::handshaking : Connection::State::open, sockaddr_text(sa),
        options_));
    if (use_tls) (void)Connection::Detail::attach_tls(*c, tls_->native(), /*accepting=*/true);
    return c;
  }
}

Endpoint Listener::local() const {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (fd_ < 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return {};
  return Endpoint{wire::format_ipv4(ntohl(sa.sin_addr.s_addr)), ntohs(sa.sin_port)};
}

}  // namespace dorado::ha
