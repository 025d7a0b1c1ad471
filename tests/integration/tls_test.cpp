// TLS through the real binary: the self-signed pair of the embedded default,
// flow A over wss:// pinned to the fingerprint the banner prints, plaintext
// refused under --tls required, and the https link page's cookie.

#include <sys/stat.h>

#include <regex>

#include "protocols/tls_context.hpp"
#include "support/tls_probe.hpp"
#include "switch_fixture.hpp"

namespace paysync::testing_support {
namespace {

// The fingerprint on the banner's "its SHA-256 fingerprint" line, or "".
std::string banner_fingerprint(const std::string& output) {
  static const std::regex line{R"(its SHA-256 fingerprint +([0-9A-F:]{95}))"};
  std::smatch m;
  return std::regex_search(output, m, line) ? m[1].str() : std::string{};
}

class TlsSwitch : public switch_test {
 protected:
  // Starts the switch and pins what its banner says.
  void start_tls(std::vector<std::string> extra) {
    start(std::move(extra));
    fingerprint_ = banner_fingerprint(process().output());
    ASSERT_FALSE(fingerprint_.empty()) << process().output();
    client_tls_ = {true, "", fingerprint_, false};
  }
  std::string fingerprint_;
};

TEST_F(TlsSwitch, FlowASettlesOverWssPinnedToTheBannersFingerprint) {
  start_tls({"--tls", "required"});
  const auto output = process().output();
  EXPECT_NE(output.find("billing terminals (private line)  wss://"), std::string::npos) << output;
  EXPECT_NE(output.find("handsets (mobile)                 wss://"), std::string::npos);
  EXPECT_NE(output.find("payment links                     https://"), std::string::npos);
  auto on_disk = protocols::certificate_fingerprint(data_dir() + "/tls/cert.pem");
  ASSERT_TRUE(on_disk);
  EXPECT_EQ(*on_disk, fingerprint_);
  struct stat st {};
  ASSERT_EQ(::stat((data_dir() + "/tls/key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const auto payer = balance("user:u-1001"), merchant = balance("merchant:m-kahawa");
  auto b = billing();
  auto h = handset();
  auto opened = call(b, {{"type", "open"}}, "opened");
  EXPECT_EQ(str(opened, "link").rfind("https://127.0.0.1:", 0), 0u) << str(opened, "link");
  const auto txn = str(opened, "txn");
  const auto link = str(opened, "link");
  call(h, {{"type", "join"}, {"token", link.substr(link.rfind('/') + 1)}}, "merchant");
  call(h, {{"type", "confirm_merchant"}, {"txn", txn}}, "ack");
  event(b, "synchronized");
  call(b, {{"type", "amount"}, {"txn", txn}, {"amount", 15000}}, "ack");
  event(h, "amount");
  auto receipt = call(h, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 15000}}, "receipt");
  auto settled = event(b, "settled");
  EXPECT_EQ(receipt.at("sequence"), settled.at("sequence"));
  EXPECT_EQ(balance("user:u-1001"), payer - 15000);
  EXPECT_EQ(balance("merchant:m-kahawa"), merchant + 15000);
}

TEST_F(TlsSwitch, RequiredRefusesPlaintextTerminalsAndPages) {
  start_tls({"--tls", "required"});
  protocols::client_options o;
  o.port = process().billing_port();
  auto plain = protocols::ws_client::connect(o);
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error(), protocols::client_error::handshake_failed);
  const auto body = switch_process::http_get(process().paying_port(), "/healthz");
  EXPECT_EQ(body.rfind("this port speaks TLS only: use https://", 0), 0u) << body;
  EXPECT_NE(body.find("https://127.0.0.1/healthz"), std::string::npos) << body;
  auto b = billing();
  expect_alive(b);
}

TEST_F(TlsSwitch, TheHttpsLinkPageSetsASecureCookie) {
  start_tls({"--tls", "required"});
  auto b = billing();
  auto opened = call(b, {{"type", "open"}}, "opened");
  const auto link = str(opened, "link");
  const auto path = link.substr(link.find("/pay/"));
  auto page = tls_probe(process().paying_port(), "GET " + path +
                                                     " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                                     "X-MSISDN: 254700000001\r\n"
                                                     "Connection: close\r\n\r\n");
  ASSERT_TRUE(page.handshake_ok) << page.error;
  EXPECT_EQ(page.response.rfind("HTTP/1.1 200 OK", 0), 0u) << page.response.substr(0, 300);
  const auto cookie = page.response.find("Set-Cookie: paysync_msisdn=");
  ASSERT_NE(cookie, std::string::npos) << page.response.substr(0, 600);
  const auto cookie_line =
      page.response.substr(cookie, page.response.find("\r\n", cookie) - cookie);
  EXPECT_NE(cookie_line.find("; Secure"), std::string::npos) << cookie_line;
}

TEST_F(TlsSwitch, AutoKeepsPlaintextClientsWorkingAndARestartKeepsThePair) {
  start_tls({});
  client_tls_ = {};
  auto plain = billing();
  expect_alive(plain);
  plain.close();
  const auto first = fingerprint_;
  ASSERT_EQ(process().stop(), 0) << process().output();
  start_tls({});
  EXPECT_EQ(fingerprint_, first);
  auto secure = billing();
  expect_alive(secure);
}

TEST_F(TlsSwitch, OffSpeaksPlaintextAndMakesNoCertificate) {
  start({"--tls", "off"});
  EXPECT_EQ(banner_fingerprint(process().output()), "");
  EXPECT_EQ(process().output().find("wss://"), std::string::npos) << process().output();
  EXPECT_NE(process().output().find("payment links                     http://"),
            std::string::npos);
  auto b = billing();
  expect_alive(b);
  struct stat st {};
  EXPECT_NE(::stat((data_dir() + "/tls").c_str(), &st), 0);
}

TEST_F(TlsSwitch, ADemoPaymentRunsOverTlsAtStart) {
  start_tls({"--tls", "required", "--demo"});
  // The demo runs after the ready line: give it its few round trips.
  for (int i = 0; i < 100 && process().output().find("  settled ") == std::string::npos; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_NE(process().output().find("  settled "), std::string::npos) << process().output();
}

TEST(TlsSwitchFiles, ACertificateWithoutItsKeyStopsTheStartWithAClearMessage) {
  scratch_directory dir;
  try {
    switch_process p{dir.sub("data"),
                     {"--tls-cert", dir.sub("missing.pem"), "--tls-key", dir.sub("missing.key")}};
    FAIL() << "the switch started with a missing certificate";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("TLS: missing_file"), std::string::npos) << what;
    EXPECT_NE(what.find("missing.pem: does not exist"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace paysync::testing_support
