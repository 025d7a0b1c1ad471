// Billing terminals and order centres prove who they are with Ed25519 over a
// nonce the switch gives each connection (issue 7; docs/protocol.md, section 3).

#include <cstdlib>

#include "switch_fixture.hpp"

namespace paysync::testing_support {
namespace {

int run(const std::string& args) {
  return std::system((switch_process::binary() + " " + args + " >/dev/null 2>&1").c_str());
}

class TerminalAuth : public switch_test {
 protected:
  void SetUp() override { start(); }

  protocols::terminal_keypair key_of(const std::string& id) {
    auto keys = protocols::read_terminal_key_file(terminal_key_file(id));
    if (!keys) throw std::runtime_error(keys.error());
    return std::move(*keys);
  }

  json::object signed_hello(const std::string& id, const std::string& nonce,
                            const protocols::terminal_keypair& keys) {
    return {{"type", "hello"},
            {"terminal", id},
            {"nonce", nonce},
            {"signature", protocols::sign_hello(keys, id, nonce)}};
  }
};

TEST_F(TerminalAuth, AnUnsignedHelloIsAnsweredWithAChallengeAndNothingElse) {
  auto s = connect(process().billing_port(), {});
  auto challenge = call(s, {{"type", "hello"}, {"terminal", "t-kahawa-01"}}, "challenge");
  EXPECT_EQ(str(challenge, "terminal"), "t-kahawa-01");
  EXPECT_EQ(str(challenge, "nonce").size(), 43u);
  EXPECT_EQ(challenge.at("expires_in_s"), 30);
  EXPECT_NE(str(challenge, "sign").find("paysync/hello/v1|"), std::string::npos);
  refused(s, {{"type", "open"}}, "not_identified");
  const auto keys = key_of("t-kahawa-01");
  call(s, signed_hello("t-kahawa-01", str(challenge, "nonce"), keys), "welcome");
  call(s, {{"type", "open"}}, "opened");
}

TEST_F(TerminalAuth, AStolenIdWithoutTheKeyGetsNowhere) {
  auto s = connect(process().billing_port(), {});
  const auto thief = protocols::generate_terminal_keypair();
  auto nonce = str(call(s, {{"type", "hello"}, {"terminal", "t-kahawa-01"}}, "challenge"), "nonce");
  refused(s, signed_hello("t-kahawa-01", nonce, thief), "bad_signature");
  // Another terminal's key does not open this one either.
  nonce = str(call(s, {{"type", "hello"}, {"terminal", "t-kahawa-01"}}, "challenge"), "nonce");
  refused(s, signed_hello("t-kahawa-01", nonce, key_of("t-kahawa-02")), "bad_signature");
  refused(s, {{"type", "open"}}, "not_identified");
  // The third bad signature closes the connection.
  nonce = str(call(s, {{"type", "hello"}, {"terminal", "t-kahawa-01"}}, "challenge"), "nonce");
  refused(s, signed_hello("t-kahawa-01", nonce, thief), "bad_signature");
  auto after = s.request({{"type", "ping"}}, wait);
  EXPECT_FALSE(after && str(*after, "type") == "pong") << "the connection should be closed";
}

TEST_F(TerminalAuth, ACapturedSignatureIsWorthlessOnAnotherConnectionOrTwice) {
  const auto keys = key_of("t-kahawa-01");
  auto first = connect(process().billing_port(), {});
  const auto nonce =
      str(call(first, {{"type", "hello"}, {"terminal", "t-kahawa-01"}}, "challenge"), "nonce");
  const auto captured = signed_hello("t-kahawa-01", nonce, keys);
  auto replay = connect(process().billing_port(), {});
  refused(replay, captured, "bad_signature");
  // With a challenge of its own the replayed nonce still is not that one.
  call(replay, {{"type", "hello"}, {"terminal", "t-kahawa-01"}}, "challenge");
  refused(replay, captured, "bad_signature");
  call(first, captured, "welcome");
  refused(first, captured, "already_identified");
}

TEST_F(TerminalAuth, OrderCentresSignTheirHelloToo) {
  auto s = connect(process().billing_port(), {}, "/centre");
  auto challenge = call(s, {{"type", "hello"}, {"centre", "oc-nairobi"}}, "challenge");
  EXPECT_EQ(str(challenge, "centre"), "oc-nairobi");
  const auto thief = protocols::generate_terminal_keypair();
  json::object forged{
      {"type", "hello"},
      {"centre", "oc-nairobi"},
      {"nonce", str(challenge, "nonce")},
      {"signature", protocols::sign_hello(thief, "oc-nairobi", str(challenge, "nonce"))}};
  refused(s, forged, "bad_signature");
  auto keys = key_of("oc-nairobi");
  auto welcome = protocols::identify(s, "centre", "oc-nairobi", &keys, wait);
  ASSERT_TRUE(welcome);
  EXPECT_EQ(str(*welcome, "type"), "welcome") << json::serialize(*welcome);
}

TEST_F(TerminalAuth, TheOperatorIssuesAndRevokesKeysAndARestartKeepsThat) {
  ASSERT_EQ(process().stop(), 0) << process().output();
  const auto data = " --data-dir " + data_dir() + " ";
  const auto fresh = data_dir() + "/mboga-new.key";
  ASSERT_EQ(run("terminal-key" + data + "revoke t-kahawa-02"), 0);
  ASSERT_EQ(run("terminal-key" + data + "new t-mboga-01 --out " + fresh), 0);
  EXPECT_NE(run("terminal-key" + data + "new t-nobody --out " + fresh + ".2"), 0);
  EXPECT_NE(run("terminal-key" + data + "register t-dawa-01 not-a-key"), 0);
  start();  // the demo seeding must not re-key the revoked terminal

  auto revoked = connect(process().billing_port(), {});
  refused(revoked, {{"type", "hello"}, {"terminal", "t-kahawa-02"}}, "terminal_key_required");

  auto old_key = connect(process().billing_port(), {});
  const auto stale = key_of("t-mboga-01");
  auto answer = protocols::identify(old_key, "terminal", "t-mboga-01", &stale, wait);
  ASSERT_TRUE(answer);
  EXPECT_EQ(str(*answer, "code"), "bad_signature") << json::serialize(*answer);

  auto new_key = connect(process().billing_port(), {});
  auto keys = protocols::read_terminal_key_file(fresh);
  ASSERT_TRUE(keys) << keys.error();
  auto welcome = protocols::identify(new_key, "terminal", "t-mboga-01", &*keys, wait);
  ASSERT_TRUE(welcome);
  EXPECT_EQ(str(*welcome, "type"), "welcome") << json::serialize(*welcome);
}

TEST_F(TerminalAuth, KeysCanBeOptionalForASwitchThatSaysSo) {
  ASSERT_EQ(process().stop(), 0) << process().output();
  ASSERT_EQ(run("terminal-key --data-dir " + data_dir() + " revoke t-kahawa-02"), 0);
  start({"--require-terminal-keys", "false"});
  auto s = connect(process().billing_port(), {});
  call(s, {{"type", "hello"}, {"terminal", "t-kahawa-02"}}, "welcome");
  // A terminal that has a key must still use it.
  auto keyed = connect(process().billing_port(), {});
  call(keyed, {{"type", "hello"}, {"terminal", "t-kahawa-01"}}, "challenge");
}

}  // namespace
}  // namespace paysync::testing_support
