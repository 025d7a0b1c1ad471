#include "protocols/trusted_gateway.hpp"

#include <boost/asio/ip/address.hpp>

namespace paysync::protocols {
namespace {

namespace ip = boost::asio::ip;

bool to_bytes(std::string_view text, bool& v6, unsigned char (&out)[16]) {
  boost::system::error_code ec;
  auto address = ip::make_address(std::string(text), ec);
  if (ec) return false;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = ip::make_address_v4(ip::v4_mapped, address.to_v6());
  }
  v6 = address.is_v6();
  std::fill(std::begin(out), std::end(out), 0);
  if (v6) {
    auto b = address.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), out);
  } else {
    auto b = address.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), out);
  }
  return true;
}

}  // namespace

boost::system::result<trusted_gateways, std::string> trusted_gateways::parse(
    const std::vector<std::string>& networks) {
  trusted_gateways out;
  for (const auto& entry : networks) {
    auto slash = entry.find('/');
    network n;
    if (!to_bytes(std::string_view(entry).substr(0, slash), n.v6, n.bytes)) {
      return "not an IP address or CIDR block: \"" + entry + "\"";
    }
    const unsigned max_bits = n.v6 ? 128 : 32;
    n.prefix_bits = max_bits;
    if (slash != std::string::npos) {
      const auto bits = entry.substr(slash + 1);
      if (bits.empty() || bits.size() > 3 ||
          bits.find_first_not_of("0123456789") != std::string::npos ||
          std::stoul(bits) > max_bits) {
        return "bad prefix length in \"" + entry + "\"";
      }
      n.prefix_bits = static_cast<unsigned>(std::stoul(bits));
    }
    out.networks_.push_back(n);
  }
  return out;
}

bool trusted_gateways::contains(std::string_view address) const noexcept {
  bool v6 = false;
  unsigned char bytes[16];
  if (!to_bytes(address, v6, bytes)) return false;
  for (const auto& n : networks_) {
    if (n.v6 != v6) continue;
    unsigned bits = n.prefix_bits;
    bool match = true;
    for (unsigned i = 0; bits > 0 && match; ++i) {
      const unsigned take = bits >= 8 ? 8 : bits;
      const unsigned char mask = static_cast<unsigned char>(0xFF << (8 - take));
      match = (bytes[i] & mask) == (n.bytes[i] & mask);
      bits -= take;
    }
    if (match) return true;
  }
  return false;
}

std::string normalize_msisdn(std::string_view value) {
  std::string digits;
  for (char c : value) {
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
    } else if (c != ' ' && c != '+' && c != '-') {
      return {};
    }
  }
  if (digits.size() < 8 || digits.size() > 15) return {};
  return digits;
}

std::string mask_msisdn(std::string_view msisdn) {
  if (msisdn.size() < 8) return "****";
  return std::string(msisdn.substr(0, 4)) + "…" + std::string(msisdn.substr(msisdn.size() - 4));
}

}  // namespace paysync::protocols
