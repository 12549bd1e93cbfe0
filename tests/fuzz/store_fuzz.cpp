// libFuzzer target for the store's formats (control/store/format.hpp).
// Input: arbitrary bytes, read as a record stream, a journal segment image
// and a snapshot image. Every accepted record must re-encode to the same
// bytes; scans must stop inside the input and account for what they passed.
// Any violation aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "store/format.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace dorado::store;

void check_record(std::span<const std::uint8_t> data, const DecodedRecord& d) {
  FUZZ_CHECK(d.size >= kRecordMinSize && d.size <= kMaxRecordSize && d.size <= data.size());
  FUZZ_CHECK(d.change.key_len <= dorado::engine::kMaxKeyLen);
  FUZZ_CHECK(d.change.hostname_len <= dorado::engine::kMaxHostnameLen);
  FUZZ_CHECK(record_size(d.change) == d.size);
  std::uint8_t out[kMaxRecordSize];
  FUZZ_CHECK(encode_record(d.seq, d.change, out) == d.size);
  FUZZ_CHECK(std::memcmp(out, data.data(), d.size) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in{data, size};

  // A bare record stream, no sequence check.
  std::size_t at = 0;
  const ScanResult r = scan_records(in, 0, 0, [&](const DecodedRecord& d) {
    check_record(in.subspan(at), d);
    at += d.size;
  });
  FUZZ_CHECK(r.offset == at && r.offset <= size);
  FUZZ_CHECK(r.status != Status::ok);
  FUZZ_CHECK((r.status == Status::end) == (r.offset == size));

  // A segment image.
  std::uint64_t n = 0;
  const SegmentScan s = scan_segment(in, [&](const DecodedRecord&) { ++n; });
  FUZZ_CHECK(n == s.records.records);
  if (s.header.status == Status::ok) {
    FUZZ_CHECK(s.records.offset >= kFileHeaderSize && s.records.offset <= size);
    if (n > 0) FUZZ_CHECK(s.records.last_seq == s.header.header.seq + n - 1);
    const auto h = encode_file_header(s.header.header);
    FUZZ_CHECK(std::memcmp(h.data(), data, kFileHeaderSize) == 0);
  }

  // A snapshot image.
  std::uint64_t leases = 0;
  const SnapshotScan snap = scan_snapshot(in, [&](const DecodedRecord&) { ++leases; });
  FUZZ_CHECK(leases == snap.leases);
  if (snap.status == Status::ok) {
    const DecodedTrailer t = decode_snapshot_trailer(in.last(kSnapshotTrailerSize));
    FUZZ_CHECK(t.status == Status::ok && t.trailer.leases == leases);
  }
  if (size >= kSnapshotTrailerSize) (void)decode_snapshot_trailer(in.first(kSnapshotTrailerSize));
  return 0;
}
