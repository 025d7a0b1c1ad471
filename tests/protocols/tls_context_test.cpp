// The certificate and key files: made once, reused, refused when wrong.

#include "protocols/tls_context.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/support/temp_directory.hpp"

namespace paysync::protocols {
namespace {

namespace fs = std::filesystem;

unsigned mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

void write_file(const std::string& path, const std::string& text) { std::ofstream{path} << text; }

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>(in), {}};
}

class TlsFiles : public ::testing::Test {
 protected:
  std::string self_dir() const { return dir_.sub("data/tls"); }
  tls_result<server_tls> load_self_signed() const { return load_server_tls({"", "", self_dir()}); }

  testing_support::scratch_directory dir_;
};

TEST_F(TlsFiles, TheFirstStartMakesAPairWithAPrivateKey) {
  auto tls = load_self_signed();
  ASSERT_TRUE(tls) << describe(tls.error());
  EXPECT_TRUE(tls->created);
  EXPECT_TRUE(tls->context);
  EXPECT_EQ(tls->certificate_file, self_dir() + "/cert.pem");
  EXPECT_EQ(tls->key_file, self_dir() + "/key.pem");
  EXPECT_EQ(mode_of(tls->key_file), 0600u);
  EXPECT_EQ(mode_of(self_dir()), 0700u);
  EXPECT_EQ(tls->fingerprint_sha256.size(), 95u) << tls->fingerprint_sha256;  // 32 "AB" + 31 ":"
  EXPECT_EQ(normalize_fingerprint(tls->fingerprint_sha256).size(), 64u);
  EXPECT_NE(read_file(tls->key_file).find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  EXPECT_FALSE(fs::exists(tls->key_file + ".new"));
}

TEST_F(TlsFiles, ALaterStartReusesThePair) {
  auto first = load_self_signed();
  ASSERT_TRUE(first) << describe(first.error());
  const auto key = read_file(first->key_file);
  auto second = load_self_signed();
  ASSERT_TRUE(second) << describe(second.error());
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->fingerprint_sha256, first->fingerprint_sha256);
  EXPECT_EQ(read_file(second->key_file), key);
  auto fingerprint = certificate_fingerprint(first->certificate_file);
  ASSERT_TRUE(fingerprint);
  EXPECT_EQ(*fingerprint, first->fingerprint_sha256);
}

TEST_F(TlsFiles, HalfAPairOnDiskIsRefusedAndNotReplaced) {
  ASSERT_TRUE(load_self_signed());
  const auto cert = read_file(self_dir() + "/cert.pem");
  fs::remove(self_dir() + "/key.pem");
  auto tls = load_self_signed();
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().code, tls_error::half_configured);
  EXPECT_NE(tls.error().detail.find("key.pem"), std::string::npos) << tls.error().detail;
  EXPECT_EQ(read_file(self_dir() + "/cert.pem"), cert);
  EXPECT_FALSE(fs::exists(self_dir() + "/key.pem"));
}

TEST_F(TlsFiles, ACertificateWithoutAKeyIsHalfConfigured) {
  auto tls = load_server_tls({dir_.sub("cert.pem"), "", self_dir()});
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().code, tls_error::half_configured);
  EXPECT_NE(describe(tls.error()).find("--tls-cert and --tls-key"), std::string::npos);
}

TEST_F(TlsFiles, NamedFilesAreUsedAsTheyAre) {
  const auto cert = dir_.sub("server.crt"), key = dir_.sub("server.key");
  ASSERT_TRUE(create_self_signed_pair(cert, key));
  auto tls = load_server_tls({cert, key, self_dir()});
  ASSERT_TRUE(tls) << describe(tls.error());
  EXPECT_FALSE(tls->created);
  EXPECT_EQ(tls->certificate_file, cert);
  EXPECT_FALSE(fs::exists(self_dir())) << "nothing is made when files are named";
}

TEST_F(TlsFiles, AMissingNamedFileIsRefusedByName) {
  auto tls = load_server_tls({dir_.sub("nope.crt"), dir_.sub("nope.key"), self_dir()});
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().code, tls_error::missing_file);
  EXPECT_NE(tls.error().detail.find("nope.crt"), std::string::npos);
}

TEST_F(TlsFiles, ACertificateThatIsNotPemIsRefused) {
  const auto cert = dir_.sub("a.crt"), key = dir_.sub("a.key");
  ASSERT_TRUE(create_self_signed_pair(cert, key));
  write_file(cert, "this is not a certificate\n");
  auto tls = load_server_tls({cert, key, self_dir()});
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().code, tls_error::bad_certificate);
  EXPECT_NE(tls.error().detail.find("a.crt: no PEM certificate"), std::string::npos)
      << tls.error().detail;
}

TEST_F(TlsFiles, AKeyThatIsNotPemIsRefused) {
  const auto cert = dir_.sub("b.crt"), key = dir_.sub("b.key");
  ASSERT_TRUE(create_self_signed_pair(cert, key));
  write_file(key, "-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n");
  auto tls = load_server_tls({cert, key, self_dir()});
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().code, tls_error::bad_key);
}

TEST_F(TlsFiles, TheKeyOfAnotherCertificateIsRefused) {
  ASSERT_TRUE(create_self_signed_pair(dir_.sub("1.crt"), dir_.sub("1.key")));
  ASSERT_TRUE(create_self_signed_pair(dir_.sub("2.crt"), dir_.sub("2.key")));
  auto tls = load_server_tls({dir_.sub("1.crt"), dir_.sub("2.key"), self_dir()});
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().code, tls_error::key_mismatch);
}

TEST_F(TlsFiles, AKeyReadableByEveryoneIsRefused) {
  ASSERT_TRUE(load_self_signed());
  ::chmod((self_dir() + "/key.pem").c_str(), 0644);
  auto tls = load_self_signed();
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().code, tls_error::key_exposed);
  EXPECT_NE(tls.error().detail.find("mode 0644"), std::string::npos) << tls.error().detail;
  ::chmod((self_dir() + "/key.pem").c_str(), 0640);  // group access is fine (ssl-cert)
  EXPECT_TRUE(load_self_signed());
}

TEST_F(TlsFiles, ThePairIsNeverWrittenOverAnExistingFile) {
  write_file(dir_.sub("c.key"), "keep me\n");
  auto made = create_self_signed_pair(dir_.sub("c.crt"), dir_.sub("c.key"));
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error().code, tls_error::create_failed);
  EXPECT_EQ(read_file(dir_.sub("c.key")), "keep me\n");
  EXPECT_FALSE(fs::exists(dir_.sub("c.crt")));
}

TEST_F(TlsFiles, FingerprintsAreComparedInAnySpelling) {
  const std::string colons =
      "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:"
      "67:89";
  const std::string plain = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
  EXPECT_EQ(normalize_fingerprint(colons), plain);
  EXPECT_EQ(normalize_fingerprint(plain), plain);
  EXPECT_EQ(normalize_fingerprint("AB:CD"), "");
  EXPECT_EQ(normalize_fingerprint(plain + "00"), "");
  EXPECT_EQ(normalize_fingerprint("zz" + plain.substr(2)), "");
}

}  // namespace
}  // namespace paysync::protocols
