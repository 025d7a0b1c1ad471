// The cluster's routing, deterministically (docs/cluster.md): two "nodes" in
// one test-coordinated actor system, each with its own registry and presence
// shards and a cluster_map that names the other. Sessions on node 1 reach
// node 0's shards through the map exactly as they would reach remote proxies;
// what CAF remoting adds (proxies, monitors across processes) is covered by
// tests/integration/cluster_test.cpp with real processes.

#include <boost/program_options.hpp>

#include "actor_fixture.hpp"
#include "actors/cluster_config.hpp"
#include "actors/cluster_view.hpp"
#include "actors/node_directory.hpp"

namespace paysync::actors::testing {
namespace {

class Cluster : public actor_test {
 protected:
  void SetUp() override {
    start_switch();
    // Node 1: its own shards, the same ledger and directory (one process).
    auto ctx1 = std::make_shared<switch_context>(*context_);
    ctx1->node_id = 1;
    ctx1->shards.clear();
    ctx1->presence.clear();
    spawn_shards(*ctx1, 1, 2);
    map0_ = std::make_shared<cluster_map>(0, std::vector<std::uint8_t>{0, 1});
    map1_ = std::make_shared<cluster_map>(1, std::vector<std::uint8_t>{0, 1});
    map0_->up(node_card{1, ctx1->shards, ctx1->presence, context_->ledger, {}});
    map1_->up(node_card{0, context_->shards, context_->presence, context_->ledger, {}});
    auto ctx0 = std::make_shared<switch_context>(*context_);
    ctx0->cluster = map0_;
    ctx0->cluster_presence =
        system_->spawn(cluster_view, cluster_view_config{map0_, ctx0->presence});
    ctx1->cluster = map1_;
    ctx1->cluster_presence =
        system_->spawn(cluster_view, cluster_view_config{map1_, ctx1->presence});
    node1_ = ctx1;
    extra_ = {ctx0->cluster_presence, ctx1->cluster_presence};
    for (auto& s : ctx1->shards) extra_shards_.push_back(s);
    for (auto& p : ctx1->presence) extra_.push_back(p);
    context_ = ctx0;  // connect_billing()/connect_handset() now start on node 0
    sched_->run();
  }

  void TearDown() override {
    for (auto& a : extra_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    for (auto& a : extra_shards_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched_->run();
  }

  handset connect_handset_on_1(std::string msisdn = "254700000001") {
    auto wire = std::make_shared<recording_connection>(++next_connection_);
    auto actor = system_->spawn(paying_session, node1_, wire, std::move(msisdn), std::string{});
    sessions_.push_back(caf::actor_cast<caf::actor>(actor));
    return {actor, wire};
  }

  billing_terminal connect_billing_on_1(const std::string& terminal) {
    auto wire = std::make_shared<recording_connection>(++next_connection_);
    auto actor = system_->spawn(billing_session, node1_, wire);
    sessions_.push_back(caf::actor_cast<caf::actor>(actor));
    send(actor, {{"type", "hello"}, {"terminal", terminal}});
    EXPECT_EQ(str(wire->take_one(), "type"), "welcome");
    return {actor, wire};
  }

  std::shared_ptr<cluster_map> map0_, map1_;
  std::shared_ptr<switch_context> node1_;
  std::vector<presence_shard_actor> extra_;
  std::vector<registry_shard_actor> extra_shards_;
};

TEST(ClusterMap, HomesAreAStableHashOverTheSortedNodes) {
  cluster_map a(0, {2, 0, 1}), b(2, {0, 1, 2, 2});
  // FNV-1a of the id modulo the node count (docs/cluster.md lists these).
  EXPECT_EQ(a.home_of("user:u-1001"), 0);
  EXPECT_EQ(a.home_of("user:u-1003"), 2);
  EXPECT_EQ(a.home_of("merchant:m-kahawa"), 2);
  for (const char* id : {"user:u-1001", "user:u-1002", "merchant:m-mboga", "x"}) {
    EXPECT_EQ(a.home_of(id), b.home_of(id)) << id;
  }
  cluster_map alone(7, {7});
  EXPECT_EQ(alone.home_of("anything"), 7);
}

TEST(ClusterMap, KnowsOnlyPeersThatAreUp) {
  cluster_map m(0, {0, 1});
  EXPECT_FALSE(m.is_up(1));
  EXPECT_FALSE(m.registry(1, 0));
  m.up(node_card{1, {registry_shard_actor{}}, {}, {}, {}});
  EXPECT_TRUE(m.is_up(1));
  EXPECT_TRUE(m.registry(1, 0).has_value());
  EXPECT_FALSE(m.registry(1, 1).has_value());  // no such shard
  EXPECT_EQ(m.peers_up().size(), 1u);
  m.down(1);
  EXPECT_FALSE(m.is_up(1));
  EXPECT_TRUE(m.peers_up().empty());
}

cluster_config valid_two_nodes() {
  cluster_config c;
  c.port = 7600;
  c.peers = {"1@127.0.0.1:7601"};
  return c;
}

TEST(ClusterConfig, HeartbeatMustBeShorterThanTheTimeout) {
  auto c = valid_two_nodes();
  EXPECT_EQ(c.heartbeat_ms, 1'000);
  EXPECT_EQ(c.timeout_ms, 5'000);
  EXPECT_TRUE(check_cluster_config(c, 0));
  c.timeout_ms = c.heartbeat_ms;
  auto equal = check_cluster_config(c, 0);
  ASSERT_FALSE(equal);
  EXPECT_NE(equal.error().find("--cluster-timeout-ms"), std::string::npos) << equal.error();
  c.timeout_ms = 500;
  EXPECT_FALSE(check_cluster_config(c, 0));
  c.timeout_ms = 1'001;
  EXPECT_TRUE(check_cluster_config(c, 0));
  c.heartbeat_ms = 0;
  auto zero = check_cluster_config(c, 0);
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().find("--cluster-heartbeat-ms"), std::string::npos) << zero.error();
  c.heartbeat_ms = -5;
  EXPECT_FALSE(check_cluster_config(c, 0));
}

TEST(ClusterConfig, TlsFilesGoTogetherAndPeersAreChecked) {
  auto c = valid_two_nodes();
  c.tls_certificate = "n.pem";
  EXPECT_FALSE(check_cluster_config(c, 0));
  c.tls_key = "n.key";
  c.tls_ca_file = "ca.pem";
  EXPECT_TRUE(check_cluster_config(c, 0));
  EXPECT_FALSE(check_cluster_config(c, 1)) << "a peer with this node's own id";
  c.peers.push_back("1@127.0.0.1:7602");
  EXPECT_FALSE(check_cluster_config(c, 0)) << "node 1 twice";
}

TEST(ClusterConfig, HeartbeatOptionsReachCafsMiddleman) {
  cluster_config c;
  boost::program_options::options_description options;
  add_cluster_options(options, c);
  const char* argv[] = {"paysync", "--cluster-port",       "7600", "--cluster-heartbeat-ms",
                        "200",     "--cluster-timeout-ms", "900"};
  boost::program_options::variables_map vm;
  boost::program_options::store(
      boost::program_options::parse_command_line(std::size(argv), argv, options), vm);
  boost::program_options::notify(vm);
  EXPECT_EQ(c.heartbeat_ms, 200);
  EXPECT_EQ(c.timeout_ms, 900);
  caf::actor_system_config cfg;
  load_cluster_remoting(cfg, c);
  EXPECT_EQ(caf::get_or(cfg, "middleman.heartbeat-interval", caf::timespan{0}),
            caf::timespan{std::chrono::milliseconds(200)});
  EXPECT_EQ(caf::get_or(cfg, "middleman.connection-timeout", caf::timespan{0}),
            caf::timespan{std::chrono::milliseconds(900)});
}

TEST_F(Cluster, DirectoryTracksPeersAndTheMetric) {
  auto map = std::make_shared<cluster_map>(0, std::vector<std::uint8_t>{0, 3});
  node_directory_config dc;
  dc.local = node_card{0, {}, {}, {}, {}};
  dc.peers = {peer_address{3, "127.0.0.1", 7103}};
  dc.map = map;
  dc.time = clock_;
  dc.metrics = &metrics_;
  auto dir = system_->spawn(node_directory, dc);
  sched_->run();
  EXPECT_TRUE(metrics_.cluster_peer_configured[3].load());
  EXPECT_FALSE(metrics_.cluster_peer_up[3].load());
  EXPECT_NE(metrics_.render().find("paysync_cluster_peer_up{peer=\"3\"} 0"), std::string::npos);

  caf::anon_send(dir, member_atom::value, node_card{3, {}, {}, {}, {}});
  sched_->run();
  EXPECT_TRUE(map->is_up(3));
  EXPECT_NE(metrics_.render().find("paysync_cluster_peer_up{peer=\"3\"} 1"), std::string::npos);
  // Not a configured peer: ignored.
  caf::anon_send(dir, member_atom::value, node_card{9, {}, {}, {}, {}});
  sched_->run();
  EXPECT_FALSE(map->is_up(9));

  caf::anon_send(dir, lost_atom::value, std::uint8_t{3});
  sched_->run();
  EXPECT_FALSE(map->is_up(3));
  EXPECT_EQ(metrics_.cluster_peer_downs.load(), 1u);
  caf::anon_send_exit(dir, caf::exit_reason::user_shutdown);
  sched_->run();
}

// A peer with a lower id dials this node and greets the directory with its
// card: the peer is up while the greeting actor (a remote proxy in a real
// cluster) lives. A stale down from an older greeter of the same peer, which
// a fresh greet replaced, must not mark it down.
TEST_F(Cluster, DirectoryTakesGreetsFromLowerNodesAndWatchesTheGreeter) {
  auto map = std::make_shared<cluster_map>(2, std::vector<std::uint8_t>{0, 2, 3});
  node_directory_config dc;
  dc.local = node_card{2, {}, {}, {}, {}};
  dc.peers = {peer_address{0, "127.0.0.1", 7100}, peer_address{3, "127.0.0.1", 7103}};
  dc.map = map;
  dc.time = clock_;
  dc.metrics = &metrics_;
  auto dir = system_->spawn(node_directory, dc);
  sched_->run();
  // What each greet got back: the directory's node, or -1 on an error.
  auto answers = std::make_shared<std::vector<int>>();
  auto greeter = [&](std::uint8_t node) {
    // The node goes in as a spawn argument: CAF 0.17 dereferences a null
    // argument tuple when a function actor is spawned without any, which
    // _GLIBCXX_ASSERTIONS (the sanitizer build) turns into an abort.
    auto a = system_->spawn(
        [=](caf::event_based_actor* self, std::uint8_t from) -> caf::behavior {
          self->request(dir, caf::infinite, greet_atom::value, node_card{from, {}, {}, {}, {}})
              .then([=](node_card& card) { answers->push_back(card.node); },
                    [=](caf::error&) { answers->push_back(-1); });
          return {[](int) {}};  // stays alive until killed, like a peer's link
        },
        node);
    sched_->run();
    return a;
  };
  auto first = greeter(0);
  EXPECT_EQ(*answers, std::vector<int>{2});
  EXPECT_TRUE(map->is_up(0));
  EXPECT_TRUE(metrics_.cluster_peer_up[0].load());
  // Node 0 restarted: its new link greets before the old one's down arrives.
  auto second = greeter(0);
  caf::anon_send_exit(first, caf::exit_reason::kill);
  sched_->run();
  EXPECT_TRUE(map->is_up(0)) << "a stale down marked a fresh greeter's node down";
  EXPECT_EQ(metrics_.cluster_peer_downs.load(), 0u);
  caf::anon_send_exit(second, caf::exit_reason::kill);
  sched_->run();
  EXPECT_FALSE(map->is_up(0));
  EXPECT_FALSE(metrics_.cluster_peer_up[0].load());
  EXPECT_EQ(metrics_.cluster_peer_downs.load(), 1u);
  // Refused: a higher id (it must wait to be dialled) and a stranger.
  auto higher = greeter(3);
  auto stranger = greeter(9);
  EXPECT_EQ(*answers, (std::vector<int>{2, 2, -1, -1}));
  EXPECT_FALSE(map->is_up(3));
  EXPECT_FALSE(map->is_up(9));
  for (const auto& a : {higher, stranger}) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(dir, caf::exit_reason::user_shutdown);
  sched_->run();
}

// Flow A: the terminal on node 0, the handset on node 1; the link token names
// node 0, so the join goes to node 0's shard.
TEST_F(Cluster, FlowAJoinsOnTheNodeNamedInTheToken) {
  auto b = identified_billing();
  auto h = connect_handset_on_1();
  const auto txn = synchronize(b, h);
  ASSERT_EQ(txn.substr(0, 4), "tx00");
  send(b.actor, {{"type", "amount"}, {"txn", txn}, {"amount", 1500}});
  EXPECT_EQ(str(b.wire->take_one(), "type"), "ack");
  EXPECT_EQ(str(h.wire->take_one(), "type"), "amount");
  send(h.actor, {{"type", "confirm_amount"}, {"txn", txn}, {"amount", 1500}});
  EXPECT_EQ(str(h.wire->take_one(), "type"), "receipt");
  EXPECT_EQ(str(b.wire->take_one(), "type"), "settled");
  // In a cluster the payment credits the merchant's clearing account on the
  // payer's partition; the settlement window nets it later.
  EXPECT_EQ(balance("clearing:m-kahawa"), 1500);
  EXPECT_EQ(balance("merchant:m-kahawa"), 0);
  expect_balanced_ledger();
}

// Flow B and a push (flow C) find sessions on the other node.
TEST_F(Cluster, PresenceLookupsAskEveryNode) {
  auto b = connect_billing_on_1("t-kahawa-01");
  auto h = connect_handset();  // node 0
  send(h.actor, {{"type", "pay_merchant"}, {"till", "500100"}});
  auto merchant = h.wire->take_one();
  ASSERT_EQ(str(merchant, "type"), "merchant") << json::serialize(merchant);
  EXPECT_EQ(str(merchant, "txn").substr(0, 4), "tx01");
  EXPECT_EQ(str(b.wire->take_one(), "type"), "opened");

  auto pushed = connect_handset_on_1("254700000002");
  auto b0 = identified_billing("t-kahawa-02");
  auto opened = open(b0, {{"push_msisdn", "254700000002"}, {"amount", 900}});
  EXPECT_EQ(str(opened, "pushed_via"), "handset") << json::serialize(opened);
  auto push = pushed.wire->take_one();
  EXPECT_EQ(str(push, "type"), "push");
  EXPECT_EQ(str(push, "txn"), str(opened, "txn"));
}

// A transaction of a node that is down: a clear error, not a guess.
TEST_F(Cluster, JoinToANodeThatIsDownIsRefusedWithNodeUnavailable) {
  auto b = identified_billing();
  const auto txn = str(open(b), "txn");
  map1_->down(0);
  auto h = connect_handset_on_1();
  send(h.actor, {{"type", "join"}, {"txn", txn}, {"ref", "j"}});
  auto refused = h.wire->take_one();
  EXPECT_EQ(str(refused, "code"), "node_unavailable") << json::serialize(refused);
  // An id of a node no one knows stays unknown_txn.
  send(h.actor, {{"type", "join"}, {"txn", "tx09" + txn.substr(4)}});
  EXPECT_EQ(str(h.wire->take_one(), "code"), "unknown_txn");
}

}  // namespace
}  // namespace paysync::actors::testing
