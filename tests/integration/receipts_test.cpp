// Every receipt and settled message is signed by the switch, and anyone with
// its public key can check one offline (issue 7, signed receipts).

#include <cstdio>
#include <fstream>

#include "protocols/receipt_signature.hpp"
#include "switch_fixture.hpp"

namespace paysync::testing_support {
namespace {

struct command_result {
  int status = -1;
  std::string output;
};

command_result run(const std::string& args) {
  command_result r;
  FILE* pipe = ::popen((switch_process::binary() + " " + args + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof(buf), pipe)) r.output.append(buf, n);
  const int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class SignedReceipts : public switch_test {
 protected:
  void SetUp() override { start(); }

  // The switch's public key, as `paysync receipt-key` prints it.
  std::string receipt_key() {
    auto r = run("receipt-key --data-dir " + data_dir());
    EXPECT_EQ(r.status, 0) << r.output;
    return r.output.substr(0, r.output.find(' '));
  }
};

TEST_F(SignedReceipts, ReceiptAndSettledCarryOneValidSignature) {
  auto b = billing();
  auto h = handset();
  auto receipt = pay(b, h, 15000);
  // pay() consumed the settled event; a status of the settled txn repeats it.
  const auto key = receipt_key();
  EXPECT_EQ(protocols::verify_receipt(receipt, key), protocols::receipt_check::valid)
      << json::serialize(receipt);
  EXPECT_EQ(str(receipt, "payer_ref").substr(0, 2), "pr");
  EXPECT_EQ(str(receipt, "payer_ref").find("254700000001"), std::string::npos);
  EXPECT_NE(process().output().find(key), std::string::npos) << "the banner names the key";

  auto status = call(b, {{"type", "status"}, {"txn", str(receipt, "txn")}}, "status");
  ASSERT_TRUE(status.contains("settlement")) << json::serialize(status);
  auto settled = status.at("settlement").as_object();
  settled["type"] = "settled";
  EXPECT_EQ(str(settled, "signature"), str(receipt, "signature"));
  EXPECT_EQ(protocols::verify_receipt(settled, key), protocols::receipt_check::valid);

  // The same payer gets the same reference on the next payment.
  auto second = pay(b, h, 500);
  EXPECT_EQ(str(second, "payer_ref"), str(receipt, "payer_ref"));
  auto other_payer = handset("254700000002");
  auto third = pay(b, other_payer, 500);
  EXPECT_NE(str(third, "payer_ref"), str(receipt, "payer_ref"));
}

TEST_F(SignedReceipts, TheSettledEventIsSignedAndAStatusAfterReconnectToo) {
  std::string txn;
  json::object settled;
  {
    auto b = billing();
    auto h = handset();
    txn = synchronize(b, h);
    call(b, {{"type", "amount"}, {"txn", txn}, {"amount", 2500}}, "ack");
    event(h, "amount");
    call(h, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 2500}}, "receipt");
    settled = event(b, "settled");
  }
  const auto key = receipt_key();
  EXPECT_EQ(protocols::verify_receipt(settled, key), protocols::receipt_check::valid)
      << json::serialize(settled);
  // From the ledger, on a new connection: the same signature.
  auto again = billing();
  auto status = call(again, {{"type", "status"}, {"txn", txn}}, "status");
  auto from_ledger = status.at("settlement").as_object();
  from_ledger["type"] = "settled";
  EXPECT_EQ(str(from_ledger, "signature"), str(settled, "signature"));
  EXPECT_EQ(protocols::verify_receipt(from_ledger, key), protocols::receipt_check::valid);
}

TEST_F(SignedReceipts, TheVerifyCommandAcceptsGenuineAndRefusesTamperedReceipts) {
  auto b = billing();
  auto h = handset();
  auto receipt = pay(b, h, 15000);
  const auto key = receipt_key();
  const auto genuine = data_dir() + "/genuine.jsonl";
  const auto tampered = data_dir() + "/tampered.jsonl";
  std::ofstream(genuine) << "handset <- " << json::serialize(receipt) << "\n";
  auto changed = receipt;
  changed["amount"] = 1500;
  std::ofstream(tampered) << json::serialize(receipt) << "\n" << json::serialize(changed) << "\n";

  auto ok = run("verify-receipt --public-key " + key + " " + genuine);
  EXPECT_EQ(ok.status, 0) << ok.output;
  EXPECT_NE(ok.output.find("valid receipt " + str(receipt, "txn")), std::string::npos) << ok.output;
  auto bad = run("verify-receipt --public-key " + key + " " + tampered);
  EXPECT_EQ(bad.status, 1) << bad.output;
  EXPECT_NE(bad.output.find("bad_signature receipt"), std::string::npos) << bad.output;
  // Another switch's key does not vouch for this one's receipts.
  auto stranger =
      run("verify-receipt --public-key 11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo " + genuine);
  EXPECT_EQ(stranger.status, 1);
  EXPECT_NE(stranger.output.find("unknown_key"), std::string::npos) << stranger.output;
}

}  // namespace
}  // namespace paysync::testing_support
