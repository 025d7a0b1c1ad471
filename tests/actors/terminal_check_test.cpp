// The switch's side of the signed hello, on a manual clock (issue 7).

#include "actors/terminal_check.hpp"

#include <gtest/gtest.h>

#include "protocols/terminal_auth.hpp"

namespace paysync::actors {
namespace {

using kind = hello_verdict::kind;
using protocols::wire_error;

struct TerminalCheck : ::testing::Test {
  protocols::terminal_keypair keys = protocols::generate_terminal_keypair();
  storage::terminal_record terminal{};
  std::optional<pending_challenge> pending;
  std::int64_t now = 1'700'000'000'000;

  TerminalCheck() {
    terminal.id = "t-kahawa-01";
    terminal.merchant_id = "m-kahawa";
    terminal.public_key.assign(keys.public_key.begin(), keys.public_key.end());
  }

  hello_verdict hello(std::string_view nonce = {}, std::string_view signature = {},
                      bool require = true) {
    return check_hello(terminal, nonce, signature, pending, now, require);
  }
  std::string challenge() {
    auto v = hello();
    EXPECT_EQ(v.what, kind::challenge);
    return v.nonce;
  }
};

TEST_F(TerminalCheck, AnUnsignedHelloGetsAFreshNonceAndTheSignedOneIsAccepted) {
  const auto nonce = challenge();
  EXPECT_EQ(pending->nonce, nonce);
  EXPECT_EQ(hello(nonce, protocols::sign_hello(keys, terminal.id, nonce)).what, kind::accept);
  EXPECT_FALSE(pending) << "the nonce is spent";
}

TEST_F(TerminalCheck, ANonceIsUsedOnce) {
  const auto nonce = challenge();
  const auto sig = protocols::sign_hello(keys, terminal.id, nonce);
  ASSERT_EQ(hello(nonce, sig).what, kind::accept);
  auto replay = hello(nonce, sig);
  EXPECT_EQ(replay.what, kind::refuse);
  EXPECT_EQ(replay.error, wire_error::bad_signature);
}

TEST_F(TerminalCheck, OnlyTheLatestNonceOfThisConnectionCounts) {
  const auto first = challenge();
  const auto second = challenge();
  EXPECT_NE(first, second);
  EXPECT_EQ(hello(first, protocols::sign_hello(keys, terminal.id, first)).what, kind::refuse);
  // A failed attempt spends the nonce too: the terminal asks again.
  EXPECT_EQ(hello(second, protocols::sign_hello(keys, terminal.id, second)).what, kind::refuse);
  const auto third = challenge();
  EXPECT_EQ(hello(third, protocols::sign_hello(keys, terminal.id, third)).what, kind::accept);
}

TEST_F(TerminalCheck, AChallengeExpiresAfterThirtySeconds) {
  auto nonce = challenge();
  now += hello_challenge_ttl_ms + 1;
  auto late = hello(nonce, protocols::sign_hello(keys, terminal.id, nonce));
  EXPECT_EQ(late.what, kind::refuse);
  EXPECT_NE(late.message.find("expired"), std::string::npos) << late.message;
  nonce = challenge();
  now += hello_challenge_ttl_ms;  // exactly on the deadline is still in time
  EXPECT_EQ(hello(nonce, protocols::sign_hello(keys, terminal.id, nonce)).what, kind::accept);
}

TEST_F(TerminalCheck, AnotherKeyOrTerminalDoesNotVerify) {
  const auto thief = protocols::generate_terminal_keypair();
  auto nonce = challenge();
  EXPECT_EQ(hello(nonce, protocols::sign_hello(thief, terminal.id, nonce)).what, kind::refuse);
  nonce = challenge();
  EXPECT_EQ(hello(nonce, protocols::sign_hello(keys, "t-kahawa-02", nonce)).what, kind::refuse);
  nonce = challenge();
  EXPECT_EQ(hello(nonce, "garbage").what, kind::refuse);
}

TEST_F(TerminalCheck, ATerminalWithoutAKeyIsRefusedUnlessKeysAreOptional) {
  terminal.public_key.clear();
  auto v = hello();
  EXPECT_EQ(v.what, kind::refuse);
  EXPECT_EQ(v.error, wire_error::terminal_key_required);
  EXPECT_EQ(hello({}, {}, false).what, kind::accept);
}

}  // namespace
}  // namespace paysync::actors
