// libFuzzer target for the DNS message layer's answer parser
// (control/ddns/message.hpp parse_answer). One input is read two ways:
//   - as a whole, the answer to an unsigned request;
//   - as [6 bytes: now, big-endian][1 byte: n][n bytes: the request's TSIG
//     MAC][the answer], the answer to a request signed with the tests' key
//     "dorado-key" (hmac-sha256, tests/ddns/ddns_message_test.cpp test_key).
// The request's id is taken from the answer's first two bytes, so the parser
// gets past the id check. Seeds (seeds/ddns/) are real named answers from
// tests/ddns/captures/ in the second layout with their request's MAC and
// time, so the fuzzer starts from answers that verify. Invariants: verified
// implies valid; an unsigned request is never verified; rcode fits 4 bits;
// a valid answer is at least a header and carries the request's id.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "ddns/message.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace dorado::ddns;

const TsigKey& key() {
  static const TsigKey k = [] {
    TsigKey t;
    t.name = "dorado-key";
    t.algorithm = TsigAlgorithm::hmac_sha256;
    const std::string secret = "dorado test secret for hmac-sha256";
    t.secret.assign(secret.begin(), secret.end());
    return t;
  }();
  return k;
}

void check(std::span<const std::uint8_t> answer, const BuiltUpdate& request, const TsigKey* k, std::uint64_t now) {
  const Answer a = parse_answer(answer, request, k, now);
  FUZZ_CHECK(a.valid || !a.tsig_verified);
  FUZZ_CHECK(a.rcode <= 15);
  FUZZ_CHECK(!rcode_name(a.rcode).empty() && !rcode_name(a.tsig_error).empty());
  if (k == nullptr || request.request_mac.empty()) FUZZ_CHECK(!a.tsig_verified);
  if (a.valid) {
    FUZZ_CHECK(answer.size() >= 12);
    FUZZ_CHECK((answer[0] << 8 | answer[1]) == request.id);
    FUZZ_CHECK(a.error.empty() || !a.tsig_verified);
  } else {
    FUZZ_CHECK(!a.error.empty());
  }
}

std::uint16_t id_of(std::span<const std::uint8_t> b) {
  return b.size() >= 2 ? static_cast<std::uint16_t>(b[0] << 8 | b[1]) : 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in{data, size};

  BuiltUpdate plain;
  plain.id = id_of(in);
  check(in, plain, nullptr, 0);

  if (size < 7) return 0;
  std::uint64_t now = 0;
  for (std::size_t i = 0; i < 6; ++i) now = now << 8 | in[i];
  const std::size_t mac_len = in[6];
  if (size < 7 + mac_len) return 0;
  BuiltUpdate signed_request;
  signed_request.request_mac.assign(in.begin() + 7, in.begin() + 7 + static_cast<std::ptrdiff_t>(mac_len));
  const auto answer = in.subspan(7 + mac_len);
  signed_request.id = id_of(answer);
  check(answer, signed_request, &key(), now);
  check(answer, signed_request, nullptr, now);
  return 0;
}
