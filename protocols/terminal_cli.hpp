#pragma once

namespace paysync::protocols {

// `paysync terminal`: a line-oriented WebSocket terminal, for trying the switch
// by hand and for scripts. argv[0] is the command's name; options follow (see
// --help): --host, --port, --target, --header NAME:VALUE (repeatable),
// --timeout-ms, --linger-ms, --key-file; --tls with --ca-file, --pin-sha256 or
// --insecure for wss://.
//
// Reads one JSON message per line from standard input and sends each, adding
// "ref" when absent (a line that is not a JSON object is sent as it is, with a
// note on stderr). Prints every frame sent as "> frame" and every frame
// received as "< frame", one per line on standard output. When input ends it
// waits --linger-ms for more frames, closes, and returns 0. Returns 1 when the
// connection failed (with a message on stderr) and 2 for bad options.
int run_terminal_cli(int argc, char** argv);

}  // namespace paysync::protocols
