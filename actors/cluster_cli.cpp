#include "actors/cluster_cli.hpp"

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <iostream>

#include "actors/cluster_config.hpp"
#include "actors/interfaces.hpp"

namespace paysync::actors {
namespace po = boost::program_options;

int run_close_window_cli(int argc, const char* const* argv) {
  cluster_config c;
  po::options_description options(
      "paysync close-window — close the settlement window cluster-wide");
  options.add_options()("help,h", "show this help");
  add_cluster_options(options, c);
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "paysync close-window: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << "usage: paysync close-window --cluster-address HOST --cluster-port PORT\n\n"
              << options << "\n";
    return 0;
  }
  if (c.port == 0 || c.port > 65535) {
    std::cerr << "paysync close-window: --cluster-port (a node's) is required\n";
    return 2;
  }
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", std::size_t{1});
  cfg.add_message_types<caf::id_block::paysync>();
  load_cluster_remoting(cfg, c);
  caf::actor_system system(cfg);
  const auto port = static_cast<std::uint16_t>(c.port);
  auto remote = c.tls() ? caf::openssl::remote_actor<node_directory_actor>(system, c.address, port)
                        : system.middleman().remote_actor<node_directory_actor>(c.address, port);
  if (!remote) {
    std::cerr << "paysync close-window: cannot reach the node at " << c.address << ":" << c.port
              << ": " << system.render(remote.error()) << "\n";
    return 2;
  }
  auto directory = *remote;
  int status = 2;
  caf::scoped_actor self{system};
  self->request(directory, std::chrono::seconds(60), window_atom::value)
      .receive(
          [&](std::string& report) {
            std::cout << report << std::endl;
            auto parsed = boost::json::parse(report);
            status = parsed.as_object().at("balanced").as_bool() ? 0 : 1;
          },
          [&](caf::error& err) {
            std::cerr << "paysync close-window: " << system.render(err) << "\n";
          });
  return status;
}

}  // namespace paysync::actors
