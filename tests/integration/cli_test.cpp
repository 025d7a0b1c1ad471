// The binary's commands as an operator uses them.

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <set>
#include <string>

#include "protocols/identify.hpp"
#include "protocols/terminal_auth.hpp"
#include "protocols/terminal_client.hpp"
#include "support/temp_directory.hpp"
#include "switch_process.hpp"

namespace paysync::testing_support {
namespace {

using namespace std::chrono_literals;

struct run_result {
  int status = -1;
  std::string output;
};

run_result run(const std::string& args, const std::string& input = "") {
  std::string command = switch_process::binary() + " " + args + " 2>&1";
  if (!input.empty()) command = "printf '%s\\n' '" + input + "' | " + command;
  run_result r;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf;
  while (auto n = std::fread(buf.data(), 1, buf.size(), pipe)) r.output.append(buf.data(), n);
  int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Identifies as the demo terminal with the key the switch wrote for it.
bool say_hello(protocols::terminal_session& s, const std::string& data_dir) {
  auto keys = protocols::read_terminal_key_file(data_dir + "/terminal-keys/t-kahawa-01.key");
  if (!keys) return false;
  auto welcome = protocols::identify(s, "terminal", "t-kahawa-01", &*keys, 5s);
  return welcome && welcome->at("type") == "welcome";
}

TEST(Cli, HelpNamesEveryCommandAndOption) {
  auto top = run("--help");
  EXPECT_EQ(top.status, 0);
  for (auto word : {"serve", "terminal", "demo", "audit"}) {
    EXPECT_NE(top.output.find(word), std::string::npos) << word;
  }
  auto serve = run("serve --help");
  EXPECT_EQ(serve.status, 0);
  for (auto option : {"--billing-port", "--paying-port", "--shards", "--data-dir",
                      "--trusted-gateway", "--txn-ttl-s", "--config"}) {
    EXPECT_NE(serve.output.find(option), std::string::npos) << option;
  }
}

TEST(Cli, RefusesBadOptionsClearly) {
  auto r = run("serve --no-such-option");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("no-such-option"), std::string::npos) << r.output;
  auto bad = run("serve --shards 300");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.output.find("--shards"), std::string::npos) << bad.output;
  EXPECT_EQ(run("frobnicate").status, 2);
}

TEST(Cli, ReadsAConfigFileAndTheCommandLineWins) {
  scratch_directory dir;
  const auto conf = dir.sub("paysync.conf");
  FILE* f = std::fopen(conf.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("txn-ttl-s = 42\nshards = 1\n", f);
  std::fclose(f);
  // switch_process passes "--shards 2"; the config file's "shards = 1" loses
  // to it, and "--txn-ttl-s 7" wins over the file's 42.
  switch_process sw(dir.sub("data"), {"--config", conf, "--txn-ttl-s", "7"});
  protocols::client_options o;
  o.port = sw.billing_port();
  auto b = protocols::terminal_session::connect(o);
  ASSERT_TRUE(b);
  ASSERT_TRUE(say_hello(*b, dir.sub("data")));
  std::set<std::string> shards;
  for (int i = 0; i < 40; ++i) {
    auto opened = b->request({{"type", "open"}}, 5s);
    ASSERT_TRUE(opened);
    EXPECT_EQ(opened->at("ttl_s"), 7);
    shards.insert(std::string(opened->at("txn").as_string()).substr(4, 2));
  }
  EXPECT_EQ(shards, (std::set<std::string>{"00", "01"})) << "ids name one of the two shards";
}

TEST(Cli, ReadsSettingsFromAConfigFile) {
  scratch_directory dir;
  const auto conf = dir.sub("paysync.conf");
  FILE* f = std::fopen(conf.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("# a comment\ntxn-ttl-s = 42\n", f);
  std::fclose(f);
  switch_process sw(dir.sub("data"), {"--config", conf});
  protocols::client_options o;
  o.port = sw.billing_port();
  auto b = protocols::terminal_session::connect(o);
  ASSERT_TRUE(b);
  ASSERT_TRUE(say_hello(*b, dir.sub("data")));
  auto opened = b->request({{"type", "open"}}, 5s);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->at("ttl_s"), 42);
}

TEST(Cli, AuditReportsAConsistentSeededLedger) {
  scratch_directory dir;
  { switch_process sw(dir.sub("data")); }
  auto r = run("audit --data-dir " + dir.sub("data"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(R"("consistent":true)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(R"("KES":0)"), std::string::npos) << r.output;
}

TEST(Cli, TheTerminalCommandSpeaksTheProtocol) {
  scratch_directory dir;
  switch_process sw(dir.sub("data"));
  const auto key = dir.sub("data") + "/terminal-keys/t-kahawa-01.key";
  auto r = run(
      "terminal --port " + std::to_string(sw.billing_port()) + " --linger-ms 500 --key-file " + key,
      R"({"type":"hello","terminal":"t-kahawa-01"})");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(R"(< {"type":"challenge")"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(R"(< {"type":"welcome")"), std::string::npos) << r.output;
  // Without the key the challenge goes unanswered and no welcome comes.
  auto unsigned_hello =
      run("terminal --port " + std::to_string(sw.billing_port()) + " --linger-ms 300",
          R"({"type":"hello","terminal":"t-kahawa-01"})");
  EXPECT_NE(unsigned_hello.output.find(R"("type":"challenge")"), std::string::npos);
  EXPECT_EQ(unsigned_hello.output.find(R"("type":"welcome")"), std::string::npos)
      << unsigned_hello.output;
}

TEST(Cli, TheDemoSettlesAgainstARunningSwitch) {
  scratch_directory dir;
  switch_process sw(dir.sub("data"));
  auto r = run("demo --billing-port " + std::to_string(sw.billing_port()) + " --paying-port " +
               std::to_string(sw.paying_port()) + " --key-file " + dir.sub("data") +
               "/terminal-keys/t-kahawa-01.key");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(R"("type":"receipt")"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("settled tx"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace paysync::testing_support
