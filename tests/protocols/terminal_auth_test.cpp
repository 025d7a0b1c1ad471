// Ed25519 keys, signatures and key files of billing terminals (issue 7).

#include "protocols/terminal_auth.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "support/temp_directory.hpp"

namespace paysync::protocols {
namespace {

std::string as_string(const auto& bytes) { return std::string(bytes.begin(), bytes.end()); }

TEST(TerminalAuth, ASignatureVerifiesOnlyForItsTerminalNonceAndKey) {
  const auto keys = generate_terminal_keypair();
  const auto other = generate_terminal_keypair();
  const auto nonce = make_hello_nonce();
  const auto sig = sign_hello(keys, "t-kahawa-01", nonce);
  const auto pub = as_string(keys.public_key);
  EXPECT_TRUE(verify_hello(pub, "t-kahawa-01", nonce, sig));
  EXPECT_FALSE(verify_hello(pub, "t-kahawa-02", nonce, sig)) << "another terminal";
  EXPECT_FALSE(verify_hello(pub, "t-kahawa-01", make_hello_nonce(), sig)) << "another nonce";
  EXPECT_FALSE(verify_hello(as_string(other.public_key), "t-kahawa-01", nonce, sig));
  EXPECT_FALSE(verify_hello(pub, "t-kahawa-01", nonce, "not base64!"));
  EXPECT_FALSE(verify_hello(pub, "t-kahawa-01", nonce, sig.substr(0, 40)));
  EXPECT_FALSE(verify_hello(pub.substr(0, 31), "t-kahawa-01", nonce, sig));
  auto flipped = sig;
  flipped[5] = flipped[5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify_hello(pub, "t-kahawa-01", nonce, flipped));
}

TEST(TerminalAuth, NoncesAreFreshAndBase64urlRoundTrips) {
  const auto a = make_hello_nonce(), b = make_hello_nonce();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 43u) << "32 bytes, unpadded";
  const std::string bytes("\x00\xff\xfe-_+/", 7);
  const auto text = to_base64url(bytes);
  EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
  EXPECT_EQ(from_base64url(text), bytes);
  EXPECT_FALSE(from_base64url("a+b/"));
}

TEST(TerminalAuth, KeyFilesRoundTripAreOwnerOnlyAndRejectGarbage) {
  testing_support::scratch_directory dir;
  const auto path = dir.sub("t.key");
  const auto keys = generate_terminal_keypair();
  ASSERT_TRUE(write_terminal_key_file(path, keys));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto back = read_terminal_key_file(path);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->public_key, keys.public_key);
  EXPECT_EQ(back->secret_key, keys.secret_key);
  EXPECT_FALSE(read_terminal_key_file(dir.sub("missing.key")));
  std::ofstream(dir.sub("bad.key")) << "paysync-terminal-key-v1 AAAA\n";
  EXPECT_FALSE(read_terminal_key_file(dir.sub("bad.key")));
  std::ofstream(dir.sub("other.key")) << "ssh-ed25519 AAAA\n";
  EXPECT_FALSE(read_terminal_key_file(dir.sub("other.key")));
}

}  // namespace
}  // namespace paysync::protocols
