#include "protocols/sms_gateway.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>

#include "protocols/message_codec.hpp"

namespace paysync::protocols {
namespace {

class file_sms_gateway final : public sms_gateway {
 public:
  explicit file_sms_gateway(std::string path) : path_(std::move(path)) {}

  boost::system::result<void, std::string> send(const outgoing_sms& sms) override {
    boost::json::object o{{"to", sms.to},
                          {"text", sms.text},
                          {"link", sms.link},
                          {"expires_at", format_timestamp(sms.expires_unix_ms)}};
    std::string line = boost::json::serialize(o);
    line.push_back('\n');
    // O_APPEND keeps each line whole even with several writers.
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return "cannot open SMS outbox " + path_ + ": " + std::strerror(errno);
    const auto written = ::write(fd, line.data(), line.size());
    const int saved = errno;
    ::close(fd);
    if (written != static_cast<ssize_t>(line.size())) {
      return "cannot write SMS outbox " + path_ + ": " + std::strerror(saved);
    }
    return {};
  }

 private:
  std::string path_;
};

}  // namespace

std::unique_ptr<sms_gateway> make_file_sms_gateway(std::string path) {
  return std::make_unique<file_sms_gateway>(std::move(path));
}

}  // namespace paysync::protocols
