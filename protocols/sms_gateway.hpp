#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace paysync::protocols {

struct outgoing_sms {
  std::string to;    // MSISDN, E.164 digits
  std::string text;  // what the payer reads
  std::string link;  // the payment link inside the text
  std::int64_t expires_unix_ms = 0;
};

// Where text messages to payers go when their handset has no open
// connection (flow C). A carrier's SMSC or an SMS aggregator sits behind
// this interface in production.
class sms_gateway {
 public:
  virtual ~sms_gateway() = default;
  // Hands the message over; the error is a message for the operator's log.
  virtual boost::system::result<void, std::string> send(const outgoing_sms& sms) = 0;
};

// Appends each message as one JSON line to a file (created 0600) and flushes
// it: the outbox an operator's forwarder reads, and what tests read back.
std::unique_ptr<sms_gateway> make_file_sms_gateway(std::string path);

}  // namespace paysync::protocols
