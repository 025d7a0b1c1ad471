#pragma once

#include <boost/system/result.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace paysync::protocols {

// Decides whether a connection came through a carrier gateway that is trusted
// to insert the caller's number (MSISDN) as a header, the way carriers enrich
// requests for service platforms. A number from anywhere else is ignored: it
// is never taken from an untrusted client.
class trusted_gateways {
 public:
  // `networks`: CIDR blocks, "10.1.0.0/16", "127.0.0.1/32", "::1/128"; a bare
  // address means that host alone. Fails with a message naming the bad entry.
  static boost::system::result<trusted_gateways, std::string> parse(
      const std::vector<std::string>& networks);

  bool contains(std::string_view address) const noexcept;

 private:
  struct network {
    bool v6 = false;
    unsigned char bytes[16] = {};
    unsigned prefix_bits = 0;
  };
  std::vector<network> networks_;
};

// The MSISDN in E.164 digits ("254700000001") from a header value such as
// "+254 700 000001"; "" unless it holds 8 to 15 digits and nothing but
// digits, spaces, '+' and '-'.
std::string normalize_msisdn(std::string_view header_value);

// "2547…0001": enough for a log line, not enough to call anyone.
std::string mask_msisdn(std::string_view msisdn);

}  // namespace paysync::protocols
