#pragma once

#include <boost/program_options.hpp>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace paysync::actors {

// Parses a subcommand's `options` plus its positional words into `command`;
// false (after saying why on stderr) when the command line is wrong.
inline bool parse_with_command(int argc, char** argv,
                               const boost::program_options::options_description& options,
                               std::vector<std::string>& command,
                               boost::program_options::variables_map& vm, std::string_view name) {
  namespace po = boost::program_options;
  po::options_description hidden;
  hidden.add_options()("command", po::value(&command));
  po::options_description all;
  all.add(options).add(hidden);
  po::positional_options_description positional;
  positional.add("command", -1);
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "paysync " << name << ": " << e.what() << "\n";
    return false;
  }
  return true;
}

}  // namespace paysync::actors
