// The authentication secrets: the key file, Argon2id with a pepper, sealed
// biometric templates, and the factor store with its lockouts.

#include <sys/stat.h>

#include <fstream>

#include "storage/factor_store.hpp"
#include "storage/keyring.hpp"
#include "storage/secrets.hpp"
#include "storage_fixture.hpp"

namespace paysync::storage::testing {
namespace {

TEST(Keyring, IsCreatedPrivatelyAndReadBackTheSame) {
  temp_directory dir;
  const auto path = dir.path() + "/keys";
  auto first = load_or_create_keyring(path);
  ASSERT_TRUE(first.has_value());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = load_or_create_keyring(path);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->template_key, first->template_key);
  EXPECT_EQ(again->pepper, first->pepper);
  EXPECT_NE(first->pepper, first->template_key) << "independent keys";
}

TEST(Keyring, RefusesAFileOthersCanReadOrOfTheWrongShape) {
  temp_directory dir;
  const auto path = dir.path() + "/keys";
  ASSERT_TRUE(load_or_create_keyring(path).has_value());
  ::chmod(path.c_str(), 0644);
  EXPECT_EQ(load_or_create_keyring(path).error(), store_error::invalid_argument);
  const auto junk = dir.path() + "/junk";
  std::ofstream(junk) << "not a key file";
  ::chmod(junk.c_str(), 0600);
  EXPECT_EQ(load_or_create_keyring(junk).error(), store_error::invalid_argument);
}

class Secrets : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = std::move(*load_or_create_keyring(dir_.path() + "/a"));
    other_ = std::move(*load_or_create_keyring(dir_.path() + "/b"));
  }
  temp_directory dir_;
  keyring keys_, other_;
};

TEST_F(Secrets, Argon2idRoundTripWithThePepper) {
  auto hash = hash_secret(keys_, "1234");
  ASSERT_TRUE(hash.has_value());
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
  EXPECT_EQ(hash->find("1234"), std::string::npos);
  EXPECT_TRUE(verify_secret(keys_, *hash, "1234"));
  EXPECT_FALSE(verify_secret(keys_, *hash, "1235"));
  EXPECT_FALSE(verify_secret(keys_, *hash, ""));
  EXPECT_NE(*hash_secret(keys_, "1234"), *hash) << "salted";
  // A stolen database without the key file cannot test guesses.
  EXPECT_FALSE(verify_secret(other_, *hash, "1234"));
  EXPECT_FALSE(verify_secret(keys_, "not a hash", "1234"));
}

TEST_F(Secrets, AnswersAreNormalised) {
  EXPECT_EQ(normalise_answer("  Kilimani   PRIMARY "), "kilimani primary");
  EXPECT_EQ(normalise_answer(""), "");
}

TEST_F(Secrets, TemplatesAreSealedToTheirUserAndFactor) {
  const std::vector<std::uint8_t> plain{4, 1, 0, 9, 9, 9, 9};
  auto sealed = seal_template(keys_, "u-1001", "f-1", plain);
  EXPECT_EQ(sealed.find(std::string(plain.begin(), plain.end())), std::string::npos);
  auto opened = open_template(keys_, "u-1001", "f-1", sealed);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, std::string(plain.begin(), plain.end()));
  EXPECT_EQ(open_template(keys_, "u-1002", "f-1", sealed).error(), store_error::corrupt)
      << "a template swapped to another user does not open";
  EXPECT_EQ(open_template(keys_, "u-1001", "f-2", sealed).error(), store_error::corrupt);
  EXPECT_EQ(open_template(other_, "u-1001", "f-1", sealed).error(), store_error::corrupt);
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    auto tampered = sealed;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    EXPECT_FALSE(open_template(keys_, "u-1001", "f-1", tampered).has_value()) << i;
  }
  EXPECT_FALSE(open_template(keys_, "u-1001", "f-1", sealed.substr(0, 10)).has_value());
}

class FactorStore : public storage_test {
 protected:
  factor_record pin() {
    return factor_record{"u-1001", "f-aa", factor_kind::pin, "", 1000, false, 0, {"$argon2id$x"}};
  }
};

TEST_F(FactorStore, PutsListsAndRevokes) {
  factor_store store(env());
  ASSERT_TRUE(store.put(pin()).has_value());
  auto q = pin();
  q.factor_id = "f-bb";
  q.kind = factor_kind::question;
  q.label = "Name of your first school?";
  ASSERT_TRUE(store.put(q).has_value());
  auto other_user = pin();
  other_user.user_id = "u-1002";
  ASSERT_TRUE(store.put(other_user).has_value());
  EXPECT_EQ(*store.find("u-1001", "f-bb"), q);
  auto mine = store.list("u-1001");
  ASSERT_TRUE(mine.has_value());
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].factor_id, "f-aa");
  ASSERT_TRUE(store.revoke("u-1001", "f-aa").has_value());
  auto revoked = store.find("u-1001", "f-aa");
  EXPECT_TRUE(revoked->revoked);
  EXPECT_EQ(revoked->secrets, std::vector<std::string>{"revoked"}) << "the hash is gone";
  EXPECT_EQ(store.revoke("u-1001", "f-zz").error(), store_error::not_found);
  EXPECT_EQ(store.find("u-1001", "f-zz").error(), store_error::not_found);
  auto empty = pin();
  empty.secrets.clear();
  EXPECT_EQ(store.put(empty).error(), store_error::invalid_argument);
  reopen();
  factor_store again(env());
  EXPECT_EQ(again.list("u-1001")->size(), 2u) << "kept across restarts";
}

TEST_F(FactorStore, LockoutsGrowAndSurviveRestarts) {
  factor_store store(env());
  const lockout_policy policy{3, 60'000, 200'000};
  EXPECT_EQ(*store.attempts("u-1", "f-1"), attempt_state{});
  EXPECT_EQ(store.record_failure("u-1", "f-1", 0, policy)->failures, 1u);
  ASSERT_TRUE(store.record_success("u-1", "f-1").has_value());
  EXPECT_EQ(store.attempts("u-1", "f-1")->failures, 0u) << "a success forgives";
  store.record_failure("u-1", "f-1", 0, policy);
  store.record_failure("u-1", "f-1", 0, policy);
  auto first = store.record_failure("u-1", "f-1", 1'000, policy);
  EXPECT_EQ(first->locked_until_unix_ms, 61'000);
  EXPECT_EQ(first->lockouts, 1u);
  for (int i = 0; i < 3; ++i) store.record_failure("u-1", "f-1", 100'000, policy);
  EXPECT_EQ(store.attempts("u-1", "f-1")->locked_until_unix_ms, 220'000) << "twice as long";
  for (int i = 0; i < 3; ++i) store.record_failure("u-1", "f-1", 300'000, policy);
  EXPECT_EQ(store.attempts("u-1", "f-1")->locked_until_unix_ms, 500'000) << "capped";
  reopen();
  factor_store again(env());
  EXPECT_EQ(again.attempts("u-1", "f-1")->lockouts, 3u);
}

}  // namespace
}  // namespace paysync::storage::testing
