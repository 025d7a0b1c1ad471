// Flow A through the real binary and real WebSockets, using nothing but what
// docs/protocol.md promises.

#include <sodium.h>

#include <atomic>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/wechat_qrcode.hpp>
#include <thread>

#include "switch_fixture.hpp"

namespace paysync::testing_support {
namespace {

class FlowAOverSockets : public switch_test {
 protected:
  void SetUp() override { start(); }
};

TEST_F(FlowAOverSockets, SettlesAndMovesTheMoneyOnce) {
  const auto payer = balance("user:u-1001"), merchant = balance("merchant:m-kahawa");
  const auto entries = journal_entries();
  auto b = billing();
  auto h = handset();

  auto opened = call(b, {{"type", "open"}, {"reference", "till-42"}, {"ref", "o1"}}, "opened");
  EXPECT_EQ(str(opened, "ref"), "o1");
  const auto txn = str(opened, "txn");
  const auto link = str(opened, "link");
  EXPECT_EQ(txn.rfind("tx", 0), 0u);
  EXPECT_NE(link.find("/pay/m-kahawa/lk"), std::string::npos) << link;

  auto merchant_info =
      call(h, {{"type", "join"}, {"token", link.substr(link.rfind('/') + 1)}}, "merchant");
  EXPECT_EQ(str(merchant_info.at("merchant").as_object(), "name"), "Kahawa Coffee House");
  EXPECT_EQ(str(merchant_info, "txn"), txn);

  call(h, {{"type", "confirm_merchant"}, {"txn", txn}}, "ack");
  auto synced = event(b, "synchronized");
  EXPECT_EQ(str(synced.at("payer").as_object(), "display_name"), "Amina Wanjiru");
  EXPECT_EQ(synced.at("payer").as_object().size(), 1u) << "only what the policy names leaves";

  call(b, {{"type", "amount"}, {"txn", txn}, {"amount", 15000}, {"currency", "KES"}}, "ack");
  auto offer = event(h, "amount");
  EXPECT_EQ(offer.at("amount"), 15000);
  EXPECT_EQ(str(offer, "display"), "150.00 KES");

  auto receipt =
      call(h, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 15000}, {"currency", "KES"}},
           "receipt");
  auto settled = event(b, "settled");
  EXPECT_EQ(receipt.at("sequence"), settled.at("sequence"));
  EXPECT_EQ(str(settled, "reference"), "till-42");

  EXPECT_EQ(balance("user:u-1001"), payer - 15000);
  EXPECT_EQ(balance("merchant:m-kahawa"), merchant + 15000);
  EXPECT_EQ(journal_entries(), entries + 1);
  auto status = call(b, {{"type", "status"}, {"txn", txn}}, "status");
  EXPECT_EQ(str(status, "state"), "settled");
}

// Claim 6: the link as a QR code a handset's camera reads back.
TEST_F(FlowAOverSockets, OpenedCarriesTheLinkAsAQrCodeOnRequest) {
  auto b = billing();
  auto png = call(b, {{"type", "open"}, {"qr", "png"}}, "opened");
  const std::string prefix = "data:image/png;base64,";
  const auto data_url = str(png, "qr_png");
  ASSERT_EQ(data_url.rfind(prefix, 0), 0u) << data_url.substr(0, 40);
  const auto b64 = data_url.substr(prefix.size());
  std::vector<unsigned char> bytes(b64.size());
  std::size_t n = 0;
  ASSERT_EQ(sodium_base642bin(bytes.data(), bytes.size(), b64.data(), b64.size(), nullptr, &n,
                              nullptr, sodium_base64_VARIANT_ORIGINAL),
            0);
  bytes.resize(n);
  cv::Mat image = cv::imdecode(bytes, cv::IMREAD_GRAYSCALE);
  ASSERT_FALSE(image.empty());
  // Debian's OpenCV is built without quirc, so cv::QRCodeDetector cannot
  // decode; contrib's WeChatQRCode can (see tests/protocols/qr_code_test.cpp).
  cv::wechat_qrcode::WeChatQRCode reader;
  EXPECT_EQ(reader.detectAndDecode(image), std::vector<std::string>{str(png, "link")});

  auto svg = call(b, {{"type", "open"}, {"qr", "svg"}}, "opened");
  EXPECT_EQ(str(svg, "qr_svg").rfind("<svg", 0), 0u);
  auto plain = call(b, {{"type", "open"}}, "opened");
  EXPECT_FALSE(plain.contains("qr_png") || plain.contains("qr_svg")) << "only when asked";
}

TEST_F(FlowAOverSockets, JoinsByCodeAndTillOrById) {
  auto b = billing();
  auto opened = call(b, {{"type", "open"}, {"amount", 2500}}, "opened");
  auto by_code = handset();
  call(by_code, {{"type", "join"}, {"code", str(opened, "code")}, {"till", "500100"}}, "merchant");
  auto opened2 = call(b, {{"type", "open"}}, "opened");
  auto by_txn = handset("254700000002");
  call(by_txn, {{"type", "join"}, {"txn", str(opened2, "txn")}}, "merchant");
}

TEST_F(FlowAOverSockets, OneTransactionOneHandset) {
  auto b = billing();
  auto h = handset();
  auto txn = synchronize(b, h);
  auto intruder = handset("254700000002");
  refused(intruder, {{"type", "join"}, {"txn", txn}}, "txn_taken");
  call(b, {{"type", "amount"}, {"txn", txn}, {"amount", 100}}, "ack");
  event(h, "amount");
  call(h, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 100}}, "receipt");
  auto late = handset("254700000002");
  refused(late, {{"type", "join"}, {"txn", txn}}, "txn_closed");
}

TEST_F(FlowAOverSockets, EitherSideCancelsAndBothAreTold) {
  auto b = billing();
  auto h = handset();
  auto txn = synchronize(b, h);
  call(b, {{"type", "cancel"}, {"txn", txn}, {"reason", "wrong order"}}, "cancelled");
  auto notice = event(h, "cancelled");
  EXPECT_EQ(str(notice, "by"), "merchant");
  EXPECT_EQ(str(notice, "reason"), "wrong order");

  auto txn2 = synchronize(b, h);
  auto reply = call(h, {{"type", "cancel"}, {"txn", txn2}}, "cancelled");
  EXPECT_EQ(str(reply, "by"), "payer");
  EXPECT_EQ(str(event(b, "cancelled"), "by"), "payer");
}

TEST_F(FlowAOverSockets, AnOpenedTransactionExpires) {
  auto b = billing();
  auto h = handset();
  auto txn = synchronize(b, h, {{"ttl_s", 1}});
  EXPECT_EQ(str(event(b, "expired"), "txn"), txn);
  EXPECT_EQ(str(event(h, "expired"), "txn"), txn);
  refused(b, {{"type", "amount"}, {"txn", txn}, {"amount", 100}}, "txn_closed");
}

TEST_F(FlowAOverSockets, ADisconnectedTerminalCancelsAndCanAskLater) {
  auto b = billing();
  auto h = handset();
  auto txn = synchronize(b, h);
  b.close();
  EXPECT_EQ(str(event(h, "cancelled"), "by"), "merchant");
  // A settled payment stays visible to the merchant's other terminals.
  auto b2 = billing("t-kahawa-02");
  auto paid = pay(b2, h, 4200);
  auto b3 = billing("t-kahawa-01");
  auto status = call(b3, {{"type", "status"}, {"txn", str(paid, "txn")}}, "status");
  EXPECT_EQ(str(status, "state"), "settled");
  EXPECT_EQ(status.at("amount"), 4200);
  refused(b3, {{"type", "status"}, {"txn", txn}}, "unknown_txn");
}

// The same payments with the actors on CAF's own worker pool
// (`--scheduler caf`) instead of on the network threads, and with terminals
// still connected when the switch is told to stop (TearDown checks the exit).
class FlowAOnCafWorkers : public switch_test {
 protected:
  void SetUp() override { start({"--scheduler", "caf", "--io-threads", "1"}); }
};

TEST_F(FlowAOnCafWorkers, SettlesAndMovesTheMoneyOnce) {
  const auto payer = balance("user:u-1001"), merchant = balance("merchant:m-kahawa");
  auto b = billing();
  auto h = handset();
  for (int i = 0; i < 3; ++i) {
    auto receipt = pay(b, h, 1000);
    EXPECT_EQ(str(receipt, "type"), "receipt");
  }
  EXPECT_EQ(balance("user:u-1001"), payer - 3000);
  EXPECT_EQ(balance("merchant:m-kahawa"), merchant + 3000);
}

TEST_F(FlowAOverSockets, SeveralTerminalsPayAtOnceOnTheNetworkThreads) {
  // Three terminal/handset pairs on their own threads: sessions of different
  // connections run at once on the switch's io threads (one per core).
  const auto before = journal_entries();
  const std::vector<std::pair<std::string, std::string>> pairs{{"t-kahawa-01", "254700000001"},
                                                               {"t-kahawa-02", "254700000002"},
                                                               {"t-mboga-01", "254700000003"}};
  std::vector<std::thread> payers;
  std::atomic<int> receipts{0};
  for (const auto& [terminal, msisdn] : pairs) {
    payers.emplace_back([&, terminal = terminal, msisdn = msisdn] {
      try {
        auto b = billing(terminal);
        auto h = handset(msisdn);
        for (int i = 0; i < 5; ++i) {
          if (str(pay(b, h, 100), "type") == "receipt") ++receipts;
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << terminal << ": " << e.what();
      }
    });
  }
  for (auto& t : payers) t.join();
  EXPECT_EQ(receipts.load(), 15);
  EXPECT_EQ(journal_entries(), before + 15);
}

}  // namespace
}  // namespace paysync::testing_support
