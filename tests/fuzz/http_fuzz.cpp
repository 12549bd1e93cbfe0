// libFuzzer: one input = the bytes a metrics client sent. parse_request()
// must never crash or read out of bounds, its views must lie inside the
// input, and respond() must always produce a status line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "obs/http.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  for (const std::size_t max : {dorado::obs::kMaxRequest, std::size_t{64}}) {
    const dorado::obs::HttpRequest r = dorado::obs::parse_request(in, max);
    for (const std::string_view v : {r.method, r.target, r.version})
      if (!v.empty() && (v.data() < in.data() || v.data() + v.size() > in.data() + in.size())) std::abort();
    if (r.status == dorado::obs::ParseStatus::complete && (r.head_bytes > size || r.head_bytes > max))
      std::abort();
    const std::string resp = dorado::obs::respond(r, [] { return std::string("m 1\n"); });
    if (resp.rfind("HTTP/1.1 ", 0) != 0) std::abort();
  }
  return 0;
}
