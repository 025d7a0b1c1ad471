// Signed receipts: the canonical text, signing and offline verification (issue 7).

#include "protocols/receipt_signature.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <boost/json.hpp>

#include "protocols/terminal_auth.hpp"

namespace paysync::protocols {
namespace {

namespace json = boost::json;

std::array<std::uint8_t, 32> filled(std::uint8_t v) {
  std::array<std::uint8_t, 32> a{};
  a.fill(v);
  return a;
}

struct ReceiptSignature : ::testing::Test {
  receipt_signer signer{filled(7), filled(9)};
  receipt_facts facts{"tx0001abc",
                      "m-kahawa",
                      signer.payer_ref("a-u-1001"),
                      15000,
                      "KES",
                      "2026-11-25T08:20:05.619Z",
                      6};

  json::object receipt() {
    return {{"type", "receipt"},
            {"txn", facts.txn},
            {"merchant", json::object{{"id", facts.merchant_id}, {"name", "Kahawa Coffee House"}}},
            {"amount", facts.amount_minor},
            {"currency", facts.currency},
            {"sequence", facts.sequence},
            {"settled_at", facts.settled_at},
            {"payer_ref", facts.payer_ref},
            {"key_id", signer.key_id()},
            {"signature", signer.sign(facts)}};
  }
};

TEST_F(ReceiptSignature, TheCanonicalTextNamesEveryFactInOrder) {
  EXPECT_EQ(canonical_receipt(facts), "paysync/receipt/v1|tx0001abc|m-kahawa|" + facts.payer_ref +
                                          "|15000|KES|2026-11-25T08:20:05.619Z|6");
}

TEST_F(ReceiptSignature, AReceiptAsSentVerifiesAndSoDoesTheSettledEvent) {
  auto r = receipt();
  EXPECT_EQ(verify_receipt(r, signer.public_key()), receipt_check::valid);
  r["type"] = "settled";
  r["reference"] = "order-1";  // unsigned extras do not matter
  r.erase("merchant");
  r["merchant"] = json::object{{"id", "m-kahawa"}};
  EXPECT_EQ(verify_receipt(r, signer.public_key()), receipt_check::valid);
}

TEST_F(ReceiptSignature, ChangingAnySignedFactBreaksIt) {
  const json::object tampering{{"txn", "tx0001abd"}, {"amount", 150000},
                               {"currency", "USD"},  {"settled_at", "2026-11-25T08:20:05.620Z"},
                               {"sequence", 7},      {"payer_ref", signer.payer_ref("a-u-1002")}};
  for (const auto& [field, value] : tampering) {
    auto r = receipt();
    r[field] = value;
    EXPECT_EQ(verify_receipt(r, signer.public_key()), receipt_check::bad_signature) << field;
  }
  auto r = receipt();
  r["merchant"].as_object()["id"] = "m-mboga";
  EXPECT_EQ(verify_receipt(r, signer.public_key()), receipt_check::bad_signature);
}

TEST_F(ReceiptSignature, AnotherSwitchsKeyOrAForgedSignatureIsRefused) {
  const receipt_signer other{filled(8), filled(9)};
  EXPECT_EQ(verify_receipt(receipt(), other.public_key()), receipt_check::unknown_key);
  auto forged = receipt();
  forged["signature"] = other.sign(facts);
  EXPECT_EQ(verify_receipt(forged, signer.public_key()), receipt_check::bad_signature);
  forged["signature"] = "AAAA";
  EXPECT_EQ(verify_receipt(forged, signer.public_key()), receipt_check::bad_signature);
}

TEST_F(ReceiptSignature, IncompleteMessagesAreMalformed) {
  for (const char* field : {"txn", "amount", "currency", "sequence", "settled_at", "payer_ref",
                            "key_id", "signature", "merchant"}) {
    auto r = receipt();
    r.erase(field);
    EXPECT_EQ(verify_receipt(r, signer.public_key()), receipt_check::malformed) << field;
  }
  auto r = receipt();
  r["type"] = "opened";
  EXPECT_EQ(verify_receipt(r, signer.public_key()), receipt_check::malformed);
  r = receipt();
  r["amount"] = "15000";
  EXPECT_EQ(verify_receipt(r, signer.public_key()), receipt_check::malformed);
  EXPECT_EQ(verify_receipt(receipt(), "not a key"), receipt_check::malformed);
}

TEST_F(ReceiptSignature, PayerReferencesAreStablePerAccountAndKeyed) {
  EXPECT_EQ(signer.payer_ref("a-u-1001"), facts.payer_ref);
  EXPECT_NE(signer.payer_ref("a-u-1002"), facts.payer_ref);
  const receipt_signer other_key{filled(7), filled(10)};
  EXPECT_NE(other_key.payer_ref("a-u-1001"), facts.payer_ref);
  EXPECT_EQ(facts.payer_ref.size(), 24u);
  EXPECT_EQ(facts.payer_ref.find("a-u-1001"), std::string::npos);
}

}  // namespace
}  // namespace paysync::protocols
