// libFuzzer target for the DDNS service's state file (control/ddns/
// state_log.hpp): arbitrary bytes read as a stream of records, as
// StateLog::open replays them. Every accepted record must re-encode to the
// same bytes, and a scan must stop inside the input. Any violation aborts.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "ddns/state_log.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dorado::ddns;
  std::span<const std::uint8_t> in(data, size);
  std::size_t off = 0;
  while (off <= in.size()) {
    const DecodedStateRecord d = decode_state_record(in.subspan(off));
    if (d.status != StateRecordStatus::ok) break;
    FUZZ_CHECK(d.size > 0 && off + d.size <= in.size());
    std::vector<std::uint8_t> again;
    FUZZ_CHECK(encode_state_record(d.address, d.registered, again) == d.size);
    FUZZ_CHECK(std::memcmp(again.data(), in.data() + off, d.size) == 0);
    off += d.size;
  }
  return 0;
}
