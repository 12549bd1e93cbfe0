// ha/link.hpp: the HA link's transport on 127.0.0.1 (ephemeral ports only).
// Certificates come from the openssl CLI, made once into a temporary
// directory: a CA with "dhcp-a", "dhcp-b", "dhcp-c", a certificate whose
// only match for "dhcp-b" is a SAN DNS name, one whose only match is its CN,
// one with a wildcard SAN; a rogue CA (same subject as the real one) with its own "dhcp-b". Every wait is bounded (kWait).
#include "ha/link.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace dorado::ha {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
constexpr auto kWait = 5s;

// ---- helpers -----------------------------------------------------------------

// Calls step() until done() holds or `limit` passes; false on timeout.
template <class Step, class Done>
bool until(Step step, Done done, std::chrono::milliseconds limit = kWait) {
  const auto end = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > end) return false;
    step();
    std::this_thread::sleep_for(100us);
  }
  return true;
}

std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string text_of(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// A listener on 127.0.0.1 (ephemeral port), a connection to it, and the
// accepted end. Nothing is polled past the accept.
struct Pair {
  std::optional<Listener> listener;
  std::unique_ptr<Connection> client;
  std::unique_ptr<Connection> server;
};

Pair open_pair(const TlsContext* server_tls, const LinkOptions& server_options,
               const TlsContext* client_tls, const LinkOptions& client_options) {
  Pair p;
  auto opened = Listener::open({"127.0.0.1", 0}, server_tls, server_options);
  EXPECT_TRUE(opened.value.has_value()) << opened.error;
  if (!opened.value) return p;
  p.listener = std::move(opened.value);
  const Endpoint at = p.listener->local();
  EXPECT_EQ(at.host, "127.0.0.1");
  EXPECT_NE(at.port, 0);
  p.client = connect(at, client_tls, client_options);
  EXPECT_TRUE(until([&] { p.client->poll(); p.server = p.listener->accept(); },
                    [&] { return p.server != nullptr; }))
      << "no connection accepted; client: " << p.client->error();
  return p;
}

// Streams `ab` from a to b and `ba` from b to a at the same time, in
// random-sized send() pieces (retried when over the output cap) and
// random-sized consume() calls. Returns what each end received; checks the
// input cap on every step and that some write was partial (the socket took
// less than was queued).
struct Exchanged {
  std::vector<std::uint8_t> at_a, at_b;
  bool partial_write = false;
  bool partial_read = false;   // consume() left bytes in input()
};
Exchanged exchange(Connection& a, Connection& b, const std::vector<std::uint8_t>& ab,
                   const std::vector<std::uint8_t>& ba, std::size_t input_cap) {
  Exchanged x;
  std::mt19937 rng(7);
  std::size_t sent_ab = 0, sent_ba = 0;
  auto feed = [&](Connection& c, const std::vector<std::uint8_t>& data, std::size_t& sent) {
    if (sent == data.size()) return;
    const std::size_t n = std::min<std::size_t>(data.size() - sent, 1 + rng() % 300000);
    if (c.send(std::span(data).subspan(sent, n))) sent += n;
  };
  auto drain = [&](Connection& c, std::vector<std::uint8_t>& got) {
    auto in = c.input();
    EXPECT_LE(in.size(), input_cap);
    if (in.empty()) return;
    const std::size_t n = 1 + rng() % in.size();
    got.insert(got.end(), in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n));
    c.consume(n);
    if (!c.input().empty()) x.partial_read = true;
  };
  const bool done = until(
      [&] {
        feed(a, ab, sent_ab);
        feed(b, ba, sent_ba);
        a.poll();
        b.poll();
        if (a.pending_output() > 0 || b.pending_output() > 0) x.partial_write = true;
        drain(a, x.at_a);
        drain(b, x.at_b);
      },
      [&] {
        return (x.at_b.size() >= ab.size() && x.at_a.size() >= ba.size()) || a.is_closed() ||
               b.is_closed();
      },
      10s);
  EXPECT_TRUE(done) << "a->b " << x.at_b.size() << "/" << ab.size() << ", b->a " << x.at_a.size()
                    << "/" << ba.size();
  EXPECT_TRUE(a.is_open()) << a.error();
  EXPECT_TRUE(b.is_open()) << b.error();
  return x;
}

// ---- certificates ------------------------------------------------------------

class Pki {
 public:
  bool make(std::string* error) {
    char tmpl[] = "/tmp/dorado-ha-link-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      *error = "mkdtemp failed";
      return false;
    }
    dir_ = tmpl;
    return make_ca("ca", "dorado test CA", error) &&
           make_leaf("a", "dhcp-a", "DNS:dhcp-a", "ca", error) &&
           make_leaf("b", "dhcp-b", "DNS:dhcp-b", "ca", error) &&
           make_leaf("c", "dhcp-c", "DNS:dhcp-c", "ca", error) &&
           make_leaf("san", "not-a-peer", "DNS:dhcp-x,DNS:dhcp-b", "ca", error) &&
           make_leaf("cn", "dhcp-b", "DNS:dhcp-x", "ca", error) &&
           make_leaf("wild", "wild", "DNS:*.pair.test", "ca", error) &&
           make_ca("rogue-ca", "dorado test CA", error) &&
           make_leaf("rogue-b", "dhcp-b", "DNS:dhcp-b", "rogue-ca", error);
  }
  ~Pki() {
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  std::string path(const std::string& file) const { return dir_ + "/" + file; }
  // ca: which CA file this end trusts; who: whose cert and key it presents.
  TlsSettings settings(const std::string& ca, const std::string& who) const {
    return TlsSettings{false, path(ca + ".pem"), path(who + ".pem"), path(who + ".key")};
  }

 private:
  bool run(const std::string& args, std::string* error) {
    const std::string log = path("openssl.log");
    const std::string cmd = std::string(DORADO_OPENSSL_BIN) + " " + args + " >>" + log + " 2>&1";
    if (std::system(cmd.c_str()) == 0) return true;
    std::ifstream in(log);
    *error = "failed: " + cmd + "\n" + std::string(std::istreambuf_iterator<char>(in), {});
    return false;
  }
  bool make_ca(const std::string& name, const std::string& cn, std::string* error) {
    return run("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
               " -keyout " + path(name + ".key") + " -out " + path(name + ".pem") +
                   " -subj '/CN=" + cn + "'"
                   " -addext basicConstraints=critical,CA:TRUE"
                   " -addext keyUsage=critical,keyCertSign,cRLSign",
               error);
  }
  bool make_leaf(const std::string& name, const std::string& cn, const std::string& san,
                 const std::string& ca, std::string* error) {
    {
      std::ofstream ext(path(name + ".ext"));
      ext << "basicConstraints=CA:FALSE\n"
             "keyUsage=critical,digitalSignature\n"
             "extendedKeyUsage=serverAuth,clientAuth\n"
             "subjectAltName=" << san << "\n";
    }
    return run("req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
               " -keyout " + path(name + ".key") + " -out " + path(name + ".csr") +
                   " -subj '/CN=" + cn + "'",
               error) &&
           run("x509 -req -days 2 -set_serial " + std::to_string(++serial_) + " -in " +
                   path(name + ".csr") + " -CA " + path(ca + ".pem") + " -CAkey " +
                   path(ca + ".key") + " -extfile " + path(name + ".ext") + " -out " +
                   path(name + ".pem"),
               error);
  }
  std::string dir_;
  int serial_ = 1;
};

class HaLink : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A SIGPIPE must kill the test, not pass unnoticed.
    std::signal(SIGPIPE, SIG_DFL);
    pki_ = new Pki;
    if (!pki_->make(&pki_error_)) return;
    const std::pair<const char*, TlsSettings> wanted[] = {
        {"a", pki_->settings("ca", "a")},
        {"b", pki_->settings("ca", "b")},
        {"c", pki_->settings("ca", "c")},
        {"san", pki_->settings("ca", "san")},
        {"cn", pki_->settings("ca", "cn")},
        {"wild", pki_->settings("ca", "wild")},
        // A certificate from the rogue CA, presented by an end that trusts
        // the real CA (so only the other end's check can refuse it).
        {"rogue-b", pki_->settings("ca", "rogue-b")},
        {"insecure", TlsSettings{true, "", "", ""}},
    };
    contexts_ = new std::map<std::string, TlsContext>;
    for (const auto& [name, settings] : wanted) {
      auto created = TlsContext::create(settings);
      if (!created.value) {
        pki_error_ = std::string(name) + ": " + created.error;
        return;
      }
      contexts_->emplace(name, std::move(*created.value));
    }
  }
  static void TearDownTestSuite() {
    delete contexts_;
    contexts_ = nullptr;
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(pki_error_.empty()) << pki_error_; }

  static const TlsContext* tls(const std::string& name) { return &contexts_->at(name); }
  static LinkOptions expecting(const std::string& name) {
    LinkOptions o;
    o.expected_peer_name = name;
    return o;
  }

  static Pki* pki_;
  static std::string pki_error_;
  static std::map<std::string, TlsContext>* contexts_;
};
Pki* HaLink::pki_ = nullptr;
std::string HaLink::pki_error_;
std::map<std::string, TlsContext>* HaLink::contexts_ = nullptr;

// ---- endpoints and settings --------------------------------------------------

TEST(HaEndpoint, ParsesIpv4AndPort) {
  std::string error;
  auto e = parse_endpoint("10.98.0.1:8647", &error);
  ASSERT_TRUE(e.has_value()) << error;
  EXPECT_EQ(e->host, "10.98.0.1");
  EXPECT_EQ(e->port, 8647);
  EXPECT_EQ(to_string(*e), "10.98.0.1:8647");
  e = parse_endpoint("127.0.0.1:65535", &error);
  ASSERT_TRUE(e.has_value()) << error;
  EXPECT_EQ(e->port, 65535);
}

TEST(HaEndpoint, RefusesWhatIsNotIpv4AndPort) {
  const std::pair<const char*, const char*> bad[] = {
      {"10.98.0.1", "expected IPv4-address:port"},
      {"10.98.0.1:", "expected IPv4-address:port"},
      {":8647", "expected IPv4-address:port"},
      {"dhcp-b:8647", "'dhcp-b' is not an IPv4 address"},
      {"10.98.0.256:8647", "'10.98.0.256' is not an IPv4 address"},
      {"[::1]:8647", "is not an IPv4 address"},
      {"10.98.0.1:0", "port '0' is not a number from 1 to 65535"},
      {"10.98.0.1:65536", "port '65536'"},
      {"10.98.0.1:86x", "port '86x'"},
      {"10.98.0.1:-1", "port '-1'"},
  };
  for (const auto& [text, why] : bad) {
    std::string error;
    EXPECT_FALSE(parse_endpoint(text, &error).has_value()) << text;
    EXPECT_NE(error.find(std::string("HA endpoint '") + text + "'"), std::string::npos) << error;
    EXPECT_NE(error.find(why), std::string::npos) << text << ": " << error;
  }
  EXPECT_FALSE(parse_endpoint("nonsense", nullptr).has_value());   // error may be null
}

TEST_F(HaLink, TlsContextErrorsNameTheFile) {
  TlsSettings s = pki_->settings("ca", "a");
  s.ca.clear();
  auto r = TlsContext::create(s);
  EXPECT_FALSE(r.value.has_value());
  EXPECT_NE(r.error.find("no ca file given"), std::string::npos) << r.error;

  s = pki_->settings("ca", "a");
  s.cert = pki_->path("missing.pem");
  r = TlsContext::create(s);
  EXPECT_FALSE(r.value.has_value());
  EXPECT_EQ(r.error, "HA TLS cert " + s.cert + ": No such file or directory");

  // Not PEM at all: OpenSSL's reason, with the file's name.
  s = pki_->settings("ca", "a");
  s.ca = pki_->path("a.ext");
  r = TlsContext::create(s);
  EXPECT_FALSE(r.value.has_value());
  EXPECT_EQ(r.error.rfind("HA TLS ca " + s.ca + ": ", 0), 0u) << r.error;
  EXPECT_GT(r.error.size(), ("HA TLS ca " + s.ca + ": ").size()) << r.error;

  s = pki_->settings("ca", "a");
  s.key = pki_->path("b.key");
  r = TlsContext::create(s);
  EXPECT_FALSE(r.value.has_value());
  EXPECT_EQ(r.error, "HA TLS key " + s.key + " does not match cert " + s.cert + ": key values mismatch");

  r = TlsContext::create(TlsSettings{true, "", "", ""});
  ASSERT_TRUE(r.value.has_value()) << r.error;
  EXPECT_TRUE(r.value->insecure());
  EXPECT_FALSE(tls("a")->insecure());
}

TEST_F(HaLink, ListenerReportsBindErrors) {
  auto first = Listener::open({"127.0.0.1", 0}, nullptr);
  ASSERT_TRUE(first.value.has_value()) << first.error;
  const Endpoint at = first.value->local();
  auto second = Listener::open(at, nullptr);
  EXPECT_FALSE(second.value.has_value());
  EXPECT_EQ(second.error, "HA listen " + to_string(at) + ": bind: Address already in use");
  auto bad = Listener::open({"localhost", 8647}, nullptr);
  EXPECT_FALSE(bad.value.has_value());
  EXPECT_NE(bad.error.find("'localhost' is not an IPv4 address"), std::string::npos) << bad.error;
  EXPECT_EQ(first.value->accept(), nullptr);   // none waiting: returns at once
  EXPECT_TRUE(first.value->last_error().empty()) << first.value->last_error();
}

// ---- plain TCP (insecure) ----------------------------------------------------

TEST_F(HaLink, PlainExchangeBothWaysWithPartialReadsAndWrites) {
  LinkOptions small;
  small.input_cap = 64 << 10;        // back pressure: the sender must stall
  small.socket_buffer = 64 << 10;    // and the kernel cannot hide it
  Pair p = open_pair(tls("insecure"), small, tls("insecure"), small);
  ASSERT_TRUE(p.server && p.client);
  EXPECT_FALSE(p.client->tls());
  EXPECT_TRUE(p.server->is_open());   // plain: open once accepted
  ASSERT_TRUE(until([&] { p.client->poll(); }, [&] { return p.client->is_open(); }))
      << p.client->error();
  EXPECT_EQ(p.client->peer_address(), to_string(p.listener->local()));
  EXPECT_EQ(p.server->peer_address().rfind("127.0.0.1:", 0), 0u) << p.server->peer_address();
  EXPECT_EQ(p.client->peer_name(), "");

  const auto ab = random_bytes(6 << 20, 1), ba = random_bytes(5 << 20, 2);
  const Exchanged x = exchange(*p.client, *p.server, ab, ba, small.input_cap);
  EXPECT_TRUE(x.at_b == ab) << "client->server stream differs";
  EXPECT_TRUE(x.at_a == ba) << "server->client stream differs";
  EXPECT_TRUE(x.partial_write);
  EXPECT_TRUE(x.partial_read);
}

TEST_F(HaLink, ConnectToClosedPortFailsWithoutBlocking) {
  Endpoint at;
  {
    auto opened = Listener::open({"127.0.0.1", 0}, nullptr);
    ASSERT_TRUE(opened.value.has_value()) << opened.error;
    at = opened.value->local();
  }   // closed: nothing listens on that port now
  const auto start = Clock::now();
  auto c = connect(at, tls("a"));
  EXPECT_LT(Clock::now() - start, 200ms);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(until([&] { c->poll(); }, [&] { return c->is_closed(); }, 2000ms));
  EXPECT_EQ(c->failure(), Connection::Failure::connect);
  EXPECT_FALSE(c->auth_failed());
  EXPECT_EQ(c->error(), "connect to " + to_string(at) + " failed: Connection refused");
  EXPECT_EQ(c->fd(), -1);
  EXPECT_EQ(c->poll_events(), 0);
  EXPECT_FALSE(c->send(bytes_of("x")));
}

TEST_F(HaLink, BindAddress) {
  LinkOptions o;
  o.bind_address = "127.0.0.1";
  Pair p = open_pair(nullptr, {}, nullptr, o);
  ASSERT_TRUE(p.server && p.client);
  EXPECT_EQ(p.server->peer_address().rfind("127.0.0.1:", 0), 0u);

  o.bind_address = "127.0.0.300";
  auto c = connect(p.listener->local(), nullptr, o);
  EXPECT_TRUE(c->is_closed());
  EXPECT_EQ(c->failure(), Connection::Failure::connect);
  EXPECT_NE(c->error().find("bind address '127.0.0.300' is not an IPv4 address"), std::string::npos)
      << c->error();
}

TEST_F(HaLink, OutputCapRefusesWholeSendsAndRecovers) {
  LinkOptions capped;
  capped.output_cap = 1 << 20;
  Pair p = open_pair(nullptr, {}, nullptr, capped);
  ASSERT_TRUE(p.server && p.client);
  const auto chunk = random_bytes(48 << 10, 3);
  std::size_t accepted = 0;
  // The server reads nothing: kernel buffers fill, then the output buffer.
  const bool refused = until(
      [&] {
        if (p.client->send(chunk)) accepted += chunk.size();
        p.client->poll();
      },
      [&] {
        const std::size_t before = p.client->pending_output();
        if (p.client->send(chunk)) {
          accepted += chunk.size();
          return false;
        }
        EXPECT_EQ(p.client->pending_output(), before);   // nothing of it taken
        return true;
      });
  ASSERT_TRUE(refused) << "send() never refused; pending " << p.client->pending_output();
  EXPECT_LE(p.client->pending_output(), capped.output_cap);
  EXPECT_GT(p.client->pending_output() + chunk.size(), capped.output_cap);
  EXPECT_TRUE(p.client->is_open());
  EXPECT_FALSE(p.client->send(random_bytes(capped.output_cap + 1, 4)));   // never fits

  // The reader catches up: everything accepted arrives, intact, and the
  // output buffer takes bytes again.
  std::size_t received = 0;
  bool intact = true;
  ASSERT_TRUE(until(
      [&] {
        p.client->poll();
        p.server->poll();
        auto in = p.server->input();
        for (std::size_t i = 0; i < in.size(); ++i) {
          intact = intact && in[i] == chunk[(received + i) % chunk.size()];
        }
        received += in.size();
        p.server->consume(in.size());
      },
      [&] { return received == accepted; }))
      << received << " of " << accepted;
  EXPECT_TRUE(intact);
  EXPECT_EQ(p.client->pending_output(), 0u);
  EXPECT_TRUE(p.client->send(chunk));
}

TEST_F(HaLink, InputCapStopsReadingUntilConsumed) {
  LinkOptions capped;
  capped.input_cap = 100000;
  capped.socket_buffer = 64 << 10;
  Pair p = open_pair(nullptr, capped, nullptr, capped);
  ASSERT_TRUE(p.server && p.client);
  const auto data = random_bytes(3 << 20, 5);
  ASSERT_TRUE(p.client->send(data));
  // Unconsumed input stops at the cap; the rest waits in the kernel and in
  // the client's output buffer.
  ASSERT_TRUE(until([&] { p.client->poll(); p.server->poll(); },
                    [&] { return p.server->input().size() == capped.input_cap; }));
  for (int i = 0; i < 50; ++i) {
    p.client->poll();
    p.server->poll();
  }
  EXPECT_EQ(p.server->input().size(), capped.input_cap);
  EXPECT_EQ(p.server->poll_events() & POLLIN, 0);
  EXPECT_GT(p.client->pending_output(), 0u);
  std::vector<std::uint8_t> got;
  ASSERT_TRUE(until(
      [&] {
        p.client->poll();
        p.server->poll();
        auto in = p.server->input();
        EXPECT_LE(in.size(), capped.input_cap);
        got.insert(got.end(), in.begin(), in.end());
        p.server->consume(in.size());
      },
      [&] { return got.size() >= data.size(); }));
  EXPECT_TRUE(got == data);
}

TEST_F(HaLink, PeerCloseKeepsReceivedInput) {
  for (const char* mode : {"insecure", "tls"}) {
    SCOPED_TRACE(mode);
    const bool secure = std::string(mode) == "tls";
    Pair p = open_pair(secure ? tls("b") : nullptr, {}, secure ? tls("a") : nullptr, {});
    ASSERT_TRUE(p.server && p.client);
    ASSERT_TRUE(p.client->send(bytes_of("last words")));
    ASSERT_TRUE(until([&] { p.client->poll(); p.server->poll(); },
                      [&] { return p.client->is_open() && p.client->pending_output() == 0; }))
        << p.client->error();
    p.client->close("done here");
    EXPECT_TRUE(p.client->is_closed());
    EXPECT_EQ(p.client->error(), "done here");
    EXPECT_EQ(p.client->failure(), Connection::Failure::none);
    ASSERT_TRUE(until([&] { p.server->poll(); }, [&] { return p.server->is_closed(); }));
    EXPECT_EQ(p.server->failure(), Connection::Failure::eof) << p.server->error();
    EXPECT_EQ(p.server->error(), p.server->peer_address() + " closed the connection");
    EXPECT_EQ(text_of(p.server->input()), "last words");
  }
}

// Writes only (flush(), no reads) to a peer that went away: with unread
// bytes at the peer the kernel resets the stream (ECONNRESET); after a clean
// close the first write draws a reset and the next one EPIPE, which raises
// SIGPIPE unless the send says MSG_NOSIGNAL (the TLS BIO included).
TEST_F(HaLink, WritingToAClosedPeerRaisesNoSigpipe) {
  for (const bool secure : {false, true}) {
    for (const bool unread : {true, false}) {
      SCOPED_TRACE(std::string(secure ? "TLS" : "plain") + (unread ? ", reset" : ", clean close"));
      Pair p = open_pair(secure ? tls("b") : nullptr, {}, secure ? tls("a") : nullptr, {});
      ASSERT_TRUE(p.server && p.client);
      ASSERT_TRUE(until([&] { p.client->poll(); p.server->poll(); },
                        [&] { return p.client->is_open() && p.server->is_open(); }));
      if (unread) {
        ASSERT_TRUE(p.client->send(bytes_of("unread")));
        ASSERT_TRUE(until([&] { p.client->flush(); }, [&] { return p.client->pending_output() == 0; }));
        std::this_thread::sleep_for(20ms);
      }
      p.server->close("going away");
      std::this_thread::sleep_for(20ms);
      const auto chunk = random_bytes(16 << 10, 6);
      ASSERT_TRUE(until([&] { (void)p.client->send(chunk); p.client->flush(); },
                        [&] { return p.client->is_closed(); }));
      EXPECT_EQ(p.client->failure(), unread ? Connection::Failure::io : Connection::Failure::eof)
          << p.client->error();
      EXPECT_EQ(p.client->error().rfind("write to " + p.client->peer_address() + ": ", 0), 0u)
          << p.client->error();
    }
  }
}

// ---- mutual TLS ------------------------------------------------------------------

TEST_F(HaLink, MutualTlsExchange) {
  LinkOptions server = expecting("dhcp-a"), client = expecting("dhcp-b");
  server.input_cap = client.input_cap = 256 << 10;
  server.socket_buffer = client.socket_buffer = 64 << 10;
  Pair p = open_pair(tls("b"), server, tls("a"), client);
  ASSERT_TRUE(p.server && p.client);
  EXPECT_TRUE(p.client->tls());
  EXPECT_TRUE(p.server->tls());
  EXPECT_EQ(p.server->state(), Connection::State::handshaking);
  ASSERT_TRUE(until([&] { p.client->poll(); p.server->poll(); },
                    [&] { return (p.client->is_open() && p.server->is_open()) ||
                                 p.client->is_closed() || p.server->is_closed(); }));
  ASSERT_TRUE(p.client->is_open()) << p.client->error();
  ASSERT_TRUE(p.server->is_open()) << p.server->error();
  EXPECT_EQ(p.client->peer_name(), "dhcp-b");
  EXPECT_EQ(p.server->peer_name(), "dhcp-a");

  const auto ab = random_bytes(5 << 20, 11), ba = random_bytes(4 << 20, 12);
  const Exchanged x = exchange(*p.client, *p.server, ab, ba, server.input_cap);
  EXPECT_TRUE(x.at_b == ab) << "client->server stream differs";
  EXPECT_TRUE(x.at_a == ba) << "server->client stream differs";
  EXPECT_TRUE(x.partial_write);
  EXPECT_TRUE(x.partial_read);
}

TEST_F(HaLink, ExpectedPeerNameMatchesSanDnsNameOrCn) {
  // "san": CN not-a-peer, SAN dhcp-x and dhcp-b; "cn": CN dhcp-b, SAN dhcp-x.
  for (const char* cert : {"san", "cn"}) {
    SCOPED_TRACE(cert);
    Pair p = open_pair(tls(cert), {}, tls("a"), expecting("dhcp-b"));
    ASSERT_TRUE(p.server && p.client);
    ASSERT_TRUE(until([&] { p.client->poll(); p.server->poll(); },
                      [&] { return (p.client->is_open() && p.server->is_open()) ||
                                   p.client->is_closed() || p.server->is_closed(); }));
    EXPECT_TRUE(p.client->is_open()) << p.client->error();
    EXPECT_EQ(p.client->peer_name(), std::string(cert) == "san" ? "not-a-peer" : "dhcp-b");
  }
  // Equal means equal: no prefix, no wildcard ("wild": SAN *.pair.test).
  const std::pair<const char*, const char*> refused[] = {
      {"san", "dhcp"}, {"san", "dhcp-*"}, {"wild", "dhcp-b.pair.test"}};
  for (const auto& [cert, name] : refused) {
    SCOPED_TRACE(std::string(cert) + " expecting " + name);
    Pair p = open_pair(tls(cert), {}, tls("a"), expecting(name));
    ASSERT_TRUE(p.server && p.client);
    ASSERT_TRUE(until([&] { p.client->poll(); p.server->poll(); },
                      [&] { return p.client->is_closed(); }));
    EXPECT_TRUE(p.client->auth_failed()) << p.client->error();
  }
}

// SO_REUSEADDR: the listener's port can be bound again at once although the
// accepted side closed first (its socket waits in TIME_WAIT on that port).
TEST_F(HaLink, ListenerRebindsWhileOldConnectionsWait) {
  Endpoint at;
  {
    Pair p = open_pair(nullptr, {}, nullptr, {});
    ASSERT_TRUE(p.server && p.client);
    at = p.listener->local();
    ASSERT_TRUE(until([&] { p.client->poll(); }, [&] { return p.client->is_open(); }));
    p.server->close("server closes first");
    ASSERT_TRUE(until([&] { p.client->poll(); }, [&] { return p.client->is_closed(); }));
  }
  auto again = Listener::open(at, nullptr);
  EXPECT_TRUE(again.ok()) << again.error;
}

// Drives both ends until both are closed, checking on every step that the
// refusing end exposes no input and never opens.
void expect_refused(Pair& p, Connection& refuser, Connection& refused) {
  bool refuser_opened = false;
  ASSERT_TRUE(until(
      [&] {
        refused.poll();
        refuser.poll();
        refuser_opened = refuser_opened || refuser.is_open();
        EXPECT_TRUE(refuser.input().empty());
      },
      [&] { return refuser.is_closed() && refused.is_closed(); }))
      << "refuser: " << refuser.error() << "; refused: " << refused.error();
  EXPECT_FALSE(refuser_opened);
  EXPECT_TRUE(refuser.input().empty());
  EXPECT_EQ(refuser.failure(), Connection::Failure::auth) << refuser.error();
  EXPECT_TRUE(refuser.auth_failed());
  EXPECT_EQ(refuser.error().rfind("TLS handshake with " + refuser.peer_address() + " failed: ", 0), 0u)
      << refuser.error();
  // The refused end learns from the alert; that is not its own refusal.
  EXPECT_EQ(refused.failure(), Connection::Failure::tls) << refused.error();
  EXPECT_FALSE(refused.auth_failed());
  EXPECT_TRUE(refused.input().empty());
  EXPECT_EQ(refuser.peer_name(), "");
  (void)p;
}

TEST_F(HaLink, ServerRefusesClientCertificateFromAnotherCa) {
  Pair p = open_pair(tls("a"), expecting("dhcp-b"), tls("rogue-b"), expecting("dhcp-a"));
  ASSERT_TRUE(p.server && p.client);
  ASSERT_TRUE(p.client->send(bytes_of("apply this lease")));   // leaves once it thinks it is open
  expect_refused(p, *p.server, *p.client);
  EXPECT_NE(p.server->error().find("certificate verify failed (unable to get local issuer "
                                   "certificate; certificate of 'dhcp-b')"),
            std::string::npos)
      << p.server->error();
  EXPECT_NE(p.client->error().find("alert unknown ca"), std::string::npos) << p.client->error();
}

TEST_F(HaLink, ClientRefusesServerCertificateFromAnotherCa) {
  Pair p = open_pair(tls("rogue-b"), {}, tls("a"), expecting("dhcp-b"));
  ASSERT_TRUE(p.server && p.client);
  ASSERT_TRUE(p.server->send(bytes_of("apply this lease")));
  expect_refused(p, *p.client, *p.server);
  EXPECT_EQ(p.client->error(), "TLS handshake with " + p.client->peer_address() +
                                   " failed: certificate verify failed (unable to get local "
                                   "issuer certificate; certificate of 'dhcp-b')");
  EXPECT_NE(p.server->error().find("alert unknown ca"), std::string::npos) << p.server->error();
}

TEST_F(HaLink, ClientRefusesUnexpectedPeerName) {
  Pair p = open_pair(tls("b"), {}, tls("a"), expecting("dhcp-c"));
  ASSERT_TRUE(p.server && p.client);
  expect_refused(p, *p.client, *p.server);
  EXPECT_NE(p.client->error().find(
                "certificate verify failed (hostname mismatch: certificate of 'dhcp-b', expected 'dhcp-c')"),
            std::string::npos)
      << p.client->error();
}

TEST_F(HaLink, ServerRefusesUnexpectedPeerName) {
  Pair p = open_pair(tls("b"), {}, tls("c"), expecting("dhcp-b"));
  ASSERT_TRUE(p.server && p.client);
  // Set after accept(), before the first poll: still in time.
  ASSERT_TRUE(p.server->set_expected_peer_name("dhcp-a"));
  ASSERT_TRUE(p.client->send(bytes_of("apply this lease")));
  expect_refused(p, *p.server, *p.client);
  EXPECT_FALSE(p.server->set_expected_peer_name("dhcp-c"));   // too late now
  EXPECT_NE(p.server->error().find(
                "certificate verify failed (hostname mismatch: certificate of 'dhcp-c', expected 'dhcp-a')"),
            std::string::npos)
      << p.server->error();
}

// A client without a certificate (raw OpenSSL on its own thread, blocking
// socket with timeouts), over TLS 1.3 and 1.2.
TEST_F(HaLink, ServerRefusesClientWithoutCertificate) {
  for (const int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SCOPED_TRACE(version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2");
    auto opened = Listener::open({"127.0.0.1", 0}, tls("a"));
    ASSERT_TRUE(opened.value.has_value()) << opened.error;
    const Endpoint at = opened.value->local();
    int client_read = 1;
    std::string client_error;
    std::thread client([&] {
      SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
      SSL_CTX_set_max_proto_version(ctx, version);
      SSL_CTX_load_verify_locations(ctx, pki_->path("ca.pem").c_str(), nullptr);
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      timeval tv{5, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(at.port);
      inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
      SSL* ssl = SSL_new(ctx);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
        SSL_set_fd(ssl, fd);
        if (SSL_connect(ssl) == 1) {
          (void)SSL_write(ssl, "apply this lease", 16);
          char buf[64];
          client_read = SSL_read(ssl, buf, sizeof buf);
        } else {
          client_read = 0;
        }
        char err[256];
        ERR_error_string_n(ERR_peek_error(), err, sizeof err);
        client_error = err;
      }
      ERR_clear_error();
      SSL_free(ssl);
      SSL_CTX_free(ctx);
      ::close(fd);
    });
    std::unique_ptr<Connection> server;
    bool opened_once = false;
    const bool closed = until(
        [&] {
          if (!server) server = opened.value->accept();
          if (server) {
            server->poll();
            opened_once = opened_once || server->is_open();
            EXPECT_TRUE(server->input().empty());
          }
        },
        [&] { return server && server->is_closed(); });
    client.join();
    ASSERT_TRUE(closed) << (server ? server->error() : "nothing accepted");
    EXPECT_FALSE(opened_once);
    EXPECT_TRUE(server->auth_failed()) << server->error();
    EXPECT_EQ(server->error(), "TLS handshake with " + server->peer_address() +
                                   " failed: peer did not return a certificate");
    EXPECT_TRUE(server->input().empty());
    EXPECT_LE(client_read, 0) << "the client read something";
    EXPECT_FALSE(client_error.empty());
  }
}

// ---- timeouts and a peer that does not speak TLS -------------------------------

TEST_F(HaLink, HandshakeTimesOutAgainstASilentPeer) {
  LinkOptions quick;
  quick.handshake_timeout = 200ms;
  // A TLS client against a plain listener that never answers.
  {
    Pair p = open_pair(nullptr, {}, tls("a"), quick);
    ASSERT_TRUE(p.server && p.client);
    const auto start = Clock::now();
    ASSERT_TRUE(until([&] { p.client->poll(); }, [&] { return p.client->is_closed(); }, 3000ms));
    EXPECT_GE(Clock::now() - start, 150ms);
    EXPECT_EQ(p.client->failure(), Connection::Failure::timeout);
    EXPECT_EQ(p.client->error(),
              "TLS handshake with " + p.client->peer_address() + " timed out after 200 ms");
  }
  // A plain client that connects to a TLS listener and sends nothing.
  {
    Pair p = open_pair(tls("a"), quick, nullptr, {});
    ASSERT_TRUE(p.server && p.client);
    ASSERT_TRUE(until([&] { p.server->poll(); }, [&] { return p.server->is_closed(); }, 3000ms));
    EXPECT_EQ(p.server->failure(), Connection::Failure::timeout) << p.server->error();
    EXPECT_FALSE(p.server->auth_failed());
  }
}

TEST_F(HaLink, PlainPeerOnTlsListenerIsRefused) {
  Pair p = open_pair(tls("a"), {}, nullptr, {});
  ASSERT_TRUE(p.server && p.client);
  ASSERT_TRUE(p.client->send(bytes_of("{\"command\": \"lease4-update\"}\r\n\r\n")));
  ASSERT_TRUE(until(
      [&] {
        p.client->poll();
        p.server->poll();
        EXPECT_TRUE(p.server->input().empty());
      },
      [&] { return p.server->is_closed(); }));
  EXPECT_EQ(p.server->failure(), Connection::Failure::tls) << p.server->error();
  EXPECT_EQ(p.server->error().rfind("TLS handshake with " + p.server->peer_address() + " failed: ", 0), 0u)
      << p.server->error();
  EXPECT_TRUE(p.server->input().empty());
}

}  // namespace
}  // namespace dorado::ha
