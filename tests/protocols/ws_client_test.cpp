#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <sstream>

#include "protocols/terminal_cli.hpp"
#include "protocols/terminal_client.hpp"
#include "protocols/ws_listener.hpp"
#include "tests/protocols/net_test_support.hpp"

namespace paysync::protocols {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using testing::io_runner;

// A scripted switch: a JSON message with "reply_with": [...] gets each element
// sent back (strings raw, anything else serialized); "close_me" closes; a
// "hold" message is answered only together with the next one, in reverse order;
// anything else is echoed.
class script_handler final : public ws_handler {
 public:
  explicit script_handler(std::shared_ptr<ws_connection> conn) : conn_(std::move(conn)) {}

  void on_text(std::string frame) override {
    boost::system::error_code ec;
    auto value = json::parse(frame, ec);
    if (ec || !value.is_object()) return conn_->send_text(std::move(frame));
    auto& message = value.as_object();
    if (const auto* replies = message.if_contains("reply_with")) {
      for (const auto& r : replies->as_array()) {
        conn_->send_text(r.is_string() ? std::string(r.as_string()) : json::serialize(r));
      }
      return;
    }
    if (message.contains("close_me")) return conn_->close();
    if (message.contains("hold")) {
      held_.push_back(std::move(message));
      if (held_.size() < 2) return;
      for (auto it = held_.rbegin(); it != held_.rend(); ++it) {
        conn_->send_text(json::serialize(json::object{{"type", "ok"}, {"ref", (*it)["ref"]}}));
      }
      held_.clear();
      return;
    }
    conn_->send_text(std::move(frame));
  }
  void on_binary(std::string) override {}
  void on_oversized(std::size_t) override {}
  void on_closed(close_reason) override {}

 private:
  std::shared_ptr<ws_connection> conn_;
  std::vector<json::object> held_;
};

class WsClient : public ::testing::Test {
 protected:
  void SetUp() override {
    listener_callbacks callbacks;
    callbacks.on_connect = [this](std::shared_ptr<ws_connection> conn, const peer_request& peer) {
      {
        std::lock_guard lock{mu_};
        peers_.push_back(peer);
      }
      return std::make_shared<script_handler>(std::move(conn));
    };
    auto started = ws_listener::start(runner_.io(), {}, std::move(callbacks));
    ASSERT_TRUE(started);
    listener_ = *started;
  }
  void TearDown() override { listener_->stop_all(); }

  client_options options() const {
    client_options o;
    o.port = listener_->port();
    o.connect_timeout = 2000ms;
    return o;
  }
  terminal_session session() {
    auto s = terminal_session::connect(options());
    EXPECT_TRUE(s);
    return std::move(*s);
  }
  std::string type_of(const client_result<json::object>& m) {
    if (!m) return std::string("error: ") + std::string(to_string(m.error()));
    const auto* t = m->if_contains("type");
    return t && t->is_string() ? std::string(t->as_string()) : "?";
  }

  io_runner runner_{1};
  std::shared_ptr<ws_listener> listener_;
  std::mutex mu_;
  std::vector<peer_request> peers_;
};

TEST_F(WsClient, ConnectToAClosedPortFails) {
  auto o = options();
  o.port = 1;
  auto c = ws_client::connect(o);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), client_error::connect_failed);
}

TEST_F(WsClient, ReceiveTimesOutAndTheClientStaysUsable) {
  auto c = ws_client::connect(options());
  ASSERT_TRUE(c);
  auto& client = **c;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(client.receive_text(100ms).error(), client_error::timeout);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 100ms);
  EXPECT_LT(waited, 1s);
  EXPECT_EQ(client.receive_text(0ms).error(), client_error::timeout);
  EXPECT_FALSE(client.is_closed());
  ASSERT_TRUE(client.send_text("ping"));
  auto reply = client.receive_text(2s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(*reply, "ping");
}

TEST_F(WsClient, ReceiveReportsClosedWhenTheSwitchCloses) {
  auto c = ws_client::connect(options());
  ASSERT_TRUE(c);
  auto& client = **c;
  ASSERT_TRUE(client.send_text(R"({"close_me":true})"));
  EXPECT_EQ(client.receive_text(2s).error(), client_error::closed);
  EXPECT_TRUE(client.is_closed());
  EXPECT_EQ(client.close_code(), 1000);
  EXPECT_EQ(client.send_text("late").error(), client_error::closed);
  EXPECT_EQ(client.receive_text(10ms).error(), client_error::closed);
}

TEST_F(WsClient, SendsExtraHeadersOnTheUpgrade) {
  auto o = options();
  o.headers = {{"X-MSISDN", "254700000001"}};
  auto c = ws_client::connect(o);
  ASSERT_TRUE(c);
  std::lock_guard lock{mu_};
  ASSERT_EQ(peers_.size(), 1u);
  EXPECT_EQ(peers_[0].header("x-msisdn"), "254700000001");
}

TEST_F(WsClient, SessionAddsRefsAndKeepsGivenOnes) {
  auto s = session();
  EXPECT_EQ(s.send({{"type", "x"}}).value(), "1");
  EXPECT_EQ(s.send({{"type", "x"}}).value(), "2");
  EXPECT_EQ(s.send({{"type", "x"}, {"ref", "mine"}}).value(), "mine");
  auto first = s.receive(2s);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->at("ref"), "1");
  EXPECT_EQ(s.receive(2s)->at("ref"), "2");
  EXPECT_EQ(s.receive(2s)->at("ref"), "mine");
}

TEST_F(WsClient, WaitForKeepsOtherMessagesInOrder) {
  auto s = session();
  ASSERT_TRUE(s.send_raw(
      R"({"reply_with":[{"type":"a","n":1},{"type":"b"},{"type":"a","n":2},{"type":"c"}]})"));
  auto c = s.wait_for("c", 2s);
  EXPECT_EQ(type_of(c), "c");
  EXPECT_EQ(s.inbox_size(), 3u);
  auto b = s.wait_for("b", 0ms);  // from the inbox
  EXPECT_EQ(type_of(b), "b");
  auto a1 = s.receive(0ms);
  auto a2 = s.receive(0ms);
  ASSERT_TRUE(a1 && a2);
  EXPECT_EQ(a1->at("n"), 1);
  EXPECT_EQ(a2->at("n"), 2);
  EXPECT_EQ(s.inbox_size(), 0u);
}

TEST_F(WsClient, WaitForStopsAtAnErrorAndTimesOutKeepingTheInbox) {
  auto s = session();
  ASSERT_TRUE(s.send_raw(R"({"reply_with":[{"type":"x"},{"type":"error","code":"bad"}]})"));
  auto e = s.wait_for("y", 2s);
  EXPECT_EQ(type_of(e), "error");
  EXPECT_EQ(s.inbox_size(), 1u);
  EXPECT_EQ(type_of(s.wait_for("y", 50ms)), "error: timeout");
  EXPECT_EQ(s.inbox_size(), 1u);
  EXPECT_EQ(type_of(s.receive(0ms)), "x");
}

TEST_F(WsClient, RequestMatchesTheReplyByRef) {
  auto s = session();
  auto held = s.send({{"type", "slow"}, {"hold", true}});
  ASSERT_TRUE(held);
  // The switch answers the second request first and then the held one.
  auto reply = s.request({{"type", "fast"}, {"hold", true}}, 2s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(reply->at("ref"), "2");
  auto other = s.wait_for_ref(*held, 2s);
  ASSERT_TRUE(other) << to_string(other.error());
  EXPECT_EQ(other->at("ref"), "1");
  EXPECT_EQ(s.inbox_size(), 0u);
}

TEST_F(WsClient, RequestSkipsEarlierRepliesAndLeavesThemInTheInbox) {
  auto s = session();
  ASSERT_TRUE(s.send_raw(R"({"reply_with":[{"type":"ok","ref":"zzz"}]})"));
  auto reply = s.request({{"type", "echo-me"}}, 2s);  // the echo carries ref "1"
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->at("type"), "echo-me");
  EXPECT_EQ(s.inbox_size(), 1u);
  EXPECT_EQ(s.wait_for_ref("zzz", 0ms)->at("type"), "ok");
}

TEST_F(WsClient, BadJsonIsReportedAndTheNextMessageStillArrives) {
  auto s = session();
  ASSERT_TRUE(s.send_raw(R"({"reply_with":["not json","[1,2]",{"type":"fine"}]})"));
  EXPECT_EQ(s.receive(2s).error(), client_error::bad_json);
  EXPECT_EQ(s.receive(2s).error(), client_error::bad_json);
  EXPECT_EQ(type_of(s.receive(2s)), "fine");
}

TEST_F(WsClient, ObserverSeesEveryFrameBothWays) {
  auto s = session();
  std::vector<std::pair<bool, std::string>> seen;
  s.set_observer(
      [&](bool outbound, std::string_view frame) { seen.emplace_back(outbound, frame); });
  ASSERT_TRUE(s.send({{"type", "hi"}}));
  ASSERT_TRUE(s.receive(2s));
  ASSERT_TRUE(s.send_raw("raw frame"));
  ASSERT_EQ(s.receive(2s).error(), client_error::bad_json);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0], (std::pair<bool, std::string>{true, R"({"type":"hi","ref":"1"})"}));
  EXPECT_EQ(seen[1], (std::pair<bool, std::string>{false, R"({"type":"hi","ref":"1"})"}));
  EXPECT_EQ(seen[2], (std::pair<bool, std::string>{true, "raw frame"}));
  EXPECT_EQ(seen[3], (std::pair<bool, std::string>{false, "raw frame"}));
}

// Runs the CLI with `input` on stdin; returns {exit code, stdout, stderr}.
struct cli_run {
  int code;
  std::string out;
  std::string err;
};
cli_run run_cli(std::vector<std::string> args, const std::string& input) {
  int pipe_fds[2];
  EXPECT_EQ(::pipe(pipe_fds), 0);
  EXPECT_EQ(::write(pipe_fds[1], input.data(), input.size()), static_cast<ssize_t>(input.size()));
  ::close(pipe_fds[1]);
  const int saved_stdin = ::dup(STDIN_FILENO);
  ::dup2(pipe_fds[0], STDIN_FILENO);
  ::close(pipe_fds[0]);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  const int code = run_terminal_cli(static_cast<int>(argv.size()), argv.data());
  cli_run r{code, ::testing::internal::GetCapturedStdout(),
            ::testing::internal::GetCapturedStderr()};
  ::dup2(saved_stdin, STDIN_FILENO);
  ::close(saved_stdin);
  return r;
}

TEST_F(WsClient, CliSendsEachLineAndPrintsEveryFrame) {
  const auto port = std::to_string(listener_->port());
  auto r = run_cli({"terminal", "--port", port, "--target", "/pay", "--header",
                    "X-MSISDN:254700000001", "--linger-ms", "300"},
                   "{\"type\":\"ping\"}\n\nnot json\n{\"type\":\"last\",\"ref\":\"r9\"}");
  EXPECT_EQ(r.code, 0) << r.err;
  // Sent and received lines interleave as the frames happen to arrive.
  std::vector<std::string> sent, received;
  std::istringstream lines{r.out};
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("> ", 0) == 0) {
      sent.push_back(line.substr(2));
    } else if (line.rfind("< ", 0) == 0) {
      received.push_back(line.substr(2));
    } else {
      ADD_FAILURE() << "unexpected output line: " << line;
    }
  }
  const std::vector<std::string> expected{R"({"type":"ping","ref":"1"})", "not json",
                                          R"({"type":"last","ref":"r9"})"};
  EXPECT_EQ(sent, expected) << r.out << r.err;
  EXPECT_EQ(received, expected) << r.out << r.err;
  EXPECT_NE(r.err.find("not a JSON object"), std::string::npos);
  std::lock_guard lock{mu_};
  ASSERT_EQ(peers_.size(), 1u);
  EXPECT_EQ(peers_[0].target, "/pay");
  EXPECT_EQ(peers_[0].header("x-msisdn"), "254700000001");
}

TEST_F(WsClient, CliFailsClearlyWhenItCannotConnect) {
  auto r = run_cli({"terminal", "--port", "1", "--timeout-ms", "500"}, "{}\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot connect to ws://127.0.0.1:1/: connect_failed"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(WsClient, CliRejectsBadOptionsAndShowsHelp) {
  EXPECT_EQ(run_cli({"terminal"}, "").code, 2);  // --port is required
  EXPECT_EQ(run_cli({"terminal", "--port", "1", "--header", "nocolon"}, "").code, 2);
  auto help = run_cli({"terminal", "--help"}, "");
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("--header"), std::string::npos);
}

}  // namespace
}  // namespace paysync::protocols
