// DNS UPDATE messages, DHCID and TSIG (message.hpp). ldns builds and parses
// the messages; the TSIG MAC itself is computed here with OpenSSL's HMAC
// over the RFC 8945 section 4.3 digest (why not ldns_pkt_tsig_sign: see
// message.hpp "TSIG").
#include "ddns/message.hpp"

#include <ldns/ldns.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>

#include "engine/lease.hpp"   // kKeyKindHw, kKeyKindClientId (header only: constants)

namespace dorado::ddns {

namespace {

using Bytes = std::vector<std::uint8_t>;

struct RdfFree {
  void operator()(ldns_rdf* r) const noexcept { ldns_rdf_deep_free(r); }
};
struct RrListFree {
  void operator()(ldns_rr_list* l) const noexcept { ldns_rr_list_deep_free(l); }
};
struct PktFree {
  void operator()(ldns_pkt* p) const noexcept { ldns_pkt_free(p); }
};
struct MallocFree {
  void operator()(std::uint8_t* p) const noexcept { free(p); }   // NOLINT: ldns allocates with malloc
};
using Rdf = std::unique_ptr<ldns_rdf, RdfFree>;
using RrList = std::unique_ptr<ldns_rr_list, RrListFree>;
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

constexpr std::uint16_t kTsigFudge = 300;
constexpr std::size_t kHeaderSize = 12;
constexpr std::uint16_t kTypeTsig = 250;
constexpr std::uint16_t kClassAny = 255;

void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void put32(Bytes& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}
void put48(Bytes& b, std::uint64_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 32));
  put32(b, static_cast<std::uint32_t>(v));
}
std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

// `name` (with or without the trailing dot) as an absolute domain name;
// null when ldns refuses it (a label over 63 octets, a name over 255, an
// empty label), or when it is empty or the root.
Rdf make_dname(std::string_view name) {
  if (name.empty() || name == "." || name.size() > 254) return nullptr;
  std::string text(name);
  if (text.back() != '.') text.push_back('.');
  return Rdf(ldns_dname_new_frm_str(text.c_str()));
}

// The wire form of `name`, lower case (RFC 4034 section 6.2's canonical
// form: no compression, ASCII letters folded).
Bytes canonical_wire(const ldns_rdf* name) {
  Rdf copy(ldns_rdf_clone(name));
  if (!copy) return {};
  ldns_dname2canonical(copy.get());
  const std::uint8_t* d = ldns_rdf_data(copy.get());
  return Bytes(d, d + ldns_rdf_size(copy.get()));
}

// ---- TSIG (RFC 8945) --------------------------------------------------------

const EVP_MD* tsig_digest(TsigAlgorithm a) {
  switch (a) {
    case TsigAlgorithm::hmac_md5: return EVP_md5();
    case TsigAlgorithm::hmac_sha1: return EVP_sha1();
    case TsigAlgorithm::hmac_sha224: return EVP_sha224();
    case TsigAlgorithm::hmac_sha256: return EVP_sha256();
    case TsigAlgorithm::hmac_sha384: return EVP_sha384();
    case TsigAlgorithm::hmac_sha512: return EVP_sha512();
  }
  return nullptr;
}

// The algorithm's name in the TSIG RR (RFC 8945 section 6): the config's
// name, except hmac-md5's historical one.
std::string_view tsig_wire_name(TsigAlgorithm a) {
  return a == TsigAlgorithm::hmac_md5 ? std::string_view("hmac-md5.sig-alg.reg.int") : tsig_algorithm_name(a);
}

// The fields of a TSIG RR this layer reads or writes.
struct TsigFields {
  Bytes key_name;    // canonical wire
  Bytes algorithm;   // canonical wire
  std::uint64_t time_signed = 0;
  std::uint16_t fudge = 0;
  Bytes mac;
  std::uint16_t original_id = 0;
  std::uint16_t error = 0;
  Bytes other;
};

// HMAC over RFC 8945 section 4.3.3's digest: [request MAC] + message (as
// given: the caller has restored the original id and ARCOUNT) + the TSIG
// variables.
Bytes tsig_mac(const TsigKey& key, std::span<const std::uint8_t> request_mac, std::span<const std::uint8_t> message,
               const TsigFields& f) {
  Bytes d;
  d.reserve(request_mac.size() + message.size() + 128 + f.other.size());
  if (!request_mac.empty()) {
    put16(d, static_cast<std::uint16_t>(request_mac.size()));
    d.insert(d.end(), request_mac.begin(), request_mac.end());
  }
  d.insert(d.end(), message.begin(), message.end());
  d.insert(d.end(), f.key_name.begin(), f.key_name.end());
  put16(d, kClassAny);
  put32(d, 0);   // TTL
  d.insert(d.end(), f.algorithm.begin(), f.algorithm.end());
  put48(d, f.time_signed);
  put16(d, f.fudge);
  put16(d, f.error);
  put16(d, static_cast<std::uint16_t>(f.other.size()));
  d.insert(d.end(), f.other.begin(), f.other.end());

  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  const EVP_MD* md = tsig_digest(key.algorithm);
  if (md == nullptr || key.secret.empty() ||
      HMAC(md, key.secret.data(), static_cast<int>(key.secret.size()), d.data(), d.size(), out.data(), &len) ==
          nullptr)
    return {};
  return Bytes(out.begin(), out.begin() + len);
}

// The key's name and algorithm in canonical wire form; false if the name
// is not a domain name.
bool key_names(const TsigKey& key, Bytes& name, Bytes& algorithm) {
  const Rdf n = make_dname(key.name);
  const Rdf a = make_dname(tsig_wire_name(key.algorithm));
  if (!n || !a) return false;
  name = canonical_wire(n.get());
  algorithm = canonical_wire(a.get());
  return !name.empty() && !algorithm.empty();
}

// ---- a minimal walk over a message's records --------------------------------

// Offset just past the (possibly compressed) name at `at`, or nullopt.
std::optional<std::size_t> skip_name(std::span<const std::uint8_t> w, std::size_t at) {
  while (at < w.size()) {
    const std::uint8_t len = w[at];
    if (len == 0) return at + 1;
    if ((len & 0xc0) == 0xc0) {
      if (at + 2 > w.size()) return std::nullopt;
      return at + 2;
    }
    if ((len & 0xc0) != 0) return std::nullopt;   // 0x40/0x80: obsolete label types
    at += 1 + std::size_t{len};
  }
  return std::nullopt;
}

struct Layout {
  bool ok = false;
  std::size_t tsig_at = 0;   // offset of the TSIG RR (0: none)
  std::string error;
};

// Walks the header's counts of records. A TSIG RR is accepted only as the
// last record of the additional section (RFC 8945 section 5.1), and the
// message must end where its last record ends. (ldns_wire2pkt takes a TSIG
// RR from anywhere in the additional section and leaks all but the last
// one: walking first keeps such messages away from it.)
Layout walk(std::span<const std::uint8_t> w) {
  Layout l;
  if (w.size() < kHeaderSize) {
    l.error = "shorter than a DNS header";
    return l;
  }
  const std::size_t qd = get16(&w[4]), an = get16(&w[6]), ns = get16(&w[8]), ar = get16(&w[10]);
  std::size_t at = kHeaderSize;
  for (std::size_t i = 0; i < qd; ++i) {
    const auto end = skip_name(w, at);
    if (!end || *end + 4 > w.size()) {
      l.error = "truncated zone section";
      return l;
    }
    at = *end + 4;
  }
  const std::size_t records = an + ns + ar;
  for (std::size_t i = 0; i < records; ++i) {
    const std::size_t start = at;
    const auto end = skip_name(w, at);
    if (!end || *end + 10 > w.size()) {
      l.error = "truncated record";
      return l;
    }
    const std::uint16_t type = get16(&w[*end]);
    const std::size_t rdlength = get16(&w[*end + 8]);
    at = *end + 10 + rdlength;
    if (at > w.size()) {
      l.error = "truncated record data";
      return l;
    }
    if (type == kTypeTsig) {
      if (i + 1 != records || ar == 0) {
        l.error = "TSIG record not last in the additional section";
        return l;
      }
      l.tsig_at = start;
    }
  }
  if (at != w.size()) {
    l.error = "bytes after the last record";
    return l;
  }
  l.ok = true;
  return l;
}

// The TSIG RR's fields from ldns's parse of it; false if it lacks any, or
// its class is not ANY or its TTL not 0 (RFC 8945 section 4.2: the digest
// takes them as those constants).
bool read_tsig(const ldns_rr* rr, TsigFields& f) {
  if (ldns_rr_rd_count(rr) != 7 || ldns_rr_get_class(rr) != LDNS_RR_CLASS_ANY || ldns_rr_ttl(rr) != 0) return false;
  const ldns_rdf* alg = ldns_rr_rdf(rr, 0);
  const ldns_rdf* time = ldns_rr_rdf(rr, 1);
  const ldns_rdf* fudge = ldns_rr_rdf(rr, 2);
  const ldns_rdf* mac = ldns_rr_rdf(rr, 3);
  const ldns_rdf* id = ldns_rr_rdf(rr, 4);
  const ldns_rdf* error = ldns_rr_rdf(rr, 5);
  const ldns_rdf* other = ldns_rr_rdf(rr, 6);
  if (ldns_rdf_get_type(alg) != LDNS_RDF_TYPE_DNAME || ldns_rdf_size(time) != 6 || ldns_rdf_size(fudge) != 2 ||
      ldns_rdf_size(mac) < 2 || ldns_rdf_size(id) != 2 || ldns_rdf_size(error) != 2 || ldns_rdf_size(other) < 2 ||
      ldns_rr_owner(rr) == nullptr || ldns_rdf_get_type(ldns_rr_owner(rr)) != LDNS_RDF_TYPE_DNAME)
    return false;
  f.key_name = canonical_wire(ldns_rr_owner(rr));
  f.algorithm = canonical_wire(alg);
  const std::uint8_t* t = ldns_rdf_data(time);
  f.time_signed = std::uint64_t{get16(t)} << 32 | std::uint64_t{get16(t + 2)} << 16 | get16(t + 4);
  f.fudge = get16(ldns_rdf_data(fudge));
  const std::uint8_t* m = ldns_rdf_data(mac);
  if (get16(m) + 2u != ldns_rdf_size(mac)) return false;
  f.mac.assign(m + 2, m + ldns_rdf_size(mac));
  f.original_id = get16(ldns_rdf_data(id));
  f.error = get16(ldns_rdf_data(error));
  const std::uint8_t* o = ldns_rdf_data(other);
  if (get16(o) + 2u != ldns_rdf_size(other)) return false;
  f.other.assign(o + 2, o + ldns_rdf_size(other));
  return true;
}

// ---- building ----------------------------------------------------------------

// One RR: owner, type, class, TTL, and rdata fields (owned by the RR).
ldns_rr* make_rr(const ldns_rdf* owner, ldns_rr_type type, ldns_rr_class cls, std::uint32_t ttl,
                 std::initializer_list<ldns_rdf*> rdata) {
  ldns_rr* rr = ldns_rr_new();
  ldns_rdf* o = ldns_rdf_clone(owner);
  bool ok = rr != nullptr && o != nullptr;
  if (ok) {
    ldns_rr_set_owner(rr, o);
    o = nullptr;
    ldns_rr_set_type(rr, type);
    ldns_rr_set_class(rr, cls);
    ldns_rr_set_ttl(rr, ttl);
  }
  for (ldns_rdf* r : rdata) {
    if (ok && r != nullptr && ldns_rr_push_rdf(rr, r)) continue;
    ok = false;
    ldns_rdf_deep_free(r);
  }
  ldns_rdf_deep_free(o);
  if (!ok) {
    ldns_rr_free(rr);
    return nullptr;
  }
  return rr;
}

ldns_rdf* a_rdf(wire::Ipv4 address) {
  const std::array<std::uint8_t, 4> b = {static_cast<std::uint8_t>(address >> 24),
                                         static_cast<std::uint8_t>(address >> 16),
                                         static_cast<std::uint8_t>(address >> 8), static_cast<std::uint8_t>(address)};
  return ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, b.size(), b.data());
}

ldns_rdf* dhcid_rdf(const Bytes& dhcid) {
  return ldns_rdf_new_frm_data(LDNS_RDF_TYPE_B64, dhcid.size(), dhcid.data());
}

bool push(ldns_rr_list* list, ldns_rr* rr) {
  if (rr == nullptr) return false;
  if (ldns_rr_list_push_rr(list, rr)) return true;
  ldns_rr_free(rr);
  return false;
}

BuiltUpdate failed(std::string why) {
  BuiltUpdate b;
  b.error = std::move(why);
  return b;
}

// Appends a TSIG RR signing `wire` (RFC 8945 section 4.2) and counts it in
// ARCOUNT; the MAC goes to `mac`.
std::string sign(Bytes& wire, const TsigKey& key, std::uint64_t now_s, Bytes& mac) {
  TsigFields f;
  if (!key_names(key, f.key_name, f.algorithm)) return "TSIG key name is not a domain name: " + key.name;
  if (key.secret.empty()) return "TSIG key " + key.name + " has an empty secret";
  if (wire.size() < kHeaderSize) return "message shorter than a header";
  f.time_signed = now_s & 0xffffffffffffull;
  f.fudge = kTsigFudge;
  f.original_id = get16(wire.data());
  mac = tsig_mac(key, {}, wire, f);
  if (mac.empty()) return "HMAC failed for " + std::string(tsig_algorithm_name(key.algorithm));
  Bytes rdata;
  rdata.insert(rdata.end(), f.algorithm.begin(), f.algorithm.end());
  put48(rdata, f.time_signed);
  put16(rdata, f.fudge);
  put16(rdata, static_cast<std::uint16_t>(mac.size()));
  rdata.insert(rdata.end(), mac.begin(), mac.end());
  put16(rdata, f.original_id);
  put16(rdata, 0);   // error
  put16(rdata, 0);   // other len
  wire.insert(wire.end(), f.key_name.begin(), f.key_name.end());
  put16(wire, kTypeTsig);
  put16(wire, kClassAny);
  put32(wire, 0);
  put16(wire, static_cast<std::uint16_t>(rdata.size()));
  wire.insert(wire.end(), rdata.begin(), rdata.end());
  const std::uint16_t ar = static_cast<std::uint16_t>(get16(&wire[10]) + 1);
  wire[10] = static_cast<std::uint8_t>(ar >> 8);
  wire[11] = static_cast<std::uint8_t>(ar);
  return {};
}

}  // namespace

std::vector<std::uint8_t> dhcid_rdata(std::span<const std::uint8_t> client_key, std::string_view fqdn) {
  if (client_key.size() < 2) return {};
  std::uint16_t type = 0;
  std::span<const std::uint8_t> identifier;
  if (client_key[0] == engine::kKeyKindHw) {
    type = 0x0000;   // htype + chaddr
    identifier = client_key.subspan(1);
  } else if (client_key[0] == engine::kKeyKindClientId) {
    const auto id = client_key.subspan(1);
    if (id[0] == 255) {   // RFC 4361: type 255, IAID (4), DUID
      if (id.size() < 6) return {};
      type = 0x0002;
      identifier = id.subspan(5);
    } else {
      type = 0x0001;
      identifier = id;
    }
  } else {
    return {};
  }
  const Rdf name = make_dname(fqdn);
  if (!name) return {};
  const Bytes wire = canonical_wire(name.get());
  if (wire.empty()) return {};
  Bytes input(identifier.begin(), identifier.end());
  input.insert(input.end(), wire.begin(), wire.end());
  std::array<unsigned char, 32> digest{};
  ldns_sha256(input.data(), static_cast<unsigned int>(input.size()), digest.data());
  Bytes out;
  out.reserve(3 + digest.size());
  put16(out, type);
  out.push_back(1);   // digest type 1: SHA-256
  out.insert(out.end(), digest.begin(), digest.end());
  return out;
}

std::string reverse_name(wire::Ipv4 address) {
  std::string s;
  for (int shift = 0; shift <= 24; shift += 8) {
    s += std::to_string((address >> shift) & 0xffu);
    s += '.';
  }
  s += "in-addr.arpa";
  return s;
}

std::string_view update_kind_name(UpdateKind k) noexcept {
  switch (k) {
    case UpdateKind::add_forward: return "add-forward";
    case UpdateKind::replace_forward: return "replace-forward";
    case UpdateKind::remove_forward: return "remove-forward";
    case UpdateKind::add_reverse: return "add-reverse";
    case UpdateKind::remove_reverse: return "remove-reverse";
  }
  return "unknown";
}

BuiltUpdate build_update(const UpdateRequest& req, std::uint16_t id, const TsigKey* key, std::uint64_t now_s) {
  const Rdf zone = make_dname(req.zone);
  if (!zone) return failed("zone is not a domain name: '" + req.zone + "'");
  const bool forward = req.kind == UpdateKind::add_forward || req.kind == UpdateKind::replace_forward ||
                       req.kind == UpdateKind::remove_forward;
  const Rdf owner = make_dname(forward ? req.fqdn : req.reverse);
  if (!owner) return failed(std::string(forward ? "FQDN" : "reverse name") + " is not a domain name: '" +
                            (forward ? req.fqdn : req.reverse) + "'");
  if (!ldns_dname_is_subdomain(owner.get(), zone.get()) && ldns_dname_compare(owner.get(), zone.get()) != 0)
    return failed("'" + (forward ? req.fqdn : req.reverse) + "' is not in zone '" + req.zone + "'");
  if (forward && req.dhcid.empty()) return failed("forward update without a DHCID");

  RrList prereq(ldns_rr_list_new());
  RrList updates(ldns_rr_list_new());
  if (!prereq || !updates) return failed("out of memory");
  const ldns_rdf* o = owner.get();
  bool ok = true;
  switch (req.kind) {
    case UpdateKind::add_forward:
      ok = push(prereq.get(), make_rr(o, LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_NONE, 0, {})) &&
           push(updates.get(), make_rr(o, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, req.ttl, {a_rdf(req.address)})) &&
           push(updates.get(), make_rr(o, LDNS_RR_TYPE_DHCID, LDNS_RR_CLASS_IN, req.ttl, {dhcid_rdf(req.dhcid)}));
      break;
    case UpdateKind::replace_forward:
      ok = push(prereq.get(), make_rr(o, LDNS_RR_TYPE_DHCID, LDNS_RR_CLASS_IN, 0, {dhcid_rdf(req.dhcid)})) &&
           push(updates.get(), make_rr(o, LDNS_RR_TYPE_A, LDNS_RR_CLASS_ANY, 0, {})) &&
           push(updates.get(), make_rr(o, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, req.ttl, {a_rdf(req.address)}));
      break;
    case UpdateKind::remove_forward:
      ok = push(prereq.get(), make_rr(o, LDNS_RR_TYPE_DHCID, LDNS_RR_CLASS_IN, 0, {dhcid_rdf(req.dhcid)})) &&
           push(updates.get(), make_rr(o, LDNS_RR_TYPE_A, LDNS_RR_CLASS_NONE, 0, {a_rdf(req.address)})) &&
           push(updates.get(), make_rr(o, LDNS_RR_TYPE_DHCID, LDNS_RR_CLASS_ANY, 0, {}));
      break;
    case UpdateKind::add_reverse: {
      Rdf target = make_dname(req.fqdn);
      if (!target) return failed("PTR target is not a domain name: '" + req.fqdn + "'");
      ok = push(updates.get(), make_rr(o, LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_ANY, 0, {})) &&
           push(updates.get(), make_rr(o, LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_IN, req.ttl, {target.release()}));
      break;
    }
    case UpdateKind::remove_reverse:
      ok = push(updates.get(), make_rr(o, LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_ANY, 0, {}));
      break;
  }
  if (!ok) return failed("out of memory building records");

  // ldns_update_pkt_new takes the zone name and clones the lists.
  ldns_rdf* zone_rdf = ldns_rdf_clone(zone.get());
  Pkt pkt(zone_rdf != nullptr ? ldns_update_pkt_new(zone_rdf, LDNS_RR_CLASS_IN,
                                                    ldns_rr_list_rr_count(prereq.get()) != 0 ? prereq.get() : nullptr,
                                                    updates.get(), nullptr)
                              : nullptr);
  if (!pkt) return failed("ldns_update_pkt_new failed");   // out of memory
  ldns_pkt_set_id(pkt.get(), id);
  ldns_pkt_set_rd(pkt.get(), false);   // ldns_pkt_query_new's RD: an UPDATE's Z bits are 0 (RFC 2136 2.2)

  std::uint8_t* raw = nullptr;
  std::size_t size = 0;
  if (ldns_pkt2wire(&raw, pkt.get(), &size) != LDNS_STATUS_OK || raw == nullptr)
    return failed("ldns_pkt2wire failed");
  const std::unique_ptr<std::uint8_t, MallocFree> owned(raw);

  BuiltUpdate b;
  b.id = id;
  b.wire.assign(raw, raw + size);
  if (key != nullptr) {
    std::string why = sign(b.wire, *key, now_s, b.request_mac);
    if (!why.empty()) return failed(std::move(why));
  }
  return b;
}

Answer parse_answer(std::span<const std::uint8_t> wire, const BuiltUpdate& request, const TsigKey* key,
                    std::uint64_t now_s) {
  Answer a;
  const Layout layout = walk(wire);
  if (!layout.ok) {
    a.error = layout.error;
    return a;
  }
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, wire.data(), wire.size()) != LDNS_STATUS_OK || raw == nullptr) {
    a.error = "not a DNS message";
    return a;
  }
  const Pkt pkt(raw);
  if (!ldns_pkt_qr(raw)) {
    a.error = "not an answer (QR clear)";
    return a;
  }
  if (ldns_pkt_get_opcode(raw) != LDNS_PACKET_UPDATE) {
    a.error = "opcode is not UPDATE";
    return a;
  }
  if (ldns_pkt_id(raw) != request.id) {
    a.error = "id does not match the request";
    return a;
  }
  a.valid = true;
  a.truncated = ldns_pkt_tc(raw);
  a.rcode = static_cast<std::uint8_t>(wire[3] & 0x0f);

  TsigFields f;
  const ldns_rr* tsig = ldns_pkt_tsig(raw);
  const bool have_tsig = layout.tsig_at != 0 && tsig != nullptr && read_tsig(tsig, f);
  if (layout.tsig_at != 0 && !have_tsig) {
    a.error = "malformed TSIG record";
    return a;
  }
  if (have_tsig) a.tsig_error = f.error;
  if (key == nullptr) return a;
  if (request.request_mac.empty()) {
    a.error = "the request was not signed";
    return a;
  }
  if (!have_tsig) {
    a.error = "answer not signed";
    return a;
  }
  Bytes name, algorithm;
  if (!key_names(*key, name, algorithm) || f.key_name != name) {
    a.error = "answer signed with another key";
    return a;
  }
  if (f.algorithm != algorithm) {
    a.error = "answer signed with another algorithm";
    return a;
  }
  if (f.mac.empty()) {   // BADSIG / BADKEY answers are unsigned (RFC 8945 5.3.2)
    a.error = "answer carries no MAC";
    return a;
  }
  // The message without its TSIG RR, with the original id and ARCOUNT - 1.
  Bytes message(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(layout.tsig_at));
  message[0] = static_cast<std::uint8_t>(f.original_id >> 8);
  message[1] = static_cast<std::uint8_t>(f.original_id);
  const std::uint16_t ar = static_cast<std::uint16_t>(get16(&message[10]) - 1);
  message[10] = static_cast<std::uint8_t>(ar >> 8);
  message[11] = static_cast<std::uint8_t>(ar);
  const Bytes mac = tsig_mac(*key, request.request_mac, message, f);
  if (mac.empty() || mac.size() != f.mac.size() || CRYPTO_memcmp(mac.data(), f.mac.data(), mac.size()) != 0) {
    a.error = "TSIG MAC does not verify";
    return a;
  }
  // A BADTIME answer says our clock is off: its time is not held against it.
  const std::uint64_t skew = now_s > f.time_signed ? now_s - f.time_signed : f.time_signed - now_s;
  if (f.error != 18 && skew > f.fudge) {
    a.error = "TSIG time signed is " + std::to_string(skew) + " s from now (fudge " + std::to_string(f.fudge) + ")";
    return a;
  }
  a.tsig_verified = true;
  return a;
}

std::string_view rcode_name(std::uint16_t rcode) noexcept {
  static constexpr std::array<std::string_view, 11> kRcodes = {
      "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
      "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"};
  static constexpr std::array<std::string_view, 7> kTsig = {"BADSIG",  "BADKEY",  "BADTIME", "BADMODE",
                                                           "BADNAME", "BADALG", "BADTRUNC"};
  if (rcode < kRcodes.size()) return kRcodes[rcode];
  if (rcode >= 16 && rcode < 16 + kTsig.size()) return kTsig[rcode - 16u];
  return "UNKNOWN";
}

}  // namespace dorado::ddns
